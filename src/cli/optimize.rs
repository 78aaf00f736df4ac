//! `hotlink optimize` and `hotlink demo`: the closed loop on the virtual board.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use super::plan::PlanningArgs;
use super::Format;
use crate::board::Board;
use crate::optimize::{optimize, LinkLine, OptimizeOptions, Outcome};
use crate::report::{self, Comparison, ReportInput};

/// Options shared by `optimize` and `demo`.
#[derive(Args, Clone)]
pub struct PlanFlags {
    #[command(flatten)]
    planning: PlanningArgs,
    /// Let the firmware's stores write the XIP flash on the virtual board.
    #[arg(long)]
    writable_flash: bool,
    /// Profile the placed image and plan again this many times in all; the best measured plan
    /// is kept.
    #[arg(long, default_value_t = 1, value_name = "N")]
    iterate: usize,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Link, profile on the virtual board, plan, re-link with the plan and measure the result.
///
/// Give the link line as for `hotlink link` (or ld) after `--`, relative to `-C DIR`:
/// `hotlink optimize --budget ITCM=8K -C build/vm -o vm-opt -- @vm.link`. Everything (baseline
/// and optimised ELFs, maps, profile, plan.json, summary.json) goes to the output directory.
#[derive(Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    flags: PlanFlags,
    /// Directory the link line's relative paths are relative to.
    #[arg(short = 'C', long, default_value = ".")]
    directory: PathBuf,
    /// Work directory for the artefacts.
    #[arg(short, long, default_value = "hotlink-optimize")]
    output: PathBuf,
    /// The link line (ld options, objects, libraries; `@FILE` response files allowed).
    #[arg(last = true, required = true)]
    link: Vec<String>,
}

/// Run the whole loop on a bundled firmware on the virtual RT1062 and write the artefacts and
/// report to `./hotlink-demo/`. By default the `sdk` fixture (an MCUXpresso-SDK-style image
/// booted through the ROM model, whose hot kernels thrash the I-cache from flash) with 16 KB of
/// ITCM.
///
/// Example: `cargo run --release -- demo`, or `hotlink demo --fixture big --budget ITCM=32K`.
#[derive(Args)]
pub struct DemoArgs {
    /// Bundled firmware: sdk, vm, dsp, flashwrite, rtos or big.
    #[arg(long, default_value = "sdk")]
    fixture: String,
    #[command(flatten)]
    flags: PlanFlags,
    #[arg(short, long, default_value = "hotlink-demo")]
    output: PathBuf,
}

pub fn run(args: OptimizeArgs) -> Result<()> {
    let line = LinkLine::new(&args.directory, args.link.clone())?;
    run_loop(&args.flags, &line, &args.output)
}

/// Where the bundled firmware builds are: next to the sources hotlink was built from.
fn firmware_build_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/firmware/build")
}

pub fn demo(mut args: DemoArgs) -> Result<()> {
    let dir = firmware_build_dir().join(&args.fixture);
    let link_file = dir.join(format!("{}.link", args.fixture));
    if !link_file.exists() {
        anyhow::bail!(
            "no bundled firmware `{}` (looked for {}); choose sdk, vm, dsp, flashwrite, rtos or big",
            args.fixture,
            link_file.display()
        );
    }
    if args.flags.planning.budget.is_empty() {
        // sdk's 37 KB of hot code: 16 KB holds less than half of it, so the plan must choose.
        let budget = if args.fixture == "sdk" {
            "ITCM=16K"
        } else {
            "ITCM=2K"
        };
        args.flags.planning.budget.push(budget.into());
    }
    if args.fixture == "flashwrite" {
        args.flags.writable_flash = true;
    }
    // The fixture's own copies of the archive members it links (tests/firmware/README.md) let
    // the demo re-link on machines without Debian's newlib; the system's come first if present.
    let mut link = vec![format!("@{}.link", args.fixture)];
    if dir.join("lib").is_dir() {
        link.push("-Llib".into());
    }
    let line = LinkLine::new(&dir, link)?;
    eprintln!(
        "hotlink demo: {} on the virtual {} with {}",
        args.fixture,
        args.flags.planning.board,
        args.flags.planning.budget.join(", ")
    );
    run_loop(&args.flags, &line, &args.output)
}

fn run_loop(flags: &PlanFlags, line: &LinkLine, out: &Path) -> Result<()> {
    let board = Board::resolve(&flags.planning.board)?;
    let options = OptimizeOptions {
        plan: flags.planning.options()?,
        iterations: flags.iterate,
        writable_flash: flags.writable_flash,
    };
    let started = std::time::Instant::now();
    let mut progress =
        |step: &str| eprintln!("  [{:5.1} s] {step}", started.elapsed().as_secs_f64());
    let outcome = optimize(&board, line, &options, out, &mut progress).with_context(|| {
        format!(
            "the loop stopped; the artefacts made so far are in {}",
            out.display()
        )
    })?;
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    progress("writing the reports");
    write_reports(&outcome, flags, out)?;
    let summary = serde_json::to_string_pretty(&outcome)?;
    crate::fsutil::write_atomic(&out.join("summary.json"), summary.as_bytes())?;
    match flags.format {
        Format::Json => println!("{summary}"),
        Format::Text => print!("{}", table(&outcome, &board)),
    }
    Ok(())
}

/// The baseline's and the optimised image's run reports (JSON) and their comparison as one HTML
/// file with plots.
fn write_reports(outcome: &Outcome, flags: &PlanFlags, out: &Path) -> Result<()> {
    let report = |elf: &Path, plan: Option<&Path>| {
        report::build(&ReportInput {
            elf: elf.to_path_buf(),
            board: flags.planning.board.clone(),
            map: Some(elf.with_extension("map.json")),
            plan: plan.map(Path::to_path_buf),
            writable_flash: flags.writable_flash,
            ram_only: flags.planning.ram_only.clone(),
            ..ReportInput::default()
        })
    };
    let before = report(&outcome.baseline.elf, None)?;
    let after = report(&outcome.optimized.elf, Some(&outcome.plan_path))?;
    for (name, r) in [("baseline", &before), ("optimized", &after)] {
        crate::fsutil::write_atomic(
            &out.join(format!("report-{name}.json")),
            r.to_json().as_bytes(),
        )?;
    }
    let comparison = Comparison::new(&before, &after)?;
    crate::fsutil::write_atomic(
        &out.join("report.html"),
        report::html::compare_html(&comparison, 20)?.as_bytes(),
    )
}

/// The before/after table.
fn table(o: &Outcome, board: &Board) -> String {
    let mhz = board.core_clock_hz as f64 / 1e6;
    let row = |name: &str, cycles: f64| {
        format!(
            "  {name:<22} {cycles:>14.0} {:>12.3} ms\n",
            cycles / mhz / 1000.0
        )
    };
    let mut s = format!(
        "\n{} on {} ({} strategy, {} sections moved)\n  {:<22} {:>14} {:>15}\n",
        o.baseline.elf.display(),
        o.board,
        o.strategy,
        o.moved_sections,
        "",
        "cycles",
        "time"
    );
    s += &row("baseline (as linked)", o.baseline.cycles as f64);
    s += &row("optimised, predicted", o.predicted_cycles);
    s += &row("optimised, measured", o.optimized.cycles as f64);
    let predicted_gain = o.baseline.cycles as f64 - o.predicted_cycles;
    let measured_gain = o.baseline.cycles as f64 - o.optimized.cycles as f64;
    s += &format!(
        "  speedup {:.3}x; predicted gain {:.0} cycles, measured {:.0} ({:+.1}% off)\n  artefacts and report.html in {}\n",
        o.speedup(),
        predicted_gain,
        measured_gain,
        100.0 * (predicted_gain - measured_gain) / measured_gain.abs().max(1.0),
        o.work_dir.display()
    );
    s
}
