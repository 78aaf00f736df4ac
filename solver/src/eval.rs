//! Exact evaluation of an assignment: cycles, veneers and bytes per region, and the list of
//! constraints it breaks. Every strategy's result goes through here, so the numbers in a plan
//! never depend on a solver's own (possibly relaxed or rounded) bookkeeping.

use rustc_hash::FxHashMap;

use crate::model::{ItemId, Prepared, RegionId};

/// One veneer the linker will emit: for `callee`, in the callers' `region`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VeneerUse {
    pub callee: ItemId,
    pub region: RegionId,
    pub callers: Vec<ItemId>,
    pub calls: u64,
}

/// What an assignment costs and occupies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evaluation {
    pub run_cycles: f64,
    pub veneer_cycles: f64,
    /// Bytes of items per region.
    pub item_bytes: Vec<u64>,
    /// Bytes of veneers per region.
    pub veneer_bytes: Vec<u64>,
    pub veneers: Vec<VeneerUse>,
}

impl Evaluation {
    pub fn total(&self) -> f64 {
        self.run_cycles + self.veneer_cycles
    }
}

/// Evaluate `assign` (one region per item). Items placed where they have no cost count as
/// infinitely slow; [`violations`] reports them.
pub(crate) fn evaluate(p: &Prepared, assign: &[RegionId]) -> Evaluation {
    let n_regions = p.n_regions();
    let mut item_bytes = vec![0u64; n_regions];
    let mut run_cycles = 0.0;
    for (i, r) in assign.iter().enumerate() {
        item_bytes[r.index()] += p.bytes[i];
        run_cycles += p.cost(i, r.index());
    }
    let mut veneer_cycles = 0.0;
    let mut slots: FxHashMap<(ItemId, RegionId), VeneerUse> = FxHashMap::default();
    for e in &p.edges {
        let a = assign[e.caller.index()];
        let b = assign[e.callee.index()];
        if p.reaches(a.index(), b.index()) {
            continue;
        }
        veneer_cycles += e.count as f64 * p.problem.veneer.cycles;
        let slot = slots.entry((e.callee, a)).or_insert_with(|| VeneerUse {
            callee: e.callee,
            region: a,
            callers: Vec::new(),
            calls: 0,
        });
        slot.callers.push(e.caller);
        slot.calls += e.count;
    }
    let mut veneers: Vec<VeneerUse> = slots.into_values().collect();
    veneers.sort_unstable_by_key(|v| (v.region, v.callee));
    let mut veneer_bytes = vec![0u64; n_regions];
    for v in &veneers {
        veneer_bytes[v.region.index()] += p.veneer_bytes;
    }
    Evaluation {
        run_cycles,
        veneer_cycles,
        item_bytes,
        veneer_bytes,
        veneers,
    }
}

/// Every constraint `assign` breaks, as readable sentences (empty when the plan is valid).
pub(crate) fn violations(p: &Prepared, assign: &[RegionId], eval: &Evaluation) -> Vec<String> {
    let mut out = Vec::new();
    if assign.len() != p.n_items() {
        out.push(format!(
            "{} items assigned, {} expected",
            assign.len(),
            p.n_items()
        ));
        return out;
    }
    for (i, r) in assign.iter().enumerate() {
        let item = &p.problem.items[i];
        if r.index() >= p.n_regions() {
            out.push(format!("{} assigned to unknown region {r:?}", item.name));
            continue;
        }
        let region = &p.problem.regions[r.index()];
        if item.cost[r.index()].is_none() {
            out.push(format!(
                "{} placed in {} where it has no cost",
                item.name, region.name
            ));
        }
        if item.pinned.is_some_and(|pin| pin != *r) {
            out.push(format!(
                "{} is pinned but placed in {}",
                item.name, region.name
            ));
        }
        if item.excluded && item.current != *r {
            out.push(format!(
                "{} is excluded but moved to {}",
                item.name, region.name
            ));
        }
        if item.ram_only.is_some() && !region.kind.is_ram() {
            out.push(format!(
                "{} is ram-only but placed in {}",
                item.name, region.name
            ));
        }
    }
    for (r, region) in p.problem.regions.iter().enumerate() {
        let used = eval.item_bytes[r] + eval.veneer_bytes[r];
        if used > region.budget {
            out.push(format!(
                "{} uses {used} bytes ({} items + {} veneers), budget {}",
                region.name, eval.item_bytes[r], eval.veneer_bytes[r], region.budget
            ));
        }
    }
    out
}
