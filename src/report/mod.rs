//! Performance reports of a run on the virtual board, and comparisons of two of them.
//!
//! A [`RunReport`] is one versioned JSON document (`docs/report-format.md`) that says how fast an
//! image ran and why: cycles, IPC, per-region traffic and cache behaviour, calls through veneers,
//! how full each region is against the plan's budgets, the flash-disabled audit and the functions
//! that took the time, with the region each ran from. [`Comparison`] sets two reports side by
//! side. Renderers: [`to_text`], JSON (serde), and [`html::report_html`]/[`html::compare_html`],
//! one self-contained file with inline SVG plots from [`plot`].
//!
//! `hotlink optimize` and `demo` build reports with [`build`] (or [`from_run`] when they already
//! ran the image) and compare them with [`Comparison::new`].

pub mod audit;
pub mod check;
mod compare;
pub mod html;
pub mod plot;
mod text;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::simrun::{simulate, SimOptions, SimRun, Window, WindowStats};
pub use audit::Audit;
pub use compare::{Comparison, FunctionDelta, Move};
pub use text::{compare_text, to_text};

use crate::board::Board;
use crate::linkmap::LinkMap;
use crate::plan::Plan;
use crate::profile::ElfIdentity;
use crate::sim::{Limits, StopReason};

/// The `format` field every report carries.
pub const FORMAT: &str = "hotlink-report";
/// The report version this hotlink writes and the newest it reads.
pub const VERSION: u32 = 1;

/// A performance report of one run of one image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    pub format: String,
    pub version: u32,
    pub image: ElfIdentity,
    /// Board name as the run used it.
    pub board: String,
    pub core_clock_hz: u64,
    /// Exit status, when the program exited.
    pub exit_status: Option<i32>,
    /// Why the run stopped, when the program did not exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub cycles: u64,
    pub instructions: u64,
    pub ipc: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowStats>,
    /// Traffic per board region that the run touched.
    pub regions: Vec<RegionTraffic>,
    /// Veneers of the link map and the calls that went through them (needs a link map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub veneers: Option<VeneerStats>,
    /// How full each memory region is, against the plan's budgets when a plan was given.
    pub usage: Vec<RegionUsage>,
    /// Where `usage` came from: the link map, or the image's output sections.
    pub usage_source: String,
    /// The flash-disabled audit (needs a link map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
    /// Every function that ran, most cycles first (exact, from the virtual board).
    pub functions: Vec<FunctionStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// Fetch and data traffic, cache behaviour and stalls of one region.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionTraffic {
    pub name: String,
    pub kind: String,
    /// Instructions fetched from the region.
    pub fetches: u64,
    pub data_reads: u64,
    pub data_writes: u64,
    /// Instruction-cache hit rate (0..=1), when the region's fetches go through the cache.
    pub icache_hit_rate: Option<f64>,
    /// Data-cache hit rate (0..=1), when the region's data goes through the cache.
    pub dcache_hit_rate: Option<f64>,
    pub icache_misses: u64,
    pub dcache_misses: u64,
    /// Cycles the core waited on this region.
    pub stall_cycles: u64,
}

/// Long-branch veneers in the image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VeneerStats {
    pub count: usize,
    pub bytes: u64,
    /// Calls that went through any veneer in the run.
    pub calls: u64,
    /// Each veneer, most calls first.
    pub veneers: Vec<VeneerUse>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VeneerUse {
    pub address: u64,
    pub size: u64,
    pub target: u64,
    pub target_symbol: Option<String>,
    pub region: Option<String>,
    pub calls: u64,
}

/// How much of one memory region the image uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegionUsage {
    pub name: String,
    /// Board region kind (`itcm`, `ocram`, `xip`…) when the region lies on the board.
    pub kind: Option<String>,
    pub origin: u64,
    pub length: u64,
    pub used: u64,
    /// The plan's budget for code moved into this region, when a plan was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_budget: Option<u64>,
    /// What the plan puts there (moved sections and veneer reserve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_used: Option<u64>,
}

/// Exact counts of one function, and where it ran from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionStats {
    pub name: String,
    pub address: u64,
    pub size: u64,
    /// Board region of its address.
    pub region: Option<String>,
    /// Cycles inside the function (not its callees).
    pub cycles: u64,
    pub instructions: u64,
    pub calls: u64,
    /// Share of all cycles, 0..=1.
    pub share: f64,
}

/// What to report on.
#[derive(Clone, Debug, Default)]
pub struct ReportInput {
    pub elf: PathBuf,
    /// Board name or board file.
    pub board: String,
    /// Link map (hotlink JSON or GNU ld map) for veneers, usage and the audit.
    pub map: Option<PathBuf>,
    /// Plan for the budgets.
    pub plan: Option<PathBuf>,
    pub window: Option<Window>,
    pub writable_flash: bool,
    /// Extra flash-disabled roots for the audit (input-section globs, as `link --ram-only`).
    pub ram_only: Vec<String>,
    pub limits: Limits,
}

/// Runs the image on the virtual board and builds its report.
pub fn build(input: &ReportInput) -> Result<RunReport> {
    let board = Board::resolve(&input.board)?;
    let path = input.elf.display().to_string();
    let bytes = std::fs::read(&input.elf).with_context(|| format!("cannot read {path}"))?;
    let map = match &input.map {
        Some(p) => {
            let map = LinkMap::load(p)?;
            check_map_matches(&map, &path, p)?;
            Some(map)
        }
        None => None,
    };
    let plan = match &input.plan {
        Some(p) => {
            let plan = Plan::load(p)?;
            if plan.board != board.name && plan.board != input.board {
                bail!(
                    "plan {} is for board {}, the report is for {}; pass --board {}",
                    p.display(),
                    plan.board,
                    board.name,
                    plan.board
                );
            }
            Some(plan)
        }
        None => None,
    };
    let veneers: Vec<u32> = map
        .iter()
        .flat_map(|m| m.veneers.iter().map(|v| v.address as u32))
        .collect();
    let run = simulate(
        &board,
        &input.board,
        &bytes,
        &path,
        &SimOptions {
            window: input.window.clone(),
            writable_flash: input.writable_flash,
            limits: input.limits,
            echo: false,
            profile_period: Some(0),
            profile_stacks: false,
            veneers,
            code_from: None,
        },
    )?;
    let mut report = from_run(&board, &bytes, &path, &run, map.as_ref(), plan.as_ref())?;
    if let Some(map) = &map {
        let map_path = input.map.as_deref().expect("a map was loaded");
        let plan_path = input.plan.as_deref();
        report.audit = Some(audit::run(
            map,
            map_path,
            &board,
            plan.as_ref(),
            &input.ram_only,
        )?);
        report.map = Some(map_path.display().to_string());
        report.plan = plan_path.map(|p| p.display().to_string());
    }
    Ok(report)
}

/// Builds a report from a run that already happened (with `profile_period` set, and the link
/// map's veneers in [`SimOptions::veneers`] when `map` is given). No audit: see [`audit::run`].
pub fn from_run(
    board: &Board,
    bytes: &[u8],
    path: &str,
    run: &SimRun,
    map: Option<&LinkMap>,
    plan: Option<&Plan>,
) -> Result<RunReport> {
    let Some(profile) = &run.profile else {
        bail!("internal: the run of {path} was not profiled");
    };
    let total: u64 = profile.functions.iter().map(|f| f.cycles).sum();
    let mut functions: Vec<FunctionStats> = profile
        .functions
        .iter()
        .map(|f| FunctionStats {
            name: f.name.clone(),
            address: u64::from(f.address),
            size: u64::from(f.size),
            region: board
                .region_at(u64::from(f.address))
                .map(|r| r.name.clone()),
            cycles: f.cycles,
            instructions: f.instructions,
            calls: f.calls,
            share: f.cycles as f64 / total.max(1) as f64,
        })
        .collect();
    functions.sort_by(|a, b| b.cycles.cmp(&a.cycles).then(a.address.cmp(&b.address)));
    let regions = run
        .regions
        .iter()
        .filter(|r| r.fetches + r.data_reads + r.data_writes > 0)
        .map(|r| {
            let rate = |h: u64, m: u64| (h + m > 0).then(|| h as f64 / (h + m) as f64);
            RegionTraffic {
                name: r.name.clone(),
                kind: r.kind.clone(),
                fetches: r.fetches,
                data_reads: r.data_reads,
                data_writes: r.data_writes,
                icache_hit_rate: rate(r.icache_hits, r.icache_misses),
                dcache_hit_rate: rate(r.dcache_hits, r.dcache_misses),
                icache_misses: r.icache_misses,
                dcache_misses: r.dcache_misses,
                stall_cycles: r.stall_cycles,
            }
        })
        .collect();
    let veneers = map.map(|m| {
        let mut list: Vec<VeneerUse> = m
            .veneers
            .iter()
            .enumerate()
            .map(|(i, v)| VeneerUse {
                address: v.address,
                size: v.size,
                target: v.target,
                target_symbol: v.target_symbol.clone(),
                region: board.region_at(v.address).map(|r| r.name.clone()),
                calls: run.veneer_calls.get(i).copied().unwrap_or(0),
            })
            .collect();
        list.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.address.cmp(&b.address)));
        VeneerStats {
            count: list.len(),
            bytes: list.iter().map(|v| v.size).sum(),
            calls: list.iter().map(|v| v.calls).sum(),
            veneers: list,
        }
    });
    let (usage, usage_source) = match map {
        Some(m) => (usage_from_map(m, board, plan), "link map".to_string()),
        None => (
            usage_from_image(path, board, plan)?,
            "image output sections".to_string(),
        ),
    };
    Ok(RunReport {
        format: FORMAT.to_string(),
        version: VERSION,
        image: ElfIdentity::of_bytes(path, bytes),
        board: board.name.clone(),
        core_clock_hz: run.core_clock_hz,
        exit_status: run.exit_status(),
        stopped: match &run.stop {
            StopReason::Exit { .. } => None,
            other => Some(format!("{other:?}")),
        },
        cycles: run.cycles,
        instructions: run.instructions,
        ipc: run.instructions as f64 / run.cycles.max(1) as f64,
        window: run.window.clone(),
        regions,
        veneers,
        usage,
        usage_source,
        audit: None,
        functions,
        map: None,
        plan: None,
    })
}

fn plan_region_for(
    plan: Option<&Plan>,
    origin: u64,
    length: u64,
) -> Option<&crate::plan::PlanRegion> {
    plan?
        .regions
        .iter()
        .find(|r| r.base >= origin && r.base < origin + length.max(1))
}

fn usage_from_map(map: &LinkMap, board: &Board, plan: Option<&Plan>) -> Vec<RegionUsage> {
    map.regions
        .iter()
        .filter(|r| r.name != "*default*" && r.length > 0)
        .map(|r| {
            let planned = plan_region_for(plan, r.origin, r.length);
            RegionUsage {
                name: r.name.clone(),
                kind: board
                    .region_at(r.origin)
                    .map(|g| g.kind.as_str().to_string()),
                origin: r.origin,
                length: r.length,
                used: r.used,
                plan_budget: planned.map(|p| p.budget),
                plan_used: planned.map(|p| p.used + p.veneer_bytes),
            }
        })
        .collect()
}

fn usage_from_image(path: &str, board: &Board, plan: Option<&Plan>) -> Result<Vec<RegionUsage>> {
    let image = image_of(path)?;
    Ok(image
        .region_use(board)
        .into_iter()
        .filter(|u| u.used > 0)
        .map(|u| {
            let region = board
                .region(&u.region)
                .expect("region_use names board regions");
            let planned = plan_region_for(plan, region.base.0, region.size.0);
            RegionUsage {
                name: u.region,
                kind: Some(u.kind.as_str().to_string()),
                origin: region.base.0,
                length: u.size,
                used: u.used,
                plan_budget: planned.map(|p| p.budget),
                plan_used: planned.map(|p| p.used + p.veneer_bytes),
            }
        })
        .collect())
}

/// The inventory's view of a linked image.
fn image_of(path: &str) -> Result<crate::inventory::Image> {
    let inventory =
        crate::inventory::Inventory::load(&[path]).map_err(|e| anyhow::anyhow!("{e}"))?;
    match inventory.images.into_iter().next() {
        Some(image) => Ok(image),
        None => bail!("{path} is not a linked image (an object or archive?)"),
    }
}

/// Refuses a link map of another image: every function both name must be at the same address.
fn check_map_matches(map: &LinkMap, path: &str, map_path: &Path) -> Result<()> {
    let image = image_of(path)?;
    // A name defined at two addresses (GNU ld names every veneer to one symbol `__X_veneer`, one
    // per output section or stub group) identifies nothing: such names are left out on both sides.
    let mut in_map: rustc_hash::FxHashMap<&str, Option<u64>> = Default::default();
    let map_symbols = map
        .input_sections
        .iter()
        .flat_map(|s| {
            s.symbols
                .iter()
                .map(|y| (y.name.as_str(), y.code_address()))
        })
        .chain(
            map.symbols
                .iter()
                .map(|y| (y.name.as_str(), y.code_address())),
        );
    for (name, address) in map_symbols {
        in_map
            .entry(name)
            .and_modify(|seen| {
                if *seen != Some(address) {
                    *seen = None;
                }
            })
            .or_insert(Some(address));
    }
    let mut in_image: rustc_hash::FxHashMap<&str, usize> = Default::default();
    for f in &image.functions {
        *in_image.entry(f.name.as_str()).or_default() += 1;
    }
    let mut common = 0usize;
    for f in &image.functions {
        if in_image[f.name.as_str()] > 1 {
            continue;
        }
        if let Some(&Some(address)) = in_map.get(f.name.as_str()) {
            if address != f.address {
                bail!(
                    "link map {} does not describe {path}: `{}` is at {address:#010x} in the map \
                     and at {:#010x} in the image; pass the map written by the link that made \
                     this image",
                    map_path.display(),
                    f.name,
                    f.address
                );
            }
            common += 1;
        }
    }
    if common == 0 && !image.functions.is_empty() {
        bail!(
            "link map {} names none of the functions of {path}; pass the map written by the link \
             that made this image",
            map_path.display()
        );
    }
    Ok(())
}

impl RunReport {
    /// Reads a report, refusing other formats and other versions with a message naming the file.
    pub fn load(path: &Path) -> Result<RunReport> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report {}", path.display()))?;
        RunReport::parse(&text).with_context(|| format!("report {}", path.display()))
    }

    /// Parses report JSON (see [`RunReport::load`]).
    pub fn parse(text: &str) -> Result<RunReport> {
        crate::versioned::parse(text, FORMAT, VERSION, "run report")
    }

    /// Pretty JSON, as `--format json` prints it and [`RunReport::load`] reads it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// The cycles that count: the window's when there is one, else the whole run's.
    pub fn measured_cycles(&self) -> u64 {
        self.window.as_ref().map_or(self.cycles, |w| w.cycles)
    }
}
