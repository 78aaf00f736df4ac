//! `swo`: DWT periodic PC sampling over SWO, decoded from the ITM stream.
//!
//! The setup is where captures on real boards fail silently, so each step is checked:
//! 1. the trace clock comes from the SoC's clock registers ([`super::clock`]), not the core
//!    clock; a gated clock or an unmuxed pad is an error unless the user consents to hotlink
//!    turning them on (undone at the end);
//! 2. the TPIU prescaler is chosen for a line rate the probe can receive, from the baud the
//!    probe actually granted;
//! 3. the sampling period leaves headroom on the slower of the line and the probe's USB link,
//!    and a period the probe cannot carry is refused;
//! 4. only PC samples are enabled (exception trace would eat the bandwidth and be thrown away);
//! 5. while running, a silent line and a stream that does not decode (a clock or baud mismatch)
//!    stop the capture with the reason; overflow packets and probe overruns are counted;
//! 6. loss the probe does not report (probe-rs 0.32 reads CMSIS-DAP's SWO status but does not
//!    pass its overrun bit on, and J-Link/ST-Link say nothing) is found by counting: CYCCNT,
//!    read now and then, says how many sample periods passed; the packets that should have
//!    arrived for them and did not are reported as lost.

use rustc_hash::FxHashMap;

use super::clock;
use super::collect::{enable_trace, Collected, CycleClock, Limits, Progress, Run, StopReason};
use super::debug::FoundState;
use super::target::{regs, Target, TargetError};
use crate::itm::{Decoder, Packet};

/// Bytes of one PC-sample packet; 10 bit times per byte on an NRZ line.
const SAMPLE_BYTES: u64 = 5;
/// The share of the narrowest link the samples may use: the rest absorbs sync packets, the
/// firmware's own ITM output and jitter.
const HEADROOM: f64 = 0.7;
/// A granted baud and the TPIU's line rate must agree this well for the UART to frame bytes.
const RATE_TOLERANCE: f64 = 0.02;
/// Host time between two CYCCNT reads for the loss count: often enough to see every 32-bit
/// wrap (7.1 s at 600 MHz), rarely enough to cost nothing next to the trace reads.
const CYCCNT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// Samples that may be in flight (TPIU FIFO, line, probe buffer) when CYCCNT is read, besides
/// [`MISSING_SHARE`] of the expected ones: fewer missing than that is not loss.
const IN_FLIGHT_SAMPLES: u64 = 8;
const MISSING_SHARE: f64 = 0.02;

/// Where the trace clock's frequency comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceClockSource {
    /// Read the i.MX RT's CCM through the probe; `consent` lets hotlink turn on the gate and mux
    /// the pad.
    Ccm { consent: bool },
    /// The user says (a chip whose clock tree hotlink does not read).
    Fixed(u64),
}

/// What the user asked for.
#[derive(Clone, Copy, Debug)]
pub struct SwoOptions {
    /// Cycles between PC samples; `None` picks the shortest the links carry with headroom.
    pub period_cycles: Option<u64>,
    pub baud: u32,
    pub trace_clock: TraceClockSource,
}

/// DWT PC-sampling settings for a period: (CYCTAP set, POSTPRESET, actual period). The actual
/// period is the nearest one at or above the request (never a faster rate than asked), at most
/// 16 x 1024 cycles.
pub fn sampling_divider(period_cycles: u64) -> (bool, u32, u64) {
    let (tap, unit) = if period_cycles <= 16 * 64 {
        (false, 64)
    } else {
        (true, 1024)
    };
    let preset = period_cycles.div_ceil(unit).clamp(1, 16) - 1;
    (tap, preset as u32, (preset + 1) * unit)
}

/// The line: TPIU prescaler and rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub acpr: u32,
    pub baud: u64,
}

/// The prescaler for a line at most `baud` from `trace_clock_hz`.
pub fn line_for(trace_clock_hz: u64, baud: u64) -> Line {
    let divider = trace_clock_hz.div_ceil(baud.max(1)).clamp(1, 0x2000);
    Line {
        acpr: (divider - 1) as u32,
        baud: trace_clock_hz / divider,
    }
}

/// The prescaler that matches `granted` best, or why none does.
pub fn line_matching(trace_clock_hz: u64, granted: u64) -> Result<Line, String> {
    let divider = ((trace_clock_hz as f64 / granted.max(1) as f64).round() as u64).clamp(1, 0x2000);
    let line = Line {
        acpr: (divider - 1) as u32,
        baud: trace_clock_hz / divider,
    };
    let mismatch = (line.baud as f64 - granted as f64).abs() / granted.max(1) as f64;
    if mismatch > RATE_TOLERANCE {
        return Err(format!(
            "the probe granted {granted} baud, but the TPIU can only make trace clock \
             {trace_clock_hz} Hz / n; the nearest, {} baud, is {:.1}% off: ask for a baud \
             that divides the trace clock (e.g. --swo-baud {})",
            line.baud,
            mismatch * 100.0,
            trace_clock_hz / (divider + 1)
        ));
    }
    Ok(line)
}

/// The sampling period for a line and a probe link: the shortest whose samples fit in
/// [`HEADROOM`] of the narrower one, or why none fits.
pub fn choose_period(
    core_clock_hz: u64,
    line_baud: u64,
    probe_bytes_per_s: Option<u64>,
    requested: Option<u64>,
) -> Result<u64, String> {
    let line_bytes = line_baud / 10;
    let capacity = probe_bytes_per_s.map_or(line_bytes, |p| p.min(line_bytes));
    let needed = |period: u64| SAMPLE_BYTES * core_clock_hz / period.max(1);
    let budget = (capacity as f64 * HEADROOM) as u64;
    let period = match requested {
        Some(p) => sampling_divider(p).2,
        None => {
            let shortest = (SAMPLE_BYTES * core_clock_hz).div_ceil(budget.max(1));
            sampling_divider(shortest).2
        }
    };
    if needed(period) > capacity || (requested.is_none() && needed(period) > budget) {
        return Err(format!(
            "PC samples every {period} cycles at {core_clock_hz} Hz need {} bytes/s, but the \
             link carries {capacity} bytes/s (line {line_baud} baud{}): {}",
            needed(period),
            probe_bytes_per_s.map_or(String::new(), |p| format!(
                ", probe at most {p} bytes/s to the host"
            )),
            if period >= 16 * 1024 {
                "the DWT cannot sample more slowly; use --method pcsr or a faster probe \
                 (CMSIS-DAP v2, J-Link)"
                    .to_string()
            } else {
                format!(
                    "choose --sample-period {} or more",
                    sampling_divider(needed(period) * period / budget.max(1) + 1).2
                )
            }
        ));
    }
    Ok(period)
}

/// Health of the stream: counts and the checks that stop a capture going nowhere.
#[derive(Default)]
struct Health {
    unexpected: u64,
    overflows: u64,
    overruns: u64,
    exceptions_seen: FxHashMap<u16, u64>,
}

/// `swo`: sets up the trace clock, TPIU, ITM and DWT, then decodes PC samples.
pub fn swo(
    target: &mut dyn Target,
    limits: &Limits,
    options: SwoOptions,
    progress: Progress<'_>,
) -> Collected {
    let mut collected = Collected::default();
    let mut run = Run::new(target, limits, progress);
    let mut changes = clock::SocChanges::default();
    let mut stimulus_enabled = false;
    let setup = (|| -> Result<(FoundState, u64), String> {
        // A probe that cannot carry even the slowest sampling is refused before anything on
        // the target is touched.
        choose_period(
            target.core_clock_hz(),
            u64::from(options.baud),
            target.swo_byte_rate_limit(),
            options.period_cycles,
        )?;
        let found = FoundState::read(target).map_err(|e| e.to_string())?;
        let trace_clock = match options.trace_clock {
            TraceClockSource::Fixed(hz) => hz,
            TraceClockSource::Ccm { consent } => {
                let (clock, made) = clock::prepare(target, consent).map_err(|e| e.to_string())?;
                changes = made;
                clock.root_hz
            }
        };
        let wanted = line_for(trace_clock, u64::from(options.baud));
        let granted = target
            .enable_swo(trace_clock, wanted.baud as u32)
            .map_err(|e| e.to_string())?;
        let line = line_matching(trace_clock, u64::from(granted))?;
        let period = choose_period(
            target.core_clock_hz(),
            line.baud,
            target.swo_byte_rate_limit(),
            options.period_cycles,
        )?;
        let (tap, preset, period) = sampling_divider(period);
        let write = |t: &mut dyn Target, a, v| t.write_word(a, v).map_err(|e| e.to_string());
        write(target, regs::TPIU_SPPR, regs::TPIU_SPPR_NRZ)?;
        write(target, regs::TPIU_ACPR, line.acpr)?;
        write(target, regs::TPIU_FFCR, regs::TPIU_FFCR_BYPASS)?;
        write(target, regs::ITM_LAR, regs::ITM_LAR_UNLOCK)?;
        // Trace bus ID 1, DWT packets forwarded, sync packets on; no timestamps.
        write(
            target,
            regs::ITM_TCR,
            (1 << 16) | regs::ITM_TCR_ITMENA | regs::ITM_TCR_SYNCENA | regs::ITM_TCR_TXENA,
        )?;
        stimulus_enabled = target.read_word(0xE000_0E00).map_err(|e| e.to_string())? != 0;
        let fields = (preset << regs::DWT_CTRL_POSTPRESET_SHIFT)
            | (preset << regs::DWT_CTRL_POSTINIT_SHIFT)
            | if tap { regs::DWT_CTRL_CYCTAP } else { 0 }
            | regs::DWT_CTRL_PCSAMPLENA;
        enable_trace(target, fields).map_err(|e| e.to_string())?;
        collected.parameter("trace_clock_hz", trace_clock);
        collected.parameter("tpiu_acpr", line.acpr);
        collected.parameter("swo_baud", granted);
        if let Some(what) = changes.describe() {
            collected
                .warnings
                .push(format!("{what}; put back at the end"));
        }
        Ok((found, period))
    })();
    let (found, period) = match setup {
        Ok(ok) => ok,
        Err(why) => {
            let _ = changes.undo(target);
            run.finish(target, None, &mut collected, StopReason::Setup(why));
            return collected;
        }
    };
    collected.period = Some(period);
    let mut decoder = Decoder::new();
    let mut health = Health::default();
    let mut buffer = Vec::with_capacity(1 << 16);
    let silent_after =
        std::time::Duration::from_secs_f64((400 * period) as f64 / target.core_clock_hz() as f64)
            .max(std::time::Duration::from_millis(2));
    let mut clock = CycleClock::new();
    // Periods counted by CYCCNT, against packets received by the same moment.
    let mut counted = Counted::default();
    let mut last_cyccnt = None;
    let stop = (|| -> Result<StopReason, TargetError> {
        loop {
            if run.should_stop(target, &collected) {
                break Ok(StopReason::Limit);
            }
            if last_cyccnt.is_none_or(|t| target.now().saturating_sub(t) >= CYCCNT_EVERY) {
                clock.observe(target.read_word(regs::DWT_CYCCNT)?);
                last_cyccnt = Some(target.now());
                counted.at(&clock, period, &collected, lost_so_far(&decoder, &health));
            }
            pull(
                target,
                &mut buffer,
                &mut decoder,
                &mut collected,
                &mut health,
                stimulus_enabled,
            )?;
            check_stream(&decoder, &health, run.elapsed(target), silent_after)?;
            if let Err(e) = target.wait_for_next_poll() {
                // The stream up to the stop is still in the probe: drain it.
                let _ = pull(
                    target,
                    &mut buffer,
                    &mut decoder,
                    &mut collected,
                    &mut health,
                    stimulus_enabled,
                );
                break Err(e);
            }
        }
    })()
    .unwrap_or_else(StopReason::from);
    if let Ok(cyccnt) = target.read_word(regs::DWT_CYCCNT) {
        clock.observe(cyccnt);
        counted.at(&clock, period, &collected, lost_so_far(&decoder, &health));
    }
    let missing = counted.missing();
    if missing > 0 && matches!(options.trace_clock, TraceClockSource::Ccm { .. }) {
        // The line may have stopped because the firmware changed the clock or the pad after
        // the capture set them up (a capture attached before the firmware's clock code).
        if let Ok(now) = clock::TraceClockRegisters::read(target) {
            let now = now.decode();
            if now.tpiu_hz().is_none() || !now.pin_muxed {
                collected.warnings.push(format!(
                    "the firmware turned the SWO line off during the capture ({}): attach \
                     after its clock setup (no --reset), or leave the trace clock on in the \
                     firmware",
                    if now.pin_muxed {
                        "the trace clock is gated or off again"
                    } else {
                        "pad GPIO_AD_B0_10 is no longer ARM_TRACE_SWO"
                    }
                ));
            }
        }
    }
    if let Err(e) = changes.undo(target) {
        collected.warnings.push(format!(
            "could not put the trace clock gate or pad back: {e}"
        ));
    }
    let stats = decoder.stats();
    collected.lost += lost_so_far(&decoder, &health);
    collected.parameter("itm_bytes", stats.bytes);
    collected.parameter("itm_resyncs", stats.resyncs);
    collected.parameter("itm_overflow_packets", health.overflows);
    collected.parameter("probe_overruns", health.overruns);
    collected.parameter("swo_samples_missing", missing);
    if missing > 0 {
        collected.lost += missing;
        collected.warnings.push(format!(
            "{missing} of the {} PC samples that CYCCNT says were taken never arrived: lost \
             between the target's trace port and hotlink (the probe's SWO buffer or USB; a \
             longer --sample-period or a faster probe helps)",
            counted.expected
        ));
    }
    if health.overflows > 0 {
        collected.warnings.push(format!(
            "{} overflow packets: the target's trace FIFO dropped samples (the line is too \
             slow for the period)",
            health.overflows
        ));
    }
    if health.overruns > 0 {
        collected.warnings.push(format!(
            "the probe's SWO buffer overran {} times: samples were lost between the probe and \
             the host (a longer --sample-period or a faster probe helps)",
            health.overruns
        ));
    }
    collected.cycles = Some((collected.samples + collected.idle + collected.lost) * period);
    run.finish(target, Some(found), &mut collected, stop);
    collected
}

/// Sample periods CYCCNT counted against the packets received, at the last CYCCNT read.
#[derive(Default)]
struct Counted {
    expected: u64,
    received: u64,
}

impl Counted {
    /// Records the counts now. The packets received include idle (sleep) samples and the
    /// ones already counted as lost (`lost`: undecodable bytes, overflow packets).
    fn at(&mut self, clock: &CycleClock, period: u64, collected: &Collected, lost: u64) {
        if let Some(cycles) = clock.total() {
            self.expected = cycles / period.max(1);
            self.received = collected.samples + collected.idle + lost;
        }
    }

    /// Samples that should have arrived and did not, beyond what may still be in flight.
    fn missing(&self) -> u64 {
        let allowance = IN_FLIGHT_SAMPLES + (self.expected as f64 * MISSING_SHARE) as u64;
        self.expected.saturating_sub(self.received + allowance)
    }
}

/// Samples known lost so far: bytes the decoder could not use, and overflow packets.
fn lost_so_far(decoder: &Decoder, health: &Health) -> u64 {
    decoder.stats().dropped_bytes / SAMPLE_BYTES + health.overflows
}

/// Stops a capture whose stream is silent or does not decode.
fn check_stream(
    decoder: &Decoder,
    health: &Health,
    elapsed: std::time::Duration,
    silent_after: std::time::Duration,
) -> Result<(), TargetError> {
    let stats = decoder.stats();
    if stats.bytes == 0 && elapsed >= silent_after {
        return Err(TargetError::Other(format!(
            "no SWO data in {:.1} ms: the trace clock is off or gated, the SWO pad is not \
             muxed, or the probe is not wired to SWO",
            elapsed.as_secs_f64() * 1e3
        )));
    }
    let bad = stats.resyncs + health.unexpected;
    if stats.bytes >= 512 && bad * 20 > stats.packets.max(1) {
        return Err(TargetError::Other(format!(
            "the SWO stream does not decode ({bad} bad of {} packets, {} bytes dropped): the \
             line rate differs from the probe's baud — a wrong trace clock or prescaler",
            stats.packets, stats.dropped_bytes
        )));
    }
    Ok(())
}

/// Reads what the probe holds of the stream and decodes it (probe overruns counted), during the
/// capture and once more to drain it after the target stopped.
fn pull(
    target: &mut dyn Target,
    buffer: &mut Vec<u8>,
    decoder: &mut Decoder,
    collected: &mut Collected,
    health: &mut Health,
    stimulus_enabled: bool,
) -> Result<(), TargetError> {
    buffer.clear();
    let read = target.read_trace(buffer);
    if let Ok(status) = &read {
        health.overruns += u64::from(status.overrun);
    }
    decode_into(decoder, buffer, collected, health, stimulus_enabled);
    read.map(drop)
}

fn decode_into(
    decoder: &mut Decoder,
    bytes: &[u8],
    collected: &mut Collected,
    health: &mut Health,
    stimulus_enabled: bool,
) {
    decoder.feed(bytes, |packet| match packet {
        Packet::PcSample(Some(pc)) => {
            *collected.pcs.entry(pc & !1).or_default() += 1;
            collected.samples += 1;
        }
        Packet::PcSample(None) => collected.idle += 1,
        Packet::Overflow => health.overflows += 1,
        Packet::Sync => {}
        Packet::Instrumentation { .. } if stimulus_enabled => {}
        Packet::Exception { number, .. } => {
            *health.exceptions_seen.entry(number).or_default() += 1;
            health.unexpected += 1;
        }
        _ => health.unexpected += 1,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_divider_never_samples_faster_than_asked() {
        assert_eq!(sampling_divider(64), (false, 0, 64));
        assert_eq!(sampling_divider(1024), (false, 15, 1024));
        assert_eq!(sampling_divider(10_000), (true, 9, 10_240));
        assert_eq!(sampling_divider(1 << 30), (true, 15, 16384));
    }

    #[test]
    fn the_default_period_leaves_headroom_on_the_line() {
        // 600 MHz, 6 Mbaud: 600 kB/s; the old default (5120 cycles) used 98% of it.
        let period = choose_period(600_000_000, 6_000_000, None, None).unwrap();
        let use_of_line = (5 * 600_000_000 / period) as f64 / 600_000.0;
        assert!(use_of_line <= HEADROOM, "{period}: {use_of_line}");
        assert!(period <= 8192, "{period}");
        // A period the line cannot carry is refused, with a period that works.
        let err = choose_period(600_000_000, 6_000_000, None, Some(2048)).unwrap_err();
        assert!(err.contains("--sample-period"), "{err}");
    }

    #[test]
    fn a_cmsis_dap_v1_link_is_refused_for_swo_sampling_at_600_mhz() {
        let err = choose_period(600_000_000, 6_000_000, Some(60_000), None).unwrap_err();
        assert!(err.contains("--method pcsr"), "{err}");
        // At 24 MHz (a slow clock setup) the same probe carries it.
        assert!(choose_period(24_000_000, 6_000_000, Some(60_000), None).is_ok());
    }

    #[test]
    fn the_prescaler_follows_the_trace_clock_and_the_granted_baud() {
        assert_eq!(
            line_for(132_000_000, 6_000_000),
            Line {
                acpr: 21,
                baud: 6_000_000
            }
        );
        // 117.33 MHz cannot make 6 Mbaud exactly: the line is at most the request.
        let line = line_for(117_333_333, 6_000_000);
        assert!(line.baud <= 6_000_000 && line.acpr == 19, "{line:?}");
        // A probe that granted 4.8 Mbaud: 132 MHz / 27.5 is not a whole divider; 28 is 1.8% off.
        assert_eq!(line_matching(132_000_000, 4_800_000).unwrap().acpr, 27);
        assert!(line_matching(10_000_000, 4_000_000).is_err());
    }
}
