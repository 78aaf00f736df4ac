//! The RT1170's clock controller and analog block, as far as boot code waits on them (the
//! MCUXpresso SDK's `fsl_clock.c` for the RT1170 polls exactly these):
//! - ANADIG_OSC.OSC_24M_CTRL: OSC_24M_STABLE (bit 30) sets [`XTAL_CYCLES`] after OSC_EN (bit 4).
//! - ANADIG_PLL.*_CTRL: the PLL's STABLE bit (bit 29) clears on any change of configuration and
//!   sets again [`PLL_LOCK_CYCLES`] later.
//! - ANADIG_PLL.SYS_PLL2/3_PFD: PFDn_STABLE (bits 6, 14, 22, 30) toggles when the PFDn_UPDATE
//!   bit of the matching SYS_PLLx_UPDATE register toggles (the SDK waits for the change).
//! - CCM LPCGn_STATUS0.ON and OSCPLLn_STATUS0.ON follow their DIRECT.ON; CLOCK_ROOTn_STATUS0
//!   reports the CONTROL's mux, divider and OFF (a change completes at once: CHANGING stays 0).
//!
//! The core clock is CLOCK_ROOT0 (M7) and the FlexSPI clock CLOCK_ROOT20 (FLEXSPI1): mux and
//! divider over the sources the SDK's `clock_root_mux` lists for them; the ARM PLL from its
//! DIV_SELECT and POST_DIV_SEL (24 MHz × DIV_SELECT / 2 / post divider, the SDK's formula),
//! SYS_PLL1/2/3 at their fixed 1000/528/480 MHz, PFDs at PLL × 18 / FRAC. Not modelled: the
//! analog interface (AI) toggle handshakes of PLL1, the audio and video PLLs, and setpoint mode.

use super::analog::ready;
use super::regs::RegFile;
use super::{Ctx, State};

/// Clock roots (CLOCK_ROOT0..78) and low-power clock gates (LPCG0..137) of the RT1170 CCM.
pub const CLOCK_ROOTS: u32 = 79;
pub const LPCGS: u32 = 138;
/// `kCLOCK_Root_M7` and `kCLOCK_Root_Flexspi1` in the SDK.
pub const ROOT_M7: u32 = 0;
pub const ROOT_FLEXSPI1: u32 = 20;

/// Core cycles from reconfiguring a PLL to STABLE (tens of microseconds on the chip).
pub const PLL_LOCK_CYCLES: u64 = 20_000;
/// Core cycles from enabling the 24 MHz crystal oscillator to OSC_24M_STABLE.
pub const XTAL_CYCLES: u64 = 6_000;

const OSC_EN: u32 = 1 << 4;
const OSC_STABLE: u32 = 1 << 30;
const PLL_STABLE: u32 = 1 << 29;
const PFD_STABLE: u32 = (1 << 6) | (1 << 14) | (1 << 22) | (1 << 30);
const REF_HZ: u64 = 24_000_000;

fn is_pll_ctrl(name: &str) -> bool {
    name.starts_with("ANADIG_PLL.") && name.ends_with("_CTRL")
}

pub fn anadig_read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let name = regs.table[r].name;
    let v = regs.values[r];
    if is_pll_ctrl(name) {
        return (v & !PLL_STABLE) | if ready(st, r, ctx.now) { PLL_STABLE } else { 0 };
    }
    if name == "ANADIG_OSC.OSC_24M_CTRL" {
        let stable = v & OSC_EN != 0 && ready(st, r, ctx.now);
        return (v & !OSC_STABLE) | if stable { OSC_STABLE } else { 0 };
    }
    v
}

pub fn anadig_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let name = regs.table[r].name;
    let new = regs.values[r];
    if is_pll_ctrl(name) {
        regs.values[r] = new & !PLL_STABLE;
        if (old ^ new) & !PLL_STABLE != 0 {
            st.ready_at.insert(r, ctx.now + PLL_LOCK_CYCLES);
        }
        return;
    }
    match name {
        "ANADIG_OSC.OSC_24M_CTRL" => {
            regs.values[r] = new & !OSC_STABLE;
            if new & OSC_EN != 0 && old & OSC_EN == 0 {
                st.ready_at.insert(r, ctx.now + XTAL_CYCLES);
            }
        }
        // The STABLE bits are read-only.
        "ANADIG_PLL.SYS_PLL2_PFD" | "ANADIG_PLL.SYS_PLL3_PFD" => {
            regs.values[r] = (new & !PFD_STABLE) | (old & PFD_STABLE);
        }
        "ANADIG_PLL.SYS_PLL2_UPDATE" | "ANADIG_PLL.SYS_PLL3_UPDATE" => {
            let pfd = regs.index(&name.replace("_UPDATE", "_PFD"));
            for n in 0..4 {
                if (old ^ new) & (1 << (n + 1)) != 0 {
                    regs.values[pfd] ^= 1 << (6 + 8 * n);
                }
            }
        }
        _ => {}
    }
}

/// The register a CCM status register reports on: CLOCK_ROOTn_STATUS0 follows CONTROL (the
/// entry before it in the table), LPCGn/OSCPLLn_STATUS0 follow DIRECT (three entries before).
fn status_source(name: &str, r: usize) -> Option<(usize, u32)> {
    if !name.ends_with("_STATUS0") {
        return None;
    }
    if name.starts_with("CLOCK_ROOT") {
        Some((r - 1, 0xFF | (0x7 << 8) | (1 << 24)))
    } else if name.starts_with("LPCG") || name.starts_with("OSCPLL") {
        Some((r - 3, 1))
    } else {
        None
    }
}

pub fn ccm_read(regs: &mut RegFile, r: usize) -> u32 {
    match status_source(regs.table[r].name, r) {
        Some((source, mask)) => regs.values[source] & mask,
        None => regs.values[r],
    }
}

pub fn ccm_write(regs: &mut RegFile, r: usize, old: u32) {
    let name = regs.table[r].name;
    if name.contains("_STATUS") || name.ends_with("_CONFIG") {
        regs.values[r] = old; // read-only
    }
}

/// A clock source of a root's mux.
#[derive(Clone, Copy)]
enum Source {
    Fixed(u64),
    ArmPll,
    Pll3Pfd0,
    Pll2Pfd2,
}

/// CLOCK_ROOT0 (M7) mux: RC48M/2, OSC24M, RC400M, RC16M, ARM PLL, SYS_PLL1, SYS_PLL3, video
/// PLL (not modelled: 0, which keeps the last latencies).
const M7_MUX: [Source; 8] = [
    Source::Fixed(24_000_000),
    Source::Fixed(REF_HZ),
    Source::Fixed(400_000_000),
    Source::Fixed(16_000_000),
    Source::ArmPll,
    Source::Fixed(1_000_000_000),
    Source::Fixed(480_000_000),
    Source::Fixed(0),
];

/// CLOCK_ROOT20 (FLEXSPI1) mux: RC48M/2, OSC24M, RC400M, RC16M, SYS_PLL3 PFD0, SYS_PLL2,
/// SYS_PLL2 PFD2, SYS_PLL3.
const FLEXSPI_MUX: [Source; 8] = [
    Source::Fixed(24_000_000),
    Source::Fixed(REF_HZ),
    Source::Fixed(400_000_000),
    Source::Fixed(16_000_000),
    Source::Pll3Pfd0,
    Source::Fixed(528_000_000),
    Source::Pll2Pfd2,
    Source::Fixed(480_000_000),
];

fn source_hz(anadig: &RegFile, s: Source) -> u64 {
    let pfd = |reg: &str, pll: u64, n: u32| {
        let frac = u64::from((anadig.get(reg) >> (8 * n)) & 0x3F).max(13);
        pll * 18 / frac
    };
    match s {
        Source::Fixed(hz) => hz,
        Source::ArmPll => {
            let ctrl = anadig.get("ANADIG_PLL.ARM_PLL_CTRL");
            if ctrl & (1 << 13) == 0 {
                return 0; // powered down
            }
            let post = match (ctrl >> 15) & 3 {
                0 => 2,
                1 => 4,
                2 => 8,
                _ => 1,
            };
            REF_HZ * u64::from(ctrl & 0xFF) / 2 / post
        }
        Source::Pll3Pfd0 => pfd("ANADIG_PLL.SYS_PLL3_PFD", 480_000_000, 0),
        Source::Pll2Pfd2 => pfd("ANADIG_PLL.SYS_PLL2_PFD", 528_000_000, 2),
    }
}

fn root_hz(ccm: &RegFile, anadig: &RegFile, root: u32, mux: &[Source; 8]) -> u64 {
    let control = ccm.get(&format!("CLOCK_ROOT{root}_CONTROL"));
    if control & (1 << 24) != 0 {
        return 0; // OFF
    }
    source_hz(anadig, mux[((control >> 8) & 7) as usize]) / u64::from((control & 0xFF) + 1)
}

/// The core (M7) and FlexSPI1 root clocks in Hz.
pub fn clocks(ccm: &RegFile, anadig: &RegFile) -> (u64, u64) {
    (
        root_hz(ccm, anadig, ROOT_M7, &M7_MUX),
        root_hz(ccm, anadig, ROOT_FLEXSPI1, &FLEXSPI_MUX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::soc::map::MAPS;

    fn regs(name: &str) -> RegFile {
        let map = MAPS.iter().find(|m| m.name == "rt1170").unwrap();
        let b = map.blocks.iter().find(|b| b.name == name).unwrap();
        RegFile::new(b.regs.table())
    }

    #[test]
    fn the_sdk_run_configuration_gives_996_mhz() {
        let (mut ccm, mut anadig) = (regs("CCM"), regs("ANADIG"));
        // The ROM's state: the core on the 400 MHz RC oscillator, FlexSPI on it /4.
        assert_eq!(clocks(&ccm, &anadig), (400_000_000, 100_000_000));
        // BOARD_BootClockRUN: ARM PLL loop divider 166, post divider /2, M7 root from it /1.
        anadig.set("ANADIG_PLL.ARM_PLL_CTRL", (1 << 13) | (1 << 14) | 166);
        ccm.set("CLOCK_ROOT0_CONTROL", 4 << 8);
        assert_eq!(clocks(&ccm, &anadig).0, 996_000_000);
        // FlexSPI1 from SYS_PLL2 PFD2 (FRAC 24 → 396 MHz) /2.
        anadig.set("ANADIG_PLL.SYS_PLL2_PFD", 24 << 16);
        ccm.set("CLOCK_ROOT20_CONTROL", (6 << 8) | 1);
        assert_eq!(clocks(&ccm, &anadig).1, 198_000_000);
    }
}
