//! Turning a fractional LP solution into a valid placement, and polishing it.
//!
//! [`Local`] keeps a complete assignment with its exact cost and its exact bytes per region,
//! veneers included, and prices a single move (one item to another region) in time proportional
//! to the item's calls. On that it builds the two steps the ILP needs after its LP relaxation:
//! [`Local::repair`] empties overfull regions by the moves that lose least per byte freed, and
//! [`Local::improve`] applies improving moves that fit until none is left. Both only ever produce
//! assignments whose budgets hold; [`crate::eval`] re-checks the result anyway.

use crate::model::{regions_in, Prepared, RegionId, MAX_REGIONS};

/// A move's effect: cost change and bytes added (negative: freed) per region.
struct Delta {
    cost: f64,
    bytes: [i64; MAX_REGIONS],
}

/// An assignment with its cost and usage kept up to date under single-item moves.
pub(crate) struct Local<'a, 'p> {
    p: &'a Prepared<'p>,
    assign: Vec<usize>,
    /// `callers_in[v * n_regions + a]`: callers of `v` placed in region `a`. A veneer for `v`
    /// lives in `a` exactly when this is non-zero and `a` does not reach `v`'s region.
    callers_in: Vec<u32>,
    /// Item and veneer bytes per region.
    used: Vec<u64>,
    /// Run and veneer cycles of the assignment.
    cost: f64,
}

impl<'a, 'p> Local<'a, 'p> {
    pub fn new(p: &'a Prepared<'p>, assign: &[RegionId]) -> Self {
        let nr = p.n_regions();
        let assign: Vec<usize> = assign.iter().map(|r| r.index()).collect();
        let mut callers_in = vec![0u32; p.n_items() * nr];
        let mut used = vec![0u64; nr];
        let mut cost = 0.0;
        for (i, &r) in assign.iter().enumerate() {
            used[r] += p.bytes[i];
            cost += p.cost(i, r);
        }
        for e in &p.edges {
            let (a, b) = (assign[e.caller.index()], assign[e.callee.index()]);
            callers_in[e.callee.index() * nr + a] += 1;
            if !p.reaches(a, b) {
                cost += e.count as f64 * p.problem.veneer.cycles;
            }
        }
        for (v, &b) in assign.iter().enumerate() {
            for a in 0..nr {
                if callers_in[v * nr + a] > 0 && !p.reaches(a, b) {
                    used[a] += p.veneer_bytes;
                }
            }
        }
        Local {
            p,
            assign,
            callers_in,
            used,
            cost,
        }
    }

    #[cfg(test)]
    pub fn cost(&self) -> f64 {
        self.cost
    }

    pub fn assignment(&self) -> Vec<RegionId> {
        self.assign.iter().map(|&r| RegionId(r as u16)).collect()
    }

    /// What moving item `i` to region `s` changes.
    fn delta(&self, i: usize, s: usize) -> Delta {
        let p = self.p;
        let nr = p.n_regions();
        let vc = p.problem.veneer.cycles;
        let vb = p.veneer_bytes as i64;
        let r = self.assign[i];
        let mut d = Delta {
            cost: p.cost(i, s) - p.cost(i, r),
            bytes: [0; MAX_REGIONS],
        };
        d.bytes[r] -= p.bytes[i] as i64;
        d.bytes[s] += p.bytes[i] as i64;
        for &k in &p.callees[i] {
            let e = &p.edges[k as usize];
            let v = e.callee.index();
            let b = self.assign[v];
            let (before, after) = (!p.reaches(r, b), !p.reaches(s, b));
            d.cost +=
                vc * e.count as f64 * (f64::from(u8::from(after)) - f64::from(u8::from(before)));
            if before && self.callers_in[v * nr + r] == 1 {
                d.bytes[r] -= vb;
            }
            if after && self.callers_in[v * nr + s] == 0 {
                d.bytes[s] += vb;
            }
        }
        for &k in &p.callers[i] {
            let e = &p.edges[k as usize];
            let a = self.assign[e.caller.index()];
            let (before, after) = (!p.reaches(a, r), !p.reaches(a, s));
            d.cost +=
                vc * e.count as f64 * (f64::from(u8::from(after)) - f64::from(u8::from(before)));
        }
        for a in 0..nr {
            if self.callers_in[i * nr + a] > 0 {
                let (before, after) = (!p.reaches(a, r), !p.reaches(a, s));
                d.bytes[a] += vb * (i64::from(after) - i64::from(before));
            }
        }
        d
    }

    /// Whether applying `d` keeps every region that grows within its budget.
    fn fits(&self, d: &Delta) -> bool {
        (0..self.p.n_regions())
            .all(|q| d.bytes[q] <= 0 || self.used[q] + d.bytes[q] as u64 <= self.p.budget(q))
    }

    fn apply(&mut self, i: usize, s: usize, d: &Delta) {
        let p = self.p;
        let nr = p.n_regions();
        let r = self.assign[i];
        for &k in &p.callees[i] {
            let v = p.edges[k as usize].callee.index();
            self.callers_in[v * nr + r] -= 1;
            self.callers_in[v * nr + s] += 1;
        }
        for q in 0..nr {
            self.used[q] = (self.used[q] as i64 + d.bytes[q]) as u64;
        }
        self.cost += d.cost;
        self.assign[i] = s;
    }

    /// Move items of `movable` out of every overfull region, each time taking the move that
    /// costs least per byte it frees there and overfills nothing else. `false` if some region
    /// cannot be brought within its budget that way.
    pub fn repair(&mut self, movable: &[usize]) -> bool {
        let p = self.p;
        while let Some(q) = (0..p.n_regions()).find(|&q| self.used[q] > p.budget(q)) {
            let mut best: Option<(f64, usize, usize, Delta)> = None;
            for &i in movable.iter().filter(|&&i| self.assign[i] == q) {
                for s in regions_in(p.allowed[i]).filter(|&s| s != q) {
                    let d = self.delta(i, s);
                    let freed = -d.bytes[q];
                    let others_fit = (0..p.n_regions()).filter(|&o| o != q).all(|o| {
                        d.bytes[o] <= 0 || self.used[o] + d.bytes[o] as u64 <= p.budget(o)
                    });
                    if freed <= 0 || !others_fit {
                        continue;
                    }
                    let price = d.cost / freed as f64;
                    if best.as_ref().is_none_or(|b| price < b.0) {
                        best = Some((price, i, s, d));
                    }
                }
            }
            let Some((_, i, s, d)) = best else {
                return false;
            };
            self.apply(i, s, &d);
        }
        true
    }

    /// Apply improving moves of `movable` items that fit, best region first, until a pass over
    /// all of them finds none (at most `passes` passes).
    pub fn improve(&mut self, movable: &[usize], passes: usize) {
        let p = self.p;
        // Moves worth less than this are rounding noise, not improvements.
        let eps = 1e-9 * self.cost.abs().max(1.0);
        for _ in 0..passes {
            let mut improved = false;
            for &i in movable {
                let r = self.assign[i];
                let best = regions_in(p.allowed[i])
                    .filter(|&s| s != r)
                    .map(|s| (s, self.delta(i, s)))
                    .filter(|(_, d)| d.cost < -eps && self.fits(d))
                    .min_by(|a, b| a.1.cost.total_cmp(&b.1.cost));
                if let Some((s, d)) = best {
                    self.apply(i, s, &d);
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::evaluate;
    use crate::model::VeneerModel;
    use crate::model::{Edge, Item, ItemId, ItemKind, Padding, Problem, Region, RegionKind};

    fn problem() -> Problem {
        let region = |name: &str, kind, budget| Region {
            name: name.into(),
            kind,
            budget,
        };
        let item = |i: usize, size: u64, heat: f64| Item {
            name: format!("f{i}"),
            size,
            align: 4,
            kind: ItemKind::Code,
            current: RegionId(2),
            cost: vec![Some(heat), Some(2.0 * heat), Some(5.0 * heat)],
            pinned: None,
            ram_only: None,
            excluded: false,
        };
        let edge = |u: u32, v: u32, count| Edge {
            caller: ItemId(u),
            callee: ItemId(v),
            count,
        };
        Problem {
            regions: vec![
                region("ITCM", RegionKind::Itcm, 64),
                region("OCRAM", RegionKind::Ocram, 64),
                region("FLASH", RegionKind::Xip, 4096),
            ],
            items: vec![
                item(0, 32, 100.0),
                item(1, 16, 80.0),
                item(2, 24, 10.0),
                item(3, 40, 50.0),
            ],
            edges: vec![edge(0, 1, 7), edge(1, 2, 3), edge(3, 2, 1), edge(2, 0, 0)],
            veneer: VeneerModel::same_region_only(3, 6.0),
            padding: Padding::AlignUp,
        }
    }

    /// Every move's priced effect matches a full re-evaluation, for every item and region.
    #[test]
    fn deltas_match_full_evaluation() {
        let problem = problem();
        let p = Prepared::new(&problem).unwrap();
        let start = [0u16, 2, 1, 2].map(RegionId);
        let mut local = Local::new(&p, &start);
        for step in 0..12 {
            let i = step % 4;
            let s = (step * 7 + 1) % 3;
            let d = local.delta(i, s);
            local.apply(i, s, &d);
            let e = evaluate(&p, &local.assignment());
            assert!((local.cost() - e.total()).abs() < 1e-9, "step {step}");
            for q in 0..3 {
                assert_eq!(
                    local.used[q],
                    e.item_bytes[q] + e.veneer_bytes[q],
                    "step {step}"
                );
            }
        }
    }

    /// Repair empties an overfull region and improvement never breaks a budget or gets worse.
    #[test]
    fn repair_then_improve_stays_within_budgets() {
        let problem = problem();
        let p = Prepared::new(&problem).unwrap();
        let all_itcm = [0u16; 4].map(RegionId);
        let mut local = Local::new(&p, &all_itcm);
        assert!(local.used[0] > p.budget(0));
        assert!(local.repair(&[0, 1, 2, 3]));
        let repaired = local.cost();
        local.improve(&[0, 1, 2, 3], 10);
        assert!(local.cost() <= repaired);
        let e = evaluate(&p, &local.assignment());
        for q in 0..3 {
            assert!(e.item_bytes[q] + e.veneer_bytes[q] <= p.budget(q));
        }
        assert!((local.cost() - e.total()).abs() < 1e-9);
    }
}
