//! The capture collectors (`pcsr`, `halt`, `swo`) run end to end against the virtual board
//! through [`SimTarget`], on the committed fixture ELFs, and their per-function sample shares
//! are compared with the exact per-function cycle counts of the same run.
//!
//! Statistical tolerance: each method samples the PC at (nearly) evenly spaced instants, so the
//! share of samples in a function estimates the share of cycles spent in it. Treating the N
//! samples as independent draws, the standard error of a share p is sqrt(p(1-p)/N); periodic
//! sampling of a deterministic program is not independent (a loop whose period divides the
//! sampling period aliases), so we allow 4 standard errors plus 1.5 percentage points for
//! aliasing and for the one-instruction attribution difference at call boundaries. Every
//! function with at least 2% of the cycles must be inside that band, and the hottest function
//! by exact count must be the hottest by samples.

mod sim_support;
use sim_support::toolchain;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use hotlink::board::Board;
use hotlink::capture::clock::{CCM_CBCMR, CCM_CCGR0, CCM_CSCDR1, IOMUXC_MUX_GPIO_AD_B0_10};
use hotlink::capture::collect::{halt, pcsr, Collected};
use hotlink::capture::swo::{swo, SwoOptions, TraceClockSource};
use hotlink::capture::target::{regs, Target};
use hotlink::capture::{HaltOptions, Limits, SimTarget, StopReason};
use hotlink::sim::{Machine, Observer};
use rustc_hash::FxHashMap;

/// Exact cycles per retired PC.
struct CycleCounter(Rc<RefCell<FxHashMap<u32, u64>>>);

impl Observer for CycleCounter {
    fn retire(&mut self, pc: u32, cycles: u32) {
        *self.0.borrow_mut().entry(pc).or_default() += u64::from(cycles);
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

fn machine(name: &str) -> (Machine, Rc<RefCell<FxHashMap<u32, u64>>>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/firmware/build/{name}/{name}.elf"));
    let bytes = std::fs::read(&path).expect("the fixture ELFs are committed");
    let board = Board::resolve("imxrt1062").unwrap();
    let mut m = Machine::new(&board, &bytes, name).unwrap();
    let counts = Rc::new(RefCell::new(FxHashMap::default()));
    m.set_observer(Some(Box::new(CycleCounter(counts.clone()))));
    (m, counts)
}

/// Shares per function name of a PC histogram.
fn shares(m: &Machine, pcs: &FxHashMap<u32, u64>) -> FxHashMap<String, f64> {
    let total: u64 = pcs.values().sum();
    let mut out = FxHashMap::default();
    for (&pc, &n) in pcs {
        let name = m
            .image
            .function_at(pc)
            .map_or_else(|| format!("{pc:#x}"), |s| s.name.clone());
        *out.entry(name).or_default() += n as f64 / total as f64;
    }
    out
}

fn hottest(shares: &FxHashMap<String, f64>) -> String {
    shares
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, _)| k.clone())
        .unwrap()
}

fn assert_agrees(
    what: &str,
    m: &Machine,
    exact: &FxHashMap<u32, u64>,
    collected: &Collected,
) -> usize {
    let exact = shares(m, exact);
    let sampled = shares(m, &collected.pcs);
    let n = collected.samples as f64;
    assert!(n >= 1000.0, "{what}: only {n} samples");
    let mut checked = 0;
    for (name, &p) in exact.iter().filter(|(_, &p)| p >= 0.02) {
        let s = sampled.get(name).copied().unwrap_or(0.0);
        let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt() + 0.015;
        assert!(
            (s - p).abs() <= tolerance,
            "{what}: {name} has {:.2}% of the cycles but {:.2}% of {n} samples (tolerance {:.2}%)",
            100.0 * p,
            100.0 * s,
            100.0 * tolerance
        );
        checked += 1;
    }
    assert_eq!(
        hottest(&exact),
        hottest(&sampled),
        "{what}: hottest function"
    );
    checked
}

#[test]
fn pcsr_polling_agrees_with_exact_counts_on_vm_and_dsp() {
    for name in ["vm", "dsp"] {
        let (m, exact) = machine(name);
        let mut target = SimTarget::new(m, 997);
        let collected = pcsr(&mut target, &Limits::default(), &mut |_, _| {});
        assert_eq!(collected.stop, Some(StopReason::Exited(0)), "{name}");
        let m = target.machine();
        let cycles = collected.cycles.unwrap();
        assert!(
            cycles + 997 >= m.cycles && cycles <= m.cycles,
            "{name}: CYCCNT span {cycles} vs {} cycles run",
            m.cycles
        );
        let checked = assert_agrees(&format!("{name} pcsr"), m, &exact.borrow(), &collected);
        assert!(checked >= 2, "{name}: {checked} functions above 2%");
    }
}

#[test]
fn halt_sampling_agrees_and_records_call_edges_on_vm_and_dsp() {
    for name in ["vm", "dsp"] {
        let (m, exact) = machine(name);
        let mut target = SimTarget::new(m, 1009);
        let unpaced = HaltOptions { duty: 1.0 };
        let collected = halt(&mut target, &Limits::default(), unpaced, &mut |_, _| {});
        assert_eq!(collected.stop, Some(StopReason::Exited(0)), "{name}");
        let m = target.machine();
        assert_agrees(&format!("{name} halt"), m, &exact.borrow(), &collected);
        // LR edges: the call site lies in a function, the sampled PC in another one.
        let (&(site, pc), _) = collected.edges.iter().max_by_key(|e| e.1).unwrap();
        assert!(
            m.image.function_at(site).is_some(),
            "{name}: site {site:#x}"
        );
        assert!(m.image.function_at(pc).is_some(), "{name}: pc {pc:#x}");
    }
}

#[test]
fn swo_pc_sampling_agrees_with_exact_counts_on_vm_and_dsp() {
    for name in ["vm", "dsp"] {
        let (m, exact) = machine(name);
        let mut target = SimTarget::new(m, 50_000);
        // 1024-cycle samples (5 bytes each) need 30 Mbaud at 600 MHz; 33 Mbaud (the 132 MHz
        // trace clock / 4) keeps up. vm and dsp have no clock code, so the ROM's 88 MHz trace
        // clock holds; the debugger sets what the SDK's clock code would (PLL2 / 4).
        let cbcmr = target.read_word(CCM_CBCMR).unwrap();
        target.write_word(CCM_CBCMR, cbcmr & !(3 << 14)).unwrap();
        let cscdr1 = target.read_word(CCM_CSCDR1).unwrap();
        target.write_word(CCM_CSCDR1, cscdr1 | (3 << 25)).unwrap();
        let collected = swo(
            &mut target,
            &Limits::default(),
            swo_options(Some(1024), 33_000_000),
            &mut |_, _| {},
        );
        assert_eq!(collected.stop, Some(StopReason::Exited(0)), "{name}");
        assert_eq!(collected.period, Some(1024));
        assert_eq!(collected.lost, 0, "{name}: the line keeps up");
        let m = target.machine();
        assert_eq!(m.trace_packets_dropped(), 0);
        // One sample per 1024 cycles from the moment sampling started.
        let expected = m.cycles / 1024;
        assert!(
            collected.samples + collected.idle + 2 >= expected
                && collected.samples + collected.idle <= expected,
            "{name}: {} samples for {} cycles",
            collected.samples,
            m.cycles
        );
        assert_agrees(&format!("{name} swo"), m, &exact.borrow(), &collected);
    }
}

fn swo_options(period_cycles: Option<u64>, baud: u32) -> SwoOptions {
    SwoOptions {
        period_cycles,
        baud,
        trace_clock: TraceClockSource::Ccm { consent: true },
    }
}

/// Sets the SWO line up by hand: trace clock on, pad muxed, TPIU in NRZ at the ROM's 88 MHz
/// trace clock / (acpr + 1).
fn swo_line(target: &mut SimTarget, acpr: u32) {
    target.write_word(CCM_CCGR0, 0xFFFF_FFFF).unwrap();
    target.write_word(IOMUXC_MUX_GPIO_AD_B0_10, 9).unwrap();
    target
        .write_word(regs::TPIU_SPPR, regs::TPIU_SPPR_NRZ)
        .unwrap();
    target.write_word(regs::TPIU_ACPR, acpr).unwrap();
}

#[test]
fn swo_at_a_slow_baud_is_refused_and_a_period_it_carries_agrees() {
    let (m, exact) = machine("vm");
    let mut target = SimTarget::new(m, 50_000);
    // 4 Mbaud carries one 5-byte packet per 7500 cycles: 1024-cycle samples are refused.
    let collected = swo(
        &mut target,
        &Limits::default(),
        swo_options(Some(1024), 4_000_000),
        &mut |_, _| {},
    );
    match collected.stop {
        Some(StopReason::Setup(why)) => assert!(why.contains("--sample-period"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The default period fits the line with headroom: nothing is lost.
    let collected = swo(
        &mut target,
        &Limits::default(),
        swo_options(None, 4_000_000),
        &mut |_, _| {},
    );
    assert_eq!(collected.stop, Some(StopReason::Exited(0)));
    assert_eq!(collected.lost, 0);
    let m = target.machine();
    assert_eq!(m.trace_packets_dropped(), 0);
    let exact = shares(m, &exact.borrow());
    let sampled = shares(m, &collected.pcs);
    assert_eq!(hottest(&exact), hottest(&sampled));
}

#[test]
fn exception_trace_on_rtos() {
    // Unlimited trace port: every packet arrives.
    let (entries, exits, returns, dropped, overflows) = rtos_exception_trace(None);
    assert!(entries[&15] > 0, "SysTick entries: {entries:?}");
    assert_eq!(dropped, 0);
    assert_eq!(overflows, 0);
    assert_eq!(
        entries.values().sum::<u64>(),
        exits,
        "every exception entered also exits"
    );
    assert!(returns > 0, "returns to thread mode");
    // At 22 Mbaud (the ROM's 88 MHz trace clock / 4), bursts of context switches overrun the
    // FIFO: overflow packets say so.
    let (_, _, _, dropped, overflows) = rtos_exception_trace(Some(3));
    assert!(
        dropped > 0 && overflows > 0,
        "{dropped} dropped, {overflows} overflow packets"
    );
}

type Trace = (FxHashMap<u16, u64>, u64, u64, u64, u64);

/// Runs `rtos` with exception trace and PC sampling, on an unlimited line or a TPIU line with
/// prescaler `acpr`; (entries per exception, exits, returns to thread mode, packets dropped by
/// the trace port, overflow packets decoded).
fn rtos_exception_trace(acpr: Option<u32>) -> Trace {
    use hotlink::itm::{Decoder, ExceptionEvent, Packet};
    let (m, _) = machine("rtos");
    let mut target = SimTarget::new(m, 20_000);
    if let Some(acpr) = acpr {
        swo_line(&mut target, acpr);
    }
    target.write_word(regs::DEMCR, regs::DEMCR_TRCENA).unwrap();
    target
        .write_word(
            regs::ITM_TCR,
            regs::ITM_TCR_ITMENA | regs::ITM_TCR_SYNCENA | regs::ITM_TCR_TXENA,
        )
        .unwrap();
    // Samples every 16 x 1024 cycles, and exception trace.
    target
        .write_word(
            regs::DWT_CTRL,
            regs::DWT_CTRL_CYCCNTENA
                | regs::DWT_CTRL_EXCTRCENA
                | regs::DWT_CTRL_PCSAMPLENA
                | regs::DWT_CTRL_CYCTAP
                | (15 << regs::DWT_CTRL_POSTPRESET_SHIFT),
        )
        .unwrap();
    let mut bytes = Vec::new();
    let end = loop {
        target.read_trace(&mut bytes).unwrap();
        if let Err(e) = target.wait_for_next_poll() {
            break e;
        }
    };
    assert!(
        matches!(end, hotlink::capture::TargetError::Exited(0)),
        "{end}"
    );
    target.read_trace(&mut bytes).unwrap();
    let mut entered = FxHashMap::<u16, u64>::default();
    let (mut exited, mut returned_to_thread, mut sync, mut pcs, mut overflows) = (0, 0, 0, 0, 0);
    Decoder::new().feed(&bytes, |p| match p {
        Packet::Exception { number, event } => match event {
            ExceptionEvent::Entered => *entered.entry(number).or_default() += 1,
            ExceptionEvent::Exited => exited += 1,
            ExceptionEvent::Returned if number == 0 => returned_to_thread += 1,
            _ => {}
        },
        Packet::Sync => sync += 1,
        Packet::Overflow => overflows += 1,
        Packet::PcSample(_) => pcs += 1,
        _ => {}
    });
    assert_eq!(sync, 1, "one sync packet as the ITM starts");
    assert!(pcs > 0);
    let dropped = target.machine().trace_packets_dropped();
    (entered, exited, returned_to_thread, dropped, overflows)
}

/// A program that sleeps in WFI between SysTick interrupts (6000-cycle period, 50 ticks).
const SLEEPER: &str = "
.syntax unified
.thumb
.text
.word 0x20010000
.word reset + 1
.rept 13
.word 0
.endr
.word systick + 1
.thumb_func
reset:
  ldr r0, =0xE000E010
  ldr r1, =5999
  str r1, [r0, #4]
  movs r1, #0
  str r1, [r0, #8]
  movs r1, #7
  str r1, [r0]
  movs r4, #0
1:
  wfi
  cmp r4, #50
  blt 1b
  movs r0, #0x18
  ldr r1, =0x20026
  bkpt #0xab
.thumb_func
systick:
  adds r4, #1
  movs r2, #200
2:
  subs r2, #1
  bne 2b
  bx lr
.ltorg
";

#[test]
fn a_core_asleep_in_wfi_reads_idle_and_sends_sleep_packets() {
    use hotlink::itm::{Decoder, Packet};
    if !toolchain() {
        return;
    }
    let bytes = sim_support::flash_image(SLEEPER, &[]);
    let board = Board::resolve("imxrt1062").unwrap();
    let m = Machine::new(&board, &bytes, "s.elf").unwrap();
    let mut target = SimTarget::new(m, 997);
    swo_line(&mut target, 3);
    target.write_word(regs::DEMCR, regs::DEMCR_TRCENA).unwrap();
    target
        .write_word(regs::ITM_TCR, regs::ITM_TCR_ITMENA | regs::ITM_TCR_TXENA)
        .unwrap();
    target
        .write_word(
            regs::DWT_CTRL,
            regs::DWT_CTRL_CYCCNTENA
                | regs::DWT_CTRL_PCSAMPLENA
                | (15 << regs::DWT_CTRL_POSTPRESET_SHIFT),
        )
        .unwrap();
    let (mut idle_polls, mut polls) = (0u64, 0u64);
    let mut trace = Vec::new();
    let end = loop {
        polls += 1;
        if target.read_word(regs::DWT_PCSR).unwrap() == regs::PCSR_IDLE {
            idle_polls += 1;
        }
        if let Err(e) = target.wait_for_next_poll() {
            break e;
        }
    };
    assert!(
        matches!(end, hotlink::capture::TargetError::Exited(0)),
        "{end}"
    );
    target.read_trace(&mut trace).unwrap();
    let (mut sleeping, mut awake) = (0u64, 0u64);
    Decoder::new().feed(&trace, |p| match p {
        Packet::PcSample(None) => sleeping += 1,
        Packet::PcSample(Some(_)) => awake += 1,
        _ => {}
    });
    // The handler runs ~400 of every 6000 cycles: the core sleeps over 80% of the time.
    let m = target.machine();
    assert!(m.cycles >= 50 * 6000, "{} cycles", m.cycles);
    assert!(
        sleeping > 4 * awake && idle_polls > polls / 2,
        "{sleeping} sleep packets, {awake} PC samples, {idle_polls} of {polls} polls idle"
    );
}

#[test]
fn pcsr_reads_idle_while_halted_and_registers_read_through_dcrsr() {
    use hotlink::capture::debug;
    use hotlink::capture::target::CoreRegister;
    let (m, _) = machine("vm");
    let mut target = SimTarget::new(m, 10_000);
    target.write_word(regs::DEMCR, regs::DEMCR_TRCENA).unwrap();
    target
        .write_word(regs::DWT_CTRL, regs::DWT_CTRL_CYCCNTENA)
        .unwrap();
    target.wait_for_next_poll().unwrap();
    assert_eq!(target.read_word(regs::DWT_CYCCNT).unwrap() / 100, 100);
    assert!(!debug::state(&mut target).unwrap().halted);
    let running_pc = target.read_word(regs::DWT_PCSR).unwrap();
    assert_ne!(running_pc, regs::PCSR_IDLE);
    debug::halt(&mut target).unwrap();
    assert_eq!(target.read_word(regs::DWT_PCSR).unwrap(), regs::PCSR_IDLE);
    let cyccnt = target.read_word(regs::DWT_CYCCNT).unwrap();
    target.wait_for_next_poll().unwrap();
    assert_eq!(
        target.read_word(regs::DWT_CYCCNT).unwrap(),
        cyccnt,
        "no cycles pass while halted"
    );
    let mut pc = [0];
    debug::read_registers(&mut target, &[CoreRegister::Pc], &mut pc).unwrap();
    assert!(target.machine().image.function_at(pc[0]).is_some());
    debug::resume(&mut target).unwrap();
    assert!(!debug::state(&mut target).unwrap().halted);
    assert!(target.read_word(0x5000_0000).is_err(), "unmapped memory");
    assert!(target.enable_swo(132_000_000, 0).is_err());
}

/// #15 defect 1, on the SDK-style image: its clock code (as the SDK's `BOARD_BootClockRUN`)
/// selects the trace clock (system PLL / 4 = 132 MHz) and gates it off. Attached after that,
/// SWO reads the trace clock from the SoC model's CCM, refuses without consent, and with it
/// turns the gate on, muxes the pad, captures a profile that agrees with the exact one, and
/// puts both back.
#[test]
fn swo_on_the_sdk_image_after_its_clock_code_gated_the_trace_clock() {
    let attach = || {
        let (m, exact) = machine("sdk");
        let mut target = SimTarget::new(m, 20_000);
        // Out of the ROM the debugger sees the ROM's clock setting (every gate open, trace from
        // PLL2 PFD0); the firmware's clock code changes it, and the debugger sees that too.
        assert_eq!(target.read_word(CCM_CCGR0).unwrap() & (3 << 22), 3 << 22);
        assert_eq!((target.read_word(CCM_CBCMR).unwrap() >> 14) & 3, 2);
        // The board runs until its clock code has gated the trace clock off and moved it to
        // PLL2.
        let set_up = |t: &mut SimTarget| {
            t.read_word(CCM_CCGR0).unwrap() & (3 << 22) == 0
                && (t.read_word(CCM_CBCMR).unwrap() >> 14) & 3 == 0
        };
        while !set_up(&mut target) {
            target.wait_for_next_poll().unwrap();
        }
        exact.borrow_mut().clear();
        (target, exact)
    };
    let (mut target, _) = attach();
    let refused = swo(
        &mut target,
        &Limits::default(),
        SwoOptions {
            trace_clock: TraceClockSource::Ccm { consent: false },
            ..swo_options(None, 6_000_000)
        },
        &mut |_, _| {},
    );
    let why = format!("{:?}", refused.stop);
    assert!(
        why.contains("gated off") && why.contains("--enable-trace-clock"),
        "{why}"
    );

    let (mut target, exact) = attach();
    let collected = swo(
        &mut target,
        &Limits::default(),
        swo_options(Some(1024), 33_000_000),
        &mut |_, _| {},
    );
    assert_eq!(
        collected.stop,
        Some(StopReason::Exited(0)),
        "{:?}",
        collected.warnings
    );
    let param = |name: &str| {
        collected
            .parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param("trace_clock_hz").as_deref(), Some("132000000"));
    assert_eq!(param("tpiu_acpr").as_deref(), Some("3"), "132 MHz / 4");
    assert!(
        collected.warnings.iter().any(|w| w.contains("CCGR0")),
        "{:?}",
        collected.warnings
    );
    assert_eq!(collected.lost, 0, "the line keeps up");
    let m = target.machine();
    assert_agrees("sdk swo", m, &exact.borrow(), &collected);
    // Put back as the firmware left them: gate off, pad in its reset mode.
    assert_eq!(target.read_word(CCM_CCGR0).unwrap() & (3 << 22), 0);
    assert_eq!(target.read_word(IOMUXC_MUX_GPIO_AD_B0_10).unwrap(), 0);
}

/// Attached before the sdk's clock code runs (as with `--reset`), SWO starts (the ROM leaves
/// the gate open) and goes quiet when the firmware gates the trace clock: CYCCNT says how many
/// samples never came, and the warning names the firmware's gate, not the probe.
#[test]
fn swo_attached_before_the_sdk_clock_code_reports_the_line_it_turned_off() {
    let (m, _) = machine("sdk");
    let mut target = SimTarget::new(m, 20_000);
    let collected = swo(
        &mut target,
        &Limits::default(),
        swo_options(Some(1024), 33_000_000),
        &mut |_, _| {},
    );
    let missing: u64 = collected
        .parameters
        .iter()
        .find(|(k, _)| k == "swo_samples_missing")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap();
    assert!(
        missing > 10 * collected.samples,
        "{missing} missing, {} received",
        collected.samples
    );
    assert!(
        collected
            .warnings
            .iter()
            .any(|w| w.contains("turned the SWO line off") && w.contains("gated")),
        "{:?}",
        collected.warnings
    );
}
