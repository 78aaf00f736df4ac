//! Windows of firmware that never exits: a main loop measured between entering one symbol and
//! entering another, window after window, and the run stopped after N of them.
//!
//! Shipped firmware loops forever, so "run to the exit" measures nothing. The virtual board
//! runs in short stretches ([`STRETCH_CYCLES`]) and stops at the end of the stretch in which
//! the N-th window ended; every window's cycles are counted exactly by an observer, so the
//! stretch only decides how far past the last window the board runs, never what is counted.
//! An observer can ride along inside the windows only (the exact profiler of `capture --sim`).

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::{bail, Context, Result};

use crate::sim::{Limits, Machine, Observer, StopReason};
use crate::simrun::Window;

/// Core cycles the board runs between two looks at the window count.
pub const STRETCH_CYCLES: u64 = 1 << 16;

/// The default cycle limit of a windowed run when the user gives none: 10 s of the board's
/// core clock (as `hotlink run`), so that a window that is never entered stops the run.
pub const DEFAULT_LIMIT_SECONDS: u64 = 10;

/// Cycles and instructions of each completed window, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub cycles: Vec<u64>,
    pub instructions: Vec<u64>,
}

/// Counts each window separately and forwards the events inside windows to `inner`.
struct WindowLog {
    start: u32,
    stop: u32,
    inside: bool,
    /// Windows to count; later entries are not windows (nor seen by `inner`).
    wanted: usize,
    cycles: u64,
    instructions: u64,
    done: Rc<RefCell<WindowCounts>>,
    inner: Option<Box<dyn Observer>>,
}

impl Observer for WindowLog {
    fn retire(&mut self, pc: u32, cycles: u32) {
        // As `simrun::simulate`'s window: the start instruction counts, the stop one does not.
        if pc == self.start && !self.inside && self.done.borrow().cycles.len() < self.wanted {
            self.inside = true;
        } else if pc == self.stop && self.inside {
            self.inside = false;
            let mut done = self.done.borrow_mut();
            done.cycles.push(std::mem::take(&mut self.cycles));
            done.instructions
                .push(std::mem::take(&mut self.instructions));
        }
        if self.inside {
            self.cycles += u64::from(cycles);
            self.instructions += 1;
            if let Some(inner) = &mut self.inner {
                inner.retire(pc, cycles);
            }
        }
    }
    fn call(&mut self, site: u32, target: u32) {
        if let (true, Some(inner)) = (self.inside, &mut self.inner) {
            inner.call(site, target);
        }
    }
    fn ret(&mut self, site: u32, target: u32) {
        if let (true, Some(inner)) = (self.inside, &mut self.inner) {
            inner.ret(site, target);
        }
    }
    fn thread_context(&mut self, entry: bool, frame: u32) {
        if let (true, Some(inner)) = (self.inside, &mut self.inner) {
            inner.thread_context(entry, frame);
        }
    }
}

/// The addresses of `window`'s two symbols in the image `m` runs.
pub fn window_addresses(m: &Machine, window: &Window, path: &str) -> Result<(u32, u32)> {
    let find = |name: &str| {
        m.image.symbol(name).with_context(|| {
            format!(
                "window {window}: {path} has no symbol `{name}` (is it kept by the linker and \
                 not inlined?)"
            )
        })
    };
    Ok((find(&window.start)?, find(&window.stop)?))
}

/// Runs `m` until `count` windows have ended, and returns each window's counts; `inner` sees
/// only the instructions inside windows. A program that exits first, or a run that reaches
/// `limits`, is an error naming how many windows were seen.
pub fn run_windows(
    m: &mut Machine,
    window: &Window,
    path: &str,
    count: u64,
    limits: Limits,
    inner: Option<Box<dyn Observer>>,
) -> Result<WindowCounts> {
    if count == 0 {
        bail!("--windows must be at least 1");
    }
    let (start, stop) = window_addresses(m, window, path)?;
    let done = Rc::new(RefCell::new(WindowCounts::default()));
    m.set_observer(Some(Box::new(WindowLog {
        start,
        stop,
        inside: false,
        wanted: usize::try_from(count).unwrap_or(usize::MAX),
        cycles: 0,
        instructions: 0,
        done: done.clone(),
        inner,
    })));
    let outcome = loop {
        if done.borrow().cycles.len() as u64 >= count {
            break Ok(());
        }
        let stretch = Limits {
            max_cycles: m
                .cycles
                .saturating_add(STRETCH_CYCLES)
                .min(limits.max_cycles),
            ..limits
        };
        match m.run(stretch) {
            Ok(StopReason::CycleLimit { .. }) if m.cycles < limits.max_cycles => {}
            Ok(reason) => break Err(reason),
            Err(e) => {
                m.set_observer(None);
                return Err(e).with_context(|| format!("running {path}"));
            }
        }
    };
    m.set_observer(None);
    let counts = done.take();
    if let Err(reason) = outcome {
        let seen = counts.cycles.len();
        let why = match reason {
            StopReason::Exit { status } => format!("the program exited with status {status}"),
            StopReason::CycleLimit { limit } => format!("the run reached {limit} cycles"),
            StopReason::InstructionLimit { limit } => {
                format!("the run reached {limit} instructions")
            }
        };
        bail!(
            "{path}: {why} after {seen} of {count} windows {window}{}",
            if seen == 0 {
                format!(" (is `{}` ever called?)", window.start)
            } else {
                " (ask for fewer with --windows, or raise --max-cycles)".to_string()
            }
        );
    }
    Ok(counts)
}
