//! The placement model: what the caller describes (regions, items, call edges, veneers) and the
//! validated, indexed form every solver works on.
//!
//! Items and regions are referred to by index (`ItemId`, `RegionId`) rather than by name so that
//! a 50,000-section problem stays a few flat vectors; names are kept for messages and plans.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::InputError;

/// Index of an item in [`Problem::items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub u32);

/// Index of a region in [`Problem::regions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegionId(pub u16);

impl ItemId {
    /// The index into [`Problem::items`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl RegionId {
    /// The index into [`Problem::regions`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The most regions a problem may have: allowed-region sets are 32-bit masks.
pub const MAX_REGIONS: usize = 32;

/// The largest section or budget accepted: the Cortex-M7 address space is 32 bits wide, and
/// keeping sizes below it means sums over 50,000 items cannot overflow a `u64`.
pub const MAX_BYTES: u64 = 1 << 32;

/// What kind of memory a region is; decides which regions count as RAM for ram-only items and
/// the "fastest first" order the size-driven baselines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionKind {
    /// Instruction TCM (FlexRAM banks): zero wait states.
    Itcm,
    /// Data TCM (FlexRAM banks).
    Dtcm,
    /// On-chip RAM on the AXI bus (dedicated OCRAM or FlexRAM-OCRAM).
    Ocram,
    /// Execute-in-place flash behind FlexSPI and the L1 cache; unavailable while the flash is
    /// being erased or programmed.
    Xip,
}

impl RegionKind {
    /// Whether code placed here keeps running while the XIP flash is busy.
    pub fn is_ram(self) -> bool {
        !matches!(self, RegionKind::Xip)
    }

    /// Rank used by "fastest region first" fills (GNU ld scripts list ITCM first).
    pub fn speed_rank(self) -> u8 {
        match self {
            RegionKind::Itcm => 0,
            RegionKind::Dtcm => 1,
            RegionKind::Ocram => 2,
            RegionKind::Xip => 3,
        }
    }
}

/// A memory region items can be placed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Name as in the board file / linker script (`ITCM`, `OCRAM`, `FLASH`).
    pub name: String,
    /// What kind of memory it is.
    pub kind: RegionKind,
    /// Bytes available to the items of this problem and their veneers: the region's size minus
    /// what the script places there regardless of the plan, minus a reserve.
    pub budget: u64,
}

/// What an input section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// Executable code (`.text.*`).
    Code,
    /// Read-only data (`.rodata.*`).
    Rodata,
    /// Writable data (`.data.*`).
    Data,
}

/// Why an item must stay out of XIP flash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RamOnly {
    /// A flash-disabled root (flash driver, ISR allowed during programming, `--ram-only`).
    Root {
        /// Why it is a root, for messages (e.g. "matches --ram-only flexspi_*").
        reason: String,
    },
    /// Reached through a reference from another ram-only item.
    ReachedFrom {
        /// The referencing item; following these links leads back to a root.
        item: ItemId,
    },
}

/// An input section the plan may place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Section name, qualified enough to be unique (`libc.a(memcpy.o):.text.memcpy`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Alignment in bytes (a power of two).
    pub align: u64,
    /// Code, rodata or data.
    pub kind: ItemKind,
    /// Where the unoptimised link puts it; excluded items stay here and `xip` keeps everything
    /// here.
    pub current: RegionId,
    /// Cycles spent running this item over the profiled run if it were placed in each region,
    /// indexed by region; `None` means it may not go there (e.g. data in ITCM).
    pub cost: Vec<Option<f64>>,
    /// Must be placed in this region (an explicit placement in the script or on the command
    /// line).
    #[serde(default)]
    pub pinned: Option<RegionId>,
    /// Must not be in XIP flash, and why.
    #[serde(default)]
    pub ram_only: Option<RamOnly>,
    /// Excluded by pattern: stays in `current`.
    #[serde(default)]
    pub excluded: bool,
}

/// A call (or tail call) from one item to another with its dynamic count; static calls that never
/// ran are edges with count 0, since they still need a veneer when their ends are out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// The calling item.
    pub caller: ItemId,
    /// The called item.
    pub callee: ItemId,
    /// How many times the call executed in the profiled run.
    pub count: u64,
}

/// Which branches reach directly and what a veneer costs when they do not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VeneerModel {
    /// `reach[from][to]`: a direct `BL`/`B.W` from code in region `from` reaches region `to`.
    /// The diagonal must be true.
    pub reach: Vec<Vec<bool>>,
    /// Extra cycles per call that goes through a veneer.
    pub cycles: f64,
    /// Bytes of one veneer (GNU ld's Thumb-2 long branch stub: 8).
    pub bytes: u64,
    /// Alignment of a veneer (4).
    pub align: u64,
}

impl VeneerModel {
    /// The i.MX RT model: ITCM, OCRAM/DTCM and XIP are all more than ±16 MB apart, so only calls
    /// within one region are direct; veneers are GNU ld's `ldr.w pc, [pc, #-0]` + literal (8 bytes,
    /// 4-aligned).
    pub fn same_region_only(regions: usize, cycles: f64) -> VeneerModel {
        let reach = (0..regions)
            .map(|from| (0..regions).map(|to| from == to).collect())
            .collect();
        VeneerModel {
            reach,
            cycles,
            bytes: 8,
            align: 4,
        }
    }
}

/// How alignment padding is charged to a region's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// Each item costs its size rounded up to its alignment. Exact when the linker lays out a
    /// region's placed sections in descending alignment order (then no gap is ever needed).
    #[default]
    AlignUp,
    /// Each item costs its size plus `align - 1`: safe for any layout order.
    WorstCase,
}

impl Padding {
    /// Bytes charged for an object of `size` bytes aligned to `align`.
    pub fn charge(self, size: u64, align: u64) -> u64 {
        match self {
            Padding::AlignUp => size.div_ceil(align) * align,
            Padding::WorstCase => size + (align - 1),
        }
    }
}

/// A complete placement problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Regions items may go to.
    pub regions: Vec<Region>,
    /// The movable input sections.
    pub items: Vec<Item>,
    /// Call edges between items.
    pub edges: Vec<Edge>,
    /// Branch reach and veneer costs.
    pub veneer: VeneerModel,
    /// How padding is charged.
    #[serde(default)]
    pub padding: Padding,
}

/// A bit set of regions.
pub(crate) type Mask = u32;

/// Iterate the regions in a mask, lowest index first.
pub(crate) fn regions_in(mask: Mask) -> impl Iterator<Item = usize> {
    (0..MAX_REGIONS).filter(move |r| mask & (1 << r) != 0)
}

/// A validated problem with the indexes every solver needs: merged edges, adjacency, charged
/// bytes, and the set of regions each item may occupy once its constraints are applied.
#[derive(Debug)]
pub(crate) struct Prepared<'p> {
    pub problem: &'p Problem,
    /// Bytes each item costs in a region.
    pub bytes: Vec<u64>,
    /// Bytes one veneer costs.
    pub veneer_bytes: u64,
    /// Regions each item may occupy (cost defined, pinned, excluded and ram-only applied); may be
    /// empty, which the feasibility check reports.
    pub allowed: Vec<Mask>,
    /// `reach[from]` as a mask of regions reached directly.
    pub reach: Vec<Mask>,
    /// Edges with parallel calls merged and self-calls dropped, sorted by (caller, callee).
    pub edges: Vec<Edge>,
    /// For each item, indexes into `edges` where it is the callee.
    pub callers: Vec<Vec<u32>>,
    /// For each item, indexes into `edges` where it is the caller.
    pub callees: Vec<Vec<u32>>,
}

impl<'p> Prepared<'p> {
    /// Validate `problem` and build the indexes.
    pub fn new(problem: &'p Problem) -> Result<Prepared<'p>, InputError> {
        validate(problem)?;
        let n_regions = problem.regions.len();
        let bytes = problem
            .items
            .iter()
            .map(|item| problem.padding.charge(item.size, item.align))
            .collect();
        let veneer_bytes = problem
            .padding
            .charge(problem.veneer.bytes, problem.veneer.align);
        let reach = problem
            .veneer
            .reach
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|(_, &r)| r)
                    .fold(0, |m, (to, _)| m | (1 << to))
            })
            .collect();
        let ram: Mask = (0..n_regions)
            .filter(|&r| problem.regions[r].kind.is_ram())
            .fold(0, |m, r| m | (1 << r));
        let allowed = problem
            .items
            .iter()
            .map(|item| {
                let mut mask: Mask = item
                    .cost
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.is_some())
                    .fold(0, |m, (r, _)| m | (1 << r));
                if let Some(pin) = item.pinned {
                    mask &= 1 << pin.index();
                }
                if item.excluded {
                    mask &= 1 << item.current.index();
                }
                if item.ram_only.is_some() {
                    mask &= ram;
                }
                mask
            })
            .collect();

        let mut merged: FxHashMap<(u32, u32), u64> = FxHashMap::default();
        for e in &problem.edges {
            if e.caller != e.callee {
                *merged.entry((e.caller.0, e.callee.0)).or_default() += e.count;
            }
        }
        let mut edges: Vec<Edge> = merged
            .into_iter()
            .map(|((u, v), count)| Edge {
                caller: ItemId(u),
                callee: ItemId(v),
                count,
            })
            .collect();
        edges.sort_unstable_by_key(|e| (e.caller, e.callee));
        let mut callers = vec![Vec::new(); problem.items.len()];
        let mut callees = vec![Vec::new(); problem.items.len()];
        for (k, e) in edges.iter().enumerate() {
            callers[e.callee.index()].push(k as u32);
            callees[e.caller.index()].push(k as u32);
        }
        Ok(Prepared {
            problem,
            bytes,
            veneer_bytes,
            allowed,
            reach,
            edges,
            callers,
            callees,
        })
    }

    /// Run cost of item `i` in region `r` (only meaningful where allowed).
    pub fn cost(&self, i: usize, r: usize) -> f64 {
        self.problem.items[i].cost[r].unwrap_or(f64::INFINITY)
    }

    /// Whether a direct call from region `from` reaches region `to`.
    pub fn reaches(&self, from: usize, to: usize) -> bool {
        self.reach[from] & (1 << to) != 0
    }

    /// Whether only same-region calls are direct (the i.MX RT case), which the presolve's
    /// optimality argument relies on.
    pub fn reach_is_identity(&self) -> bool {
        self.reach.iter().enumerate().all(|(r, &m)| m == 1 << r)
    }

    pub fn n_regions(&self) -> usize {
        self.problem.regions.len()
    }

    pub fn n_items(&self) -> usize {
        self.problem.items.len()
    }

    pub fn budget(&self, r: usize) -> u64 {
        self.problem.regions[r].budget
    }
}

fn validate(problem: &Problem) -> Result<(), InputError> {
    let n_regions = problem.regions.len();
    if n_regions == 0 {
        return Err(InputError::NoRegions);
    }
    if n_regions > MAX_REGIONS {
        return Err(InputError::TooManyRegions { count: n_regions });
    }
    if problem.items.len() > u32::MAX as usize {
        return Err(InputError::TooManyItems {
            count: problem.items.len(),
        });
    }
    for (r, region) in problem.regions.iter().enumerate() {
        if region.budget > MAX_BYTES {
            return Err(InputError::TooLarge {
                what: format!("budget of region {r} ({})", region.name),
                value: region.budget,
            });
        }
        if let Some(other) = problem.regions[..r]
            .iter()
            .position(|o| o.name == region.name)
        {
            return Err(InputError::DuplicateRegion {
                name: region.name.clone(),
                first: RegionId(other as u16),
                second: RegionId(r as u16),
            });
        }
    }
    let region_ok = |id: RegionId| id.index() < n_regions;
    for (i, item) in problem.items.iter().enumerate() {
        let id = ItemId(i as u32);
        let name = || item.name.clone();
        if item.size > MAX_BYTES {
            return Err(InputError::TooLarge {
                what: format!("size of item {i} ({})", item.name),
                value: item.size,
            });
        }
        if item.align == 0 || !item.align.is_power_of_two() || item.align > MAX_BYTES {
            return Err(InputError::BadAlignment {
                item: id,
                name: name(),
                align: item.align,
            });
        }
        for region in [Some(item.current), item.pinned].into_iter().flatten() {
            if !region_ok(region) {
                return Err(InputError::UnknownRegion {
                    region,
                    context: format!("item {i} ({})", item.name),
                });
            }
        }
        if item.cost.len() != n_regions {
            return Err(InputError::CostLength {
                item: id,
                name: name(),
                len: item.cost.len(),
                regions: n_regions,
            });
        }
        for (r, c) in item.cost.iter().enumerate() {
            if let Some(c) = *c {
                if !c.is_finite() || c < 0.0 {
                    return Err(InputError::BadCost {
                        item: id,
                        name: name(),
                        region: RegionId(r as u16),
                        cost: c,
                    });
                }
            }
        }
        if item.cost[item.current.index()].is_none() {
            return Err(InputError::NoCostInCurrentRegion {
                item: id,
                name: name(),
                region: item.current,
            });
        }
        if let Some(RamOnly::ReachedFrom { item: from }) = item.ram_only {
            if from.index() >= problem.items.len() {
                return Err(InputError::UnknownItem {
                    item: from,
                    context: format!("ram-only reason of item {i} ({})", item.name),
                });
            }
        }
    }
    for (k, e) in problem.edges.iter().enumerate() {
        for end in [e.caller, e.callee] {
            if end.index() >= problem.items.len() {
                return Err(InputError::UnknownItem {
                    item: end,
                    context: format!("edge {k}"),
                });
            }
        }
    }
    let v = &problem.veneer;
    if v.reach.len() != n_regions || v.reach.iter().any(|row| row.len() != n_regions) {
        return Err(InputError::ReachShape { regions: n_regions });
    }
    if let Some(r) = (0..n_regions).find(|&r| !v.reach[r][r]) {
        return Err(InputError::ReachDiagonal {
            region: RegionId(r as u16),
        });
    }
    if !v.cycles.is_finite() || v.cycles < 0.0 {
        return Err(InputError::BadVeneerCycles { cycles: v.cycles });
    }
    if v.align == 0 || !v.align.is_power_of_two() || v.align > 4096 || v.bytes > 4096 {
        return Err(InputError::BadVeneerSize {
            bytes: v.bytes,
            align: v.align,
        });
    }
    Ok(())
}
