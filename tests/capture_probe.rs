//! Hardware capture without hardware: the collectors run against the virtual board behind a
//! modelled probe ([`ProbeModel`]), which answers the debug registers (DHCSR, DCRSR/DCRDR,
//! AIRCR), the TPIU and the i.MX RT's trace clock registers the way silicon does. Each test
//! names the defect of issue #15 it covers.

mod sim_support;
use sim_support::toolchain;

use std::path::PathBuf;

use hotlink::board::Board;
use hotlink::capture::clock::{CCM_CBCMR, CCM_CCGR0, CCM_CSCDR1, IOMUXC_MUX_GPIO_AD_B0_10};
use hotlink::capture::collect::{halt, pcsr, Collected};
use hotlink::capture::swo::{swo, SwoOptions, TraceClockSource};
use hotlink::capture::target::{regs, Target};
use hotlink::capture::{callsite, debug, verify};
use hotlink::capture::{HaltOptions, Limits, ProbeModel, SimTarget, StopReason};
use hotlink::sim::{Image, Machine};

fn fixture(name: &str) -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/firmware/build/{name}/{name}.elf"));
    let bytes = std::fs::read(&path).expect("the fixture ELFs are committed");
    (path, bytes)
}

fn target(name: &str, poll_cycles: u64) -> SimTarget {
    let (_, bytes) = fixture(name);
    let board = Board::resolve("imxrt1062").unwrap();
    SimTarget::new(Machine::new(&board, &bytes, name).unwrap(), poll_cycles)
}

fn param<'a>(c: &'a Collected, name: &str) -> &'a str {
    c.parameters
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no parameter {name} in {:?}", c.parameters))
}

fn swo_options(trace_clock: TraceClockSource) -> SwoOptions {
    SwoOptions {
        period_cycles: None,
        baud: 6_000_000,
        trace_clock,
    }
}

fn failure(c: &Collected) -> String {
    match &c.stop {
        Some(StopReason::Setup(why) | StopReason::Failed(why)) => why.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// #1: the trace clock is what the SoC model's registers say, not a constant: `vm` has no
/// clock code, so the ROM's setting holds (TRACE_CLK_SEL = PLL2 PFD0 352 MHz, TRACE_PODF /4:
/// 88 MHz, gate open, pad in its reset mode). Without consent SWO refuses naming the pad; with
/// it hotlink muxes the pad, leaves the gate it found open alone, and puts the pad back.
/// (The SDK-style image, whose clock code gates the clock off, is in tests/sim_capture.rs.)
#[test]
fn swo_reads_the_trace_clock_from_the_soc_model_and_needs_consent_to_mux_the_pad() {
    let mut t = target("vm", 20_000);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: false }),
        &mut |_, _| {},
    );
    let why = failure(&c);
    assert!(
        why.contains("not muxed") && !why.contains("gated") && why.contains("--enable-trace-clock"),
        "{why}"
    );
    assert_eq!(c.samples, 0);

    let mut t = target("vm", 20_000);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Exited(0)), "{:?}", c.warnings);
    assert!(c.samples > 100, "{} samples", c.samples);
    assert_eq!(param(&c, "trace_clock_hz"), "88000000");
    assert_eq!(param(&c, "tpiu_acpr"), "14", "88 MHz / 15 = 5.87 Mbaud");
    assert_eq!(
        param(&c, "swo_samples_missing"),
        "0",
        "an ideal probe loses nothing"
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("GPIO_AD_B0_10") && !w.contains("CCGR0")),
        "{:?}",
        c.warnings
    );
    assert_eq!(t.read_word(CCM_CCGR0).unwrap() & (3 << 22), 3 << 22);
    assert_eq!(t.read_word(IOMUXC_MUX_GPIO_AD_B0_10).unwrap(), 0);
}

/// #1: a trace clock other than the one assumed gives garbage on the line, which stops the
/// capture; a gated clock gives silence, which stops it too.
#[test]
fn a_wrong_trace_clock_gives_garbage_and_a_gated_one_silence() {
    // The firmware runs the trace clock at 528 / 3 = 176 MHz; the user claims 132 MHz.
    let mut t = target("vm", 20_000);
    t.write_word(IOMUXC_MUX_GPIO_AD_B0_10, 9).unwrap();
    trace_from_pll2_over_3(&mut t);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Fixed(132_000_000)),
        &mut |_, _| {},
    );
    assert!(failure(&c).contains("does not decode"), "{}", failure(&c));
    // Read from the CCM instead, the same board captures fine.
    let mut t = target("vm", 20_000);
    trace_from_pll2_over_3(&mut t);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Exited(0)));
    assert_eq!(param(&c, "trace_clock_hz"), "176000000");
    // Gated, and the user's fixed clock skips the CCM: nothing ever arrives.
    let mut t = target("vm", 20_000);
    t.write_word(IOMUXC_MUX_GPIO_AD_B0_10, 9).unwrap();
    t.write_word(CCM_CCGR0, !(3 << 22)).unwrap();
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Fixed(132_000_000)),
        &mut |_, _| {},
    );
    assert!(failure(&c).contains("no SWO data"), "{}", failure(&c));
}

/// Plays the firmware's clock code through the debugger: TRACE_CLK_SEL = PLL2, TRACE_PODF /3.
fn trace_from_pll2_over_3(t: &mut SimTarget) {
    let cbcmr = t.read_word(CCM_CBCMR).unwrap();
    t.write_word(CCM_CBCMR, cbcmr & !(3 << 14)).unwrap();
    let cscdr1 = t.read_word(CCM_CSCDR1).unwrap();
    t.write_word(CCM_CSCDR1, (cscdr1 & !(3 << 25)) | (2 << 25))
        .unwrap();
}

/// #4: halt sampling through a 1 ms-round-trip probe keeps the core halted for about the
/// asked-for share of the time, and reports the share it measured.
#[test]
fn halt_sampling_is_paced_to_its_duty_cycle() {
    // 2 µs round trips (1200 core cycles) keep the run short; the ratios are what matter.
    let fast = ProbeModel {
        round_trip: std::time::Duration::from_micros(2),
        ..ProbeModel::ideal()
    };
    let mut t = target("dsp", 1).with_probe(fast);
    let limits = Limits {
        samples: Some(20),
        ..Limits::default()
    };
    let c = halt(&mut t, &limits, HaltOptions { duty: 0.05 }, &mut |_, _| {});
    assert_eq!(c.samples, 20, "{:?}", c.stop);
    let fraction: f64 = param(&c, "halted_fraction").parse().unwrap();
    assert!((0.02..=0.08).contains(&fraction), "halted {fraction}");
    // Halted per sample: 4 round trips measured (DHCSR read, PC, LR, the resume's flush) of
    // 2 µs; probe-rs's halt + register reads + run took ~17.
    let per_sample_us = fraction * c.elapsed.as_secs_f64() * 1e6 / 20.0;
    assert!(per_sample_us <= 9.0, "{per_sample_us} µs halted per sample");
}

/// #5: the debug registers are left as found: firmware that runs CYCCNT keeps it running, and
/// the DWT's sampling fields and DHCSR are back to what they were.
#[test]
fn the_debug_state_is_left_as_found() {
    let mut t = target("vm", 5_000);
    // The firmware's own CYCCNT use (Teensy-style delays).
    t.write_word(regs::DEMCR, regs::DEMCR_TRCENA).unwrap();
    t.write_word(regs::DWT_CTRL, regs::DWT_CTRL_CYCCNTENA)
        .unwrap();
    let before = t.read_word(regs::DHCSR).unwrap() & 0xF;
    let c = swo(
        &mut t,
        &Limits {
            samples: Some(50),
            ..Limits::default()
        },
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Limit));
    assert_ne!(t.read_word(regs::DEMCR).unwrap() & regs::DEMCR_TRCENA, 0);
    let ctrl = t.read_word(regs::DWT_CTRL).unwrap();
    assert_eq!(
        ctrl & regs::DWT_CTRL_SAMPLING_FIELDS,
        regs::DWT_CTRL_CYCCNTENA
    );
    assert_eq!(t.read_word(regs::DHCSR).unwrap() & 0xF, before);
    let c0 = t.read_word(regs::DWT_CYCCNT).unwrap();
    t.wait_for_next_poll().unwrap();
    assert!(
        t.read_word(regs::DWT_CYCCNT).unwrap() > c0,
        "CYCCNT still counts"
    );
}

/// #7: a reset during a capture stops it; the samples taken after the reset are not kept.
#[test]
fn a_reset_during_pcsr_stops_the_capture_without_its_samples() {
    let mut t = target("vm", 997);
    t.schedule_reset(200_000);
    let c = pcsr(&mut t, &Limits::default(), &mut |_, _| {});
    assert_eq!(c.stop, Some(StopReason::Reset));
    assert!(c.samples <= 200_000 / 997 + 1, "{} samples", c.samples);
    assert!(c.samples >= 150, "{} samples", c.samples);
    let mut t = target("vm", 997);
    t.schedule_reset(200_000);
    let c = halt(
        &mut t,
        &Limits::default(),
        HaltOptions { duty: 1.0 },
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Reset));
}

/// Spins, then hits `BKPT #1` (a debugger would stop there), or locks up.
const STOPPER: &str = "
.syntax unified
.thumb
.text
.word 0x20010000
.word reset + 1
.rept 14
.word 0
.endr
.thumb_func
reset:
  ldr r0, =20000
1:
  subs r0, #1
  bne 1b
  ldr r1, =MODE
  cmp r1, #0
  bne 2f
  bkpt #1
2:
  ldr r0, =0x50000000
  ldr r0, [r0]
  b .
.ltorg
";

fn stopper(mode: u32) -> Option<SimTarget> {
    if !toolchain() {
        return None;
    }
    let bytes = sim_support::flash_image(STOPPER, &[format!("-Wl,--defsym=MODE={mode}")]);
    let board = Board::resolve("imxrt1062").unwrap();
    Some(SimTarget::new(
        Machine::new(&board, &bytes, "s.elf").unwrap(),
        997,
    ))
}

/// #7: a BKPT halts the core: pcsr stops instead of counting idle forever, and halt does not
/// step over it; a lockup stops both without recording 0xEFFF_FFFE.
#[test]
fn a_bkpt_or_a_lockup_stops_sampling() {
    let Some(mut t) = stopper(0) else { return };
    let c = pcsr(&mut t, &Limits::default(), &mut |_, _| {});
    assert!(failure(&c).contains("S_HALT"), "{}", failure(&c));
    assert!(c.idle < 20, "{} idle samples", c.idle);
    let Some(mut t) = stopper(0) else { return };
    let c = halt(
        &mut t,
        &Limits::default(),
        HaltOptions { duty: 1.0 },
        &mut |_, _| {},
    );
    assert!(failure(&c).contains("S_HALT"), "{}", failure(&c));
    assert!(
        debug::state(&mut t).unwrap().halted,
        "still halted at the BKPT"
    );
    let pc = t.machine().pc;
    let word = t.read_word(pc & !3).unwrap();
    let insn = if pc & 2 != 0 {
        word >> 16
    } else {
        word & 0xFFFF
    };
    assert_eq!(
        insn, 0xBE01,
        "the PC is still at the BKPT: not stepped over"
    );
    let Some(mut t) = stopper(1) else { return };
    let c = pcsr(&mut t, &Limits::default(), &mut |_, _| {});
    assert!(failure(&c).contains("locked up"), "{}", failure(&c));
    assert!(!c.pcs.contains_key(&0xEFFF_FFFE));
}

/// #11: a CMSIS-DAP v1 probe cannot carry PC sampling over SWO at 600 MHz: refused, with what
/// to do; a probe whose buffer overruns is reported.
#[test]
fn swo_rates_a_probe_cannot_carry_are_refused_and_overruns_reported() {
    let mut t = target("vm", 20_000).with_probe(ProbeModel::cmsis_dap_v1());
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert!(failure(&c).contains("--method pcsr"), "{}", failure(&c));
    // A probe with a small buffer that the host reads 64 bytes at a time.
    let small = ProbeModel {
        swo_buffer_bytes: 256,
        swo_bytes_per_read: Some(64),
        ..ProbeModel::ideal()
    };
    let mut t = target("vm", 200_000).with_probe(small.clone());
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert!(param(&c, "probe_overruns") != "0");
    assert!(
        c.warnings.iter().any(|w| w.contains("overran")),
        "{:?}",
        c.warnings
    );
    let reported_lost = c.lost;

    // The same probe behind probe-rs 0.32, which does not pass the overrun bit on: the loss is
    // found by counting the sample periods CYCCNT saw against the packets that arrived.
    let silent = ProbeModel {
        reports_overrun: false,
        ..small
    };
    let mut t = target("vm", 200_000).with_probe(silent);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert_eq!(param(&c, "probe_overruns"), "0");
    let missing: u64 = param(&c, "swo_samples_missing").parse().unwrap();
    assert!(missing > 0, "{:?}", c.parameters);
    assert!(
        c.warnings.iter().any(|w| w.contains("never arrived")),
        "{:?}",
        c.warnings
    );
    // Most of what the probe threw away is accounted for (the rest may be in flight).
    let expected = c.samples + c.idle + c.lost;
    assert!(
        c.lost >= reported_lost / 2,
        "{} lost, overrun model lost {reported_lost}",
        c.lost
    );
    assert!(expected > 0);
}

/// #8: no exception trace is switched on for a PC-sampling capture of an RTOS (its packets
/// would eat the line and be thrown away), and nothing overflows at the default period.
#[test]
fn swo_turns_off_what_it_does_not_decode() {
    let mut t = target("rtos", 20_000);
    let c = swo(
        &mut t,
        &Limits::default(),
        swo_options(TraceClockSource::Ccm { consent: true }),
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Exited(0)), "{:?}", c.stop);
    assert_eq!(param(&c, "itm_overflow_packets"), "0");
    assert_eq!(t.machine().trace_packets_dropped(), 0);
    assert!(c.samples > 0);
}

/// #12: the image check catches a target that runs another ELF.
#[test]
fn capture_checks_the_target_runs_the_elf() {
    let (vm_path, vm) = fixture("vm");
    let (dsp_path, dsp) = fixture("dsp");
    let mut t = target("vm", 1000);
    let vm = Image::parse(&vm, "vm").unwrap();
    let dsp = Image::parse(&dsp, "dsp").unwrap();
    let vm_name = vm_path.display().to_string();
    assert!(verify::image_matches(&mut t, &vm, &vm_name, "x").is_ok());
    let err = verify::image_matches(&mut t, &dsp, &dsp_path.display().to_string(), "program")
        .unwrap_err();
    assert!(
        err.contains("does not run") && err.contains("program"),
        "{err}"
    );
}

/// #14: call edges from halt samples name real call sites and no stale self-edges remain.
#[test]
fn halt_call_edges_have_no_stale_self_edges() {
    let (_, bytes) = fixture("vm");
    let image = Image::parse(&bytes, "vm").unwrap();
    let mut t = target("vm", 1009);
    let mut c = halt(
        &mut t,
        &Limits::default(),
        HaltOptions { duty: 1.0 },
        &mut |_, _| {},
    );
    assert_eq!(c.stop, Some(StopReason::Exited(0)));
    assert!(!c.edges.is_empty());
    callsite::drop_stale_edges(&image, &mut c.edges, &c.call_targets);
    assert!(!c.edges.is_empty());
    for &(site, pc) in c.edges.keys() {
        let from = image.function_at(site).map(|f| f.addr);
        let to = image.function_at(pc).map(|f| f.addr);
        assert!(
            from != to || from.is_none(),
            "self-edge {site:#x} -> {pc:#x}"
        );
    }
}

/// #2: the command exits non-zero, with the reason and no file, when the capture cannot start.
#[test]
fn capture_exits_non_zero_when_it_cannot_start_and_zero_when_it_ends_as_asked() {
    let (vm, _) = fixture("vm");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hotlink"))
            .args(["capture", "--sim", "--board", "imxrt1062", "-o"])
            .arg(&out)
            .args(extra)
            .arg(&vm)
            .output()
            .unwrap()
    };
    let o = run(&["--method", "swo"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(stderr.contains("not muxed"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    let o = run(&["--method", "swo", "--enable-trace-clock"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.exists());
}
