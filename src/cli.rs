//! The command-line interface: argument parsing and printing only; the work lives in the library.

mod boards;
mod capture;
mod check;
mod check_list;
mod diff;
mod emit;
mod heat;
mod inspect;
mod link;
mod measure;
mod optimize;
mod patch;
mod plan;
mod profile;
mod report;
mod run;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Profile-guided code placement and linking for Cortex-M7 i.MX RT microcontrollers.
#[derive(Parser)]
#[command(name = "hotlink", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Boards(boards::BoardsArgs),
    Capture(capture::CaptureArgs),
    Check(check::CheckArgs),
    CheckList(check_list::CheckListArgs),
    Compare(report::CompareArgs),
    Diff(diff::DiffArgs),
    Emit(emit::EmitArgs),
    Heat(heat::HeatArgs),
    Inspect(inspect::InspectArgs),
    Demo(optimize::DemoArgs),
    Link(link::LinkArgs),
    Optimize(optimize::OptimizeArgs),
    PatchScript(patch::PatchScriptArgs),
    Plan(plan::PlanArgs),
    Measure(measure::MeasureArgs),
    Profile(profile::ProfileArgs),
    Report(report::ReportArgs),
    Run(run::RunArgs),
    Verify(verify::VerifyArgs),
}

/// Output format shared by the commands that print reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Reads an image and a profile, re-mapping the profile if it was taken on an older build (and
/// saying how much matched); returns the image's bytes and the profile as it applies to them.
fn profile_for_image(
    elf: &std::path::Path,
    profile: &std::path::Path,
    force: bool,
) -> anyhow::Result<(Vec<u8>, crate::profile::Profile)> {
    use anyhow::Context;
    let bytes = std::fs::read(elf).with_context(|| format!("cannot read {}", elf.display()))?;
    let (profile, remapped) = crate::profile::for_image(
        crate::profile::Profile::load(profile)?,
        &bytes,
        &elf.display().to_string(),
        force,
    )
    .with_context(|| format!("profile {}", profile.display()))?;
    if let Some(report) = remapped {
        eprintln!("{}", report.describe());
    }
    Ok((bytes, profile))
}

/// Parses the command line, runs the command and turns errors into a message and exit code.
pub fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Called through a link named `ld`, `*-ld` (for `gcc -B DIR`) or `ld.lld`/`ld.bfd` (for
    // `-fuse-ld=lld`, as rustc's gcc flavour passes): behave as `hotlink link`.
    let as_ld = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "ld" || n.ends_with("-ld") || n.starts_with("ld."));
    if as_ld {
        argv.splice(0..1, ["hotlink".into(), "link".into()]);
    }
    let cli = Cli::parse_from(argv);
    let result = match cli.command {
        Command::Boards(args) => boards::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Check(args) => check::run(args),
        Command::CheckList(args) => check_list::run(args),
        Command::Compare(args) => report::run_compare(args),
        Command::Diff(args) => diff::run(args),
        Command::Emit(args) => emit::run(args),
        Command::Heat(args) => heat::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Demo(args) => optimize::demo(args),
        Command::Link(args) => link::run(args),
        Command::Optimize(args) => optimize::run(args),
        Command::PatchScript(args) => patch::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Measure(args) => measure::run(args),
        Command::Profile(args) => profile::run(args),
        Command::Report(args) => report::run_report(args),
        Command::Run(args) => run::run(args),
        Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
