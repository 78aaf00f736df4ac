//! The sampling methods, written once against [`Target`]: `pcsr` and `halt` here, `swo` in
//! [`super::swo`].
//!
//! Each collector stops at the first of: the sample or duration limit, Ctrl-C (the `interrupted`
//! flag), the program exiting, the probe disconnecting, the target resetting, locking up or
//! halting by itself — and in every case returns what it collected, with the reason, so nothing
//! already sampled is lost. A failure before the first sample is a [`StopReason::Setup`] error.
//! The debug registers a collector changes are put back as they were found ([`FoundState`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::callsite::CallSites;
use super::debug::{self, FoundState};
use super::target::{regs, CoreRegister, Target, TargetError};

/// When to stop.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub samples: Option<u64>,
    /// Host time (modelled time on the virtual board).
    pub duration: Option<Duration>,
    /// Set by a Ctrl-C handler.
    pub interrupted: Arc<AtomicBool>,
}

/// Why a collector stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The sample count or duration was reached.
    Limit,
    /// The program ran to its end (semihosting exit on the virtual board).
    Exited(i64),
    Interrupted,
    Disconnected(String),
    Reset,
    Failed(String),
    /// The capture could not start: nothing was sampled.
    Setup(String),
}

impl StopReason {
    /// A description when the capture ended early, `None` when it ran as asked.
    pub fn partial(&self) -> Option<String> {
        match self {
            StopReason::Limit | StopReason::Exited(0) => None,
            StopReason::Exited(code) => Some(format!("the program exited with status {code}")),
            StopReason::Interrupted => Some("interrupted (Ctrl-C)".into()),
            StopReason::Disconnected(why) => Some(format!("the probe disconnected: {why}")),
            StopReason::Reset => Some("the target reset during the capture".into()),
            StopReason::Failed(why) => Some(format!("stopped by an error: {why}")),
            StopReason::Setup(why) => Some(format!("the capture could not start: {why}")),
        }
    }

    /// Whether the capture ended the way the user asked for (limit, Ctrl-C, a clean exit):
    /// anything else makes `hotlink capture` exit non-zero, samples kept.
    pub fn as_asked(&self) -> bool {
        matches!(
            self,
            StopReason::Limit | StopReason::Interrupted | StopReason::Exited(0)
        )
    }
}

impl From<TargetError> for StopReason {
    fn from(error: TargetError) -> StopReason {
        match error {
            TargetError::Disconnected(why) => StopReason::Disconnected(why),
            TargetError::Reset => StopReason::Reset,
            TargetError::Exited(code) => StopReason::Exited(code),
            TargetError::Other(why) => StopReason::Failed(why),
        }
    }
}

/// What a collector gathered.
#[derive(Debug, Default)]
pub struct Collected {
    pub pcs: FxHashMap<u32, u64>,
    /// (call site, sampled PC) pairs from LR samples (`halt`).
    pub edges: FxHashMap<(u32, u32), u64>,
    /// The callee a call site's `BL` names, where the instruction says (for stale-LR checks).
    pub call_targets: FxHashMap<u32, u32>,
    pub samples: u64,
    pub idle: u64,
    pub lost: u64,
    /// Cycles covered, from CYCCNT at the start and end (wraps accounted for while polling).
    pub cycles: Option<u64>,
    /// Cycles between samples, for periodic methods.
    pub period: Option<u64>,
    pub elapsed: Duration,
    pub stop: Option<StopReason>,
    pub parameters: Vec<(String, String)>,
    /// What the user should know besides the stop reason (restoring state failed, SWO loss).
    pub warnings: Vec<String>,
}

impl Collected {
    pub fn parameter(&mut self, name: &str, value: impl ToString) {
        self.parameters.push((name.to_string(), value.to_string()));
    }
}

/// Called with (samples so far, elapsed) a few times a second.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Duration);

pub(crate) struct Run<'a> {
    limits: &'a Limits,
    start: Duration,
    last_report: Instant,
    progress: Progress<'a>,
}

impl<'a> Run<'a> {
    pub(crate) fn new(target: &dyn Target, limits: &'a Limits, progress: Progress<'a>) -> Run<'a> {
        Run {
            limits,
            start: target.now(),
            last_report: Instant::now(),
            progress,
        }
    }

    /// Host time since the start.
    pub(crate) fn elapsed(&self, target: &dyn Target) -> Duration {
        target.now().saturating_sub(self.start)
    }

    /// Whether a limit says stop; reports progress now and then.
    pub(crate) fn should_stop(&mut self, target: &dyn Target, collected: &Collected) -> bool {
        let elapsed = self.elapsed(target);
        if self.last_report.elapsed() >= Duration::from_millis(200) {
            (self.progress)(collected.samples, elapsed);
            self.last_report = Instant::now();
        }
        self.limits.interrupted.load(Ordering::Relaxed)
            || self.limits.samples.is_some_and(|n| collected.samples >= n)
            || self.limits.duration.is_some_and(|d| elapsed >= d)
    }

    /// Records the stop, restores the debug state found at the start, reports the sample rate.
    pub(crate) fn finish(
        self,
        target: &mut dyn Target,
        found: Option<FoundState>,
        collected: &mut Collected,
        stop: StopReason,
    ) {
        collected.elapsed = self.elapsed(target);
        (self.progress)(collected.samples, collected.elapsed);
        let stop = if stop == StopReason::Limit && self.limits.interrupted.load(Ordering::Relaxed) {
            StopReason::Interrupted
        } else {
            stop
        };
        if let (Some(found), false) = (found, matches!(stop, StopReason::Disconnected(_))) {
            if let Err(e) = found.restore(target) {
                collected
                    .warnings
                    .push(format!("could not restore the debug registers: {e}"));
            }
        }
        let rate = collected.samples as f64 / collected.elapsed.as_secs_f64().max(1e-9);
        collected.parameter("achieved_rate_hz", format!("{rate:.1}"));
        collected.stop = Some(stop);
    }
}

/// Tracks CYCCNT across reads, counting 32-bit wraps.
pub(crate) struct CycleClock {
    first: Option<u32>,
    last: u32,
    wraps: u64,
}

impl CycleClock {
    pub(crate) fn new() -> Self {
        CycleClock {
            first: None,
            last: 0,
            wraps: 0,
        }
    }

    pub(crate) fn observe(&mut self, cyccnt: u32) {
        if self.first.is_none() {
            self.first = Some(cyccnt);
        } else if cyccnt < self.last {
            self.wraps += 1;
        }
        self.last = cyccnt;
    }

    pub(crate) fn total(&self) -> Option<u64> {
        let first = self.first?;
        Some((self.wraps << 32) + u64::from(self.last) - u64::from(first))
    }
}

/// Powers the DWT (DEMCR.TRCENA) and sets DWT_CTRL's sampling fields to `fields` (CYCCNTENA
/// always on). The fields are set, not OR'd into what was there: stale POSTPRESET or CYCTAP
/// bits left by the firmware or an earlier session would change the sampling period.
pub(crate) fn enable_trace(target: &mut dyn Target, fields: u32) -> Result<(), TargetError> {
    let demcr = target.read_word(regs::DEMCR)?;
    target.write_word(regs::DEMCR, demcr | regs::DEMCR_TRCENA)?;
    let ctrl = target.read_word(regs::DWT_CTRL)?;
    target.write_word(
        regs::DWT_CTRL,
        (ctrl & !regs::DWT_CTRL_SAMPLING_FIELDS)
            | ((fields | regs::DWT_CTRL_CYCCNTENA) & regs::DWT_CTRL_SAMPLING_FIELDS),
    )
}

/// Records the debug state as found, checks the core is running, and runs `setup`; an error is
/// a [`StopReason::Setup`].
fn start(
    target: &mut dyn Target,
    setup: impl FnOnce(&mut dyn Target) -> Result<(), TargetError>,
) -> Result<FoundState, StopReason> {
    let found = FoundState::read(target).map_err(|e| StopReason::Setup(e.to_string()))?;
    let state = debug::CoreState::from_dhcsr(found.dhcsr);
    if state.locked_up {
        return Err(StopReason::Setup(
            "the core is locked up (DHCSR.S_LOCKUP): reset it (--reset) before capturing".into(),
        ));
    }
    if state.halted {
        return Err(StopReason::Setup(
            "the core is halted (by a debugger or a BKPT, DHCSR.S_HALT): resume it or pass \
             --reset before capturing"
                .into(),
        ));
    }
    setup(target).map_err(|e| StopReason::Setup(e.to_string()))?;
    Ok(found)
}

/// The words of one block read from CYCCNT to PCSR (CYCCNT, CPI, EXC, SLEEP, LSU, FOLD, PCSR).
const CYCCNT_TO_PCSR: usize = ((regs::DWT_PCSR - regs::DWT_CYCCNT) / 4 + 1) as usize;

/// Polls between two DHCSR checks: the samples of a batch are kept only once DHCSR says no
/// reset, lockup or halt happened while they were taken.
const POLLS_PER_CHECK: usize = 16;

/// `pcsr`: non-intrusive polling of DWT_PCSR, with CYCCNT read in the same block transfer for
/// the time base.
pub fn pcsr(target: &mut dyn Target, limits: &Limits, progress: Progress<'_>) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(target, limits, progress);
    let mut clock = CycleClock::new();
    let mut block = [0u32; CYCCNT_TO_PCSR];
    let found = match start(target, |t| {
        enable_trace(t, 0)?;
        t.read_block(regs::DWT_CYCCNT, &mut block)?;
        if block[CYCCNT_TO_PCSR - 1] == 0 {
            return Err(TargetError::Other(
                "DWT_PCSR reads 0: this core does not implement PC sampling (or the DWT is \
                 not powered); use --method halt or swo"
                    .into(),
            ));
        }
        Ok(())
    }) {
        Ok(found) => found,
        Err(stop) => {
            run.finish(target, None, &mut collected, stop);
            return collected;
        }
    };
    let mut batch: Vec<u32> = Vec::with_capacity(POLLS_PER_CHECK);
    let stop = loop {
        let full = limits
            .samples
            .is_some_and(|n| collected.samples + batch.len() as u64 >= n);
        let limit = run.should_stop(target, &collected);
        if limit || full || batch.len() == POLLS_PER_CHECK {
            // A batch counts only if no reset, lockup or unexpected halt came in between: after
            // a reset the PCs are the boot ROM's, in a lockup 0xEFFF_FFFE.
            match debug::state(target).map(|s| s.interruption(false)) {
                Ok(None) => commit(&mut batch, &mut collected),
                Ok(Some(stop)) => {
                    collected.lost += batch.len() as u64;
                    break StopReason::from(stop);
                }
                Err(e) => {
                    commit(&mut batch, &mut collected);
                    break StopReason::from(e);
                }
            }
            if run.should_stop(target, &collected) {
                break StopReason::Limit;
            }
        }
        let polled = target
            .read_block(regs::DWT_CYCCNT, &mut block)
            .map(|()| {
                clock.observe(block[0]);
                batch.push(block[CYCCNT_TO_PCSR - 1]);
            })
            .and_then(|()| target.wait_for_next_poll());
        if let Err(e) = polled {
            // The probe is gone or the program ended: keep what was read.
            commit(&mut batch, &mut collected);
            break StopReason::from(e);
        }
    };
    collected.cycles = clock.total();
    run.finish(target, Some(found), &mut collected, stop);
    collected
}

/// Counts a batch of PCSR values: 0xFFFF_FFFF is a halted or sleeping core, 0 a PCSR that
/// read nothing.
fn commit(batch: &mut Vec<u32>, collected: &mut Collected) {
    for pc in batch.drain(..) {
        match pc {
            regs::PCSR_IDLE => collected.idle += 1,
            0 => collected.lost += 1,
            pc => {
                *collected.pcs.entry(pc & !1).or_default() += 1;
                collected.samples += 1;
            }
        }
    }
}

/// How `halt` paces its samples.
#[derive(Clone, Copy, Debug)]
pub struct HaltOptions {
    /// The share of host time the core may spend halted (0..1].
    pub duty: f64,
}

impl Default for HaltOptions {
    fn default() -> Self {
        HaltOptions { duty: 0.05 }
    }
}

/// `halt`: halt, read PC and LR, resume — paced so that the core is halted for at most
/// `options.duty` of the time. LR gives one unwound frame: the call site that entered the
/// sampled function ([`CallSites`] decides whether LR holds a return address at all).
pub fn halt(
    target: &mut dyn Target,
    limits: &Limits,
    options: HaltOptions,
    progress: Progress<'_>,
) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(target, limits, progress);
    let mut halted = Duration::ZERO;
    let mut clock = CycleClock::new();
    let mut sites = CallSites::default();
    let duty = options.duty.clamp(1e-4, 1.0);
    let found = match start(target, |t| enable_trace(t, 0)) {
        Ok(found) => found,
        Err(stop) => {
            run.finish(target, None, &mut collected, stop);
            return collected;
        }
    };
    let stop = (|| -> Result<StopReason, TargetError> {
        loop {
            if run.should_stop(target, &collected) {
                return Ok(StopReason::Limit);
            }
            // Still running as we left it? Otherwise it reset, locked up or hit a BKPT, and
            // halting and resuming it would sample the BKPT forever.
            if let Some(stop) = debug::state(target)?.interruption(false) {
                return Err(stop);
            }
            let before = target.now();
            debug::halt(target)?;
            let mut values = [0u32; 2];
            let read =
                debug::read_registers(target, &[CoreRegister::Pc, CoreRegister::Lr], &mut values)
                    .and_then(|()| {
                        if collected.samples % 16 == 0 {
                            clock.observe(target.read_word(regs::DWT_CYCCNT)?);
                        }
                        Ok(())
                    });
            debug::resume(target)?;
            let spent = target.now().saturating_sub(before);
            halted += spent;
            read?;
            let [pc, lr] = values;
            *collected.pcs.entry(pc & !1).or_default() += 1;
            collected.samples += 1;
            if let Some(site) = sites.site(target, lr)? {
                *collected.edges.entry((site.address, pc & !1)).or_default() += 1;
                if let Some(callee) = site.callee {
                    collected.call_targets.insert(site.address, callee);
                }
            }
            // Pace: run free long enough that halted time stays at `duty` of the total.
            let free = spent.as_secs_f64() * (1.0 - duty) / duty;
            target.pause(Duration::from_secs_f64(free))?;
            target.wait_for_next_poll()?;
        }
    })()
    .unwrap_or_else(StopReason::from);
    if let Ok(cyccnt) = target.read_word(regs::DWT_CYCCNT) {
        clock.observe(cyccnt);
    }
    collected.cycles = clock.total();
    run.finish(target, Some(found), &mut collected, stop);
    let fraction = halted.as_secs_f64() / collected.elapsed.as_secs_f64().max(1e-9);
    collected.parameter("halted_fraction", format!("{fraction:.4}"));
    collected.parameter("halt_duty_target", format!("{duty:.4}"));
    collected
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted target: a fixed sequence of PCSR values, then a disconnect; counts round trips.
    struct Scripted {
        pcs: Vec<u32>,
        next: usize,
        cyccnt: u32,
        words: FxHashMap<u32, u32>,
        writes: Vec<(u32, u32)>,
        round_trips: u64,
    }

    impl Scripted {
        fn new(pcs: Vec<u32>) -> Self {
            let mut words = FxHashMap::default();
            // Left by the firmware or an earlier session: CYCTAP, POSTPRESET 15, PCSAMPLENA.
            let stale = regs::DWT_CTRL_CYCTAP
                | (15 << regs::DWT_CTRL_POSTPRESET_SHIFT)
                | regs::DWT_CTRL_PCSAMPLENA;
            words.insert(regs::DWT_CTRL, 0x4000_0000 | stale);
            Scripted {
                pcs,
                next: 0,
                cyccnt: u32::MAX - 1000,
                words,
                writes: Vec::new(),
                round_trips: 0,
            }
        }
        fn current(&self) -> Result<u32, TargetError> {
            self.pcs
                .get(self.next)
                .copied()
                .ok_or_else(|| TargetError::Disconnected("USB cable pulled".into()))
        }
        fn word(&self, address: u32) -> Result<u32, TargetError> {
            match address {
                regs::DWT_PCSR => self.current(),
                regs::DWT_CYCCNT => Ok(self.cyccnt),
                a => Ok(self.words.get(&a).copied().unwrap_or(0)),
            }
        }
    }

    impl Target for Scripted {
        fn read_word(&mut self, address: u32) -> Result<u32, TargetError> {
            self.round_trips += 1;
            self.word(address)
        }
        fn read_block(&mut self, address: u32, out: &mut [u32]) -> Result<(), TargetError> {
            self.round_trips += 1;
            for (i, w) in out.iter_mut().enumerate() {
                *w = self.word(address + 4 * i as u32)?;
            }
            Ok(())
        }
        fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
            self.writes.push((address, value));
            self.words.insert(address, value);
            Ok(())
        }
        fn enable_swo(&mut self, _clock: u64, baud: u32) -> Result<u32, TargetError> {
            Ok(baud)
        }
        fn read_trace(&mut self, _out: &mut Vec<u8>) -> Result<TraceRead, TargetError> {
            Ok(TraceRead::default())
        }
        fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
            self.next += 1;
            self.cyccnt = self.cyccnt.wrapping_add(600);
            Ok(())
        }
        fn pause(&mut self, _time: Duration) -> Result<(), TargetError> {
            Ok(())
        }
        fn now(&self) -> Duration {
            Duration::from_micros(self.next as u64)
        }
        fn core_clock_hz(&self) -> u64 {
            600_000_000
        }
    }

    use super::super::target::TraceRead;

    fn script() -> Vec<u32> {
        vec![0x101, 0x101, regs::PCSR_IDLE, 0x6000_0200, 0x101]
    }

    #[test]
    fn pcsr_keeps_samples_when_the_probe_disconnects() {
        let mut target = Scripted::new(script());
        let collected = pcsr(&mut target, &Limits::default(), &mut |_, _| {});
        assert_eq!(collected.samples, 4);
        assert_eq!(collected.idle, 1);
        assert_eq!(collected.pcs[&0x100], 3);
        assert_eq!(
            collected.cycles,
            Some(4 * 600),
            "CYCCNT wrap is accounted for"
        );
        let stop = collected.stop.unwrap();
        assert!(stop.partial().unwrap().contains("USB cable pulled"));
        assert!(!stop.as_asked());
        assert!(target.writes.contains(&(regs::DEMCR, regs::DEMCR_TRCENA)));
        assert!(collected
            .parameters
            .iter()
            .any(|(k, _)| k == "achieved_rate_hz"));
    }

    #[test]
    fn pcsr_reads_cyccnt_and_pcsr_in_one_transfer() {
        let mut target = Scripted::new(vec![0x101; 1000]);
        let limits = Limits {
            samples: Some(320),
            ..Limits::default()
        };
        let collected = pcsr(&mut target, &limits, &mut |_, _| {});
        assert_eq!(collected.samples, 320);
        // One block read per sample and one DHCSR read per 16 samples, plus setup and restore.
        let per_sample = target.round_trips as f64 / 320.0;
        assert!(per_sample < 1.1, "{} round trips", target.round_trips);
    }

    #[test]
    fn a_pcsr_of_zero_is_a_setup_error() {
        let mut target = Scripted::new(vec![0; 100]);
        let collected = pcsr(&mut target, &Limits::default(), &mut |_, _| {});
        match collected.stop {
            Some(StopReason::Setup(why)) => assert!(why.contains("DWT_PCSR reads 0"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(collected.samples, 0);
    }

    #[test]
    fn dwt_ctrl_fields_are_set_not_ored_and_put_back() {
        let mut target = Scripted::new(vec![0x101; 100]);
        let found = target.words[&regs::DWT_CTRL];
        let limits = Limits {
            samples: Some(10),
            ..Limits::default()
        };
        pcsr(&mut target, &limits, &mut |_, _| {});
        let ctrl_writes: Vec<u32> = target
            .writes
            .iter()
            .filter(|(a, _)| *a == regs::DWT_CTRL)
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(
            ctrl_writes[0],
            0x4000_0000 | regs::DWT_CTRL_CYCCNTENA,
            "no stale CYCTAP, POSTPRESET or PCSAMPLENA"
        );
        assert_eq!(*ctrl_writes.last().unwrap(), found, "put back as found");
    }

    #[test]
    fn interruption_is_reported_and_counts_as_asked() {
        let mut target = Scripted::new(vec![0x100; 1000]);
        let limits = Limits::default();
        limits.interrupted.store(true, Ordering::Relaxed);
        let collected = pcsr(&mut target, &limits, &mut |_, _| {});
        assert_eq!(collected.stop, Some(StopReason::Interrupted));
        assert!(collected.stop.unwrap().as_asked());
    }
}
