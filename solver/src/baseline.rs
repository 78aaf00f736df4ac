//! The heuristic strategies: what linkers and vendor tools do today, used as baselines in reports,
//! plus the greedy that also seeds the ILP.
//!
//! All of them share one [`Packer`] that places items one at a time in three phases — items with
//! a single allowed region (pinned, excluded), then ram-only items, then the rest ("place all
//! explicit sections, then fill") — and keeps every budget true at every step, veneers included.
//! Veneer bytes are reserved in the caller's region as soon as a caller is placed and its callee
//! might land out of range (as armlink's `--any_contingency` keeps space back), and released when
//! the callee lands within reach. That way placing an item only ever adds bytes to its own
//! region, so a fill can never be surprised by a veneer appearing in a region it already closed.

use std::cmp::Reverse;

use rustc_hash::FxHashSet;

use crate::error::SolveError;
use crate::model::{regions_in, Prepared, RegionId};
use crate::Strategy;

/// Incremental placement with veneer reservations.
pub(crate) struct Packer<'a, 'p> {
    p: &'a Prepared<'p>,
    assign: Vec<Option<u16>>,
    used: Vec<u64>,
    /// Veneer slots (callee, region) whose bytes are counted in `used`.
    slots: FxHashSet<(u32, u16)>,
}

impl<'a, 'p> Packer<'a, 'p> {
    pub fn new(p: &'a Prepared<'p>) -> Self {
        Packer {
            p,
            assign: vec![None; p.n_items()],
            used: vec![0; p.n_regions()],
            slots: FxHashSet::default(),
        }
    }

    fn needs_slot_in(&self, r: usize, callee: usize) -> bool {
        match self.assign[callee] {
            None => true,
            Some(b) => !self.p.reaches(r, usize::from(b)),
        }
    }

    /// Bytes region `r` would hold after placing item `i` there.
    fn used_after(&self, i: usize, r: usize) -> u64 {
        let p = self.p;
        let mut add = p.bytes[i];
        for &k in &p.callees[i] {
            let c = p.edges[k as usize].callee.index();
            if !self.slots.contains(&(c as u32, r as u16)) && self.needs_slot_in(r, c) {
                add += p.veneer_bytes;
            }
        }
        let release = if self.slots.contains(&(i as u32, r as u16)) {
            p.veneer_bytes
        } else {
            0
        };
        (self.used[r] + add).saturating_sub(release)
    }

    pub fn fits(&self, i: usize, r: usize) -> bool {
        self.used_after(i, r) <= self.p.budget(r)
    }

    pub fn free_space(&self, r: usize) -> u64 {
        self.p.budget(r).saturating_sub(self.used[r])
    }

    pub fn place(&mut self, i: usize, r: usize) {
        let p = self.p;
        self.used[r] = self.used_after(i, r);
        self.slots.remove(&(i as u32, r as u16));
        for &k in &p.callees[i] {
            let c = p.edges[k as usize].callee.index();
            if self.needs_slot_in(r, c) {
                self.slots.insert((c as u32, r as u16));
            }
        }
        self.assign[i] = Some(r as u16);
        for a in 0..p.n_regions() {
            if a != r && p.reaches(a, r) && self.slots.remove(&(i as u32, a as u16)) {
                self.used[a] -= p.veneer_bytes;
            }
        }
    }

    pub fn overflowing_region(&self) -> Option<usize> {
        (0..self.p.n_regions()).find(|&r| self.used[r] > self.p.budget(r))
    }

    pub fn finish(self) -> Vec<RegionId> {
        self.assign
            .into_iter()
            .map(|r| RegionId(r.unwrap_or_default()))
            .collect()
    }
}

/// Which items each phase of a fill handles, in the order it handles them.
pub(crate) struct Phases {
    pub fixed: Vec<usize>,
    pub ram_only: Vec<usize>,
    pub rest: Vec<usize>,
}

pub(crate) fn phases(p: &Prepared) -> Phases {
    let mut out = Phases {
        fixed: Vec::new(),
        ram_only: Vec::new(),
        rest: Vec::new(),
    };
    for i in 0..p.n_items() {
        if p.allowed[i].count_ones() == 1 {
            out.fixed.push(i);
        } else if p.problem.items[i].ram_only.is_some() {
            out.ram_only.push(i);
        } else {
            out.rest.push(i);
        }
    }
    out
}

/// Place the fixed items (no choice) and check that their veneer reservations fit.
pub(crate) fn place_fixed(
    packer: &mut Packer,
    p: &Prepared,
    fixed: &[usize],
    strategy: Strategy,
) -> Result<(), SolveError> {
    for &i in fixed {
        packer.place(i, p.allowed[i].trailing_zeros() as usize);
    }
    match packer.overflowing_region() {
        None => Ok(()),
        Some(r) => {
            let i = fixed
                .iter()
                .copied()
                .find(|&i| p.allowed[i] == 1 << r)
                .unwrap_or_default();
            Err(SolveError::StrategyFailed {
                strategy,
                item: crate::model::ItemId(i as u32),
                item_name: p.problem.items[i].name.clone(),
                reason: format!(
                    "the items fixed in {} leave no room for veneers to their callees",
                    p.problem.regions[r].name
                ),
            })
        }
    }
}

/// How far a move from the current region would speed an item up, per byte: the ranking TI's
/// Smart Placement uses (hottest per byte first).
pub(crate) fn heat_density(p: &Prepared, i: usize) -> f64 {
    let current = p.problem.items[i].current.index();
    let base = if p.allowed[i] & (1 << current) != 0 {
        p.cost(i, current)
    } else {
        regions_in(p.allowed[i])
            .map(|r| p.cost(i, r))
            .fold(0.0, f64::max)
    };
    let best = regions_in(p.allowed[i])
        .map(|r| p.cost(i, r))
        .fold(f64::INFINITY, f64::min);
    (base - best) / p.bytes[i].max(1) as f64
}

/// Run one of the heuristic strategies. `Strategy::Ilp` is not handled here.
pub(crate) fn run(p: &Prepared, strategy: Strategy) -> Result<Vec<RegionId>, SolveError> {
    let mut packer = Packer::new(p);
    let mut ph = phases(p);
    place_fixed(&mut packer, p, &ph.fixed, strategy)?;
    match strategy {
        Strategy::AnyBestFit => {
            ph.ram_only
                .sort_by_key(|&i| (Reverse(p.problem.items[i].size), i));
            ph.rest
                .sort_by_key(|&i| (Reverse(p.problem.items[i].size), i));
        }
        Strategy::Greedy | Strategy::Ilp => {
            let by_density = |list: &mut Vec<usize>| {
                list.sort_by(|&a, &b| {
                    heat_density(p, b)
                        .total_cmp(&heat_density(p, a))
                        .then(a.cmp(&b))
                })
            };
            by_density(&mut ph.ram_only);
            by_density(&mut ph.rest);
        }
        Strategy::Xip | Strategy::GnuFill => {}
    }
    for &i in ph.ram_only.iter().chain(&ph.rest) {
        let r = choose(&packer, p, strategy, i).ok_or_else(|| stuck(p, strategy, i))?;
        packer.place(i, r);
    }
    Ok(packer.finish())
}

/// Allowed regions of item `i` in "fastest first" order (region kind, then index).
fn by_speed(p: &Prepared, i: usize) -> Vec<usize> {
    let mut regions: Vec<usize> = regions_in(p.allowed[i]).collect();
    regions.sort_by_key(|&r| (p.problem.regions[r].kind.speed_rank(), r));
    regions
}

fn choose(packer: &Packer, p: &Prepared, strategy: Strategy, i: usize) -> Option<usize> {
    let fits = |r: &usize| packer.fits(i, *r);
    let current = p.problem.items[i].current.index();
    match strategy {
        Strategy::Xip => {
            if p.allowed[i] & (1 << current) != 0 {
                // Nothing moves: the current region or nothing.
                Some(current).filter(fits)
            } else {
                // Forced out of its region (ram-only): first fit, fastest first.
                by_speed(p, i).into_iter().find(fits)
            }
        }
        Strategy::GnuFill => by_speed(p, i).into_iter().find(fits),
        Strategy::AnyBestFit => {
            let most_free = |ram: bool| {
                regions_in(p.allowed[i])
                    .filter(|&r| p.problem.regions[r].kind.is_ram() == ram)
                    .filter(fits)
                    .max_by_key(|&r| (packer.free_space(r), Reverse(r)))
            };
            most_free(true).or_else(|| most_free(false))
        }
        Strategy::Greedy | Strategy::Ilp => {
            let mut regions = by_speed(p, i);
            regions.sort_by(|&a, &b| p.cost(i, a).total_cmp(&p.cost(i, b)));
            regions.into_iter().find(fits)
        }
    }
}

fn stuck(p: &Prepared, strategy: Strategy, i: usize) -> SolveError {
    let item = &p.problem.items[i];
    let reason = if strategy == Strategy::Xip && item.ram_only.is_none() {
        format!(
            "it does not fit in its current region {}",
            p.problem.regions[item.current.index()].name
        )
    } else {
        let names: Vec<&str> = regions_in(p.allowed[i])
            .map(|r| p.problem.regions[r].name.as_str())
            .collect();
        format!(
            "no region it may go to ({}) has {} bytes left for it and its veneers",
            names.join(", "),
            p.bytes[i]
        )
    };
    SolveError::StrategyFailed {
        strategy,
        item: crate::model::ItemId(i as u32),
        item_name: item.name.clone(),
        reason,
    }
}
