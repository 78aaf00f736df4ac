//! The result of a solve: what goes where, what it is predicted to cost, and why. Serializable so
//! `hotlink plan` can embed it in `plan.json` unchanged.

use serde::{Deserialize, Serialize};

use crate::eval::{evaluate, Evaluation};
use crate::feasibility::ram_only_chain;
use crate::model::{ItemId, Prepared, RegionId};
use crate::Strategy;

/// Predicted cycles of a placement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cycles {
    /// Running the items where they are placed.
    pub run: f64,
    /// Extra cycles of calls through veneers.
    pub veneer: f64,
    /// `run + veneer`: the objective.
    pub total: f64,
}

impl From<&Evaluation> for Cycles {
    fn from(e: &Evaluation) -> Self {
        Cycles {
            run: e.run_cycles,
            veneer: e.veneer_cycles,
            total: e.total(),
        }
    }
}

/// Where one item goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub item: ItemId,
    pub name: String,
    /// Where the unoptimised link puts it.
    pub from: RegionId,
    /// Where the plan puts it.
    pub region: RegionId,
    /// Its run cost in `from`.
    pub cycles_before: f64,
    /// Its run cost in `region`.
    pub cycles_after: f64,
}

/// A veneer the linker will add: one per (callee, region of its out-of-range callers), placed in
/// that region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Veneer {
    pub callee: ItemId,
    pub callee_name: String,
    /// The region the veneer lives in (its callers' region).
    pub region: RegionId,
    pub callers: Vec<ItemId>,
    pub bytes: u64,
    /// Calls that go through it in the profiled run.
    pub calls: u64,
    /// Extra cycles those calls cost.
    pub cycles: f64,
}

/// Bytes a plan uses in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionUsage {
    pub region: RegionId,
    pub name: String,
    pub item_bytes: u64,
    pub veneer_bytes: u64,
    /// `item_bytes + veneer_bytes`, never more than `budget` in a returned plan.
    pub used: u64,
    pub budget: u64,
}

/// Why a decision was not the optimiser's to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForcedReason {
    /// Pinned to its region.
    Pinned,
    /// Excluded by pattern: kept where it was.
    Excluded,
    /// Has a cost in only one region (e.g. writable data).
    OnlyRegion,
    /// Must be in RAM; `chain` is the reference chain from a flash-disabled root to the item.
    RamOnly { chain: Vec<ItemId> },
}

/// A decision the constraints forced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forced {
    pub item: ItemId,
    pub name: String,
    pub region: RegionId,
    pub reason: ForcedReason,
}

/// What the ILP's presolve did and what the solver reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IlpStats {
    /// Items whose region was fixed before the solve because the constraints left one choice.
    pub fixed_by_constraints: usize,
    /// Cold items fixed in their home region (provably no loss).
    pub fixed_cold: usize,
    /// Lukewarm items fixed in their home region, with their total possible loss bounded.
    pub fixed_bounded: usize,
    /// Upper bound on the cycles the bounded fixing can have cost (included in `gap`).
    pub presolve_loss_bound: f64,
    /// Items left for the solver.
    pub free_items: usize,
    /// Columns and rows of the model handed to HiGHS.
    pub columns: usize,
    pub rows: usize,
    /// HiGHS's model status.
    pub status: String,
    /// Whether HiGHS's solution was used (otherwise the greedy warm start was better).
    pub used_solver_solution: bool,
}

/// A complete placement plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub strategy: Strategy,
    /// One entry per item, in item order.
    pub placements: Vec<Placement>,
    pub veneers: Vec<Veneer>,
    pub regions: Vec<RegionUsage>,
    /// The unoptimised placement (every item in `current`).
    pub cycles_before: Cycles,
    pub cycles_after: Cycles,
    /// `cycles_before.total - cycles_after.total`.
    pub predicted_gain: f64,
    /// A proven lower bound on the optimum's total cycles, when the strategy provides one.
    pub lower_bound: Option<f64>,
    /// `(after - lower_bound) / after`: how far from optimal the plan can be at most.
    pub gap: Option<f64>,
    pub solve_seconds: f64,
    pub forced: Vec<Forced>,
    /// Present for the `ilp` strategy.
    pub ilp: Option<IlpStats>,
}

impl Plan {
    /// Items whose region differs from their current one.
    pub fn moved(&self) -> impl Iterator<Item = &Placement> {
        self.placements.iter().filter(|p| p.from != p.region)
    }

    /// Region of each item, indexed by item.
    pub fn assignment(&self) -> Vec<RegionId> {
        self.placements.iter().map(|p| p.region).collect()
    }
}

/// Bounds and timing a strategy reports along with its assignment.
pub(crate) struct Outcome {
    pub assign: Vec<RegionId>,
    pub lower_bound: Option<f64>,
    pub solve_seconds: f64,
    pub ilp: Option<IlpStats>,
}

pub(crate) fn build(
    p: &Prepared,
    strategy: Strategy,
    outcome: Outcome,
    after: &Evaluation,
) -> Plan {
    let problem = p.problem;
    let current: Vec<RegionId> = problem.items.iter().map(|i| i.current).collect();
    let before = evaluate(p, &current);
    let assign = &outcome.assign;
    let placements = problem
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| Placement {
            item: ItemId(i as u32),
            name: item.name.clone(),
            from: item.current,
            region: assign[i],
            cycles_before: p.cost(i, item.current.index()),
            cycles_after: p.cost(i, assign[i].index()),
        })
        .collect();
    let veneers = after
        .veneers
        .iter()
        .map(|v| Veneer {
            callee: v.callee,
            callee_name: problem.items[v.callee.index()].name.clone(),
            region: v.region,
            callers: v.callers.clone(),
            bytes: p.veneer_bytes,
            calls: v.calls,
            cycles: v.calls as f64 * problem.veneer.cycles,
        })
        .collect();
    let regions = problem
        .regions
        .iter()
        .enumerate()
        .map(|(r, region)| RegionUsage {
            region: RegionId(r as u16),
            name: region.name.clone(),
            item_bytes: after.item_bytes[r],
            veneer_bytes: after.veneer_bytes[r],
            used: after.item_bytes[r] + after.veneer_bytes[r],
            budget: region.budget,
        })
        .collect();
    let forced = forced(p, assign);
    let cycles_after = Cycles::from(after);
    let gap = outcome.lower_bound.map(|lb| {
        if cycles_after.total > 0.0 {
            ((cycles_after.total - lb) / cycles_after.total).max(0.0)
        } else {
            0.0
        }
    });
    Plan {
        strategy,
        placements,
        veneers,
        regions,
        cycles_before: Cycles::from(&before),
        predicted_gain: before.total() - cycles_after.total,
        cycles_after,
        lower_bound: outcome.lower_bound,
        gap,
        solve_seconds: outcome.solve_seconds,
        forced,
        ilp: outcome.ilp,
    }
}

fn forced(p: &Prepared, assign: &[RegionId]) -> Vec<Forced> {
    let mut out = Vec::new();
    for (i, item) in p.problem.items.iter().enumerate() {
        let reason = if item.pinned.is_some() {
            ForcedReason::Pinned
        } else if item.excluded {
            ForcedReason::Excluded
        } else if item.ram_only.is_some() {
            ForcedReason::RamOnly {
                chain: ram_only_chain(p.problem, ItemId(i as u32)),
            }
        } else if p.allowed[i].count_ones() == 1 {
            ForcedReason::OnlyRegion
        } else {
            continue;
        };
        out.push(Forced {
            item: ItemId(i as u32),
            name: item.name.clone(),
            region: assign[i],
            reason,
        });
    }
    out
}
