//! WDOG1/2 and RTWDOG (the "WDOG3" of the manual), with their timeouts.
//!
//! WDOG: WCR.WDE, once set, cannot be cleared (write-once), as on the chip; the SDK only clears
//! it when set, which the ROM never does for a FlexSPI boot. Setting WDE starts the timeout of
//! WCR.WT ((WT + 1) × 0.5 s of the 32 kHz clock); the service sequence 0x5555, 0xAAAA in WSR
//! restarts it. RTWDOG: configuration registers (CS, TOVAL, WIN) are writable only after the
//! unlock key (0xD928C520 as one 32-bit write with CS.CMD32EN, or 0xC520 then 0xD928 as 16-bit
//! writes) sets CS.ULK; writing CS ends the unlocked window and sets CS.RCS (reconfiguration
//! done). A configuration with CS.EN starts its timeout (TOVAL ticks of the clock CS.CLK
//! selects, /256 with CS.PRES); the refresh key (0xB480A602, or 0xA602 then 0xB480) restarts it.
//!
//! A timeout that expires stops the run naming the watchdog and its timeout (on the chip it
//! resets the SoC). The configuration the ROM leaves in RTWDOG is not timed: its timeout on a
//! real part depends on fuses; SDK and Teensy start-up code reconfigure or disable it first.
//! The WDOG power-down counter (WMCR.PDE, 16 s) is not modelled.
//!
//! Early warning and interrupt: WDOG's WICR.WIE (write-once) raises the watchdog's interrupt
//! WICR.WICT × 0.5 s before the timeout; WICR.WTIS reports it and is cleared by writing 1. A
//! service restarts the count, so an interrupt handler that services the watchdog keeps the
//! firmware running. RTWDOG's CS.INT raises its interrupt (CS.FLG, write 1 to clear) when the
//! timeout is reached; the reset follows 255 bus clocks later whatever the handler does
//! (reference manual, RTWDOG "Generating an interrupt before reset": the interrupt gives
//! software time for housekeeping, it does not cancel the reset). The bus (IPG) clock is taken
//! as the core clock / 4 (150 MHz at 600 MHz), so the delay is 1,020 core cycles.

use super::regs::RegFile;
use super::timers::Line;
use super::{Ctx, State};

const WCR_WDE: u32 = 1 << 2;
const WICR_WIE: u32 = 1 << 15;
const WICR_WTIS: u32 = 1 << 14;
const CS_INT: u32 = 1 << 6;
const CS_FLG: u32 = 1 << 14;
/// Bus clocks from the RTWDOG interrupt to the reset.
const RTWDOG_RESET_DELAY_BUS_CLOCKS: u64 = 255;
/// Core clocks per bus (IPG) clock.
const CORE_PER_BUS: u64 = 4;
const CS_EN: u32 = 1 << 7;
const CS_ULK: u32 = 1 << 11;
const CS_RCS: u32 = 1 << 10;
const CS_PRES: u32 = 1 << 12;
const UNLOCK: u32 = 0xD928_C520;
const REFRESH: u32 = 0xB480_A602;

/// An armed watchdog: when it fires and what its timeout is, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Expiry {
    /// The cycle the timeout is reached.
    pub at: u64,
    pub timeout: String,
    /// Core cycles of one timeout period, to restart it on a service.
    pub period: u64,
}

fn arm(st: &mut State, ctx: &Ctx<'_>, seconds: f64, timeout: String) {
    let period = (seconds * ctx.core_hz as f64).ceil().max(1.0) as u64;
    st.expiry = Some(Expiry {
        at: ctx.now + period,
        timeout,
        period,
    });
}

/// A service or refresh: the count restarts, unless the timeout was already reached (RTWDOG
/// with CS.INT: the reset is committed and only delayed).
fn restart(st: &mut State, now: u64) {
    if let Some(e) = st.expiry.as_mut().filter(|e| now < e.at) {
        e.at = now + e.period;
    }
}

/// Whether the timeout was reached and the reset is under way.
fn committed(st: &State, now: u64) -> bool {
    st.expiry.as_ref().is_some_and(|e| e.at <= now)
}

/// The cycle WDOG's early-warning interrupt fires: WICR.WICT half-seconds before the timeout
/// (None without WICR.WIE or while the watchdog is off).
fn wdog_warning_at(regs: &RegFile, st: &State, core_hz: u64) -> Option<u64> {
    let wicr = regs.get("WICR");
    let e = st.expiry.as_ref().filter(|_| wicr & WICR_WIE != 0)?;
    let before = u64::from(wicr & 0xFF) * core_hz / 2;
    Some(e.at.saturating_sub(before))
}

/// Whether a timer flag that sets at `at` is set at `now`, unless cleared (write 1) since.
fn flag(st: &State, r: usize, at: Option<u64>, now: u64) -> bool {
    let cleared = st.ready_at.get(&r).copied();
    at.is_some_and(|at| at <= now && cleared.is_none_or(|c| c < at))
}

pub fn wdog_read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let v = regs.values[r];
    if regs.table[r].name != "WICR" {
        return v;
    }
    let set = flag(st, r, wdog_warning_at(regs, st, ctx.core_hz), ctx.now);
    (v & !WICR_WTIS) | if set { WICR_WTIS } else { 0 }
}

/// WDOG's interrupt line: WICR.WTIS (with WIE).
pub fn wdog_irq(regs: &RegFile, st: &State, now: u64, core_hz: u64) -> Line {
    let wicr = regs.index("WICR");
    match wdog_warning_at(regs, st, core_hz) {
        Some(at) if flag(st, wicr, Some(at), now) => Line::Asserted,
        Some(at) if at > now => Line::At(at),
        _ => Line::Quiet,
    }
}

/// When an expired watchdog resets the SoC: at the timeout, or for RTWDOG with CS.INT 255 bus
/// clocks after it (its interrupt comes first).
pub fn reset_at(regs: &RegFile, e: &Expiry) -> u64 {
    match regs.try_get("CS") {
        Some(cs) if cs & CS_INT != 0 => e.at + RTWDOG_RESET_DELAY_BUS_CLOCKS * CORE_PER_BUS,
        _ => e.at,
    }
}

/// Whether the watchdog's interrupt is enabled (WDOG WICR.WIE, RTWDOG CS.INT).
pub fn interrupt_enabled(regs: &RegFile) -> bool {
    match regs.try_get("CS") {
        Some(cs) => cs & CS_INT != 0,
        None => regs.get("WICR") & WICR_WIE != 0,
    }
}

pub fn rtwdog_read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let v = regs.values[r];
    if regs.table[r].name != "CS" {
        return v;
    }
    (v & !CS_FLG)
        | if rtwdog_flag(regs, st, ctx.now) {
            CS_FLG
        } else {
            0
        }
}

fn rtwdog_flag(regs: &RegFile, st: &State, now: u64) -> bool {
    let at = st.expiry.as_ref().map(|e| e.at);
    regs.get("CS") & CS_INT != 0 && flag(st, regs.index("CS"), at, now)
}

/// RTWDOG's interrupt line: CS.FLG (with CS.INT).
pub fn rtwdog_irq(regs: &RegFile, st: &State, now: u64) -> Line {
    match st.expiry.as_ref() {
        Some(_) if rtwdog_flag(regs, st, now) => Line::Asserted,
        Some(e) if regs.get("CS") & CS_INT != 0 && e.at > now => Line::At(e.at),
        _ => Line::Quiet,
    }
}

pub fn wdog_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    match regs.table[r].name {
        "WICR" => {
            // WIE is write-once; WTIS is a flag cleared by writing 1.
            if ctx.raw & WICR_WTIS != 0 {
                st.ready_at.insert(r, ctx.now);
            }
            let wie = if old & WICR_WIE != 0 {
                WICR_WIE
            } else {
                regs.values[r] & WICR_WIE
            };
            regs.values[r] = (regs.values[r] & !(WICR_WTIS | WICR_WIE)) | wie;
        }
        "WCR" => {
            if old & WCR_WDE != 0 {
                regs.values[r] |= WCR_WDE;
            } else if regs.values[r] & WCR_WDE != 0 {
                let wt = (regs.values[r] >> 8) & 0xFF;
                let seconds = f64::from(wt + 1) * 0.5;
                arm(st, ctx, seconds, format!("WCR.WT = {wt:#04x}: {seconds} s"));
            }
        }
        "WSR" => match ctx.raw & 0xFFFF {
            0x5555 => st.unlock_half = true,
            0xAAAA if st.unlock_half => {
                st.unlock_half = false;
                restart(st, ctx.now);
            }
            _ => st.unlock_half = false,
        },
        _ => {}
    }
}

/// RTWDOG timeout in seconds and its description, for CS and TOVAL at `ctx.core_hz`.
fn rtwdog_timeout(cs: u32, toval: u32, core_hz: u64) -> (f64, String) {
    let (hz, clock) = match (cs >> 8) & 3 {
        0 => (core_hz as f64 / 4.0, "bus (IPG) clock"),
        1 => (32_768.0, "32 kHz LPO clock"),
        2 => (32_768.0, "32 kHz internal clock"),
        _ => (24_000_000.0, "24 MHz oscillator"),
    };
    let prescale = if cs & CS_PRES != 0 { 256.0 } else { 1.0 };
    let ticks = f64::from(toval & 0xFFFF);
    let seconds = ticks * prescale / hz;
    let pres = if prescale > 1.0 { " /256" } else { "" };
    (
        seconds,
        format!(
            "TOVAL = {ticks} ticks of the {clock}{pres}: {:.3} ms",
            seconds * 1e3
        ),
    )
}

pub fn rtwdog_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let cs = regs.index("CS");
    if r == cs {
        // FLG: write 1 to clear, locked or not; it is computed, never stored.
        if ctx.raw & CS_FLG != 0 {
            st.ready_at.insert(cs, ctx.now);
        }
        regs.values[r] &= !CS_FLG;
    }
    // ULK is read-only: a write to CS itself is judged by the value CS had before it.
    let unlocked = if r == cs { old } else { regs.values[cs] } & CS_ULK != 0;
    match regs.table[r].name {
        "CNT" => {
            regs.values[r] = old;
            let key = match (ctx.size, ctx.raw & 0xFFFF) {
                (4, _) => ctx.raw,
                (2, 0xC520) => {
                    st.unlock_half = true;
                    return;
                }
                (2, 0xD928) if st.unlock_half => UNLOCK,
                (2, 0xA602) => {
                    st.unlock_half = true;
                    return;
                }
                (2, 0xB480) if st.unlock_half => REFRESH,
                _ => 0,
            };
            st.unlock_half = false;
            match key {
                UNLOCK => regs.values[cs] |= CS_ULK,
                REFRESH => restart(st, ctx.now),
                _ => {}
            }
        }
        "CS" if unlocked && !committed(st, ctx.now) => {
            // Reconfigured: the window closes, RCS reports the new configuration in effect.
            let value = (regs.values[r] & !CS_ULK) | CS_RCS;
            regs.values[r] = value;
            if value & CS_EN != 0 {
                let (seconds, timeout) = rtwdog_timeout(value, regs.get("TOVAL"), ctx.core_hz);
                arm(st, ctx, seconds, timeout);
            } else {
                st.expiry = None;
            }
        }
        "TOVAL" | "WIN" if unlocked => {}
        // Locked: configuration writes are ignored.
        _ => regs.values[r] = old,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtwdog_timeouts_follow_the_clock_and_prescaler() {
        let (s, text) = rtwdog_timeout(0x2180 | CS_EN, 0x400, 600_000_000);
        assert!((s - 1024.0 / 32_768.0).abs() < 1e-9, "{s}");
        assert!(
            text.contains("1024 ticks") && text.contains("LPO"),
            "{text}"
        );
        let (s, _) = rtwdog_timeout(0x2380 | CS_PRES, 24_000, 600_000_000);
        assert!((s - 0.256).abs() < 1e-9, "{s}");
    }
}
