//! GPT1/2 and PIT: counters derived from the core cycle counter when read. Both count the
//! 24 MHz peripheral clock (PERCLK from the oscillator, as the SDK and Teensy configure it),
//! divided by the GPT prescaler. Status flags (GPT SR.OF1, PIT TFLGn.TIF) are set once the
//! counter has passed its compare value since they were last cleared. These timers raise no
//! interrupts yet: firmware that needs one uses SysTick.

use super::regs::RegFile;
use super::{Ctx, State};

/// The counters' input clock.
pub const PERCLK_HZ: u64 = 24_000_000;

/// Ticks of a `hz` clock between core cycles `from` and `now`.
fn ticks(from: u64, now: u64, hz: u64, core_hz: u64) -> u64 {
    (now.saturating_sub(from) as u128 * u128::from(hz) / u128::from(core_hz.max(1))) as u64
}

// ---- GPT --------------------------------------------------------------------------------------

const CR_EN: u32 = 1 << 0;
const CR_FRR: u32 = 1 << 9;
/// Software reset: resets the GPT's registers but for the CR bits in [`CR_KEPT_BY_SWR`], then
/// clears itself (drivers such as imxrt-hal's write it and poll until it reads 0).
const CR_SWR: u32 = 1 << 15;
/// EN, ENMOD, DBGEN, WAITEN, DOZEEN, STOPEN: the CR bits a software reset leaves alone.
const CR_KEPT_BY_SWR: u32 = 0x3F;

fn gpt_hz(regs: &RegFile) -> u64 {
    if (regs.get("CR") >> 6) & 7 == 0 {
        return 0;
    }
    PERCLK_HZ / u64::from((regs.get("PR") & 0xFFF) + 1)
}

/// Ticks counted since the GPT was enabled (0 when it is off).
fn gpt_elapsed(regs: &RegFile, st: &State, ctx: &Ctx<'_>) -> u64 {
    if regs.get("CR") & CR_EN == 0 {
        return 0;
    }
    let cnt = regs.index("CNT");
    let (origin, _) = st.counter_origin.get(&cnt).copied().unwrap_or((ctx.now, 0));
    ticks(origin, ctx.now, gpt_hz(regs), ctx.core_hz)
}

pub fn gpt_read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let elapsed = gpt_elapsed(regs, st, ctx);
    let ocr1 = u64::from(regs.get("OCR1"));
    let free_run = regs.get("CR") & CR_FRR != 0;
    match regs.table[r].name {
        "CNT" => {
            let cnt = regs.index("CNT");
            let start = st.counter_origin.get(&cnt).map_or(0, |&(_, v)| v);
            if free_run {
                start.wrapping_add(elapsed as u32)
            } else {
                (elapsed % (ocr1 + 1)) as u32
            }
        }
        "SR" => {
            let sr = regs.index("SR");
            let cleared = st.ready_at.get(&sr).copied().unwrap_or(0);
            let since = ticks(cleared, ctx.now, gpt_hz(regs), ctx.core_hz).min(elapsed);
            let of1 = regs.get("CR") & CR_EN != 0 && since > ocr1;
            regs.values[r] | u32::from(of1)
        }
        _ => regs.values[r],
    }
}

pub fn gpt_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let new = regs.values[r];
    match regs.table[r].name {
        "CR" if new & CR_SWR != 0 => {
            for (value, reg) in regs.values.iter_mut().zip(regs.table) {
                *value = reg.reset;
            }
            regs.values[r] = (regs.table[r].reset & !CR_KEPT_BY_SWR) | (new & CR_KEPT_BY_SWR);
            st.counter_origin.insert(regs.index("CNT"), (ctx.now, 0));
        }
        "CR" if new & CR_EN != 0 && old & CR_EN == 0 => {
            let cnt = regs.index("CNT");
            st.counter_origin.insert(cnt, (ctx.now, 0));
        }
        "SR" => {
            // Write 1 to clear: remember when.
            regs.values[r] = old & !new;
            st.ready_at.insert(r, ctx.now);
        }
        "CNT" | "ICR1" | "ICR2" => regs.values[r] = old, // read-only
        _ => {}
    }
}

// ---- PIT --------------------------------------------------------------------------------------

const MCR_MDIS: u32 = 1 << 1;
const TCTRL_TEN: u32 = 1 << 0;

/// The channel (0..3) and field of a PIT register name such as `CVAL2`.
fn channel(name: &str) -> Option<(usize, &str)> {
    let (field, n) = name.split_at(name.len() - 1);
    let n = n.parse().ok()?;
    ["LDVAL", "CVAL", "TCTRL", "TFLG"]
        .contains(&field)
        .then_some((n, field))
}

/// Ticks channel `n` has counted since it was started (None when stopped).
fn pit_elapsed(regs: &RegFile, st: &State, n: usize, ctx: &Ctx<'_>) -> Option<u64> {
    let tctrl = regs.index(&format!("TCTRL{n}"));
    if regs.get("MCR") & MCR_MDIS != 0 || regs.values[tctrl] & TCTRL_TEN == 0 {
        return None;
    }
    let (origin, _) = st.counter_origin.get(&tctrl).copied()?;
    Some(ticks(origin, ctx.now, PERCLK_HZ, ctx.core_hz))
}

pub fn pit_read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let Some((n, field)) = channel(regs.table[r].name) else {
        return regs.values[r];
    };
    let period = u64::from(regs.get(&format!("LDVAL{n}"))) + 1;
    let elapsed = pit_elapsed(regs, st, n, ctx);
    match (field, elapsed) {
        ("CVAL", Some(t)) => (period - 1 - t % period) as u32,
        ("TFLG", Some(t)) => {
            let cleared = st.ready_at.get(&r).copied().unwrap_or(0);
            let since = ticks(cleared, ctx.now, PERCLK_HZ, ctx.core_hz).min(t);
            u32::from(since >= period)
        }
        ("TFLG", None) => 0,
        _ => regs.values[r],
    }
}

pub fn pit_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let new = regs.values[r];
    match channel(regs.table[r].name) {
        Some((_, "TCTRL")) if new & TCTRL_TEN != 0 && old & TCTRL_TEN == 0 => {
            st.counter_origin.insert(r, (ctx.now, 0));
        }
        Some((_, "TFLG")) if new & 1 != 0 => {
            st.ready_at.insert(r, ctx.now);
            regs.values[r] = 0;
        }
        Some((_, "CVAL")) => regs.values[r] = old,
        _ => {}
    }
}
