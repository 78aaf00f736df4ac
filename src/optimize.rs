//! The closed loop on the virtual board: link the baseline, profile it, plan, re-link with the
//! plan, and measure the result the same way.
//!
//! Every artefact goes to a work directory as it is made (atomically), so an interrupted or
//! failed run leaves the last good ones behind.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::board::Board;
use crate::link::args::{expand_response_files, LinkArgs};
use crate::linkmap::LinkMap;
use crate::planner::{self, PlanInputs, PlanOptions};
use crate::profile::{ElfIdentity, ExactProfiler, Profile};
use crate::sim::{Limits, Machine, StopReason};

/// A link command line (ld's options) and the directory its relative paths are relative to.
#[derive(Clone, Debug)]
pub struct LinkLine {
    pub dir: PathBuf,
    pub args: Vec<String>,
}

impl LinkLine {
    /// A link line from arguments (response files expanded) run in `dir`.
    pub fn new(dir: &Path, args: Vec<String>) -> Result<LinkLine> {
        let args = expand_response_files(args, dir)?;
        Ok(LinkLine {
            dir: dir.to_path_buf(),
            args,
        })
    }

    /// Links to `elf` (with `<elf>.map` and `<elf>.map.json` beside it), applying `plan` if
    /// given; returns the JSON link map.
    pub fn link(&self, elf: &Path, plan: Option<&Path>) -> Result<LinkMap> {
        let mut args = LinkArgs::parse(self.args.clone())?;
        args.rebase(&self.dir);
        args.output = Some(elf.to_path_buf());
        args.map = Some(elf.with_extension("map"));
        args.json_map = Some(elf.with_extension("map.json"));
        args.plan = plan.map(Path::to_path_buf);
        let result =
            crate::link::link(&args).with_context(|| format!("linking {}", elf.display()))?;
        Ok(result.map)
    }
}

/// What to optimise for and within.
#[derive(Clone, Debug)]
pub struct OptimizeOptions {
    pub plan: PlanOptions,
    /// Let the firmware's stores write the XIP flash on the virtual board.
    pub writable_flash: bool,
}

/// One measured image.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    pub elf: PathBuf,
    pub cycles: u64,
    pub instructions: u64,
}

/// The loop's result.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub board: String,
    pub strategy: String,
    pub baseline: Measured,
    /// The best measured optimised image.
    pub optimized: Measured,
    pub plan_path: PathBuf,
    pub predicted_cycles: f64,
    pub moved_sections: usize,
    pub work_dir: PathBuf,
}

impl Outcome {
    pub fn speedup(&self) -> f64 {
        self.baseline.cycles as f64 / self.optimized.cycles.max(1) as f64
    }
}

/// Runs an image to its exit on the virtual board with an exact profile; fails if the program
/// does not exit with status 0 (the fixtures check their own results).
pub fn measure(board: &Board, elf: &Path, writable_flash: bool) -> Result<(Measured, Profile)> {
    let bytes = std::fs::read(elf).with_context(|| format!("cannot read {}", elf.display()))?;
    let path = elf.display().to_string();
    let mut machine = Machine::new(board, &bytes, &path)?;
    if writable_flash {
        machine.mem.allow_flash_writes();
    }
    let (observer, counts) = ExactProfiler::new(1024);
    machine.set_observer(Some(Box::new(observer)));
    let stop = machine
        .run(Limits {
            max_instructions: 4_000_000_000,
            max_cycles: u64::MAX,
        })
        .with_context(|| format!("running {path} on the virtual {}", board.name))?;
    match stop {
        StopReason::Exit { status: 0 } => {}
        other => bail!(
            "{path} did not pass on the virtual {} ({other:?}); its output:\n{}",
            board.name,
            String::from_utf8_lossy(&machine.output)
        ),
    }
    let mut profile =
        counts
            .borrow()
            .into_profile(&machine, ElfIdentity::of_bytes(&path, &bytes), &board.name);
    profile.record_layout(&bytes);
    Ok((
        Measured {
            elf: elf.to_path_buf(),
            cycles: machine.cycles,
            instructions: machine.instructions,
        },
        profile,
    ))
}

/// The whole loop. `progress` is told what is happening, step by step.
pub fn optimize(
    board: &Board,
    line: &LinkLine,
    options: &OptimizeOptions,
    work_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let baseline_elf = work_dir.join("baseline.elf");
    progress("linking the baseline");
    let baseline_map = line.link(&baseline_elf, None)?;
    progress("profiling the baseline on the virtual board");
    let (baseline, baseline_profile) = measure(board, &baseline_elf, options.writable_flash)?;
    baseline_profile.save(&work_dir.join("baseline.profile.json"))?;

    let elf_bytes = std::fs::read(&baseline_elf)?;
    progress("planning");
    let inputs = PlanInputs {
        board,
        elf_path: &baseline_elf,
        elf: &elf_bytes,
        map: &baseline_map,
        link_dir: &line.dir,
        profile: &baseline_profile,
    };
    let planned = planner::plan(&inputs, &options.plan)?;
    let plan_path = work_dir.join("plan.json");
    planned.plan.save(&plan_path)?;
    progress("linking with the plan");
    let optimized_elf = work_dir.join("optimized.elf");
    line.link(&optimized_elf, Some(&plan_path))?;
    progress("measuring the optimised image");
    let (optimized, _) = measure(board, &optimized_elf, options.writable_flash)
        .with_context(|| format!("the image linked with {}", plan_path.display()))?;
    Ok(Outcome {
        board: board.name.clone(),
        strategy: options.plan.strategy.name().to_string(),
        baseline,
        optimized,
        plan_path,
        predicted_cycles: planned.plan.prediction.planned_cycles,
        moved_sections: planned.plan.placements.len(),
        work_dir: work_dir.to_path_buf(),
    })
}
