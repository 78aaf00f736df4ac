//! Time-bounded waits: code that polls a timer until a deadline.
//!
//! Teensy-style firmware spins on `millis()` (a SysTick counter) until a deadline. The deadline
//! is fixed in time from the moment the timer started, so the spin absorbs every cycle saved or
//! lost between the timer's start and the deadline: the loop simply turns more or fewer times.
//! Cycles saved before the timer starts (the startup copy) move the deadline, and cycles after
//! it (printing the result) add up as usual. Per-section costs cannot see this: on `teensy` the
//! whole-run gain was 22–31% off, because `main` and `millis` measured 66–86 k cycles of
//! "saving" that were only the spin absorbing the work's slowdown (docs/PERFORMANCE.md).
//!
//! The wait is found by what it does, not by name: its instruction counts track wall time. The
//! image runs as linked (noting when the timer started) and once with all code fetched as from
//! another memory (the stall model's what-if: slower or faster work); instructions that retire a
//! different number of times in the two runs are the wait, and the last time one of them
//! retired in the real run is the deadline. The window from the timer's start to the deadline
//! is kept only if it explains the what-if run: the change of the cycles outside the window must
//! predict the what-if run's total better than the change of all cycles (an RTOS's scheduler
//! also turns differently with time, but absorbs nothing). The timer is SysTick, the one timer
//! the virtual board models, and it must start during startup (within [`STARTUP_LIMIT`]
//! instructions).

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use crate::board::{Board, RegionKind};
use crate::sim::{Limits, Machine, Observer, StopReason};

/// SYST_CVR: reads as non-zero while SysTick runs (the virtual board has no side effect on it).
const SYST_CVR: u32 = 0xE000_E018;

/// Instructions between two looks at SysTick while waiting for it to start.
const CHUNK: u64 = 64;

/// A timer not started within this many instructions is not looked for further.
const STARTUP_LIMIT: u64 = 2_000_000;

/// The wait the baseline run showed.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedWait {
    /// Instructions retired when the timer started, and when the wait last retired.
    pub timer_started: u64,
    pub deadline: u64,
    /// Cycles of the run inside that window, and of the whole run.
    pub window_cycles: u64,
    pub run_cycles: u64,
    /// Per instruction address, its cycles inside the window and in all.
    cycles: FxHashMap<u32, (u64, u64)>,
}

impl TimedWait {
    /// Per item (`at` maps an instruction address to one of `items`), the share of its cycles
    /// inside the window: what of a change in that code's speed the wait absorbs.
    pub fn absorbed(&self, items: usize, at: impl Fn(u32) -> Option<usize>) -> Vec<f64> {
        let mut sums = vec![(0u64, 0u64); items];
        for (&pc, &(inside, all)) in &self.cycles {
            if let Some(i) = at(pc) {
                sums[i].0 += inside;
                sums[i].1 += all;
            }
        }
        sums.into_iter()
            .map(|(inside, all)| inside as f64 / all.max(1) as f64)
            .collect()
    }
}

/// Per instruction address: times retired, the last retirement (instructions from reset), and
/// cycles inside the window and in all.
#[derive(Clone, Copy, Debug, Default)]
struct PcLog {
    count: u64,
    last: u64,
    cycles_inside: u64,
    cycles: u64,
}

#[derive(Default)]
struct Log {
    retired: u64,
    window: Option<(u64, u64)>,
    pcs: FxHashMap<u32, PcLog>,
}

struct Recorder(Rc<RefCell<Log>>);

impl Observer for Recorder {
    fn retire(&mut self, pc: u32, cycles: u32) {
        let log = &mut *self.0.borrow_mut();
        log.retired += 1;
        let now = log.retired;
        let inside = log.window.is_some_and(|(a, b)| a < now && now <= b);
        let e = log.pcs.entry(pc).or_default();
        e.count += 1;
        e.last = now;
        e.cycles += u64::from(cycles);
        if inside {
            e.cycles_inside += u64::from(cycles);
        }
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

/// One run: per instruction address its log, when SysTick started (`None` when it did not
/// within [`STARTUP_LIMIT`]: the run then stops there) and the run's cycles.
fn run(
    board: &Board,
    elf: &[u8],
    path: &str,
    code_from: Option<RegionKind>,
    window: Option<(u64, u64)>,
) -> Result<(FxHashMap<u32, PcLog>, Option<u64>, u64)> {
    let mut m = Machine::new(board, elf, path)
        .with_context(|| format!("loading {path} on the virtual {}", board.name))?;
    m.mem.allow_flash_writes();
    if let Some(kind) = code_from {
        crate::simrun::fetch_code_as_from(&mut m, kind);
    }
    let log = Rc::new(RefCell::new(Log {
        window,
        ..Log::default()
    }));
    m.set_observer(Some(Box::new(Recorder(log.clone()))));
    let context = || format!("the timed-wait run of {path} on the virtual {}", board.name);
    let mut started = None;
    let mut stop = None;
    while started.is_none() && m.instructions < STARTUP_LIMIT {
        let s = m
            .run(Limits {
                max_instructions: m.instructions + CHUNK,
                max_cycles: u64::MAX,
            })
            .with_context(context)?;
        if m.system_read(SYST_CVR) != 0 {
            started = Some(log.borrow().retired);
        }
        if matches!(s, StopReason::Exit { .. }) {
            stop = Some(s);
            break;
        }
    }
    if started.is_some() && stop.is_none() {
        let s = m
            .run(Limits {
                max_instructions: 2_000_000_000,
                max_cycles: u64::MAX,
            })
            .with_context(context)?;
        if !matches!(s, StopReason::Exit { .. }) {
            anyhow::bail!("{} did not reach its exit ({s:?})", context());
        }
    }
    m.set_observer(None);
    let cycles = m.cycles;
    let pcs = std::mem::take(&mut log.borrow_mut().pcs);
    Ok((pcs, started, cycles))
}

/// Looks for a time-bounded wait in `elf`'s run; `elsewhere` is the memory kind the what-if run
/// fetches all code as from (one that changes the work's speed).
pub fn find(
    board: &Board,
    elf: &[u8],
    path: &str,
    elsewhere: RegionKind,
) -> Result<Option<TimedWait>> {
    let (real, started, _) = run(board, elf, path, None, None)?;
    let Some(timer_started) = started else {
        return Ok(None);
    };
    let (what_if, _, what_if_cycles) = run(board, elf, path, Some(elsewhere), None)?;
    let waits = real.iter().filter(|(pc, log)| {
        log.last > timer_started && what_if.get(pc).map_or(0, |w| w.count) != log.count
    });
    let Some(deadline) = waits.map(|(_, log)| log.last).max() else {
        return Ok(None);
    };
    let (real, _, run_cycles) = run(board, elf, path, None, Some((timer_started, deadline)))?;
    // Does the window explain the what-if run? The wait's own instructions excluded, the
    // change of the cycles outside it against the change of all of them.
    let (mut all, mut outside) = (0.0, 0.0);
    for (pc, log) in &real {
        let w = what_if.get(pc).copied().unwrap_or_default();
        if w.count != log.count {
            continue;
        }
        let change = w.cycles as f64 - log.cycles as f64;
        all += change;
        outside += change * (1.0 - log.cycles_inside as f64 / log.cycles.max(1) as f64);
    }
    let measured = what_if_cycles as f64 - run_cycles as f64;
    if (measured - outside).abs() >= (measured - all).abs() {
        return Ok(None);
    }
    let window_cycles = real.values().map(|l| l.cycles_inside).sum();
    let cycles = real
        .iter()
        .map(|(&pc, log)| (pc, (log.cycles_inside, log.cycles)))
        .collect();
    Ok(Some(TimedWait {
        timer_started,
        deadline,
        window_cycles,
        run_cycles,
        cycles,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (Board, Vec<u8>, String) {
        let path = format!(
            "{}/tests/firmware/build/{name}/{name}.elf",
            env!("CARGO_MANIFEST_DIR")
        );
        let elf = std::fs::read(&path).unwrap();
        (Board::resolve("imxrt1062").unwrap(), elf, path)
    }

    /// Per named function of `elf`, the share of its cycles the wait absorbs.
    fn shares(wait: &TimedWait, board: &Board, elf: &[u8], path: &str, names: &[&str]) -> Vec<f64> {
        let image = Machine::new(board, elf, path).unwrap().image;
        let ranges: Vec<(u32, u32)> = names
            .iter()
            .map(|n| {
                let f = image.functions.iter().find(|f| f.name == *n).unwrap();
                (f.addr, f.addr + f.size)
            })
            .collect();
        wait.absorbed(names.len(), |pc| {
            ranges.iter().position(|&(a, b)| a <= pc && pc < b)
        })
    }

    /// `teensy`'s `main` spins on `millis()` for two SysTick periods: the window runs from
    /// SysTick's start (after the startup copy) to the spin's end (before the result is
    /// printed), and holds the spin and the work before it.
    #[test]
    fn teensys_millis_spin_is_a_time_bounded_wait() {
        let (board, elf, path) = fixture("teensy");
        let wait = find(&board, &elf, &path, RegionKind::Xip)
            .unwrap()
            .expect("a wait on teensy");
        assert!(wait.timer_started < wait.deadline, "{wait:?}");
        let [copy, spin, work, print] = shares(
            &wait,
            &board,
            &elf,
            &path,
            &[
                "copy_words",
                "millis",
                "_Z10make_shapemm",
                "console_put_u32",
            ],
        )[..] else {
            unreachable!()
        };
        assert_eq!(copy, 0.0, "the startup copy runs before SysTick starts");
        assert!(spin > 0.99 && work > 0.99, "spin {spin}, work {work}");
        assert_eq!(print, 0.0, "the result is printed after the deadline");
        let share = wait.window_cycles as f64 / wait.run_cycles as f64;
        assert!((0.5..0.9).contains(&share), "{share}");
    }

    /// `rtos` runs SysTick too, and its scheduler turns differently with time, but no spin
    /// absorbs the work: the window would not explain the what-if run. `vm` starts no timer.
    #[test]
    fn an_rtos_scheduler_and_a_timerless_run_have_no_wait() {
        for name in ["rtos", "vm"] {
            let (board, elf, path) = fixture(name);
            let wait = find(&board, &elf, &path, RegionKind::Xip).unwrap();
            assert!(wait.is_none(), "{name}: {wait:?}");
        }
    }
}
