//! GPT1/2 and PIT: counters derived from the core cycle counter when read. Both count the
//! 24 MHz peripheral clock (PERCLK from the oscillator, as the SDK and Teensy configure it),
//! divided by the GPT prescaler. Status flags (GPT SR.OF1, PIT TFLGn.TIF) are set once the
//! counter has passed its compare value since they were last cleared. Their interrupts (GPT
//! IR.OF1IE, PIT TCTRLn.TIE) assert the NVIC line while the flag is set: [`gpt_irq`] and
//! [`pit_irq`] say whether it is and at which core cycle it next will be, so the core needs no
//! tick of the timers either.

use super::regs::RegFile;
use super::{Ctx, State};

/// The counters' input clock.
pub const PERCLK_HZ: u64 = 24_000_000;

/// Ticks of a `hz` clock between core cycles `from` and `now`.
fn ticks(from: u64, now: u64, hz: u64, core_hz: u64) -> u64 {
    (now.saturating_sub(from) as u128 * u128::from(hz) / u128::from(core_hz.max(1))) as u64
}

/// The first core cycle at which `ticks(from, ·)` reaches `count` (the inverse of [`ticks`]).
fn cycle_of_tick(from: u64, count: u64, hz: u64, core_hz: u64) -> u64 {
    let hz = u128::from(hz.max(1));
    let cycles = (u128::from(count) * u128::from(core_hz.max(1))).div_ceil(hz);
    from.saturating_add(cycles.min(u128::from(u64::MAX)) as u64)
}

/// An interrupt line: asserted now, or the core cycle at which it will be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Asserted,
    At(u64),
    Quiet,
}

impl Line {
    /// The line of a flag that sets at `at` (None: never), gated by an interrupt enable.
    fn of(enabled: bool, at: Option<u64>, now: u64) -> Line {
        match at {
            Some(at) if enabled && at <= now => Line::Asserted,
            Some(at) if enabled => Line::At(at),
            _ => Line::Quiet,
        }
    }

    /// Two lines wired together (the PIT's four channels share one interrupt).
    pub fn or(self, other: Line) -> Line {
        match (self, other) {
            (Line::Asserted, _) | (_, Line::Asserted) => Line::Asserted,
            (Line::At(a), Line::At(b)) => Line::At(a.min(b)),
            (Line::At(a), Line::Quiet) | (Line::Quiet, Line::At(a)) => Line::At(a),
            (Line::Quiet, Line::Quiet) => Line::Quiet,
        }
    }
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
            let of1 = gpt_of1_at(regs, st, ctx.core_hz).is_some_and(|at| at <= ctx.now);
            regs.values[r] | u32::from(of1)
        }
        _ => regs.values[r],
    }
}

/// The core cycle at which SR.OF1 sets (the counter passes OCR1 after the later of enabling
/// and the last clear of SR); None while the GPT is off.
fn gpt_of1_at(regs: &RegFile, st: &State, core_hz: u64) -> Option<u64> {
    let hz = gpt_hz(regs);
    if regs.get("CR") & CR_EN == 0 || hz == 0 {
        return None;
    }
    let (origin, _) = st.counter_origin.get(&regs.index("CNT")).copied()?;
    let cleared = st.ready_at.get(&regs.index("SR")).copied().unwrap_or(0);
    let ocr1 = u64::from(regs.get("OCR1"));
    Some(cycle_of_tick(origin.max(cleared), ocr1 + 1, hz, core_hz))
}

/// The GPT's interrupt line: SR.OF1 with IR.OF1IE.
pub fn gpt_irq(regs: &RegFile, st: &State, now: u64, core_hz: u64) -> Line {
    Line::of(regs.get("IR") & 1 != 0, gpt_of1_at(regs, st, core_hz), now)
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
const TCTRL_TIE: u32 = 1 << 1;

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
    match field {
        "CVAL" => match pit_elapsed(regs, st, n, ctx) {
            Some(t) => (period - 1 - t % period) as u32,
            None => regs.values[r],
        },
        "TFLG" => u32::from(pit_flag_at(regs, st, n, ctx.core_hz).is_some_and(|at| at <= ctx.now)),
        _ => regs.values[r],
    }
}

/// The core cycle at which channel `n`'s TFLG sets (a full period after the later of starting
/// and the last clear); None while the channel is stopped.
fn pit_flag_at(regs: &RegFile, st: &State, n: usize, core_hz: u64) -> Option<u64> {
    let tctrl = regs.index(&format!("TCTRL{n}"));
    if regs.get("MCR") & MCR_MDIS != 0 || regs.values[tctrl] & TCTRL_TEN == 0 {
        return None;
    }
    let (origin, _) = st.counter_origin.get(&tctrl).copied()?;
    let cleared = st
        .ready_at
        .get(&regs.index(&format!("TFLG{n}")))
        .copied()
        .unwrap_or(0);
    let period = u64::from(regs.get(&format!("LDVAL{n}"))) + 1;
    Some(cycle_of_tick(
        origin.max(cleared),
        period,
        PERCLK_HZ,
        core_hz,
    ))
}

/// The PIT's interrupt line: any channel's TFLG with its TCTRL.TIE.
pub fn pit_irq(regs: &RegFile, st: &State, now: u64, core_hz: u64) -> Line {
    (0..4).fold(Line::Quiet, |line, n| {
        let tie = regs.get(&format!("TCTRL{n}")) & TCTRL_TIE != 0;
        line.or(Line::of(tie, pit_flag_at(regs, st, n, core_hz), now))
    })
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
