//! `hotlink capture`: take a profile on hardware through a debug probe, or on the virtual board.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::board::Board;
use crate::capture::collect::{self, Limits};
use crate::capture::probe::ProbeTarget;
use crate::capture::sim::SimTarget;
use crate::capture::{into_profile, Target};
use crate::profile::{ElfIdentity, Method};
use crate::report::{simulate, SimOptions};
use crate::sim::{Machine, StopReason};

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

/// Capture a profile of a running firmware.
///
/// On hardware: `hotlink capture --board imxrt1062 --probe 1fc9:0143 --method pcsr --duration 10
/// -o fw.profile.json fw.elf`. On the virtual board (exact counts, no probe needed):
/// `hotlink capture --sim --board imxrt1062 -o fw.profile.json fw.elf`. Ctrl-C, a probe that
/// disconnects or a target that resets stop the capture; the samples so far are written and the
/// profile is marked partial.
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
    /// SWO baud rate.
    #[arg(long, default_value_t = 6_000_000)]
    swo_baud: u32,
    /// With `--method halt`: unwind the whole call stack at each sample (DWARF, EHABI or frame
    /// pointers from the ELF) and record the stacks in the profile.
    #[arg(long)]
    stacks: bool,
    /// Virtual board: let stores write the XIP flash (see `hotlink run --writable-flash`).
    #[arg(long)]
    writable_flash: bool,
}

pub fn run(args: CaptureArgs) -> Result<()> {
    let board = Board::resolve(&args.board)?;
    let path = args.elf.display().to_string();
    let bytes = std::fs::read(&args.elf).with_context(|| format!("cannot read {path}"))?;
    let identity = ElfIdentity::of_bytes(&path, &bytes);
    if args.stacks && args.method != Some(CaptureMethod::Halt) {
        bail!("--stacks needs --method halt (call stacks are unwound while the core is halted)");
    }
    if args.sim && args.method.is_none() {
        return capture_sim(&args, &board, &bytes);
    }
    let (mut target, probe): (Box<dyn Target>, Option<String>) = if args.sim {
        let mut machine = Machine::new(&board, &bytes, &path)?;
        if args.writable_flash {
            machine.mem.allow_flash_writes();
        }
        (Box::new(SimTarget::new(machine, args.poll_cycles)), None)
    } else {
        let chip = args
            .chip
            .clone()
            .unwrap_or_else(|| board.probe_rs_target.clone());
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
    let (collected, method) = match args.method.unwrap_or(CaptureMethod::Pcsr) {
        CaptureMethod::Halt if args.stacks => {
            let table = crate::unwind::Table::from_elf(&bytes, &path)?;
            let (collected, counts) =
                crate::capture::stacks::collect(target, &table, &limits, &mut progress);
            stacks = Some(counts);
            (collected, Method::Halt)
        }
        CaptureMethod::Pcsr => (collect::pcsr(target, &limits, &mut progress), Method::Pcsr),
        CaptureMethod::Halt => (collect::halt(target, &limits, &mut progress), Method::Halt),
        CaptureMethod::Swo => (
            collect::swo(
                target,
                &limits,
                args.sample_period
                    .unwrap_or_else(|| swo_period(board.core_clock_hz, args.swo_baud)),
                args.swo_baud,
                &mut progress,
            ),
            Method::Swo,
        ),
    };
    bar.finish_and_clear();
    let mut profile = into_profile(collected, identity, &args.board, method, probe);
    profile.call_stacks = stacks.map(|s| s.into_call_stacks());
    profile.record_layout(&bytes);
    profile.save(&args.output)?;
    match &profile.capture.partial {
        Some(why) => eprintln!(
            "capture stopped early ({why}); {} samples kept in {} (marked partial)",
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

/// The shortest DWT sampling period whose PC-sample packets (5 bytes, 10 bits each on the wire)
/// an SWO line at `baud` carries, with 20% headroom for exception and overflow packets.
fn swo_period(core_clock_hz: u64, baud: u32) -> u64 {
    let bits_per_sample = 5 * 10;
    (core_clock_hz * bits_per_sample * 12 / 10).div_ceil(u64::from(baud.max(1)))
}
