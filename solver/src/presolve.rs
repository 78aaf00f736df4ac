//! Presolve for the ILP: decide most items before the solver sees them.
//!
//! A region is *uncapacitated* when everything that may go there, plus a veneer for every callee
//! that could need one there, fits its budget (XIP flash, in practice). An item whose cheapest
//! uncapacitated allowed region is `h` ("home") can be moved to `h` from any feasible placement
//! without breaking a budget, provided only same-region calls are direct (the i.MX RT case) and
//! the item is at least as large as a veneer (or has no callers): the region it leaves loses its
//! bytes and gains at most one veneer, other capacitated regions never gain a veneer, and `h`
//! cannot overflow. The move costs at most
//! `β = cost(h) − min_r cost(r) + veneer_cycles × Σ incident call counts`.
//! So fixing a set F of such items at home loses at most `Σ_F β` against the true optimum:
//! * items with `β = 0` (never run, never called at run time) are fixed with no loss at all;
//! * lukewarm items are fixed in increasing `β` while `Σ β` stays within a share of the gap the
//!   caller allowed, measured against a lower bound on the optimum; the plan's reported gap
//!   includes this loss bound, so it stays an honest bound.
//!
//! Merging chains of single-caller functions was considered and not done: it forces callee and
//! caller into one region, which loses optimality whenever a big, rarely called callee should stay
//! in flash, and the bounded fixing above already removes most such callees.

use crate::model::{regions_in, Mask, Prepared};

/// What the presolve decided.
pub(crate) struct Presolved {
    /// The region of each item decided before the solve.
    pub fixed: Vec<Option<usize>>,
    /// Regions that need a capacity row.
    pub capacitated: Mask,
    pub fixed_by_constraints: usize,
    pub fixed_cold: usize,
    pub fixed_bounded: usize,
    /// Upper bound on the cycles the bounded fixing may have cost.
    pub loss_bound: f64,
}

/// Presolve `p`, allowing a loss of at most `loss_share` × (a lower bound on the optimum).
pub(crate) fn presolve(p: &Prepared, loss_share: f64) -> Presolved {
    let n = p.n_items();
    let mut fixed: Vec<Option<usize>> = (0..n)
        .map(|i| (p.allowed[i].count_ones() == 1).then(|| p.allowed[i].trailing_zeros() as usize))
        .collect();
    let fixed_by_constraints = fixed.iter().filter(|f| f.is_some()).count();
    let capacitated = capacitated_regions(p);
    let mut out = Presolved {
        fixed: Vec::new(),
        capacitated,
        fixed_by_constraints,
        fixed_cold: 0,
        fixed_bounded: 0,
        loss_bound: 0.0,
    };
    if !p.reach_is_identity() {
        out.fixed = fixed;
        return out;
    }
    let vc = p.problem.veneer.cycles;
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    let mut lower_bound = 0.0;
    for (i, fixed_at) in fixed.iter().enumerate() {
        let min = regions_in(p.allowed[i])
            .map(|r| p.cost(i, r))
            .fold(f64::INFINITY, f64::min);
        lower_bound += min;
        if fixed_at.is_some() {
            continue;
        }
        let homes = p.allowed[i] & !capacitated;
        if homes == 0 || (!p.callers[i].is_empty() && p.bytes[i] < p.veneer_bytes) {
            continue;
        }
        let current = p.problem.items[i].current.index();
        let home = regions_in(homes)
            .min_by(|&a, &b| {
                p.cost(i, a)
                    .total_cmp(&p.cost(i, b))
                    .then((a != current).cmp(&(b != current)))
            })
            .unwrap_or(current);
        let calls: u64 = p.callers[i]
            .iter()
            .chain(&p.callees[i])
            .map(|&k| p.edges[k as usize].count)
            .sum();
        let beta = p.cost(i, home) - min + vc * calls as f64;
        candidates.push((beta, i, home));
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let allowance = loss_share * lower_bound;
    for (beta, i, home) in candidates {
        if beta == 0.0 {
            out.fixed_cold += 1;
        } else if out.loss_bound + beta <= allowance {
            out.fixed_bounded += 1;
            out.loss_bound += beta;
        } else {
            break;
        }
        fixed[i] = Some(home);
    }
    out.fixed = fixed;
    out
}

/// Regions whose budget could be exceeded: everything allowed there plus a veneer for every
/// callee with a caller allowed there does not fit.
fn capacitated_regions(p: &Prepared) -> Mask {
    let mut mask = 0;
    for r in 0..p.n_regions() {
        let items: u64 = (0..p.n_items())
            .filter(|&i| p.allowed[i] & (1 << r) != 0)
            .map(|i| p.bytes[i])
            .sum();
        let mut callees: Vec<u32> = p
            .edges
            .iter()
            .filter(|e| p.allowed[e.caller.index()] & (1 << r) != 0)
            .map(|e| e.callee.0)
            .collect();
        callees.sort_unstable();
        callees.dedup();
        if items + callees.len() as u64 * p.veneer_bytes > p.budget(r) {
            mask |= 1 << r;
        }
    }
    mask
}
