//! The closed loop on the virtual board: link the baseline, profile it, plan, re-link with the
//! plan, and measure the result the same way. With more than one iteration the placed image is
//! profiled and planned again (the cache behaves differently once hot code has moved); each new
//! placement is expressed against the script's own placement again, linked and measured, and the
//! best measured plan is kept.
//!
//! Every artefact goes to a work directory as it is made (atomically), so an interrupted or
//! failed run leaves the last good ones behind.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::board::Board;
use crate::link::args::{expand_response_files, LinkArgs};
use crate::linkmap::LinkMap;
use crate::plan::{Placement, Plan};
use crate::planner::{self, PlanInputs, PlanOptions};
use crate::profile::Profile;
use crate::sim::Limits;
use crate::simrun::{simulate, SimOptions};

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
    /// given; returns the JSON link map. The line's `--place-into` options (where the plan's
    /// sections go, e.g. `FLASH=.xip` for imxrt-rt) only apply to the planned links.
    pub fn link(&self, elf: &Path, plan: Option<&Path>) -> Result<LinkMap> {
        let mut args = LinkArgs::parse(self.args.clone())?;
        args.rebase(&self.dir);
        args.output = Some(elf.to_path_buf());
        args.map = Some(elf.with_extension("map"));
        args.json_map = Some(elf.with_extension("map.json"));
        args.plan = plan.map(Path::to_path_buf);
        if plan.is_none() {
            args.place_into.clear();
        }
        let result =
            crate::link::link(&args).with_context(|| format!("linking {}", elf.display()))?;
        Ok(result.map)
    }
}

/// What to optimise for and within.
#[derive(Clone, Debug)]
pub struct OptimizeOptions {
    pub plan: PlanOptions,
    /// Plan, link and measure this many times (at least once).
    pub iterations: usize,
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
    /// The measured cycles of each iteration's image.
    pub iterations: Vec<u64>,
    /// What the planner warned about, once each.
    pub warnings: Vec<String>,
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
    let options = SimOptions {
        writable_flash,
        limits: Limits {
            max_instructions: 4_000_000_000,
            max_cycles: u64::MAX,
        },
        profile_period: Some(1024),
        ..SimOptions::default()
    };
    let run = simulate(board, &board.name, &bytes, &path, &options)?;
    run.require_success(&path).with_context(|| {
        format!(
            "it did not pass on the virtual {}; its output:\n{}",
            board.name,
            String::from_utf8_lossy(&run.output)
        )
    })?;
    let profile = run.profile.expect("the run was profiled");
    Ok((
        Measured {
            elf: elf.to_path_buf(),
            cycles: run.cycles,
            instructions: run.instructions,
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

    let baseline_bytes = std::fs::read(&baseline_elf)?;
    let mut current = (
        baseline_elf.clone(),
        baseline_bytes,
        baseline_map.clone(),
        baseline_profile,
    );
    let mut best: Option<(Measured, PathBuf, Plan)> = None;
    let mut iterations = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for round in 1..=options.iterations.max(1) {
        progress(&format!("planning (iteration {round})"));
        let (elf_path, elf_bytes, map, profile) = &current;
        let inputs = PlanInputs {
            board,
            elf_path,
            elf: elf_bytes,
            map,
            // The link rebased the line's paths onto its directory, so the map's object paths
            // are relative to where this process runs, not to `line.dir`.
            link_dir: Path::new("."),
            profile,
        };
        let planned = planner::plan(&inputs, &options.plan)?;
        for warning in &planned.warnings {
            if !warnings.contains(warning) {
                warnings.push(warning.clone());
            }
        }
        let plan = if round == 1 {
            planned.plan.clone()
        } else {
            against_script(&planned, &baseline_map, board)
        };
        let plan_path = work_dir.join(format!("plan-{round}.json"));
        plan.save(&plan_path)?;
        progress(&format!("linking with the plan (iteration {round})"));
        let elf = work_dir.join(format!("optimized-{round}.elf"));
        let placed_map = line.link(&elf, Some(&plan_path))?;
        progress(&format!("measuring (iteration {round})"));
        let (measured, placed_profile) = measure(board, &elf, options.writable_flash)
            .with_context(|| format!("the image linked with {}", plan_path.display()))?;
        iterations.push(measured.cycles);
        if best
            .as_ref()
            .is_none_or(|(b, ..)| measured.cycles < b.cycles)
        {
            best = Some((measured, plan_path, plan));
        }
        let bytes = std::fs::read(&elf)?;
        current = (elf, bytes, placed_map, placed_profile);
    }
    let (optimized, best_plan_path, plan) = best.expect("one iteration ran");
    let plan_path = work_dir.join("plan.json");
    std::fs::copy(&best_plan_path, &plan_path)?;
    let optimized_elf = work_dir.join("optimized.elf");
    for extension in ["elf", "map", "map.json"] {
        std::fs::copy(
            optimized.elf.with_extension(extension),
            optimized_elf.with_extension(extension),
        )?;
    }
    let optimized = Measured {
        elf: optimized_elf,
        ..optimized
    };
    Ok(Outcome {
        board: board.name.clone(),
        strategy: options.plan.strategy.name().to_string(),
        baseline,
        optimized,
        plan_path,
        predicted_cycles: plan.prediction.planned_cycles,
        moved_sections: plan.placements.len(),
        iterations,
        warnings,
        work_dir: work_dir.to_path_buf(),
    })
}

/// A plan made on a placed image, restated against the script's own placement (what the linker
/// applies): every section whose planned region differs from where the baseline has it.
fn against_script(planned: &planner::Planned, baseline: &LinkMap, board: &Board) -> Plan {
    let region_of = |address: u64| {
        board
            .region_at(address)
            .map_or_else(String::new, |r| r.name.clone())
    };
    let mut plan = planned.plan.clone();
    plan.placements = planned
        .solution
        .placements
        .iter()
        .filter_map(|p| {
            let s = &planned.sections[p.item.index()];
            let home = baseline
                .input_sections
                .iter()
                .find(|b| b.object == s.object && b.member == s.member && b.section == s.section)?;
            let from = region_of(home.address);
            let to = planned.problem.regions[p.region.index()].name.clone();
            (from != to).then(|| Placement {
                object: s.object.clone(),
                member: s.member.clone(),
                section: s.section.clone(),
                size: s.size,
                reason: planned
                    .plan
                    .placements
                    .iter()
                    .find(|q| {
                        q.object == s.object && q.member == s.member && q.section == s.section
                    })
                    .map_or_else(|| "hot".to_string(), |q| q.reason.clone()),
                from,
                to,
                cycles_saved: p.cycles_before - p.cycles_after,
            })
        })
        .collect();
    plan
}
