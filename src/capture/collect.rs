//! The three sampling methods, written once against [`Target`].
//!
//! Each collector stops at the first of: the sample or duration limit, Ctrl-C (the `interrupted`
//! flag), the program exiting, the probe disconnecting or the target resetting — and in every
//! case returns what it collected, with the reason, so nothing already sampled is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::target::{regs, CoreRegister, Target, TargetError};
use crate::itm::{Decoder, Packet};

/// When to stop.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub samples: Option<u64>,
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
}

impl StopReason {
    /// A description when the capture ended early, `None` when it ran as asked.
    pub fn partial(&self) -> Option<String> {
        match self {
            StopReason::Limit | StopReason::Exited(_) => None,
            StopReason::Interrupted => Some("interrupted (Ctrl-C)".into()),
            StopReason::Disconnected(why) => Some(format!("the probe disconnected: {why}")),
            StopReason::Reset => Some("the target reset during the capture".into()),
            StopReason::Failed(why) => Some(format!("stopped by an error: {why}")),
        }
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
}

/// Called with (samples so far, elapsed) a few times a second.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Duration);

pub(super) struct Run<'a> {
    limits: &'a Limits,
    start: Instant,
    last_report: Instant,
    progress: Progress<'a>,
}

impl<'a> Run<'a> {
    pub(super) fn new(limits: &'a Limits, progress: Progress<'a>) -> Run<'a> {
        let now = Instant::now();
        Run {
            limits,
            start: now,
            last_report: now,
            progress,
        }
    }

    /// Whether a limit says stop; reports progress now and then.
    pub(super) fn should_stop(&mut self, collected: &Collected) -> bool {
        let now = Instant::now();
        if now.duration_since(self.last_report) >= Duration::from_millis(200) {
            (self.progress)(collected.samples, now - self.start);
            self.last_report = now;
        }
        self.limits.interrupted.load(Ordering::Relaxed)
            || self.limits.samples.is_some_and(|n| collected.samples >= n)
            || self.limits.duration.is_some_and(|d| now - self.start >= d)
    }

    pub(super) fn finish(self, collected: &mut Collected, stop: StopReason) {
        collected.elapsed = self.start.elapsed();
        (self.progress)(collected.samples, collected.elapsed);
        let stop = if stop == StopReason::Limit && self.limits.interrupted.load(Ordering::Relaxed) {
            StopReason::Interrupted
        } else {
            stop
        };
        collected.stop = Some(stop);
    }
}

/// Tracks CYCCNT across reads, counting 32-bit wraps.
struct CycleClock {
    first: Option<u32>,
    last: u32,
    wraps: u64,
}

impl CycleClock {
    fn new() -> Self {
        CycleClock {
            first: None,
            last: 0,
            wraps: 0,
        }
    }

    fn observe(&mut self, cyccnt: u32) {
        if self.first.is_none() {
            self.first = Some(cyccnt);
        } else if cyccnt < self.last {
            self.wraps += 1;
        }
        self.last = cyccnt;
    }

    fn total(&self) -> Option<u64> {
        let first = self.first?;
        Some((self.wraps << 32) + u64::from(self.last) - u64::from(first))
    }
}

fn enable_trace(target: &mut dyn Target, dwt_ctrl_extra: u32) -> Result<(), TargetError> {
    let demcr = target.read_word(regs::DEMCR)?;
    target.write_word(regs::DEMCR, demcr | regs::DEMCR_TRCENA)?;
    let ctrl = target.read_word(regs::DWT_CTRL)?;
    target.write_word(
        regs::DWT_CTRL,
        ctrl | regs::DWT_CTRL_CYCCNTENA | dwt_ctrl_extra,
    )
}

/// `pcsr`: non-intrusive polling of DWT_PCSR, with CYCCNT for the time base.
pub fn pcsr(target: &mut dyn Target, limits: &Limits, progress: Progress<'_>) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(limits, progress);
    let mut clock = CycleClock::new();
    let stop = (|| -> Result<StopReason, TargetError> {
        enable_trace(target, 0)?;
        loop {
            if run.should_stop(&collected) {
                return Ok(StopReason::Limit);
            }
            let pc = target.read_word(regs::DWT_PCSR)?;
            clock.observe(target.read_word(regs::DWT_CYCCNT)?);
            if pc == regs::PCSR_IDLE {
                collected.idle += 1;
            } else {
                *collected.pcs.entry(pc & !1).or_default() += 1;
                collected.samples += 1;
            }
            target.wait_for_next_poll()?;
        }
    })()
    .unwrap_or_else(StopReason::from);
    collected.cycles = clock.total();
    run.finish(&mut collected, stop);
    collected
}

/// `halt`: halt, read PC and LR, resume. LR gives one unwound frame: the call site that entered
/// the sampled function (an estimate: in a function that saved LR and called again, LR is stale).
pub fn halt(target: &mut dyn Target, limits: &Limits, progress: Progress<'_>) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(limits, progress);
    let mut halted = Duration::ZERO;
    let mut clock = CycleClock::new();
    let stop = (|| -> Result<StopReason, TargetError> {
        enable_trace(target, 0)?;
        loop {
            if run.should_stop(&collected) {
                return Ok(StopReason::Limit);
            }
            let before = Instant::now();
            target.halt()?;
            let sampled = (|| {
                clock.observe(target.read_word(regs::DWT_CYCCNT)?);
                Ok::<_, TargetError>((
                    target.read_register(CoreRegister::Pc)?,
                    target.read_register(CoreRegister::Lr)?,
                ))
            })();
            target.run()?;
            halted += before.elapsed();
            let (pc, lr) = sampled?;
            *collected.pcs.entry(pc & !1).or_default() += 1;
            collected.samples += 1;
            // LR holds the return address (Thumb bit set) unless it is an EXC_RETURN value.
            if lr & 1 == 1 && (4..0xF000_0000).contains(&lr) {
                let site = (lr & !1) - 4;
                *collected.edges.entry((site, pc & !1)).or_default() += 1;
            }
            target.wait_for_next_poll()?;
        }
    })()
    .unwrap_or_else(StopReason::from);
    collected.cycles = clock.total();
    run.finish(&mut collected, stop);
    let fraction = halted.as_secs_f64() / collected.elapsed.as_secs_f64().max(1e-9);
    collected
        .parameters
        .push(("halted_fraction".into(), format!("{fraction:.4}")));
    collected
}

/// DWT PC-sampling settings for a requested period: (CYCTAP set, POSTPRESET, actual period).
pub fn sampling_divider(period_cycles: u64) -> (bool, u32, u64) {
    let (tap, unit) = if period_cycles <= 16 * 64 {
        (false, 64)
    } else {
        (true, 1024)
    };
    let preset = (period_cycles / unit).clamp(1, 16) - 1;
    (tap, preset as u32, (preset + 1) * unit)
}

/// `swo`: DWT periodic PC sampling and exception trace over SWO, decoded from the ITM stream.
pub fn swo(
    target: &mut dyn Target,
    limits: &Limits,
    period_cycles: u64,
    baud: u32,
    progress: Progress<'_>,
) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(limits, progress);
    let (tap, preset, period) = sampling_divider(period_cycles);
    collected.period = Some(period);
    collected
        .parameters
        .push(("swo_baud".into(), baud.to_string()));
    let mut decoder = Decoder::new();
    let mut buffer = Vec::with_capacity(1 << 16);
    let stop = (|| -> Result<StopReason, TargetError> {
        target.enable_swo(baud)?;
        target.write_word(regs::ITM_LAR, regs::ITM_LAR_UNLOCK)?;
        // Trace bus ID 1, DWT packets forwarded, sync packets on.
        target.write_word(
            regs::ITM_TCR,
            (1 << 16) | regs::ITM_TCR_ITMENA | regs::ITM_TCR_SYNCENA | regs::ITM_TCR_TXENA,
        )?;
        let ctrl = (preset << regs::DWT_CTRL_POSTPRESET_SHIFT)
            | (preset << regs::DWT_CTRL_POSTINIT_SHIFT)
            | if tap { regs::DWT_CTRL_CYCTAP } else { 0 }
            | regs::DWT_CTRL_PCSAMPLENA
            | regs::DWT_CTRL_EXCTRCENA;
        enable_trace(target, ctrl)?;
        loop {
            if run.should_stop(&collected) {
                break Ok(StopReason::Limit);
            }
            buffer.clear();
            let read = target.read_trace(&mut buffer);
            decode_into(&mut decoder, &buffer, &mut collected);
            if let Err(e) = read {
                break Err(e);
            }
            if let Err(e) = target.wait_for_next_poll() {
                // The stream up to the stop is still in the port: drain it.
                buffer.clear();
                let _ = target.read_trace(&mut buffer);
                decode_into(&mut decoder, &buffer, &mut collected);
                break Err(e);
            }
        }
    })()
    .unwrap_or_else(StopReason::from);
    let stats = decoder.stats();
    collected.lost += stats.dropped_bytes / 5 + stats.overflows;
    collected
        .parameters
        .push(("itm_bytes".into(), stats.bytes.to_string()));
    collected
        .parameters
        .push(("itm_resyncs".into(), stats.resyncs.to_string()));
    collected.cycles = Some((collected.samples + collected.idle + collected.lost) * period);
    run.finish(&mut collected, stop);
    collected
}

fn decode_into(decoder: &mut Decoder, bytes: &[u8], collected: &mut Collected) {
    decoder.feed(bytes, |packet| match packet {
        Packet::PcSample(Some(pc)) => {
            *collected.pcs.entry(pc & !1).or_default() += 1;
            collected.samples += 1;
        }
        Packet::PcSample(None) => collected.idle += 1,
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::itm::encode;

    /// A scripted target: a fixed sequence of PCs, then a disconnect.
    struct Scripted {
        pcs: Vec<u32>,
        next: usize,
        cyccnt: u32,
        halted: bool,
        writes: Vec<(u32, u32)>,
    }

    impl Scripted {
        fn new(pcs: Vec<u32>) -> Self {
            Scripted {
                pcs,
                next: 0,
                cyccnt: u32::MAX - 1000,
                halted: false,
                writes: Vec::new(),
            }
        }
        fn current(&self) -> Result<u32, TargetError> {
            self.pcs
                .get(self.next)
                .copied()
                .ok_or_else(|| TargetError::Disconnected("USB cable pulled".into()))
        }
    }

    impl Target for Scripted {
        fn read_word(&mut self, address: u32) -> Result<u32, TargetError> {
            match address {
                regs::DWT_PCSR => self.current(),
                regs::DWT_CYCCNT => Ok(self.cyccnt),
                _ => Ok(0),
            }
        }
        fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
            self.writes.push((address, value));
            Ok(())
        }
        fn halt(&mut self) -> Result<(), TargetError> {
            self.halted = true;
            Ok(())
        }
        fn run(&mut self) -> Result<(), TargetError> {
            self.halted = false;
            Ok(())
        }
        fn read_register(&mut self, register: CoreRegister) -> Result<u32, TargetError> {
            assert!(self.halted, "registers are read only while halted");
            match register {
                CoreRegister::Pc => self.current(),
                CoreRegister::Lr => Ok(0x6000_0105),
                CoreRegister::Sp => Ok(0x2000_8000),
                CoreRegister::Regsel(n) => Err(TargetError::Other(format!("r{n} not modelled"))),
            }
        }
        fn enable_swo(&mut self, _baud: u32) -> Result<(), TargetError> {
            Ok(())
        }
        fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<(), TargetError> {
            let pc = self.current()?;
            encode::pc_sample((pc != regs::PCSR_IDLE).then_some(pc), out);
            Ok(())
        }
        fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
            self.next += 1;
            self.cyccnt = self.cyccnt.wrapping_add(600);
            Ok(())
        }
        fn core_clock_hz(&self) -> u64 {
            600_000_000
        }
    }

    fn script() -> Vec<u32> {
        vec![0x101, 0x101, regs::PCSR_IDLE, 0x6000_0200, 0x101]
    }

    #[test]
    fn pcsr_keeps_samples_when_the_probe_disconnects() {
        let mut target = Scripted::new(script());
        let limits = Limits::default();
        let collected = pcsr(&mut target, &limits, &mut |_, _| {});
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
        assert!(target.writes.contains(&(regs::DEMCR, regs::DEMCR_TRCENA)));
    }

    #[test]
    fn halt_records_lr_edges_and_stops_at_the_sample_limit() {
        let mut target = Scripted::new(script());
        let limits = Limits {
            samples: Some(2),
            ..Limits::default()
        };
        let collected = halt(&mut target, &limits, &mut |_, _| {});
        assert_eq!(collected.samples, 2);
        assert_eq!(collected.stop, Some(StopReason::Limit));
        assert_eq!(collected.edges[&(0x6000_0100, 0x100)], 2);
    }

    #[test]
    fn swo_decodes_pc_samples_and_configures_the_dwt() {
        let mut target = Scripted::new(script());
        let collected = swo(
            &mut target,
            &Limits::default(),
            4096,
            6_000_000,
            &mut |_, _| {},
        );
        assert_eq!(collected.samples, 4);
        assert_eq!(collected.idle, 1);
        assert_eq!(collected.period, Some(4096));
        let ctrl = target
            .writes
            .iter()
            .rev()
            .find(|(a, _)| *a == regs::DWT_CTRL)
            .unwrap()
            .1;
        assert_ne!(ctrl & regs::DWT_CTRL_PCSAMPLENA, 0);
        assert_ne!(ctrl & regs::DWT_CTRL_CYCTAP, 0);
        assert_eq!((ctrl >> regs::DWT_CTRL_POSTPRESET_SHIFT) & 0xf, 3);
    }

    #[test]
    fn interruption_is_reported_as_partial() {
        let mut target = Scripted::new(vec![0x100; 1000]);
        let limits = Limits::default();
        limits.interrupted.store(true, Ordering::Relaxed);
        let collected = pcsr(&mut target, &limits, &mut |_, _| {});
        assert_eq!(collected.stop, Some(StopReason::Interrupted));
    }

    #[test]
    fn sampling_divider_picks_the_nearest_rate() {
        assert_eq!(sampling_divider(64), (false, 0, 64));
        assert_eq!(sampling_divider(1024), (false, 15, 1024));
        assert_eq!(sampling_divider(10_000), (true, 8, 9216));
        assert_eq!(sampling_divider(1 << 30), (true, 15, 16384));
    }
}
