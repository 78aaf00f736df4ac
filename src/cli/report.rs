//! `hotlink report` and `hotlink compare`: performance reports of runs on the virtual board.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::fsutil::write_atomic;
use crate::report::{self, Comparison, ReportInput, RunReport};
use crate::sim::Limits;
use crate::simrun::Window;

/// Output formats of reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    /// One self-contained HTML file with inline SVG plots.
    Html,
}

/// A performance report of an image run on the virtual board (text, JSON or HTML).
///
/// Cycles, IPC, per-region traffic and cache hit
/// rates, veneers and the calls through them, region use against the plan's budgets, the
/// flash-disabled audit and the top functions with their region.
///
/// Example: `hotlink report --map tests/firmware/build/vm/vm.map --format html -o vm.html
/// tests/firmware/build/vm/vm.elf`
#[derive(Args)]
pub struct ReportArgs {
    /// The firmware ELF.
    elf: PathBuf,
    #[arg(long, default_value = "imxrt1062")]
    board: String,
    /// The image's link map (hotlink JSON or GNU ld -Map): veneers, region use and the audit.
    #[arg(long)]
    map: Option<PathBuf>,
    /// The plan the image was linked with: region budgets.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Also measure a window between two symbols (`START..STOP`).
    #[arg(long, value_name = "START..STOP")]
    window: Option<String>,
    /// Let stores write the XIP flash (firmware that programs its flash, like `flashwrite`).
    #[arg(long)]
    writable_flash: bool,
    /// More flash-disabled roots for the audit: input-section globs (as `link --ram-only`).
    #[arg(long, value_name = "GLOB")]
    ram_only: Vec<String>,
    /// Stop the run after this many cycles.
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Functions listed.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// A profile with call stacks (`capture --sim`, `capture --method halt --stacks`): its flame graph goes in
    /// the HTML report.
    #[arg(long)]
    profile: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: ReportFormat,
    /// Write the report here instead of stdout (atomically).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// Compare two run reports side by side.
///
/// Takes JSON reports (from `hotlink report --format json`) and shows total and per-function cycle
/// deltas, the speedup, region use, and the functions that moved to another region.
///
/// Example: `hotlink compare before.json after.json --format html -o compare.html`
#[derive(Args)]
pub struct CompareArgs {
    /// The report before (the baseline).
    before: PathBuf,
    /// The report after.
    after: PathBuf,
    /// Functions listed.
    #[arg(long, default_value_t = 20)]
    top: usize,
    #[arg(long, value_enum, default_value_t)]
    format: ReportFormat,
    /// Write the comparison here instead of stdout (atomically).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

fn emit(text: String, output: &Option<PathBuf>) -> Result<()> {
    match output {
        Some(path) => {
            write_atomic(path, text.as_bytes())?;
            eprintln!("written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

pub fn run_report(args: ReportArgs) -> Result<()> {
    let profile = args
        .profile
        .as_deref()
        .map(crate::profile::Profile::load)
        .transpose()?;
    if let (Some(p), Some(path)) = (&profile, &args.profile) {
        if p.call_stacks.is_none() {
            anyhow::bail!(
                "{}: the profile has no call stacks; capture one with `hotlink capture --method halt --stacks` or `hotlink capture --sim`",
                path.display()
            );
        }
        if !p
            .elf
            .same_program(&crate::profile::ElfIdentity::of_file(&args.elf)?)
        {
            anyhow::bail!(
                "{}: the profile was taken on another image ({}) than {}; capture it on this one",
                path.display(),
                p.elf.path,
                args.elf.display()
            );
        }
    }
    let report = report::build(&ReportInput {
        elf: args.elf.clone(),
        board: args.board.clone(),
        map: args.map.clone(),
        plan: args.plan.clone(),
        window: args.window.as_deref().map(Window::parse).transpose()?,
        writable_flash: args.writable_flash,
        ram_only: args.ram_only.clone(),
        limits: Limits {
            max_cycles: args.max_cycles.unwrap_or(u64::MAX),
            ..Limits::default()
        },
    })?;
    if report.exit_status != Some(0) {
        eprintln!(
            "warning: {} did not exit cleanly ({}); the figures cover the run so far",
            args.elf.display(),
            report
                .stopped
                .clone()
                .unwrap_or_else(|| format!("exit status {}", report.exit_status.unwrap_or(-1)))
        );
    }
    let text = match args.format {
        ReportFormat::Text => report::to_text(&report, args.top),
        ReportFormat::Json => report.to_json() + "\n",
        ReportFormat::Html => report::html::report_html(&report, args.top, profile.as_ref())?,
    };
    emit(text, &args.output)
}

pub fn run_compare(args: CompareArgs) -> Result<()> {
    let before = RunReport::load(&args.before)?;
    let after = RunReport::load(&args.after)?;
    let c = Comparison::new(&before, &after)?;
    let text = match args.format {
        ReportFormat::Text => report::compare_text(&c, args.top),
        ReportFormat::Json => c.to_json() + "\n",
        ReportFormat::Html => report::html::compare_html(&c, args.top)?,
    };
    emit(text, &args.output)
}
