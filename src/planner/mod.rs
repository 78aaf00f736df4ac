//! `hotlink plan`: from a baseline image, its link map, its objects and a profile to a placement
//! plan, through the `hotlink-solver` model.
//!
//! Items are the code input sections of the link map. Their cost per region comes from the
//! profile (exact cycles on the virtual board, or samples × cycles per sample) and the stall
//! model of [`costs`]. Call edges are the static call and tail-call relocations between items
//! (every direct branch needs a veneer when its ends land in different regions), weighted by the
//! profile's call counts. Flash-disabled roots (`.ramfunc*` sections, `--ram-only` patterns) and
//! everything they reach through any relocation must stay out of XIP.

mod costs;

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

/// What the user asks of the plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    pub strategy: solver::Strategy,
    /// Budgets per board region name, overriding "what is free".
    pub budgets: Vec<(String, u64)>,
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
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: solver::Strategy::Ilp,
            budgets: Vec::new(),
            ram_only: Vec::new(),
            exclude: Vec::new(),
            pin: Vec::new(),
            reserve: 64,
            time_limit_seconds: 30.0,
            relative_gap: 1e-3,
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

/// Cycles the startup code spends copying `bytes` of code from flash to RAM: per 32-byte line, a
/// sequential XIP read (served by the FlexSPI prefetch when it is on) and eight word loads and
/// stores. An estimate, checked against the virtual board in docs/placement-model.md.
fn startup_copy_cycles(board: &Board, bytes: u64) -> f64 {
    let t = &board.timing;
    let line = if t.xip_prefetch {
        t.xip_prefetch_hit_cycles
    } else {
        t.xip_miss_cycles
    };
    (bytes.div_ceil(32) * (u64::from(line) + 16)) as f64
}

/// Builds the problem, solves it and turns the answer into a [`Plan`].
pub fn plan(inputs: &PlanInputs<'_>, options: &PlanOptions) -> Result<Planned> {
    let board = inputs.board;
    let map = &inputs.map.with_image_symbols(inputs.elf);
    let mut warnings = Vec::new();

    // Regions: where code runs now, and the RAM regions the script has an output section in
    // (the startup code copies those, so the linker can place code there).
    let mut targets: Vec<TargetRegion> = Vec::new();
    for (board_index, region) in board.regions.iter().enumerate() {
        let Some(kind) = solver_kind(region.kind) else {
            continue;
        };
        let hosts_output = map
            .output_sections
            .iter()
            .any(|s| region.contains(s.address) && s.kind != "debug");
        let hosts_code = map
            .input_sections
            .iter()
            .any(|s| s.kind == "code" && s.size > 0 && region.contains(s.address));
        if hosts_code || (kind != solver::RegionKind::Xip && hosts_output) {
            targets.push(TargetRegion { board_index, kind });
        }
    }
    if !targets.iter().any(|t| t.kind != solver::RegionKind::Xip) {
        bail!(
            "the linker script has no output section in ITCM or OCRAM to receive code \
             (add one, like the SDK's .ram_function / .itcm, with a startup copy)"
        );
    }
    let target_of = |address: u64| {
        targets
            .iter()
            .position(|t| board.regions[t.board_index].contains(address))
    };

    // Items: code input sections in those regions.
    let sections: Vec<&MapInputSection> = map
        .input_sections
        .iter()
        .filter(|s| s.kind == "code" && s.size > 0 && target_of(s.address).is_some())
        .collect();
    if sections.is_empty() {
        bail!("the link map lists no code input sections in the board's regions: is it the map of this image, linked for {}?", board.name);
    }

    // Inventory of the objects behind them, for alignment and references.
    let resolve_path = |object: &str| -> PathBuf {
        let p = Path::new(object);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            inputs.link_dir.join(p)
        }
    };
    let files: BTreeSet<PathBuf> = sections.iter().map(|s| resolve_path(&s.object)).collect();
    let files: Vec<PathBuf> = files.into_iter().filter(|f| f.exists()).collect();
    let inventory = Inventory::load(&files).context("reading the objects named in the link map")?;
    let key = |file: &Path, member: Option<&str>, name: &str| {
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        (file, member.map(str::to_string), name.to_string())
    };
    let mut item_of_key: FxHashMap<(PathBuf, Option<String>, String), usize> = FxHashMap::default();
    for (i, s) in sections.iter().enumerate() {
        item_of_key.insert(
            key(&resolve_path(&s.object), s.member.as_deref(), &s.section),
            i,
        );
    }
    let mut item_of_inventory: Vec<Option<usize>> = vec![None; inventory.sections.len()];
    let mut align = vec![4u64; sections.len()];
    // A GNU map carries no flags, so data kept in a code output section (a vector table in
    // `.text`) looks like code there; the object says what it is. Data stays put: the hardware
    // or the startup code may read it before anything is copied.
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

    // Costs.
    let addresses: Vec<(u64, u64, usize)> = {
        let mut a: Vec<(u64, u64, usize)> = sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.address, s.address + s.size, i))
            .collect();
        a.sort();
        a
    };
    let item_at = |pc: u64| {
        let k = addresses.partition_point(|(start, _, _)| *start <= pc);
        let (start, end, i) = *addresses.get(k.checked_sub(1)?)?;
        (pc >= start && pc < end).then_some(i)
    };
    let mut current_cycles = vec![0f64; sections.len()];
    let exact = !inputs.profile.functions.is_empty();
    if exact {
        for f in &inputs.profile.functions {
            if let Some(i) = item_at(u64::from(f.address)) {
                current_cycles[i] += f.cycles as f64;
            }
        }
    } else {
        let per_sample = match (
            inputs.profile.totals.cycles,
            inputs.profile.capture.sample_period_cycles,
        ) {
            (Some(c), _) if inputs.profile.totals.samples > 0 => {
                c as f64 / inputs.profile.totals.samples as f64
            }
            (_, Some(p)) => p as f64,
            _ => {
                warnings
                    .push("the profile gives no cycles per sample; costs are in samples".into());
                1.0
            }
        };
        for h in &inputs.profile.pc_histogram {
            if let Some(i) = item_at(u64::from(h.pc)) {
                current_cycles[i] += h.count as f64 * per_sample;
            }
        }
    }
    let (stalls, warning) =
        StallModel::measure(board, inputs.elf, &inputs.elf_path.display().to_string());
    warnings.extend(warning);

    let problem_regions: Vec<solver::Region> = targets
        .iter()
        .map(|t| {
            let region = &board.regions[t.board_index];
            let fixed: u64 = map
                .input_sections
                .iter()
                .filter(|s| s.kind != "debug" && s.size > 0)
                .filter(|s| {
                    let is_item = s.kind == "code" && target_of(s.address).is_some();
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
            let free = region.size.0.saturating_sub(fixed + reserve);
            let budget = options
                .budgets
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&region.name))
                .map_or(free, |(_, b)| (*b).min(free));
            solver::Region {
                name: region.name.clone(),
                kind: t.kind,
                budget,
            }
        })
        .collect();
    for (name, _) in &options.budgets {
        if !problem_regions
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name))
        {
            bail!(
                "--budget {name}: not a region code can be placed in on {} (candidates: {})",
                board.name,
                problem_regions
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    // The entry and what it calls directly run before the startup copy: they stay put.
    let entry_address = map.entry.as_ref().map(|e| e.address).or_else(|| {
        use object::Object;
        object::File::parse(inputs.elf).ok().map(|f| f.entry())
    });
    let entry_item = entry_address.and_then(|a| item_at(a & !1));
    // Every relocation between two items, resolved once: (from, to, kind).
    let index = inventory.symbol_index();
    let item_references: Vec<(usize, usize, RefKind)> = inventory
        .references
        .iter()
        .filter_map(|r| {
            let from = item_of_inventory[r.from]?;
            let to = inventory
                .resolve_target(&r.target, &index)
                .and_then(|t| item_of_inventory[t])?;
            Some((from, to, r.kind))
        })
        .collect();
    let mut startup: BTreeSet<usize> = entry_item.into_iter().collect();
    startup.extend(
        item_references
            .iter()
            .filter(|(from, _, kind)| Some(*from) == entry_item && *kind != RefKind::Data)
            .map(|(_, to, _)| *to),
    );

    let mut items = Vec::with_capacity(sections.len());
    for (i, s) in sections.iter().enumerate() {
        let home = target_of(s.address).expect("items are in target regions");
        let symbol_addresses: Vec<u32> = s
            .symbols
            .iter()
            .map(|sym| sym.code_address() as u32)
            .collect();
        let ratio = stalls.ratio(&symbol_addresses);
        let c = current_cycles[i];
        // Cycles as from TCM, and as from XIP, whichever one was measured.
        let (tcm, xip) = match targets[home].kind {
            solver::RegionKind::Xip => (c * ratio, c),
            _ => (c, c / stalls.overall.max(1e-6)),
        };
        // Code moved out of flash is copied there once by the startup code.
        let copy = if targets[home].kind == solver::RegionKind::Xip {
            startup_copy_cycles(board, s.size)
        } else {
            0.0
        };
        let cost = targets
            .iter()
            .map(|t| {
                Some(match t.kind {
                    solver::RegionKind::Itcm | solver::RegionKind::Dtcm => tcm + copy,
                    solver::RegionKind::Ocram => tcm + (xip - tcm) * stalls.ocram_share + copy,
                    solver::RegionKind::Xip => xip,
                })
            })
            .collect();
        let is_root = s.section.starts_with(".ramfunc") || matches_any(&options.ram_only, s);
        let excluded = startup.contains(&i) || not_code[i] || matches_any(&options.exclude, s);
        let pinned = options
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
        // Code that runs before the startup copy (or that the user excluded) cannot be pinned
        // elsewhere: say so instead of failing.
        let pinned = match pinned {
            Some(_) if excluded => {
                warnings.push(format!(
                    "{} stays put (startup code, data or --exclude); its --pin is ignored",
                    s.label()
                ));
                None
            }
            other => other,
        };
        items.push(solver::Item {
            name: s.label(),
            size: s.size,
            align: align[i],
            kind: solver::ItemKind::Code,
            current: solver::RegionId(home as u16),
            cost,
            pinned,
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

    // Edges: static direct calls, weighted by the profile's counts; every reference for the
    // ram-only closure.
    let mut dynamic: FxHashMap<(usize, usize), u64> = FxHashMap::default();
    for e in &inputs.profile.call_edges {
        if let (Some(a), Some(b)) = (item_at(u64::from(e.site)), item_at(u64::from(e.callee))) {
            *dynamic.entry((a, b)).or_default() += e.count;
        }
    }
    let mut calls: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut references = Vec::new();
    for &(from, to, kind) in &item_references {
        if from == to {
            continue;
        }
        references.push((solver::ItemId(from as u32), solver::ItemId(to as u32)));
        if kind != RefKind::Data {
            calls.insert((from, to));
        }
    }
    let edges = calls
        .into_iter()
        .map(|(a, b)| solver::Edge {
            caller: solver::ItemId(a as u32),
            callee: solver::ItemId(b as u32),
            count: dynamic.get(&(a, b)).copied().unwrap_or(0),
        })
        .collect();
    let veneer = board.veneers.first().map_or(6.0, |v| f64::from(v.cycles));
    let mut problem = solver::Problem {
        veneer: solver::VeneerModel::same_region_only(problem_regions.len(), veneer),
        regions: problem_regions,
        items,
        edges,
        padding: solver::Padding::AlignUp,
    };
    solver::propagate_ram_only(&mut problem, &references)?;

    let solve_options = solver::SolveOptions {
        strategy: options.strategy,
        time_limit_seconds: options.time_limit_seconds,
        relative_gap: options.relative_gap,
        ..solver::SolveOptions::default()
    };
    let solution = solver::solve(&problem, &solve_options).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = to_plan(inputs, &targets, &sections, &problem, &solution);
    Ok(Planned {
        plan,
        solution,
        problem,
        sections: sections.into_iter().cloned().collect(),
        warnings,
    })
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
    if !plan.forced.is_empty() {
        let _ = writeln!(out, "\n  forced by the constraints:");
        for f in plan.forced.iter().take(20) {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}
