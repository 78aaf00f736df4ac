//! Exact branch and bound for tiny problems: the reference the tests hold the ILP (with its
//! presolve) and the baselines against. It shares nothing with the ILP but [`Prepared`], so a
//! modelling mistake in one shows up as a disagreement.

use rustc_hash::FxHashMap;

use crate::model::{regions_in, Prepared, RegionId};

/// The most items with a choice (more than one allowed region) the exact solver accepts; 3^12
/// leaves is about half a million, fast enough for tests.
pub const MAX_EXACT_FREE_ITEMS: usize = 12;

struct Search<'a, 'p> {
    p: &'a Prepared<'p>,
    order: Vec<usize>,
    assign: Vec<Option<usize>>,
    used: Vec<u64>,
    /// Callers in region `a` that reach callee `v` only through a veneer: (v, a) → count.
    slots: FxHashMap<(usize, usize), u32>,
    cost: f64,
    /// Sum of the cheapest allowed cost of items not yet assigned (the bound).
    rest_min: Vec<f64>,
    best: Option<(f64, Vec<usize>)>,
}

/// The optimal assignment, or `None` when no assignment fits. The caller checks the free-item
/// count first.
pub(crate) fn solve(p: &Prepared) -> Option<Vec<RegionId>> {
    let n = p.n_items();
    // Fixed items first so budgets prune early, then the rest.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (p.allowed[i].count_ones(), i));
    let min_cost = |i: usize| {
        regions_in(p.allowed[i])
            .map(|r| p.cost(i, r))
            .fold(f64::INFINITY, f64::min)
    };
    let mut rest_min = vec![0.0; n + 1];
    for k in (0..n).rev() {
        rest_min[k] = rest_min[k + 1] + min_cost(order[k]);
    }
    let mut s = Search {
        p,
        order,
        assign: vec![None; n],
        used: vec![0; p.n_regions()],
        slots: FxHashMap::default(),
        cost: 0.0,
        rest_min,
        best: None,
    };
    s.dfs(0);
    s.best
        .map(|(_, a)| a.into_iter().map(|r| RegionId(r as u16)).collect())
}

impl Search<'_, '_> {
    fn dfs(&mut self, depth: usize) {
        if let Some((best, _)) = &self.best {
            // Prune only when strictly worse so ties keep the first (deterministic) optimum.
            if self.cost + self.rest_min[depth] > *best * (1.0 + 1e-12) {
                return;
            }
        }
        if depth == self.order.len() {
            let assign = self.assign.iter().map(|r| r.unwrap_or_default()).collect();
            if self.best.as_ref().is_none_or(|(b, _)| self.cost < *b) {
                self.best = Some((self.cost, assign));
            }
            return;
        }
        let i = self.order[depth];
        for r in regions_in(self.p.allowed[i]) {
            let undo = self.assign_item(i, r);
            if (0..self.p.n_regions()).all(|a| self.used[a] <= self.p.budget(a)) {
                self.dfs(depth + 1);
            }
            self.unassign(i, r, undo);
        }
    }

    /// Assign `i` to `r`, returning the veneer slots it touched and the cost it added.
    fn assign_item(&mut self, i: usize, r: usize) -> (Vec<(usize, usize)>, f64) {
        let p = self.p;
        let mut touched = Vec::new();
        let mut added = p.cost(i, r);
        self.used[r] += p.bytes[i];
        self.assign[i] = Some(r);
        let mut crossing = |caller_region: usize, callee: usize, count: u64| {
            added += count as f64 * p.problem.veneer.cycles;
            touched.push((callee, caller_region));
            let slot = self.slots.entry((callee, caller_region)).or_default();
            *slot += 1;
            if *slot == 1 {
                self.used[caller_region] += p.veneer_bytes;
            }
        };
        for &k in &p.callees[i] {
            let e = &p.edges[k as usize];
            if let Some(b) = self.assign[e.callee.index()] {
                if !p.reaches(r, b) {
                    crossing(r, e.callee.index(), e.count);
                }
            }
        }
        for &k in &p.callers[i] {
            let e = &p.edges[k as usize];
            if let Some(a) = self.assign[e.caller.index()] {
                if !p.reaches(a, r) {
                    crossing(a, i, e.count);
                }
            }
        }
        self.cost += added;
        (touched, added)
    }

    fn unassign(&mut self, i: usize, r: usize, (touched, added): (Vec<(usize, usize)>, f64)) {
        for key in touched {
            let slot = self.slots.get_mut(&key).map(|s| {
                *s -= 1;
                *s
            });
            if slot == Some(0) {
                self.slots.remove(&key);
                self.used[key.1] -= self.p.veneer_bytes;
            }
        }
        self.used[r] -= self.p.bytes[i];
        self.assign[i] = None;
        self.cost -= added;
    }
}
