//! CCM, the clock controller: gates and dividers keep their values; changing a divider or a
//! clock mux that needs a handshake sets its CDHIPR busy bit for [`HANDSHAKE_CYCLES`]. The
//! core clock the registers select is derived by [`core_clock_hz`].

use super::analog;
use super::regs::RegFile;
use super::{Ctx, State};

/// Core cycles a divider/mux handshake stays busy.
pub const HANDSHAKE_CYCLES: u64 = 64;

/// CDHIPR busy bits: (register, field mask, busy bit).
const HANDSHAKES: &[(&str, u32, u32)] = &[
    ("CBCDR", 0x7 << 16, 0), // SEMC_PODF
    ("CBCDR", 0x7 << 10, 1), // AHB_PODF
    ("CBCDR", 1 << 26, 3),   // PERIPH2_CLK_SEL
    ("CBCDR", 1 << 25, 5),   // PERIPH_CLK_SEL
    ("CACRR", 0x7, 16),      // ARM_PODF
];

/// Key of a busy bit in [`State::ready_at`] (above any register index).
fn key(bit: u32) -> usize {
    1000 + bit as usize
}

pub fn read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    if regs.table[r].name != "CDHIPR" {
        return regs.values[r];
    }
    HANDSHAKES.iter().fold(0, |acc, &(_, _, bit)| {
        let busy = st.ready_at.get(&key(bit)).is_some_and(|&t| ctx.now < t);
        acc | (u32::from(busy) << bit)
    })
}

pub fn write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let name = regs.table[r].name;
    let new = regs.values[r];
    if name == "CDHIPR" {
        regs.values[r] = old; // read-only
        return;
    }
    for &(reg, mask, bit) in HANDSHAKES {
        if reg == name && (old ^ new) & mask != 0 {
            st.ready_at.insert(key(bit), ctx.now + HANDSHAKE_CYCLES);
        }
    }
}

/// The core (AHB) clock the CCM and the PLLs select, in Hz.
pub fn core_clock_hz(ccm: &RegFile, analog: &RegFile) -> u64 {
    let cbcdr = ccm.get("CBCDR");
    let cbcmr = ccm.get("CBCMR");
    let periph = if cbcdr & (1 << 25) != 0 {
        let clk2 = match (cbcmr >> 12) & 3 {
            0 => analog::pll_hz(analog, "CCM_ANALOG.PLL_USB1"),
            1 => 24_000_000,
            _ => analog::pll_hz(analog, "CCM_ANALOG.PLL_SYS"),
        };
        clk2 / u64::from(((cbcdr >> 27) & 7) + 1)
    } else {
        match (cbcmr >> 18) & 3 {
            0 => analog::pll_hz(analog, "CCM_ANALOG.PLL_SYS"),
            1 => analog::pfd_hz(analog, "CCM_ANALOG.PLL_SYS", "CCM_ANALOG.PFD_528", 2),
            2 => analog::pfd_hz(analog, "CCM_ANALOG.PLL_SYS", "CCM_ANALOG.PFD_528", 0),
            _ => {
                analog::pll_hz(analog, "CCM_ANALOG.PLL_ARM") / u64::from((ccm.get("CACRR") & 7) + 1)
            }
        }
    };
    periph / u64::from(((cbcdr >> 10) & 7) + 1)
}

/// The FlexSPI root clock in Hz (CSCMR1 FLEXSPI_CLK_SEL and FLEXSPI_PODF).
pub fn flexspi_clock_hz(ccm: &RegFile, analog: &RegFile) -> u64 {
    let cscmr1 = ccm.get("CSCMR1");
    let src = match (cscmr1 >> 29) & 3 {
        0 => core_clock_hz(ccm, analog),
        1 => analog::pll_hz(analog, "CCM_ANALOG.PLL_USB1"),
        2 => analog::pfd_hz(analog, "CCM_ANALOG.PLL_SYS", "CCM_ANALOG.PFD_528", 2),
        _ => analog::pfd_hz(analog, "CCM_ANALOG.PLL_USB1", "CCM_ANALOG.PFD_480", 0),
    };
    src / u64::from(((cscmr1 >> 23) & 7) + 1)
}
