//! `hotlink capture`: take a profile on hardware through a debug probe, or on the virtual board.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::board::Board;
use crate::capture::collect::{self, HaltOptions, Limits};
use crate::capture::probe::ProbeTarget;
use crate::capture::sim::SimTarget;
use crate::capture::swo::{self, SwoOptions, TraceClockSource};
use crate::capture::{callsite, clock, into_profile, verify, Collected, ProbeModel, Target};
use crate::measure::windows;
use crate::profile::ExactProfiler;
use crate::profile::{ElfIdentity, Method};
use crate::sim::{Image, Machine, StopReason};
use crate::simrun::{simulate, SimOptions, Window};

/// Sampling method on hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CaptureMethod {
    /// Non-intrusive polling of DWT_PCSR (default).
    Pcsr,
    /// Halt, read PC and LR (one call edge per sample), resume.
    Halt,
    /// DWT periodic PC sampling over SWO.
    Swo,
}

/// The probe modelled between the host and the virtual board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SimProbe {
    /// No latency, any baud, no loss.
    Ideal,
    /// CMSIS-DAP v1 over HID: 1 ms round trips, 60 SWO bytes per read.
    CmsisDapV1,
    /// CMSIS-DAP v2 over high-speed bulk USB (MCU-Link class).
    CmsisDapV2,
}

/// Capture a profile of a running firmware.
///
/// On hardware: `hotlink capture --board imxrt1062 --probe 1fc9:0143 --method pcsr --duration 10
/// -o fw.profile.json fw.elf`. On the virtual board (exact counts, no probe needed):
/// `hotlink capture --sim --board imxrt1062 -o fw.profile.json fw.elf` (with the exact call stack
/// at every sample, for `profile export` and `report --profile`). Ctrl-C or the duration
/// or sample limit end a capture normally. A probe that disconnects, a target that resets, locks
/// up or halts by itself stop it early: the samples so far are written, the profile is marked
/// partial and hotlink exits non-zero. A capture that cannot start or gets no sample writes
/// nothing and exits non-zero. The debug registers are left as they were found.
#[derive(Args)]
pub struct CaptureArgs {
    /// The ELF image running on the target.
    elf: PathBuf,
    /// Where to write the profile.
    #[arg(short, long)]
    output: PathBuf,
    /// Run on hotlink's virtual board and write its exact profile.
    #[arg(long)]
    sim: bool,
    /// Board (name or file): its probe-rs target, clock and memory map.
    #[arg(long, default_value = "imxrt1062")]
    board: String,
    /// probe-rs chip name, overriding the board's (e.g. MIMXRT1060).
    #[arg(long)]
    chip: Option<String>,
    /// The probe to use, as VID:PID[:SERIAL] in hex, when more than one is attached.
    #[arg(long)]
    probe: Option<String>,
    /// Sampling method: pcsr (the default on hardware), halt or swo. With --sim and no method
    /// the profile is exact; with a method the virtual board is sampled like hardware.
    #[arg(long, value_enum)]
    method: Option<CaptureMethod>,
    /// Virtual board: core cycles between two host polls (the probe's round trip).
    #[arg(long, default_value_t = 6000)]
    poll_cycles: u64,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many samples.
    #[arg(long)]
    samples: Option<u64>,
    /// Reset the target before sampling (default: attach to the running program).
    #[arg(long)]
    reset: bool,
    /// Cycles between PC samples (SWO and the virtual board's exact profile). The default for
    /// SWO is the shortest period whose packets the SWO baud rate carries; for exact profiles
    /// 1024.
    #[arg(long)]
    sample_period: Option<u64>,
    /// SWO baud rate asked of the probe (the TPIU's prescaler follows the baud it grants).
    #[arg(long, default_value_t = 6_000_000)]
    swo_baud: u32,
    /// SWO on an i.MX RT1050/1060/1064: let hotlink turn on the trace clock gate (CCM_CCGR0
    /// CG11) and mux pad GPIO_AD_B0_10 to ARM_TRACE_SWO if the firmware left them off; both are
    /// put back at the end.
    #[arg(long)]
    enable_trace_clock: bool,
    /// SWO: the trace clock in Hz, for chips whose clock registers hotlink does not read.
    #[arg(long)]
    trace_clock: Option<u64>,
    /// halt: the share of time the core may spend halted (the samples are paced to it).
    #[arg(long, default_value_t = 0.05)]
    halt_duty: f64,
    /// Virtual board: the probe modelled between hotlink and the board.
    #[arg(long, value_enum, default_value_t = SimProbe::Ideal)]
    sim_probe: SimProbe,
    /// With `--method halt`: unwind the whole call stack at each sample (DWARF, EHABI or frame
    /// pointers from the ELF) and record the stacks in the profile. The virtual board's exact
    /// profile (`--sim` without a method) always records its exact stacks, with or without it.
    #[arg(long)]
    stacks: bool,
    /// Virtual board: let stores write the XIP flash (see `hotlink run --writable-flash`).
    #[arg(long)]
    writable_flash: bool,
    /// Virtual board, exact profile: profile only inside this window (`START..STOP`, e.g. one
    /// main-loop iteration), for firmware that never exits (with --windows).
    #[arg(long, value_name = "START..STOP")]
    window: Option<String>,
    /// With --window: stop after N windows (the firmware need not exit).
    #[arg(long, value_name = "N", default_value_t = 1)]
    windows: u64,
}

pub fn run(args: CaptureArgs) -> Result<()> {
    let board = Board::resolve(&args.board)?;
    let path = args.elf.display().to_string();
    let bytes = std::fs::read(&args.elf).with_context(|| format!("cannot read {path}"))?;
    let identity = ElfIdentity::of_bytes(&path, &bytes);
    if args.stacks
        && args.method != Some(CaptureMethod::Halt)
        && !(args.sim && args.method.is_none())
    {
        bail!(
            "--stacks needs --method halt (call stacks are unwound while the core is halted), \
             or --sim without a method (the exact profile always records them)"
        );
    }
    if args.sim && args.method.is_none() {
        return match &args.window {
            Some(spec) => capture_sim_windows(&args, &board, &bytes, &Window::parse(spec)?),
            None => capture_sim(&args, &board, &bytes),
        };
    }
    if args.window.is_some() {
        bail!("--window profiles the virtual board's exact run (--sim without --method)");
    }
    let image = Image::parse(&bytes, &path)?;
    let chip = args
        .chip
        .clone()
        .unwrap_or_else(|| board.probe_rs_target.clone());
    let (mut target, probe): (Box<dyn Target>, Option<String>) = if args.sim {
        let mut machine = Machine::new(&board, &bytes, &path)?;
        if args.writable_flash {
            machine.mem.allow_flash_writes();
        }
        let model = match args.sim_probe {
            SimProbe::Ideal => ProbeModel::ideal(),
            SimProbe::CmsisDapV1 => ProbeModel::cmsis_dap_v1(),
            SimProbe::CmsisDapV2 => ProbeModel::cmsis_dap_v2(),
        };
        let target = SimTarget::new(machine, args.poll_cycles).with_probe(model);
        (Box::new(target), None)
    } else {
        let target = ProbeTarget::open(
            &chip,
            args.probe.as_deref(),
            board.core_clock_hz,
            args.reset,
        )?;
        let probe = target.probe.clone();
        (Box::new(target), Some(probe))
    };
    let target = target.as_mut();
    let program = format!("e.g. `probe-rs download --chip {chip} {path}`");
    if let Err(why) = verify::image_matches(target, &image, &path, &program) {
        bail!("{why}");
    }
    let limits = Limits {
        samples: args.samples,
        duration: args.duration.map(Duration::from_secs_f64),
        ..Limits::default()
    };
    let flag = limits.interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let bar = indicatif::ProgressBar::new_spinner();
    let mut progress = |samples: u64, elapsed: Duration| {
        let rate = samples as f64 / elapsed.as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{samples} samples, {rate:.0}/s, {:.1} s",
            elapsed.as_secs_f64()
        ));
        bar.tick();
    };
    let mut stacks = None;
    let (mut collected, method) = match args.method.unwrap_or(CaptureMethod::Pcsr) {
        CaptureMethod::Halt if args.stacks => {
            let table = crate::unwind::Table::from_elf(&bytes, &path)?;
            let (collected, counts) =
                crate::capture::stacks::collect(target, &table, &limits, &mut progress);
            stacks = Some(counts);
            (collected, Method::Halt)
        }
        CaptureMethod::Pcsr => (collect::pcsr(target, &limits, &mut progress), Method::Pcsr),
        CaptureMethod::Halt => {
            let options = HaltOptions {
                duty: args.halt_duty,
            };
            let collected = collect::halt(target, &limits, options, &mut progress);
            (collected, Method::Halt)
        }
        CaptureMethod::Swo => {
            let trace_clock = match args.trace_clock {
                Some(hz) => TraceClockSource::Fixed(hz),
                None if args.sim || clock::knows_chip(&chip) => TraceClockSource::Ccm {
                    consent: args.enable_trace_clock,
                },
                None => bail!(
                    "hotlink reads the trace clock of i.MX RT1050/1060/1064 only; for {chip} \
                     pass --trace-clock HZ (the TPIU's clock, not the core clock)"
                ),
            };
            let options = SwoOptions {
                period_cycles: args.sample_period,
                baud: args.swo_baud,
                trace_clock,
            };
            (
                swo::swo(target, &limits, options, &mut progress),
                Method::Swo,
            )
        }
    };
    bar.finish_and_clear();
    let stale = callsite::drop_stale_edges(&image, &mut collected.edges, &collected.call_targets);
    if stale > 0 {
        collected.parameter("stale_lr_edges_dropped", stale);
    }
    let stacks = stacks.map(|s: crate::capture::stacks::StackCounts| s.into_call_stacks());
    save_outcome(&args, collected, identity, method, probe, stacks, &bytes)
}

/// Writes the profile when there are samples, prints what the user must know, and turns a
/// capture that did not end as asked into an error (after the samples are saved).
fn save_outcome(
    args: &CaptureArgs,
    collected: Collected,
    identity: ElfIdentity,
    method: Method,
    probe: Option<String>,
    stacks: Option<crate::profile::CallStacks>,
    bytes: &[u8],
) -> Result<()> {
    for warning in &collected.warnings {
        eprintln!("warning: {warning}");
    }
    let stop = collected.stop.clone().unwrap_or(collect::StopReason::Limit);
    if let collect::StopReason::Setup(why) = &stop {
        bail!("the capture could not start: {why}; nothing was written");
    }
    if collected.samples == 0 {
        bail!(
            "no PC samples were taken ({}); nothing was written",
            stop.partial()
                .unwrap_or_else(|| "the capture ended before the first sample".into())
        );
    }
    let mut profile = into_profile(collected, identity, &args.board, method, probe);
    profile.call_stacks = stacks;
    profile.record_layout(bytes);
    profile.save(&args.output)?;
    match &profile.capture.partial {
        Some(why) if !stop.as_asked() => bail!(
            "capture stopped early ({why}); {} samples kept in {} (marked partial)",
            profile.totals.samples,
            args.output.display()
        ),
        Some(why) => eprintln!(
            "capture ended ({why}); {} samples written to {} (marked partial)",
            profile.totals.samples,
            args.output.display()
        ),
        None => eprintln!(
            "{} samples written to {}",
            profile.totals.samples,
            args.output.display()
        ),
    }
    Ok(())
}

/// The exact profile of one run on the virtual board.
fn capture_sim(args: &CaptureArgs, board: &Board, bytes: &[u8]) -> Result<()> {
    let path = args.elf.display().to_string();
    let options = SimOptions {
        writable_flash: args.writable_flash,
        profile_period: Some(args.sample_period.unwrap_or(1024)),
        profile_stacks: true,
        ..SimOptions::default()
    };
    let run = simulate(board, &args.board, bytes, &path, &options)?;
    let mut profile = run.profile.expect("the run was profiled");
    match run.stop {
        StopReason::Exit { status: 0 } => {}
        StopReason::Exit { status } => {
            profile.capture.partial = Some(format!("the program exited with status {status}"))
        }
        other => bail!("the run did not finish: {other:?}"),
    }
    profile.save(&args.output)?;
    eprintln!(
        "exact profile of {} cycles written to {}",
        run.cycles,
        args.output.display()
    );
    Ok(())
}

/// The exact profile of the first `--windows` windows of a run on the virtual board: only the
/// instructions inside the windows count, and the run stops after the last one.
fn capture_sim_windows(
    args: &CaptureArgs,
    board: &Board,
    bytes: &[u8],
    window: &Window,
) -> Result<()> {
    let path = args.elf.display().to_string();
    let mut m = Machine::new(board, bytes, &path)?;
    if args.writable_flash {
        m.mem.allow_flash_writes();
    }
    let (profiler, counts) = ExactProfiler::new(args.sample_period.unwrap_or(1024));
    let limits = crate::sim::Limits {
        max_cycles: windows::DEFAULT_LIMIT_SECONDS * board.core_clock_hz,
        ..Default::default()
    };
    let seen = windows::run_windows(
        &mut m,
        window,
        &path,
        args.windows,
        limits,
        Some(Box::new(profiler)),
    )?;
    let mut profile =
        counts
            .borrow()
            .into_profile(&m, ElfIdentity::of_bytes(&path, bytes), &args.board);
    profile.totals.cycles = Some(seen.cycles.iter().sum());
    profile.totals.instructions = Some(seen.instructions.iter().sum());
    let parameters = &mut profile.capture.parameters;
    parameters.insert("window".into(), window.to_string());
    parameters.insert("windows".into(), args.windows.to_string());
    profile.record_layout(bytes);
    profile.save(&args.output)?;
    eprintln!(
        "exact profile of {} window(s) {window} ({} cycles) written to {}",
        args.windows,
        seen.cycles.iter().sum::<u64>(),
        args.output.display()
    );
    Ok(())
}
