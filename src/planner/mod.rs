//! `hotlink plan`: from a baseline image, its link map, its objects and a profile to a placement
//! plan, through the `hotlink-solver` model.
//!
//! Items are the code input sections of the link map. Their cost per region comes from the
//! profile (exact cycles on the virtual board, or samples × cycles per sample) and the stall
//! model of [`costs`]. Call edges are the static call and tail-call relocations between items
//! (every direct branch needs a veneer when its ends land in different regions), weighted by the
//! profile's call counts. Flash-disabled roots (`.ramfunc*` sections, `--ram-only` patterns) and
//! everything they reach through any relocation must stay out of XIP.

mod copy;
mod costs;
pub mod flexram;
pub mod include_list;
pub mod patch;
pub mod safety;
mod startup_run;
pub mod timings;
mod waits;
mod whatif;
pub mod zephyr;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hotlink_solver as solver;
use rustc_hash::FxHashMap;

use crate::board::{Board, RegionKind};
use crate::inventory::{Inventory, RefKind};
use crate::link::script::glob_match;
use crate::linkmap::{LinkMap, MapInputSection};
use crate::plan::{Placement, Plan, PlanRegion, PlannedVeneer, Prediction, SolverReport};
use crate::profile::Profile;

pub use costs::StallModel;
use timings::{Step, Timings};
pub use whatif::CacheWhatIf;

/// What the user asks of the plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    pub strategy: solver::Strategy,
    /// Budgets per board region name, overriding "what is free".
    pub budgets: Vec<(String, u64)>,
    /// Bytes of code to move out of a region (`--free ITCM=16K`): its budget becomes the code it
    /// holds now less this, so the plan gives that much back to data at the least cycle cost
    /// (Teensy-style images, where all code starts in ITCM).
    pub free: Vec<(String, u64)>,
    /// Glob patterns (on `object:section`, the section name or a symbol) of flash-disabled
    /// roots, in addition to `.ramfunc*` sections.
    pub ram_only: Vec<String>,
    /// Glob patterns of sections that stay where the script puts them.
    pub exclude: Vec<String>,
    /// (glob, board region): sections that must go to a region.
    pub pin: Vec<(String, String)>,
    /// Bytes kept free in every RAM region (for growth and linker padding).
    pub reserve: u64,
    pub time_limit_seconds: f64,
    pub relative_gap: f64,
    /// Plan from a fixed stall estimate when the image cannot run on the virtual board (else
    /// that is an error).
    pub static_estimate: bool,
    /// Choose the FlexRAM bank split with the plan (`--flexram auto`) instead of taking the
    /// board's region sizes.
    pub flexram_auto: bool,
    /// The startup copy is paid once per boot and the profiled run is not representative of
    /// it (firmware that runs for hours, profiled over a window): price moved code's copy at
    /// zero instead of at the baseline run's measured rate.
    pub ignore_boot_copy: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: solver::Strategy::Ilp,
            budgets: Vec::new(),
            free: Vec::new(),
            ram_only: Vec::new(),
            exclude: Vec::new(),
            pin: Vec::new(),
            reserve: 64,
            time_limit_seconds: 30.0,
            relative_gap: 1e-3,
            static_estimate: false,
            flexram_auto: false,
            ignore_boot_copy: false,
        }
    }
}

/// The inputs of a plan.
pub struct PlanInputs<'a> {
    pub board: &'a Board,
    pub elf_path: &'a Path,
    pub elf: &'a [u8],
    pub map: &'a LinkMap,
    /// Directory the link ran in: relative object paths in the map are relative to it.
    pub link_dir: &'a Path,
    pub profile: &'a Profile,
}

/// A plan with what produced it.
pub struct Planned {
    pub plan: Plan,
    pub solution: solver::Plan,
    pub problem: solver::Problem,
    /// The link-map section behind each solver item, in item order.
    pub sections: Vec<MapInputSection>,
    /// Things the user should know (fallback cost models, ignored profile parts).
    pub warnings: Vec<String>,
    /// Sections the startup-safe rules keep where the script puts them, with why.
    pub kept: Vec<(String, String)>,
    /// (board region, output section): the copied output section that receives code in each
    /// RAM region, for `--emit-ld DIR`.
    pub receivers: Vec<(String, String)>,
    /// What the cache what-if run found (none with a static estimate); the prediction includes
    /// its saving.
    pub cache: Option<CacheWhatIf>,
    /// Time spent in each of the planner's steps.
    pub timings: Timings,
    /// How the startup copy into each RAM target region was priced.
    pub copy_prices: Vec<CopyPrice>,
}

/// One problem region and the board region behind it.
struct TargetRegion {
    board_index: usize,
    kind: solver::RegionKind,
}

fn solver_kind(kind: RegionKind) -> Option<solver::RegionKind> {
    match kind {
        RegionKind::Itcm => Some(solver::RegionKind::Itcm),
        RegionKind::Ocram => Some(solver::RegionKind::Ocram),
        RegionKind::Xip => Some(solver::RegionKind::Xip),
        RegionKind::Dtcm | RegionKind::Semc => None,
    }
}

fn matches_any(patterns: &[String], section: &MapInputSection) -> bool {
    let label = section.label();
    patterns.iter().any(|p| {
        glob_match(p, &label)
            || glob_match(p, &section.section)
            || section.symbols.iter().any(|s| glob_match(p, &s.name))
    })
}

/// Cycles per byte the startup code is assumed to spend copying code from flash to RAM when the
/// baseline run did not time the copy: per 32-byte line, a sequential XIP read (served by the
/// FlexSPI prefetch when it is on) and eight turns of a three-cycle word loop (a load, a store, a
/// pointer bump, a compare and a branch, paired). That is the cost with the caches on; startups
/// that copy before enabling them (Teensy's, imxrt-rt's) measure ~40 times more, hence the
/// measured rate ([`copy_prices`]).
fn fixed_copy_cycles_per_byte(board: &Board) -> f64 {
    fixed_copy_cycles_per_line(board) as f64 / 32.0
}

/// The fixed figure per 32-byte line; a section is charged whole lines (as the fixtures'
/// predictions were tuned: docs/PERFORMANCE.md).
fn fixed_copy_cycles_per_line(board: &Board) -> u64 {
    const CYCLES_PER_WORD: u64 = 3;
    let t = &board.timing;
    let line = if t.xip_prefetch {
        t.xip_prefetch_hit_cycles
    } else {
        t.xip_miss_cycles
    };
    u64::from(line) + 8 * CYCLES_PER_WORD
}

/// How the startup copy of one RAM region's receiving section was priced.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyPrice {
    pub region: String,
    /// The copied output section that receives code there.
    pub section: String,
    pub cycles_per_byte: f64,
    pub source: PriceSource,
}

/// Where a copy price comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PriceSource {
    /// The baseline run timed this section's copy.
    Measured,
    /// The run timed no copy into this section (empty, or not loaded) but did time the copy of
    /// this other one: the same startup code, with the caches in the same state.
    Borrowed(String),
    /// The run timed no copy at all: [`fixed_copy_cycles_per_byte`].
    Fixed,
}

/// Per target region, the boot-time cycles per byte of code placed there: nothing for flash
/// (run in place), the baseline run's measured copy rate for a RAM region whose receiving
/// section it saw copied, else the slowest rate it measured for another section, else the fixed
/// figure. Charging it to every RAM placement, the current one included, prices both
/// directions: code leaving a copied section saves its copy, code entering one pays it.
fn copy_prices(
    board: &Board,
    targets: &[TargetRegion],
    copies: &copy::Receiving,
    measured: &[(String, f64)],
) -> Vec<Option<CopyPrice>> {
    let slowest = measured.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    targets
        .iter()
        .map(|t| {
            if t.kind == solver::RegionKind::Xip {
                return None;
            }
            let region = &board.regions[t.board_index];
            let section = copies
                .in_region(region)
                .find(|s| s.copied())
                .map_or_else(String::new, |s| s.name.clone());
            let own = measured.iter().find(|(name, _)| *name == section);
            let (cycles_per_byte, source) = match (own, slowest) {
                (Some((_, rate)), _) => (*rate, PriceSource::Measured),
                (None, Some((other, rate))) => (*rate, PriceSource::Borrowed(other.clone())),
                (None, None) => (fixed_copy_cycles_per_byte(board), PriceSource::Fixed),
            };
            Some(CopyPrice {
                region: region.name.clone(),
                section,
                cycles_per_byte,
                source,
            })
        })
        .collect()
}

impl CopyPrice {
    /// Boot cycles to copy `bytes` of code: the measured rate, or the fixed figure per whole line.
    fn cycles(&self, board: &Board, bytes: u64) -> f64 {
        match self.source {
            PriceSource::Fixed => (bytes.div_ceil(32) * fixed_copy_cycles_per_line(board)) as f64,
            _ => self.cycles_per_byte * bytes as f64,
        }
    }

    /// How it was priced, for `plan`'s output.
    fn describe(&self) -> String {
        match &self.source {
            PriceSource::Measured => "measured on the baseline run".into(),
            PriceSource::Borrowed(other) => {
                format!("not timed: the rate measured for {other}'s copy")
            }
            PriceSource::Fixed => "fixed figure (the run timed no copy)".into(),
        }
    }
}

/// The kinds of code memory the stall model must price by a what-if run: every target region's
/// kind that some section does not already run from.
fn what_if_kinds(targets: &[TargetRegion], items: &Items<'_>) -> Vec<RegionKind> {
    let mut kinds: Vec<RegionKind> = Vec::new();
    for t in targets {
        let kind = match t.kind {
            solver::RegionKind::Itcm | solver::RegionKind::Dtcm => RegionKind::Itcm,
            solver::RegionKind::Ocram => RegionKind::Ocram,
            solver::RegionKind::Xip => RegionKind::Xip,
        };
        let elsewhere = items.home.iter().any(|&h| targets[h].kind != t.kind);
        if elsewhere && !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// Builds the problem, solves it and turns the answer into a [`Plan`]: inputs → model → safety
/// set → solve → plan.
pub fn plan(inputs: &PlanInputs<'_>, options: &PlanOptions) -> Result<Planned> {
    let mut timings = Timings::default();
    let mut warnings = Vec::new();
    let (map, objects) = timings.time(Step::Read, || -> Result<_> {
        let map = inputs.map.with_image_symbols(inputs.elf);
        let objects = ObjectFacts::load(inputs, &map)?;
        Ok((map, objects))
    })?;
    let map = &map;
    let (copies, targets, items) = timings.time(Step::Model, || -> Result<_> {
        let copies = copy::receiving_sections(inputs.board, map, inputs.elf, &objects.inventory);
        let targets = target_regions(inputs.board, map, &copies, &mut warnings)?;
        let items = Items::collect(inputs, map, &targets, &objects, &mut warnings)?;
        Ok((copies, targets, items))
    })?;
    let (stalls, estimate) = timings.time(Step::StallRuns, || {
        StallModel::measure(
            inputs.board,
            inputs.elf,
            &inputs.elf_path.display().to_string(),
            &what_if_kinds(&targets, &items),
            options.static_estimate,
        )
    })?;
    warnings.extend(estimate.clone());
    let wait = match (&estimate, what_if_kinds(&targets, &items).first()) {
        (None, Some(&first)) => {
            let kinds = what_if_kinds(&targets, &items);
            let elsewhere = if kinds.contains(&RegionKind::Xip) {
                RegionKind::Xip
            } else {
                first
            };
            timings.time(Step::StallRuns, || {
                waits::find(
                    inputs.board,
                    inputs.elf,
                    &inputs.elf_path.display().to_string(),
                    elsewhere,
                )
            })?
        }
        _ => None,
    };
    let (pinned, copy_rates) = timings.time(Step::StartupRun, || {
        startup_run::startup_pins(inputs, &items, &copies, &mut warnings)
    });
    let copy_prices = if options.ignore_boot_copy {
        vec![None; targets.len()]
    } else {
        copy_prices(inputs.board, &targets, &copies, &copy_rates)
    };
    for p in copy_prices.iter().flatten() {
        if p.source == PriceSource::Fixed {
            warnings.push(format!(
                "the baseline run timed no startup copy: code moved into {} is priced at a fixed {:.1} cycles/byte (a word loop with the caches on)",
                p.region, p.cycles_per_byte
            ));
        }
    }
    let mut problem = timings.time(Step::Model, || -> Result<_> {
        let mut problem = model(
            inputs,
            options,
            map,
            &targets,
            &items,
            &stalls,
            &copy_prices,
            &pinned,
            &mut warnings,
        )?;
        solver::propagate_ram_only(&mut problem, &items.solver_references())?;
        Ok(problem)
    })?;
    let flexram = if options.flexram_auto {
        let (split, record) = timings.time(Step::Solve, || {
            flexram::choose(inputs.board, inputs.elf, |split| {
                let mut under = problem.clone();
                under.regions =
                    region_budgets(inputs, options, map, &targets, &items, Some(split))?;
                Ok(solve(&under, options)?.cycles_after.total)
            })
        })?;
        problem.regions = region_budgets(inputs, options, map, &targets, &items, Some(&split))?;
        Some(record)
    } else {
        None
    };
    let solution = timings.time(Step::Solve, || solve(&problem, options))?;
    let mut plan = timings.time(Step::Model, || {
        to_plan(inputs, &targets, &items.sections, &problem, &solution)
    });
    plan.flexram = flexram;
    // The cache what-if needs a run on the virtual board; a static estimate has none.
    let cache = match estimate {
        Some(_) => None,
        None => Some(timings.time(Step::CacheRun, || {
            cache_effect(inputs, &targets, &items, &copies, &solution)
        })?),
    };
    if let Some(c) = &cache {
        plan.prediction.planned_cycles -= c.saving;
    }
    plan.prediction.planned_cycles += veneer_copy(&problem, &solution, &copy_prices);
    if let Some(w) = &wait {
        let absorbed = absorbed_by_wait(inputs.board, w, &items, &problem, &solution, &copy_prices);
        plan.prediction.planned_cycles += absorbed;
        warnings.push(format!(
            "a time-bounded wait: from the timer's start (instruction {}) to its deadline (instruction {}) the run spins until a fixed time ({:.1}% of the baseline's cycles in that window); the plan's saving there ({:.0} cycles, negative for a loss) does not change the run's length and is left out of the prediction",
            w.timer_started,
            w.deadline,
            100.0 * w.window_cycles as f64 / w.run_cycles.max(1) as f64,
            absorbed,
        ));
    }
    plan.estimate = estimate;
    Ok(Planned {
        plan,
        solution,
        problem,
        kept: pinned
            .iter()
            .map(|(&i, why)| (items.sections[i].label(), why.clone()))
            .collect(),
        sections: items.sections.into_iter().cloned().collect(),
        receivers: targets
            .iter()
            .filter_map(|t| {
                let region = &inputs.board.regions[t.board_index];
                let section = copies.in_region(region).find(|s| s.copied())?;
                Some((region.name.clone(), section.name.clone()))
            })
            .collect(),
        warnings,
        cache,
        timings,
        copy_prices: copy_prices.into_iter().flatten().collect(),
    })
}

/// Boot cycles of the veneers the plan adds to (or removes from) copied RAM regions: the link
/// puts a veneer with its callers, so one in ITCM is copied at startup like the code. The
/// solver charges veneer bytes to the region's budget but not to the copy (a solver term to
/// add); on `teensy` the five ITCM veneers of the `--free ITCM=1K` plan cost ~5,000 cycles of
/// copy, 3.6% of the gain.
fn veneer_copy(
    problem: &solver::Problem,
    solution: &solver::Plan,
    copy_prices: &[Option<CopyPrice>],
) -> f64 {
    // The baseline's veneers: one per (callee, caller's region) of a call across regions.
    let current = |i: solver::ItemId| problem.items[i.index()].current;
    let slots: BTreeSet<(u32, u16)> = problem
        .edges
        .iter()
        .filter(|e| !problem.veneer.reach[current(e.caller).index()][current(e.callee).index()])
        .map(|e| (e.callee.0, current(e.caller).0))
        .collect();
    let mut before = vec![0u64; problem.regions.len()];
    for &(_, region) in &slots {
        before[usize::from(region)] += problem.veneer.bytes;
    }
    solution
        .regions
        .iter()
        .map(|u| {
            let r = u.region.index();
            let added = u.veneer_bytes as f64 - before[r] as f64;
            copy_prices[r]
                .as_ref()
                .map_or(0.0, |p| p.cycles_per_byte * added)
        })
        .sum()
}

/// What of the plan's run-time saving falls inside a time-bounded wait's window ([`waits`]),
/// which the wait absorbs: per moved section, its run-cost change (its copy excluded: the copy
/// runs before the timer starts) times the share of its baseline cycles inside the window.
fn absorbed_by_wait(
    board: &Board,
    wait: &waits::TimedWait,
    items: &Items<'_>,
    problem: &solver::Problem,
    solution: &solver::Plan,
    copy_prices: &[Option<CopyPrice>],
) -> f64 {
    let share = wait.absorbed(items.sections.len(), |pc| items.at(u64::from(pc)));
    let mut absorbed = 0.0;
    for p in solution.placements.iter().filter(|p| p.region != p.from) {
        let i = p.item.index();
        let item = &problem.items[i];
        let run = |r: solver::RegionId| {
            let copy = copy_prices[r.index()]
                .as_ref()
                .map_or(0.0, |c| c.cycles(board, item.size));
            item.cost[r.index()].unwrap_or(0.0) - copy
        };
        absorbed += share[i] * (run(p.from) - run(p.region));
    }
    absorbed
}

/// Runs the image once more to see what the plan's moves save the code that stays in flash
/// ([`whatif`]); the prediction includes it. Code moved into cached RAM (OCRAM) still shares the
/// cache: the link appends it, in plan order, to the region's receiving output section, so the
/// what-if sees it there.
fn cache_effect(
    inputs: &PlanInputs<'_>,
    targets: &[TargetRegion],
    items: &Items<'_>,
    copies: &copy::Receiving,
    solution: &solver::Plan,
) -> Result<CacheWhatIf> {
    // Where the next section appended to each target region's receiving section lands.
    let mut next: Vec<Option<u64>> = targets
        .iter()
        .map(|t| {
            let region = &inputs.board.regions[t.board_index];
            let section = copies.in_region(region).find(|s| s.copied())?;
            Some(section.address + section.size)
        })
        .collect();
    let moved: Vec<whatif::Moved> = solution
        .placements
        .iter()
        .filter(|p| p.region != p.from)
        .map(|p| {
            let i = p.item.index();
            let s = items.sections[i];
            let region = &inputs.board.regions[targets[p.region.index()].board_index];
            let to = next[p.region.index()].as_mut().map(|at| {
                let start = at.next_multiple_of(items.align[i].max(1));
                *at = start + s.size;
                start as u32
            });
            whatif::Moved {
                start: s.address as u32,
                end: (s.address + s.size) as u32,
                uncached: matches!(region.kind, RegionKind::Itcm | RegionKind::Dtcm),
                to,
            }
        })
        .collect();
    // Veneers the plan adds in cached flash are new code lines: each called one misses there at
    // least once (on `vm` at 2 KB of ITCM, three such misses were 8% of the gain).
    let veneer_lines = solution
        .veneers
        .iter()
        .filter(|v| v.calls > 0)
        .filter(|v| {
            let region = &inputs.board.regions[targets[v.region.index()].board_index];
            region.kind == RegionKind::Xip && region.cacheable
        })
        .map(|v| {
            v.bytes
                .div_ceil(u64::from(inputs.board.cache.instruction.line))
        })
        .sum();
    whatif::cache_what_if(
        inputs.board,
        inputs.elf,
        &inputs.elf_path.display().to_string(),
        &moved,
        veneer_lines,
    )
}

/// The objects named in the map, read once: sections, symbols and relocations.
struct ObjectFacts {
    inventory: Inventory,
    resolve: Box<dyn Fn(&str) -> PathBuf>,
}

impl ObjectFacts {
    fn load(inputs: &PlanInputs<'_>, map: &LinkMap) -> Result<ObjectFacts> {
        let link_dir = inputs.link_dir.to_path_buf();
        let resolve = move |object: &str| -> PathBuf {
            let p = Path::new(object);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                link_dir.join(p)
            }
        };
        let files: BTreeSet<PathBuf> = map
            .input_sections
            .iter()
            .filter(|s| s.kind == "code" && s.size > 0)
            .map(|s| resolve(&s.object))
            .filter(|f| f.exists())
            .collect();
        let files: Vec<PathBuf> = files.into_iter().collect();
        let inventory =
            Inventory::load(&files).context("reading the objects named in the link map")?;
        Ok(ObjectFacts {
            inventory,
            resolve: Box::new(resolve),
        })
    }
}

/// Regions: where code runs now, and the RAM regions the script has an output section in that
/// the startup code copies (so the linker can place code there).
fn target_regions(
    board: &Board,
    map: &LinkMap,
    copies: &copy::Receiving,
    warnings: &mut Vec<String>,
) -> Result<Vec<TargetRegion>> {
    let mut targets: Vec<TargetRegion> = Vec::new();
    for (board_index, region) in board.regions.iter().enumerate() {
        let Some(kind) = solver_kind(region.kind) else {
            continue;
        };
        let hosts_code = map
            .input_sections
            .iter()
            .any(|s| s.kind == "code" && s.size > 0 && region.contains(s.address));
        let receiving: Vec<&copy::Section> = copies.in_region(region).collect();
        let copied = receiving.iter().any(|s| s.copied());
        if kind != solver::RegionKind::Xip && !hosts_code && !receiving.is_empty() && !copied {
            warnings.push(format!(
                "{}: {} no code copies it (no object reads {}); the plan puts nothing there. The SDK's startup copies .ram_function only when built with __STARTUP_INITIALIZE_RAMFUNCTION defined",
                region.name,
                receiving
                    .iter()
                    .map(|s| format!("output section {} is in this region but", s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                receiving
                    .iter()
                    .flat_map(|s| s.symbols.iter().map(|(name, _)| name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if hosts_code || (kind != solver::RegionKind::Xip && copied) {
            targets.push(TargetRegion { board_index, kind });
        }
    }
    if !targets.iter().any(|t| t.kind != solver::RegionKind::Xip) {
        bail!(
            "the linker script has no output section in ITCM or OCRAM that the startup code copies, to receive code \
             (add one, like the SDK's .ram_function / .itcm, with a startup copy)"
        );
    }
    Ok(targets)
}

/// The solver's items: code input sections in the target regions, with what their objects say.
struct Items<'m> {
    sections: Vec<&'m MapInputSection>,
    align: Vec<u64>,
    /// A GNU map carries no flags, so data kept in a code output section (a vector table in
    /// `.text`) looks like code there; the object says what it is.
    not_code: Vec<bool>,
    /// Every relocation from an item, resolved as far as the inputs allow.
    references: Vec<safety::ItemRef>,
    /// Items sorted by address: (start, end, item).
    by_address: Vec<(u64, u64, usize)>,
    home: Vec<usize>,
}

impl<'m> Items<'m> {
    fn collect(
        inputs: &PlanInputs<'_>,
        map: &'m LinkMap,
        targets: &[TargetRegion],
        objects: &ObjectFacts,
        warnings: &mut Vec<String>,
    ) -> Result<Items<'m>> {
        let board = inputs.board;
        let target_of = |address: u64| {
            targets
                .iter()
                .position(|t| board.regions[t.board_index].contains(address))
        };
        let sections: Vec<&MapInputSection> = map
            .input_sections
            .iter()
            .filter(|s| s.kind == "code" && s.size > 0 && target_of(s.address).is_some())
            .collect();
        if sections.is_empty() {
            bail!("the link map lists no code input sections in the board's regions: is it the map of this image, linked for {}?", board.name);
        }
        let inventory = &objects.inventory;
        // One `realpath` per file, not per section: an archive's members share it, and on the
        // SDK-style fixture per-section calls were over a quarter of the plan's CPU time.
        let mut canonical: FxHashMap<PathBuf, PathBuf> = FxHashMap::default();
        let mut key = |file: &Path, member: Option<&str>, name: &str| {
            let file = canonical
                .entry(file.to_path_buf())
                .or_insert_with(|| {
                    std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf())
                })
                .clone();
            (file, member.map(str::to_string), name.to_string())
        };
        let mut item_of_key: FxHashMap<(PathBuf, Option<String>, String), usize> =
            FxHashMap::default();
        for (i, s) in sections.iter().enumerate() {
            item_of_key.insert(
                key(
                    &(objects.resolve)(&s.object),
                    s.member.as_deref(),
                    &s.section,
                ),
                i,
            );
        }
        let mut item_of_inventory: Vec<Option<usize>> = vec![None; inventory.sections.len()];
        let mut align = vec![4u64; sections.len()];
        let mut not_code = vec![false; sections.len()];
        for (id, s) in inventory.sections.iter().enumerate() {
            let k = key(
                Path::new(&s.origin.file),
                s.origin.member.as_deref(),
                &s.name,
            );
            if let Some(&i) = item_of_key.get(&k) {
                item_of_inventory[id] = Some(i);
                align[i] = s.align.max(1);
                not_code[i] = !s.flags.contains('x');
            }
        }
        let matched = item_of_inventory.iter().filter(|x| x.is_some()).count();
        if matched < sections.len() {
            warnings.push(format!(
                "{} of {} code sections were not found in their objects (moved or rebuilt since the link?); they get no static call edges",
                sections.len() - matched,
                sections.len()
            ));
        }
        let index = inventory.symbol_index();
        let references = inventory
            .references
            .iter()
            .filter_map(|r| {
                let from = item_of_inventory[r.from]?;
                let to = inventory
                    .resolve_target(&r.target, &index)
                    .and_then(|t| item_of_inventory[t]);
                let symbol = match &r.target {
                    crate::inventory::RefTarget::Symbol(name) => Some(name.clone()),
                    crate::inventory::RefTarget::Section(_) => None,
                };
                Some(safety::ItemRef {
                    from,
                    to,
                    symbol,
                    offset: r.offset,
                    kind: r.kind,
                })
            })
            .collect();
        let mut by_address: Vec<(u64, u64, usize)> = sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.address, s.address + s.size, i))
            .collect();
        by_address.sort();
        let home = sections
            .iter()
            .map(|s| target_of(s.address).expect("items are in target regions"))
            .collect();
        Ok(Items {
            sections,
            align,
            not_code,
            references,
            by_address,
            home,
        })
    }

    /// The item holding `pc`.
    fn at(&self, pc: u64) -> Option<usize> {
        let k = self
            .by_address
            .partition_point(|(start, _, _)| *start <= pc);
        let (start, end, i) = *self.by_address.get(k.checked_sub(1)?)?;
        (pc >= start && pc < end).then_some(i)
    }

    /// Resolved references between two different items, for the ram-only closure.
    fn solver_references(&self) -> Vec<(solver::ItemId, solver::ItemId)> {
        self.references
            .iter()
            .filter_map(|r| Some((r.from, r.to?)))
            .filter(|(from, to)| from != to)
            .map(|(from, to)| (solver::ItemId(from as u32), solver::ItemId(to as u32)))
            .collect()
    }
}

/// Cycles each item cost in the profiled run.
fn current_cycles(profile: &Profile, items: &Items<'_>, warnings: &mut Vec<String>) -> Vec<f64> {
    let mut cycles = vec![0f64; items.sections.len()];
    if !profile.functions.is_empty() {
        for f in &profile.functions {
            if let Some(i) = items.at(u64::from(f.address)) {
                cycles[i] += f.cycles as f64;
            }
        }
        return cycles;
    }
    let per_sample = match (profile.totals.cycles, profile.capture.sample_period_cycles) {
        (Some(c), _) if profile.totals.samples > 0 => c as f64 / profile.totals.samples as f64,
        (_, Some(p)) => p as f64,
        _ => {
            warnings.push("the profile gives no cycles per sample; costs are in samples".into());
            1.0
        }
    };
    for h in &profile.pc_histogram {
        if let Some(i) = items.at(u64::from(h.pc)) {
            cycles[i] += h.count as f64 * per_sample;
        }
    }
    cycles
}

/// The budget that frees `wanted` bytes of `region`: the code items occupy there now (charged as
/// the solver charges them, aligned up) less `wanted`.
fn budget_to_free(region: &str, wanted: u64, items: &Items<'_>, home: usize) -> Result<u64> {
    let occupied: u64 = (0..items.sections.len())
        .filter(|&i| items.home[i] == home)
        .map(|i| items.sections[i].size.div_ceil(items.align[i]) * items.align[i])
        .sum();
    occupied.checked_sub(wanted).with_context(|| {
        format!(
            "--free {region}={wanted}: the plan can move at most the {occupied} bytes of code that sit in {region} now; ask for less"
        )
    })
}

/// What may hold planned code in each target region: free space less the reserve, or the
/// user's budget, or what `--free` leaves.
fn region_budgets(
    inputs: &PlanInputs<'_>,
    options: &PlanOptions,
    map: &LinkMap,
    targets: &[TargetRegion],
    items: &Items<'_>,
    split: Option<&solver::flexram::FlexramSplit>,
) -> Result<Vec<solver::Region>> {
    let board = inputs.board;
    let is_item_region = |address: u64| {
        targets
            .iter()
            .any(|t| board.regions[t.board_index].contains(address))
    };
    let regions: Vec<solver::Region> = targets
        .iter()
        .enumerate()
        .map(|(home, t)| {
            let region = &board.regions[t.board_index];
            let fixed: u64 = map
                .input_sections
                .iter()
                .filter(|s| s.kind != "debug" && s.size > 0)
                .filter(|s| {
                    let is_item = s.kind == "code" && is_item_region(s.address);
                    (!is_item && region.contains(s.address))
                        || (s.load_address != s.address && region.contains(s.load_address))
                })
                .map(|s| s.size)
                .sum();
            let reserve = if t.kind == solver::RegionKind::Xip {
                0
            } else {
                options.reserve
            };
            let size = split.map_or(region.size.0, |s| flexram::region_size(board, region, s));
            let free = size.saturating_sub(fixed + reserve);
            let mut budget = options
                .budgets
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&region.name))
                .map_or(free, |(_, b)| (*b).min(free));
            if let Some((_, wanted)) = options
                .free
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&region.name))
            {
                budget = budget.min(budget_to_free(&region.name, *wanted, items, home)?);
            }
            Ok(solver::Region {
                name: region.name.clone(),
                kind: t.kind,
                budget,
            })
        })
        .collect::<Result<_>>()?;
    for (name, _) in options.budgets.iter().chain(&options.free) {
        if !regions.iter().any(|r| r.name.eq_ignore_ascii_case(name)) {
            bail!(
                "--budget/--free {name}: not a region code can be placed in on {} (candidates: {})",
                board.name,
                regions
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(regions)
}

/// The solver's problem: regions, items with costs and constraints, call edges.
#[allow(clippy::too_many_arguments)]
fn model(
    inputs: &PlanInputs<'_>,
    options: &PlanOptions,
    map: &LinkMap,
    targets: &[TargetRegion],
    items: &Items<'_>,
    stalls: &StallModel,
    copy_prices: &[Option<CopyPrice>],
    pinned: &std::collections::BTreeMap<usize, String>,
    warnings: &mut Vec<String>,
) -> Result<solver::Problem> {
    let board = inputs.board;
    let problem_regions = region_budgets(inputs, options, map, targets, items, None)?;
    let current = current_cycles(inputs.profile, items, warnings);
    let mut solver_items = Vec::with_capacity(items.sections.len());
    for (i, s) in items.sections.iter().enumerate() {
        let home = items.home[i];
        let symbol_addresses: Vec<u32> = s
            .symbols
            .iter()
            .map(|sym| sym.code_address() as u32)
            .collect();
        let c = current[i];
        // Cycles as from TCM, OCRAM and XIP (the what-if runs), never below what TCM takes nor
        // above what flash takes.
        let ratio = |kind| stalls.ratio(kind, &symbol_addresses);
        let (tcm, ocram, xip) = match targets[home].kind {
            solver::RegionKind::Xip => {
                let tcm = c * ratio(RegionKind::Itcm).min(1.0);
                (tcm, (c * ratio(RegionKind::Ocram)).clamp(tcm, c), c)
            }
            solver::RegionKind::Ocram => {
                let (tcm, xip) = (c * ratio(RegionKind::Itcm), c * ratio(RegionKind::Xip));
                (tcm.min(c), c, xip.max(c))
            }
            solver::RegionKind::Itcm | solver::RegionKind::Dtcm => {
                let xip = c * ratio(RegionKind::Xip).max(1.0);
                (c, (c * ratio(RegionKind::Ocram)).clamp(c, xip), xip)
            }
        };
        // Code in RAM is copied there once by the startup code.
        let cost = targets
            .iter()
            .zip(copy_prices)
            .map(|(t, price)| {
                let copy = price.as_ref().map_or(0.0, |p| p.cycles(board, s.size));
                Some(
                    copy + match t.kind {
                        solver::RegionKind::Itcm | solver::RegionKind::Dtcm => tcm,
                        solver::RegionKind::Ocram => ocram,
                        solver::RegionKind::Xip => xip,
                    },
                )
            })
            .collect();
        let is_root = s.section.starts_with(".ramfunc") || matches_any(&options.ram_only, s);
        let excluded = pinned.contains_key(&i) || matches_any(&options.exclude, s);
        let pin = options
            .pin
            .iter()
            .find(|(p, _)| matches_any(std::slice::from_ref(p), s))
            .map(|(_, region)| {
                problem_regions
                    .iter()
                    .position(|r| r.name.eq_ignore_ascii_case(region))
                    .map(|r| solver::RegionId(r as u16))
                    .with_context(|| format!("--pin {region}: not a code region of {}", board.name))
            })
            .transpose()?;
        // Code that must stay put (or that the user excluded) cannot be pinned elsewhere: say
        // so instead of failing.
        let pin = match pin {
            Some(_) if excluded => {
                warnings.push(format!(
                    "{} stays put ({}); its --pin is ignored",
                    s.label(),
                    pinned.get(&i).map_or("--exclude", String::as_str)
                ));
                None
            }
            other => other,
        };
        solver_items.push(solver::Item {
            name: s.label(),
            size: s.size,
            align: items.align[i],
            kind: solver::ItemKind::Code,
            current: solver::RegionId(home as u16),
            cost,
            pinned: pin,
            ram_only: is_root.then(|| solver::RamOnly::Root {
                reason: if s.section.starts_with(".ramfunc") {
                    "a .ramfunc section (flash-disabled root)".into()
                } else {
                    "matches --ram-only".into()
                },
            }),
            excluded,
        });
    }
    let veneer = board.veneers.first().map_or(6.0, |v| f64::from(v.cycles));
    Ok(solver::Problem {
        veneer: solver::VeneerModel::same_region_only(problem_regions.len(), veneer),
        regions: problem_regions,
        items: solver_items,
        edges: call_edges(inputs.profile, items),
        padding: solver::Padding::AlignUp,
    })
}

/// Static direct calls between items, weighted by the profile's counts.
fn call_edges(profile: &Profile, items: &Items<'_>) -> Vec<solver::Edge> {
    let mut dynamic: FxHashMap<(usize, usize), u64> = FxHashMap::default();
    for e in &profile.call_edges {
        if let (Some(a), Some(b)) = (items.at(u64::from(e.site)), items.at(u64::from(e.callee))) {
            *dynamic.entry((a, b)).or_default() += e.count;
        }
    }
    let calls: BTreeSet<(usize, usize)> = items
        .references
        .iter()
        .filter(|r| r.kind != RefKind::Data)
        .filter_map(|r| Some((r.from, r.to?)))
        .filter(|(from, to)| from != to)
        .collect();
    calls
        .into_iter()
        .map(|(a, b)| solver::Edge {
            caller: solver::ItemId(a as u32),
            callee: solver::ItemId(b as u32),
            count: dynamic.get(&(a, b)).copied().unwrap_or(0),
        })
        .collect()
}

fn solve(problem: &solver::Problem, options: &PlanOptions) -> Result<solver::Plan> {
    let solve_options = solver::SolveOptions {
        strategy: options.strategy,
        time_limit_seconds: options.time_limit_seconds,
        relative_gap: options.relative_gap,
        ..solver::SolveOptions::default()
    };
    solver::solve(problem, &solve_options).map_err(|e| anyhow::anyhow!("{e}"))
}

fn to_plan(
    inputs: &PlanInputs<'_>,
    targets: &[TargetRegion],
    sections: &[&MapInputSection],
    problem: &solver::Problem,
    solution: &solver::Plan,
) -> Plan {
    let board = inputs.board;
    let region_name = |r: solver::RegionId| problem.regions[r.index()].name.clone();
    let forced_reason = |item: solver::ItemId| {
        solution
            .forced
            .iter()
            .find(|f| f.item == item)
            .map(|f| match f.reason {
                solver::ForcedReason::RamOnly { .. } => "ram-only",
                solver::ForcedReason::Pinned => "pinned",
                _ => "forced",
            })
    };
    let placements = solution
        .placements
        .iter()
        .filter(|p| p.region != p.from)
        .map(|p| {
            let s = sections[p.item.index()];
            Placement {
                object: s.object.clone(),
                member: s.member.clone(),
                section: s.section.clone(),
                size: s.size,
                from: region_name(p.from),
                to: region_name(p.region),
                reason: forced_reason(p.item).unwrap_or("hot").to_string(),
                cycles_saved: p.cycles_before - p.cycles_after,
            }
        })
        .collect();
    let regions = solution
        .regions
        .iter()
        .map(|u| {
            let region = &board.regions[targets[u.region.index()].board_index];
            PlanRegion {
                name: region.name.clone(),
                kind: region.kind,
                base: region.base.0,
                size: region.size.0,
                budget: u.budget,
                used: u.item_bytes,
                veneer_bytes: u.veneer_bytes,
            }
        })
        .collect();
    let veneers = solution
        .veneers
        .iter()
        .map(|v| PlannedVeneer {
            callee: v.callee_name.clone(),
            region: region_name(v.region),
            bytes: v.bytes,
            calls: v.calls,
        })
        .collect();
    let forced = solution
        .forced
        .iter()
        .filter_map(|f| match &f.reason {
            solver::ForcedReason::RamOnly { chain } if chain.len() > 1 => Some(format!(
                "{} must not run from flash: {}",
                f.name,
                chain
                    .iter()
                    .map(|i| problem.items[i.index()].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            )),
            solver::ForcedReason::RamOnly { .. } => {
                Some(format!("{} is a flash-disabled root", f.name))
            }
            solver::ForcedReason::Pinned => {
                Some(format!("{} is pinned to {}", f.name, region_name(f.region)))
            }
            _ => None,
        })
        .collect();
    let total = inputs
        .profile
        .totals
        .cycles
        .map_or(solution.cycles_before.total, |c| c as f64);
    Plan {
        format: crate::plan::FORMAT.into(),
        version: crate::plan::VERSION,
        board: board.name.clone(),
        strategy: solution.strategy.name().into(),
        regions,
        placements,
        veneers,
        prediction: Prediction {
            baseline_cycles: total,
            planned_cycles: total - solution.predicted_gain,
        },
        solver: Some(SolverReport {
            status: solution
                .ilp
                .as_ref()
                .map_or_else(|| "heuristic".to_string(), |s| s.status.clone()),
            gap: solution.gap,
            time_ms: (solution.solve_seconds * 1000.0) as u64,
            items: solution
                .ilp
                .as_ref()
                .map_or(problem.items.len(), |s| s.free_items),
            edges: problem.edges.len(),
        }),
        forced,
        estimate: None,
        flexram: None,
    }
}

/// A readable summary: what moved, bytes per region, predicted gain, forced decisions.
pub fn summary(planned: &Planned) -> String {
    use std::fmt::Write;
    let plan = &planned.plan;
    let mut out = String::new();
    let p = &plan.prediction;
    let _ = writeln!(
        out,
        "{} plan for {}: {:.0} -> {:.0} cycles predicted ({:.3}x){}",
        plan.strategy,
        plan.board,
        p.baseline_cycles,
        p.planned_cycles,
        p.speedup(),
        plan.solver
            .as_ref()
            .and_then(|s| s.gap)
            .map(|g| format!(", gap {:.3}%", 100.0 * g))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\n  {:<10} {:>10} {:>10} {:>8} {:>8}",
        "region", "budget", "used", "veneers", "use%"
    );
    for r in &plan.regions {
        let _ = writeln!(
            out,
            "  {:<10} {:>10} {:>10} {:>8} {:>7.1}%",
            r.name,
            r.budget,
            r.used,
            r.veneer_bytes,
            100.0 * (r.used + r.veneer_bytes) as f64 / r.budget.max(1) as f64
        );
    }
    for c in &planned.copy_prices {
        let _ = writeln!(
            out,
            "  startup copy into {} ({}): {:.1} cycles/byte, {}",
            c.region,
            if c.section.is_empty() {
                "-"
            } else {
                c.section.as_str()
            },
            c.cycles_per_byte,
            c.describe()
        );
    }
    let mut moved: Vec<&crate::plan::Placement> = plan.placements.iter().collect();
    moved.sort_by(|a, b| b.cycles_saved.total_cmp(&a.cycles_saved));
    let _ = writeln!(out, "\n  {} sections move:", moved.len());
    for m in moved.iter().take(25) {
        let name = crate::linkmap::section_label(&m.object, m.member.as_deref(), &m.section);
        let _ = writeln!(
            out,
            "  {:<52} {:>6} B  {:>6} -> {:<7} {:>12.0} cycles saved  {}",
            name, m.size, m.from, m.to, m.cycles_saved, m.reason
        );
    }
    if moved.len() > 25 {
        let _ = writeln!(out, "  … and {} more", moved.len() - 25);
    }
    if !planned.kept.is_empty() {
        let _ = writeln!(
            out,
            "\n  {} sections stay put for startup safety:",
            planned.kept.len()
        );
        for (name, why) in planned.kept.iter().take(20) {
            let _ = writeln!(out, "  - {name}: {why}");
        }
        if planned.kept.len() > 20 {
            let _ = writeln!(out, "  … and {} more", planned.kept.len() - 20);
        }
    }
    if let Some(c) = planned.cache.as_ref().filter(|c| c.saving != 0.0) {
        let (sign, what) = if c.saving > 0.0 {
            ("", "less")
        } else {
            ("-", "more")
        };
        let _ = writeln!(
            out,
            "\n  of the predicted gain, {sign}{:.0} cycles are the code staying in flash missing the \
             instruction cache {what} ({} -> {} misses in the cache what-if run)",
            c.saving.abs(),
            c.staying_misses.0,
            c.staying_misses.1
        );
    }
    if let Some(estimate) = &plan.estimate {
        let _ = writeln!(out, "\n  {estimate}");
    }
    if let Some(f) = &plan.flexram {
        out.push_str(&flexram::summary(f));
    }
    if !plan.forced.is_empty() {
        let _ = writeln!(out, "\n  forced by the constraints:");
        for f in plan.forced.iter().take(20) {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flash costs no copy; a RAM region takes its receiving section's measured rate, else the
    /// slowest rate the run measured, else the fixed figure.
    #[test]
    fn copy_prices_prefer_the_sections_own_measurement() {
        let board = Board::builtin("imxrt1062").unwrap();
        let index = |kind| board.regions.iter().position(|r| r.kind == kind).unwrap();
        let (itcm, ocram, xip) = (
            index(RegionKind::Itcm),
            index(RegionKind::Ocram),
            index(RegionKind::Xip),
        );
        let targets = [
            TargetRegion {
                board_index: itcm,
                kind: solver::RegionKind::Itcm,
            },
            TargetRegion {
                board_index: ocram,
                kind: solver::RegionKind::Ocram,
            },
            TargetRegion {
                board_index: xip,
                kind: solver::RegionKind::Xip,
            },
        ];
        let section = |name: &str, address: u64| copy::Section {
            name: name.into(),
            address,
            size: 0x100,
            symbols: vec![(format!("__s{name}"), true)],
        };
        let copies = copy::Receiving {
            sections: vec![
                section("itcm", board.regions[itcm].base.0),
                section("ocram", board.regions[ocram].base.0),
            ],
        };
        let measured = vec![("itcm".to_string(), 120.0), ("other".to_string(), 30.0)];
        let prices = copy_prices(&board, &targets, &copies, &measured);
        let itcm_price = prices[0].as_ref().unwrap();
        assert_eq!(
            (itcm_price.cycles_per_byte, &itcm_price.source),
            (120.0, &PriceSource::Measured)
        );
        let ocram_price = prices[1].as_ref().unwrap();
        assert_eq!(
            (ocram_price.cycles_per_byte, &ocram_price.source),
            (120.0, &PriceSource::Borrowed("itcm".into()))
        );
        assert!(prices[2].is_none(), "code in flash is not copied");
        let fixed = copy_prices(&board, &targets, &copies, &[]);
        let p = fixed[0].as_ref().unwrap();
        assert_eq!(p.source, PriceSource::Fixed);
        assert!((p.cycles_per_byte - fixed_copy_cycles_per_byte(&board)).abs() < 1e-9);
        assert!(p.cycles_per_byte < 5.0, "{p:?}");
    }
}
