//! CCM_ANALOG (PLLs, PFDs, MISC0), XTALOSC24M, PMU and TEMPMON: one slot of registers with
//! SET/CLR/TOG aliases. PLLs report LOCK [`PLL_LOCK_CYCLES`] after being powered or
//! reconfigured; the 24 MHz oscillator reports power-up and XTALOK after its start-up time.

use super::regs::RegFile;
use super::{Ctx, State};

/// Core cycles from powering or reprogramming a PLL to LOCK (about 20 µs at 600 MHz; the
/// manual gives the PLLs' lock time in tens of microseconds).
pub const PLL_LOCK_CYCLES: u64 = 12_000;
/// Core cycles from powering the crystal oscillator up to XTALOSC_PWRUP_STAT, and from
/// OSC_XTALOK_EN to OSC_XTALOK.
pub const XTAL_CYCLES: u64 = 6_000;

const LOCK: u32 = 1 << 31;
const PLL_POWER_BIT: u32 = 1 << 12;
const MISC0_XTAL_24M_PWD: u32 = 1 << 30;
const MISC0_OSC_XTALOK_EN: u32 = 1 << 16;
const MISC0_OSC_XTALOK: u32 = 1 << 15;
const LOWPWR_PWRUP_STAT: u32 = 1 << 16;
/// PMU regulators: OK_VDD bit (output settled).
const PMU_OK: u32 = 1 << 17;
/// TEMPSENSE0 FINISHED.
const TEMP_FINISHED: u32 = 1 << 2;

fn is_pll(name: &str) -> bool {
    name.starts_with("CCM_ANALOG.PLL_")
        && !name.contains("_NUM")
        && !name.contains("_DENOM")
        && !name.ends_with("_SS")
}

/// Whether a PLL is powered: USB PLLs have a POWER bit, the others a POWERDOWN bit.
fn pll_powered(name: &str, v: u32) -> bool {
    if name.contains("USB") {
        v & PLL_POWER_BIT != 0
    } else {
        v & PLL_POWER_BIT == 0
    }
}

/// Whether register `r`'s pending change (lock, start-up) has completed by cycle `now`.
pub(super) fn ready(st: &State, r: usize, now: u64) -> bool {
    st.ready_at.get(&r).is_none_or(|&t| now >= t)
}

pub fn read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let name = regs.table[r].name;
    let v = regs.values[r];
    if is_pll(name) {
        let locked = pll_powered(name, v) && ready(st, r, ctx.now);
        return (v & !LOCK) | if locked { LOCK } else { 0 };
    }
    match name {
        "CCM_ANALOG.MISC0" => {
            let ok = v & MISC0_OSC_XTALOK_EN != 0
                && v & MISC0_XTAL_24M_PWD == 0
                && ready(st, r, ctx.now);
            (v & !MISC0_OSC_XTALOK) | if ok { MISC0_OSC_XTALOK } else { 0 }
        }
        "XTALOSC24M.LOWPWR_CTRL" => {
            let misc0 = regs.get("CCM_ANALOG.MISC0");
            let up = misc0 & MISC0_XTAL_24M_PWD == 0 && ready(st, r, ctx.now);
            (v & !LOWPWR_PWRUP_STAT) | if up { LOWPWR_PWRUP_STAT } else { 0 }
        }
        "PMU.REG_1P1" | "PMU.REG_2P5" | "PMU.REG_3P0" => v | PMU_OK,
        "TEMPMON.TEMPSENSE0" => v | TEMP_FINISHED,
        _ => v,
    }
}

pub fn write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let name = regs.table[r].name;
    let new = regs.values[r];
    if is_pll(name) {
        // LOCK is read-only; any change of configuration restarts the lock time.
        regs.values[r] = new & !LOCK;
        if (old ^ new) & !LOCK != 0 {
            st.ready_at.insert(r, ctx.now + PLL_LOCK_CYCLES);
        }
        return;
    }
    if name == "CCM_ANALOG.MISC0" {
        regs.values[r] = new & !MISC0_OSC_XTALOK;
        if new & MISC0_OSC_XTALOK_EN != 0 && old & MISC0_OSC_XTALOK_EN == 0 {
            st.ready_at.insert(r, ctx.now + XTAL_CYCLES);
        }
        if old & MISC0_XTAL_24M_PWD != 0 && new & MISC0_XTAL_24M_PWD == 0 {
            let lowpwr = regs.index("XTALOSC24M.LOWPWR_CTRL");
            st.ready_at.insert(lowpwr, ctx.now + XTAL_CYCLES);
        }
    }
}

/// The frequency of a PLL's output in Hz (bypassed: the 24 MHz reference; off: 0).
pub fn pll_hz(regs: &RegFile, name: &str) -> u64 {
    const REF: u64 = 24_000_000;
    let v = regs.get(name);
    if !pll_powered(name, v) {
        return 0;
    }
    if v & (1 << 16) != 0 {
        return REF;
    }
    match name {
        "CCM_ANALOG.PLL_ARM" => REF * u64::from(v & 0x7F) / 2,
        "CCM_ANALOG.PLL_SYS" => REF * if v & 1 != 0 { 22 } else { 20 },
        _ => REF * if v & 3 != 0 { 22 } else { 20 },
    }
}

/// A PFD output: the PLL's frequency × 18 / FRAC (fraction `n`, 0..3, of the PFD register).
pub fn pfd_hz(regs: &RegFile, pll: &str, pfd: &str, n: u32) -> u64 {
    let frac = u64::from((regs.get(pfd) >> (8 * n)) & 0x3F).max(12);
    pll_hz(regs, pll) * 18 / frac
}
