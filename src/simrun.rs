//! One run of an image on the virtual board with the observers its users need: a window between
//! two symbols, the exact profiler and a counter of calls through veneers. `hotlink run`,
//! `capture --sim`, the planner's what-if run, `report`, `measure` and `check` all run images
//! through here. It sits beside [`crate::sim`] rather than inside it because it feeds the
//! profiler ([`crate::profile`]), which itself builds on `sim`.

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::board::{Board, RegionKind};
use crate::profile::{ElfIdentity, ExactProfiler, Profile, StackSampler};
use crate::sim::{FaultReport, Limits, Machine, Observer, RegionStats, StopReason};

/// What to run and what to watch.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Count cycles between entering the first symbol and entering the second.
    pub window: Option<Window>,
    /// Let stores write the XIP flash (firmware that programs its own flash, like `flashwrite`).
    pub writable_flash: bool,
    pub limits: Limits,
    /// Copy the program's output to the host's stdout/stderr as it runs.
    pub echo: bool,
    /// Take the exact profile, with a PC sample every this many cycles (0: no samples).
    pub profile_period: Option<u64>,
    /// With `profile_period`: record the exact call stack at each of those samples in the
    /// profile's `call_stacks`.
    pub profile_stacks: bool,
    /// Addresses of long-branch veneers; entering one counts a call through it.
    pub veneers: Vec<u32>,
    /// Make every instruction fetch cost what it would from a region of this kind (ITCM or
    /// OCRAM), and every data read inside a function (its literal pools) free: the planner's
    /// what-if runs.
    pub code_from: Option<RegionKind>,
}

/// A measurement window between two symbols: `START..STOP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: String,
    pub stop: String,
}

impl Window {
    /// Parses `START..STOP`.
    pub fn parse(spec: &str) -> Result<Window> {
        match spec.split_once("..") {
            Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok(Window {
                start: a.to_string(),
                stop: b.to_string(),
            }),
            _ => bail!("window `{spec}`: expected START..STOP, two symbol names"),
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.stop)
    }
}

/// Cycles and instructions counted inside a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowStats {
    pub start: String,
    pub stop: String,
    /// Times the start symbol was entered from outside the window.
    pub entries: u64,
    pub cycles: u64,
    pub instructions: u64,
}

/// What one run produced.
pub struct SimRun {
    pub stop: StopReason,
    pub cycles: u64,
    pub instructions: u64,
    pub core_clock_hz: u64,
    pub window: Option<WindowStats>,
    pub regions: Vec<RegionStats>,
    pub fault: Option<FaultReport>,
    /// Program output (semihosting).
    pub output: Vec<u8>,
    /// The exact profile, when asked for.
    pub profile: Option<Profile>,
    /// Calls through each veneer of [`SimOptions::veneers`], in the same order.
    pub veneer_calls: Vec<u64>,
    /// Peripheral registers the program touched that the virtual board only stores (no
    /// behaviour): where its model may be too simple for this firmware.
    pub plain_registers: Vec<String>,
}

impl SimRun {
    /// The exit status, when the program exited.
    pub fn exit_status(&self) -> Option<i32> {
        match self.stop {
            StopReason::Exit { status } => Some(status),
            _ => None,
        }
    }

    /// An error unless the program exited with status 0 (a measurement of a run that failed or
    /// did not finish means nothing).
    pub fn require_success(&self, path: &str) -> Result<()> {
        match self.stop {
            StopReason::Exit { status: 0 } => Ok(()),
            StopReason::Exit { status } => {
                bail!("{path}: the program exited with status {status}")
            }
            StopReason::InstructionLimit { limit } => {
                bail!("{path}: stopped after {limit} instructions; the program had not exited")
            }
            StopReason::CycleLimit { limit } => {
                bail!("{path}: stopped after {limit} cycles; the program had not exited")
            }
        }
    }
}

/// Observers fed the same events.
struct Fanout(Vec<Box<dyn Observer>>);

impl Observer for Fanout {
    fn retire(&mut self, pc: u32, cycles: u32) {
        for o in &mut self.0 {
            o.retire(pc, cycles);
        }
    }
    fn call(&mut self, site: u32, target: u32) {
        for o in &mut self.0 {
            o.call(site, target);
        }
    }
    fn ret(&mut self, site: u32, target: u32) {
        for o in &mut self.0 {
            o.ret(site, target);
        }
    }
    fn thread_context(&mut self, entry: bool, frame: u32) {
        for o in &mut self.0 {
            o.thread_context(entry, frame);
        }
    }
}

/// Counts cycles and instructions between entering `start` and entering `stop`.
struct WindowObserver {
    start: u32,
    stop: u32,
    inside: bool,
    counts: Rc<RefCell<(u64, u64, u64)>>,
}

impl Observer for WindowObserver {
    fn retire(&mut self, pc: u32, cycles: u32) {
        let mut c = self.counts.borrow_mut();
        if pc == self.start && !self.inside {
            self.inside = true;
            c.0 += 1;
        } else if pc == self.stop {
            self.inside = false;
        }
        if self.inside {
            c.1 += u64::from(cycles);
            c.2 += 1;
        }
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

/// Counts entries into veneers: the PC landing on a veneer's first instruction (by a BL, a B or a
/// fall-through, all of which pay the veneer's cost).
struct VeneerObserver {
    /// Sorted veneer addresses.
    addresses: Vec<u32>,
    low: u32,
    high: u32,
    counts: Rc<RefCell<Vec<u64>>>,
}

impl Observer for VeneerObserver {
    fn retire(&mut self, pc: u32, _cycles: u32) {
        if pc < self.low || pc > self.high {
            return;
        }
        if let Ok(i) = self.addresses.binary_search(&pc) {
            self.counts.borrow_mut()[i] += 1;
        }
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

/// Makes every instruction fetch of `m` cost what it would from memory of `kind`, and the
/// reads inside its functions (literal pools) free: the planner's what-if runs.
pub(crate) fn fetch_code_as_from(m: &mut Machine, kind: RegionKind) {
    let functions = m
        .image
        .functions
        .iter()
        .map(|f| (f.addr, f.addr.saturating_add(f.size)))
        .collect();
    m.timing.assume_code_in(kind, functions);
}

/// Runs `bytes` (the ELF at `path`) on `board`. `board_spec` is what the user named the board by,
/// recorded in the profile.
pub fn simulate(
    board: &Board,
    board_spec: &str,
    bytes: &[u8],
    path: &str,
    options: &SimOptions,
) -> Result<SimRun> {
    let mut m = Machine::new(board, bytes, path)?;
    m.echo = options.echo;
    if options.writable_flash {
        m.mem.allow_flash_writes();
    }
    if let Some(kind) = options.code_from {
        fetch_code_as_from(&mut m, kind);
    }
    let mut observers: Vec<Box<dyn Observer>> = Vec::new();
    let window = match &options.window {
        Some(w) => {
            let find = |name: &str| {
                m.image.symbol(name).with_context(|| {
                    format!(
                        "window {w}: {path} has no symbol `{name}` (is it kept by the linker and not inlined?)"
                    )
                })
            };
            let counts = Rc::new(RefCell::new((0, 0, 0)));
            observers.push(Box::new(WindowObserver {
                start: find(&w.start)?,
                stop: find(&w.stop)?,
                inside: false,
                counts: counts.clone(),
            }));
            Some((w.clone(), counts))
        }
        None => None,
    };
    let profiler = options.profile_period.map(|period| {
        let (observer, counts) = ExactProfiler::new(period);
        observers.push(Box::new(observer));
        counts
    });
    let stack_samples = match options.profile_period {
        Some(period) if options.profile_stacks => {
            let (observer, samples) = StackSampler::new(&m, period);
            observers.push(Box::new(observer));
            Some(samples)
        }
        _ => None,
    };
    // The observer searches the veneers sorted by address; `order` maps back to the caller's order.
    let mut order: Vec<usize> = (0..options.veneers.len()).collect();
    order.sort_by_key(|&i| options.veneers[i]);
    let veneer_counts = Rc::new(RefCell::new(vec![0u64; order.len()]));
    if let (Some(&first), Some(&last)) = (order.first(), order.last()) {
        observers.push(Box::new(VeneerObserver {
            low: options.veneers[first],
            high: options.veneers[last],
            addresses: order.iter().map(|&i| options.veneers[i]).collect(),
            counts: veneer_counts.clone(),
        }));
    }
    let observer: Option<Box<dyn Observer>> = match observers.len() {
        0 => None,
        1 => observers.pop(),
        _ => Some(Box::new(Fanout(observers))),
    };
    m.set_observer(observer);
    let stop = m
        .run(options.limits)
        .with_context(|| format!("running {path} on {}", board.name))?;
    m.set_observer(None);
    let mut veneer_calls = vec![0u64; order.len()];
    for (k, &i) in order.iter().enumerate() {
        veneer_calls[i] = veneer_counts.borrow()[k];
    }
    let call_stacks = stack_samples.map(|s| s.borrow().into_call_stacks(&m));
    let mut run = finish(
        m,
        board_spec,
        (bytes, path),
        stop,
        window,
        profiler,
        veneer_calls,
    );
    if let Some(profile) = run.profile.as_mut() {
        profile.call_stacks = call_stacks;
    }
    Ok(run)
}

type WindowCounts = Option<(Window, Rc<RefCell<(u64, u64, u64)>>)>;

fn finish(
    mut m: Machine,
    board_spec: &str,
    (bytes, path): (&[u8], &str),
    stop: StopReason,
    window: WindowCounts,
    profiler: Option<Rc<RefCell<crate::profile::ExactCounts>>>,
    veneer_calls: Vec<u64>,
) -> SimRun {
    let profile = profiler.map(|counts| {
        let mut profile =
            counts
                .borrow()
                .into_profile(&m, ElfIdentity::of_bytes(path, bytes), board_spec);
        if !matches!(stop, StopReason::Exit { .. }) {
            profile.capture.partial = Some(format!(
                "the run stopped before the program exited: {stop:?}"
            ));
        }
        profile.record_layout(bytes);
        profile
    });
    let window = window.map(|(w, counts)| {
        let (entries, cycles, instructions) = *counts.borrow();
        WindowStats {
            start: w.start,
            stop: w.stop,
            entries,
            cycles,
            instructions,
        }
    });
    SimRun {
        stop,
        cycles: m.cycles,
        instructions: m.instructions,
        core_clock_hz: m.core_clock_hz(),
        window,
        regions: m.region_stats().to_vec(),
        fault: m.first_fault.clone(),
        output: std::mem::take(&mut m.output),
        profile,
        veneer_calls,
        plain_registers: m
            .soc
            .as_ref()
            .map(|s| s.plain_touched())
            .unwrap_or_default(),
    }
}
