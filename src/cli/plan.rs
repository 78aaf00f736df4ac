//! `hotlink plan`: decide which input sections run from ITCM, OCRAM or XIP flash.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::Format;
use crate::board::Board;
use crate::linkmap::LinkMap;
use crate::planner::timings::{Clock, Step, Timings};
use crate::planner::{self, PlanInputs, PlanOptions};
use crate::units::Bytes;

/// Plan the placement of a firmware's code over ITCM, OCRAM and XIP flash from a profile.
///
/// Example: `hotlink plan --board imxrt1062 --profile vm.profile.json --map build/vm/vm.map
/// --budget ITCM=4K -o vm.plan.json build/vm/vm.elf`, then `hotlink link --plan vm.plan.json …`
/// (or `--emit-ld fragment.ld` for GNU ld / LLD).
#[derive(Args)]
pub struct PlanArgs {
    /// The baseline image the profile was taken on.
    elf: PathBuf,
    #[arg(long)]
    profile: PathBuf,
    /// Its link map (GNU ld -Map file or hotlink's JSON link map). Relative object paths in it
    /// are taken relative to the map's directory unless --link-dir says otherwise.
    #[arg(long)]
    map: PathBuf,
    /// Directory the link ran in.
    #[arg(long)]
    link_dir: Option<PathBuf>,
    #[command(flatten)]
    planning: PlanningArgs,
    /// Use the profile even if it was taken on a different build.
    #[arg(long)]
    force: bool,
    /// Where to write plan.json.
    #[arg(short, long, default_value = "plan.json")]
    output: PathBuf,
    /// Also write the plan for GNU ld / LLD: to FILE, one fragment with a block per region; to
    /// an existing directory (or a path ending in `/`), one file per receiving output section
    /// (`ram_function.ld`, `itcm.ld`…) to INCLUDE first inside that section.
    #[arg(long, value_name = "FILE|DIR")]
    emit_ld: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// After the plan, print wall and CPU time per step and peak RSS to stderr (one line of
    /// JSON with --format json).
    #[arg(long)]
    timings: bool,
}

/// The planning options `plan`, `optimize` and `demo` share.
#[derive(Args, Clone)]
pub struct PlanningArgs {
    #[arg(long, default_value = "imxrt1062")]
    pub board: String,
    /// Bytes a region may hold of planned code, e.g. ITCM=16K (repeatable).
    #[arg(long, value_name = "REGION=SIZE")]
    pub budget: Vec<String>,
    /// Bytes of code to move out of a region, at the least cycle cost, e.g. ITCM=16K on a
    /// Teensy-style image whose code all runs from ITCM: RAM given back to data (repeatable).
    #[arg(long, value_name = "REGION=SIZE")]
    pub free: Vec<String>,
    /// xip, gnu-fill, any-best-fit, greedy or ilp.
    #[arg(long, default_value = "ilp")]
    strategy: hotlink_solver::Strategy,
    /// Flash-disabled roots besides `.ramfunc*` sections (glob on file:section, section or
    /// symbol; repeatable). They and everything they reach stay out of flash.
    #[arg(long, value_name = "PATTERN")]
    pub ram_only: Vec<String>,
    /// Sections that stay where the script puts them (glob, repeatable).
    #[arg(long, value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Sections that must go to a region: PATTERN=REGION (repeatable).
    #[arg(long, value_name = "PATTERN=REGION")]
    pin: Vec<String>,
    /// Bytes kept free in each RAM region.
    #[arg(long, default_value = "64")]
    reserve: Bytes,
    /// Solver time limit in seconds.
    #[arg(long, default_value_t = 30.0)]
    time_limit: f64,
    /// Relative optimality gap at which the solver may stop.
    #[arg(long, default_value_t = 1e-3)]
    gap: f64,
    /// If the image cannot run on the virtual board, plan from a fixed stall guess instead of
    /// failing (the plan and its output say so).
    #[arg(long)]
    static_estimate: bool,
    /// Price the startup copy of moved code at zero: for firmware that runs far longer than
    /// its boot (the copy is paid once), when the profile's run is dominated by the boot.
    #[arg(long)]
    ignore_boot_copy: bool,
    /// `auto`: choose the FlexRAM bank split (ITCM/DTCM/OCRAM) with the plan, the one with the
    /// fewest predicted cycles that still holds the image's data; prints the IOMUXC GPR values
    /// and region sizes and records them in plan.json. `board` (default): the board's sizes.
    #[arg(long, value_enum, default_value_t)]
    flexram: FlexramMode,
}

/// How `plan` treats the FlexRAM bank split.
#[derive(clap::ValueEnum, Clone, Copy, Default, PartialEq, Eq)]
pub enum FlexramMode {
    /// The region sizes of the board description.
    #[default]
    Board,
    /// Chosen with the plan.
    Auto,
}

impl PlanningArgs {
    /// The planner's options from the flags.
    pub fn options(&self) -> Result<PlanOptions> {
        let sizes = |flags: &[String], what: &str| {
            flags
                .iter()
                .map(|b| {
                    let (region, size) = split_pair(b, what)?;
                    let size =
                        Bytes::parse(&size).map_err(|e| anyhow::anyhow!("{what} {b}: {e}"))?;
                    Ok((region, size.0))
                })
                .collect::<Result<Vec<_>>>()
        };
        let budgets = sizes(&self.budget, "--budget")?;
        let free = sizes(&self.free, "--free")?;
        let pin = self
            .pin
            .iter()
            .map(|p| split_pair(p, "--pin"))
            .collect::<Result<Vec<_>>>()?;
        Ok(PlanOptions {
            strategy: self.strategy,
            budgets,
            free,
            ram_only: self.ram_only.clone(),
            exclude: self.exclude.clone(),
            pin,
            reserve: self.reserve.0,
            time_limit_seconds: self.time_limit,
            relative_gap: self.gap,
            static_estimate: self.static_estimate,
            ignore_boot_copy: self.ignore_boot_copy,
            flexram_auto: self.flexram == FlexramMode::Auto,
        })
    }
}

/// Writes `--emit-ld`: one fragment file, or one file per receiving output section in a directory.
fn emit_ld(path: &std::path::Path, planned: &planner::Planned) -> Result<()> {
    let is_dir = path.is_dir() || path.to_string_lossy().ends_with('/');
    if !is_dir {
        return crate::fsutil::write_atomic(path, planned.plan.to_ld_fragment().as_bytes());
    }
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    for (region, lines) in planned.plan.ld_blocks() {
        let section = planned
            .receivers
            .iter()
            .find(|(r, _)| *r == region.name)
            .map_or(region.name.as_str(), |(_, s)| s.as_str());
        let file = path.join(format!("{}.ld", section.trim_start_matches('.')));
        let text = format!(
            "/* hotlink plan for {section} ({}): INCLUDE this file first inside {section}, and keep {section} before the output section whose *(.text*) would claim these sections. */\n{lines}",
            region.name
        );
        crate::fsutil::write_atomic(&file, text.as_bytes())?;
        eprintln!("{} written", file.display());
    }
    Ok(())
}

pub(super) fn split_pair(text: &str, what: &str) -> Result<(String, String)> {
    text.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .with_context(|| format!("{what} `{text}`: expected NAME=VALUE"))
}

pub fn run(args: PlanArgs) -> Result<()> {
    let (start, mut timings) = (Clock::now(), Timings::default());
    let board = timings.time(Step::Read, || Board::resolve(&args.planning.board))?;
    let (elf, profile) = timings.time(Step::Profile, || {
        super::profile_for_image(&args.elf, &args.profile, args.force)
    })?;
    let map = timings.time(Step::Read, || LinkMap::load(&args.map))?;
    let link_dir = args.link_dir.clone().unwrap_or_else(|| {
        args.map
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("."))
    });
    let options = args.planning.options()?;
    let inputs = PlanInputs {
        board: &board,
        elf_path: &args.elf,
        elf: &elf,
        map: &map,
        link_dir: &link_dir,
        profile: &profile,
    };
    let planned = planner::plan(&inputs, &options)?;
    timings.add(&planned.timings);
    for w in &planned.warnings {
        eprintln!("warning: {w}");
    }
    timings.time(Step::Write, || -> Result<()> {
        planned.plan.save(&args.output)?;
        if let Some(path) = &args.emit_ld {
            emit_ld(path, &planned)?;
        }
        match args.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&planned.plan)?),
            Format::Text => print!("{}", planner::summary(&planned)),
        }
        Ok(())
    })?;
    eprintln!("plan written to {}", args.output.display());
    if args.timings {
        let report = timings.report(&start);
        match args.format {
            Format::Json => eprintln!("{}", serde_json::json!({ "timings": report })),
            Format::Text => eprint!("{}", report.to_text()),
        }
    }
    Ok(())
}
