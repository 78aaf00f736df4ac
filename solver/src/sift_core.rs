//! The core sifting starts from: for each free item, the regions it could plausibly take.
//!
//! Why: the LP relaxation is a knapsack-like assignment. With a price per byte `λ_r` on each
//! capacitated region, an item's best region is the one of least `cost + λ_r × bytes`; items far
//! from a tie (very hot per byte: fast memory; cold: flash) keep one column, and only items near
//! a density threshold keep all of theirs. The prices come from a few sweeps of bisection, each
//! region's price set so that the items preferring it just fit. Calls between free items are
//! ignored here; a wrong guess only costs sifting a pricing round (see [`crate::sifting`]), never
//! optimality or the bound.

use crate::model::MAX_REGIONS;

/// A free item as the core needs it: its bytes and its (region, column, cost) choices.
pub(crate) struct Choice<'a> {
    pub bytes: f64,
    pub columns: &'a [(usize, usize)],
}

/// Relative margin, in units of `λ × bytes`, within which a region counts as a tie: a region is
/// kept when its priced cost is within `MARGIN × max λ × bytes` of the item's best. Small on
/// purpose: on the benchmark margins from 0.005 to 0.1 all converged in 3–4 rounds to the same
/// optimum, the smaller ones with smaller restricted LPs (the estimated prices ignore veneer
/// bytes and calls between free items, so the first round's duals correct them anyway).
const MARGIN: f64 = 0.01;

/// Sweeps over the regions, and bisection steps per price.
const SWEEPS: usize = 4;
const STEPS: usize = 40;

/// Per-region prices that make the items preferring each capacitated region fit its `room`
/// (`room[r]` is `None` for regions without a capacity row).
pub(crate) fn prices(items: &[Choice], cost: &[f64], room: &[Option<f64>]) -> [f64; MAX_REGIONS] {
    let mut lambda = [0.0; MAX_REGIONS];
    let high = items
        .iter()
        .map(|it| {
            let (lo, hi) = it
                .columns
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(lo, hi), c| {
                    (lo.min(cost[c.1]), hi.max(cost[c.1]))
                });
            (hi - lo) / it.bytes.max(1.0)
        })
        .fold(0.0, f64::max);
    let demand = |lambda: &[f64; MAX_REGIONS], r: usize| -> f64 {
        items
            .iter()
            .filter(|it| best(it, cost, lambda) == Some(r))
            .map(|it| it.bytes)
            .sum()
    };
    for _ in 0..SWEEPS {
        for (r, room) in room.iter().enumerate() {
            let Some(room) = *room else { continue };
            lambda[r] = 0.0;
            if demand(&lambda, r) <= room {
                continue;
            }
            let (mut lo, mut hi) = (0.0, high * 2.0 + 1.0);
            for _ in 0..STEPS {
                lambda[r] = 0.5 * (lo + hi);
                if demand(&lambda, r) > room {
                    lo = lambda[r];
                } else {
                    hi = lambda[r];
                }
            }
            lambda[r] = hi;
        }
    }
    lambda
}

fn priced(it: &Choice, cost: &[f64], lambda: &[f64; MAX_REGIONS], (r, c): (usize, usize)) -> f64 {
    cost[c] + lambda[r] * it.bytes
}

/// The region of least priced cost.
fn best(it: &Choice, cost: &[f64], lambda: &[f64; MAX_REGIONS]) -> Option<usize> {
    it.columns
        .iter()
        .min_by(|&&a, &&b| priced(it, cost, lambda, a).total_cmp(&priced(it, cost, lambda, b)))
        .map(|&(r, _)| r)
}

/// Mark the core columns: for each item, every column within the margin of its best priced one.
pub(crate) fn core(items: &[Choice], cost: &[f64], room: &[Option<f64>]) -> Vec<bool> {
    let lambda = prices(items, cost, room);
    let top = lambda.iter().copied().fold(0.0, f64::max);
    let mut keep = vec![false; cost.len()];
    for it in items {
        let least = it
            .columns
            .iter()
            .map(|&c| priced(it, cost, &lambda, c))
            .fold(f64::INFINITY, f64::min);
        let margin = MARGIN * top * it.bytes;
        for &c in it.columns {
            if priced(it, cost, &lambda, c) <= least + margin {
                keep[c.1] = true;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three items, one fast region of room 100: the densest gets it alone, the price lies
    /// between the two densities that compete, and only the item near the threshold keeps both
    /// columns.
    #[test]
    fn prices_split_at_the_density_threshold() {
        // Columns: item k has (region 0, col 2k) and (region 1, col 2k+1); region 1 is free.
        // Gains per byte of region 0: 10, 1.1, 0.01.
        let cost = vec![0.0, 1000.0, 0.0, 110.0, 0.0, 1.0];
        let cols: Vec<[(usize, usize); 2]> = (0..3).map(|k| [(0, 2 * k), (1, 2 * k + 1)]).collect();
        let items: Vec<Choice> = cols
            .iter()
            .map(|c| Choice {
                bytes: 100.0,
                columns: c,
            })
            .collect();
        let room = [Some(100.0), None];
        let lambda = prices(&items, &cost, &room);
        assert!(lambda[0] > 1.1 - 1e-6 && lambda[0] < 10.0, "{}", lambda[0]);
        let keep = core(&items, &cost, &room);
        assert!(keep[0] && !keep[1], "hot item: ITCM only {keep:?}");
        assert!(!keep[4] && keep[5], "cold item: flash only {keep:?}");
        assert!(keep[2] && keep[3], "threshold item keeps both {keep:?}");
    }
}
