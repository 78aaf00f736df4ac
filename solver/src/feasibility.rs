//! Ram-only closure and the up-front infeasibility checks.
//!
//! The checks run before any strategy so that every strategy reports the same, specific reason
//! (which item, which regions, by how many bytes, and the reference chain that makes an item
//! ram-only) instead of a solver's bare "infeasible".

use std::collections::VecDeque;

use crate::error::{Culprit, Infeasibility, InputError};
use crate::model::{regions_in, ItemId, Mask, Prepared, Problem, RamOnly, RegionId};

/// Mark everything reachable from the ram-only items through `references` (caller → callee,
/// or any relocation from → to) as ram-only, recording for each newly marked item the item it
/// was reached from so that [`ram_only_chain`] can explain it. Returns how many items were
/// newly marked.
pub fn propagate_ram_only(
    problem: &mut Problem,
    references: &[(ItemId, ItemId)],
) -> Result<usize, InputError> {
    let n = problem.items.len();
    let mut out: Vec<Vec<ItemId>> = vec![Vec::new(); n];
    for (k, &(from, to)) in references.iter().enumerate() {
        for end in [from, to] {
            if end.index() >= n {
                return Err(InputError::UnknownItem {
                    item: end,
                    context: format!("reference {k}"),
                });
            }
        }
        out[from.index()].push(to);
    }
    let mut queue: VecDeque<ItemId> = (0..n)
        .filter(|&i| problem.items[i].ram_only.is_some())
        .map(|i| ItemId(i as u32))
        .collect();
    let mut marked = 0;
    while let Some(from) = queue.pop_front() {
        for &to in &out[from.index()] {
            let item = &mut problem.items[to.index()];
            if item.ram_only.is_none() {
                item.ram_only = Some(RamOnly::ReachedFrom { item: from });
                marked += 1;
                queue.push_back(to);
            }
        }
    }
    Ok(marked)
}

/// The chain of references that makes `item` ram-only, root first and `item` last; empty if it
/// is not ram-only. Stops at a repeated item, so a malformed cycle of `ReachedFrom` links cannot
/// loop forever.
pub fn ram_only_chain(problem: &Problem, item: ItemId) -> Vec<ItemId> {
    let mut chain = Vec::new();
    let mut at = item;
    let mut seen = vec![false; problem.items.len()];
    while let Some(reason) = problem
        .items
        .get(at.index())
        .and_then(|i| i.ram_only.as_ref())
    {
        if std::mem::replace(&mut seen[at.index()], true) {
            break;
        }
        chain.push(at);
        match reason {
            RamOnly::Root { .. } => break,
            RamOnly::ReachedFrom { item } => at = *item,
        }
    }
    chain.reverse();
    chain
}

pub(crate) fn culprit(p: &Prepared, i: usize) -> Culprit {
    let chain = ram_only_chain(p.problem, ItemId(i as u32));
    Culprit {
        item: ItemId(i as u32),
        name: p.problem.items[i].name.clone(),
        bytes: p.bytes[i],
        ram_only_chain_names: chain
            .iter()
            .map(|c| p.problem.items[c.index()].name.clone())
            .collect(),
        ram_only_chain: chain,
    }
}

/// Check the conditions that make any placement impossible: an item with no allowed region, an
/// item larger than every allowed region, and for every set of regions S (all sets when there
/// are at most 10 regions, otherwise single regions and all RAM), the items that can only go to
/// S plus the veneers between items fixed in S exceeding S's budgets.
pub(crate) fn check(p: &Prepared) -> Result<(), Infeasibility> {
    let problem = p.problem;
    for (i, &mask) in p.allowed.iter().enumerate() {
        let item = &problem.items[i];
        if mask == 0 {
            let mut reasons = Vec::new();
            let costed: Vec<&str> = item
                .cost
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_some())
                .map(|(r, _)| problem.regions[r].name.as_str())
                .collect();
            reasons.push(format!("it has a cost only in {}", costed.join(", ")));
            if let Some(pin) = item.pinned {
                reasons.push(format!(
                    "it is pinned to {}",
                    problem.regions[pin.index()].name
                ));
            }
            if item.excluded {
                reasons.push(format!(
                    "it is excluded, so it stays in {}",
                    problem.regions[item.current.index()].name
                ));
            }
            if item.ram_only.is_some() {
                reasons.push("it is ram-only (must not be in XIP flash)".to_string());
            }
            return Err(Infeasibility::NoRegion {
                culprit: culprit(p, i),
                reasons,
            });
        }
        let (best, budget) = regions_in(mask)
            .map(|r| (r, p.budget(r)))
            .max_by_key(|&(_, b)| b)
            .unwrap_or((0, 0));
        if p.bytes[i] > budget {
            return Err(Infeasibility::ItemTooLarge {
                culprit: culprit(p, i),
                region: RegionId(best as u16),
                region_name: problem.regions[best].name.clone(),
                budget,
            });
        }
    }
    // Items only matter through their allowed set, and fixed-to-fixed veneers through their
    // region: summarise both once so each of up to 1023 region sets costs O(distinct masks).
    let mut by_mask: Vec<(Mask, u64)> = Vec::new();
    for (i, &mask) in p.allowed.iter().enumerate() {
        match by_mask.iter_mut().find(|(m, _)| *m == mask) {
            Some((_, bytes)) => *bytes += p.bytes[i],
            None => by_mask.push((mask, p.bytes[i])),
        }
    }
    let fixed_slots = fixed_veneer_slots(p);
    for set in region_sets(p) {
        check_set(p, set, &by_mask, &fixed_slots)?;
    }
    Ok(())
}

/// Veneer slots (callee, caller region) between items that both have a single allowed region.
fn fixed_veneer_slots(p: &Prepared) -> Vec<(usize, usize)> {
    let fixed = |i: usize| p.allowed[i].count_ones() == 1;
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for e in &p.edges {
        let (u, v) = (e.caller.index(), e.callee.index());
        if fixed(u) && fixed(v) {
            let (a, b) = (p.allowed[u].trailing_zeros(), p.allowed[v].trailing_zeros());
            if !p.reaches(a as usize, b as usize) {
                slots.push((v, a as usize));
            }
        }
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

fn region_sets(p: &Prepared) -> Vec<Mask> {
    let n = p.n_regions();
    if n <= 10 {
        return (1..(1u32 << n)).collect();
    }
    let ram: Mask = (0..n)
        .filter(|&r| p.problem.regions[r].kind.is_ram())
        .fold(0, |m, r| m | (1 << r));
    let mut sets: Vec<Mask> = (0..n).map(|r| 1 << r).collect();
    sets.push(ram);
    sets
}

fn check_set(
    p: &Prepared,
    set: Mask,
    by_mask: &[(Mask, u64)],
    fixed_slots: &[(usize, usize)],
) -> Result<(), Infeasibility> {
    let inside = |mask: Mask| mask & !set == 0;
    let item_bytes: u64 = by_mask
        .iter()
        .filter(|(m, _)| inside(*m))
        .map(|(_, b)| b)
        .sum();
    if !by_mask.iter().any(|(m, _)| inside(*m)) {
        return Ok(());
    }
    let veneer_bytes = fixed_slots
        .iter()
        .filter(|&&(_, a)| set & (1 << a) != 0)
        .count() as u64
        * p.veneer_bytes;
    let needed = item_bytes + veneer_bytes;
    let budget: u64 = regions_in(set).map(|r| p.budget(r)).sum();
    if needed <= budget {
        return Ok(());
    }
    let mut contributors: Vec<usize> = (0..p.n_items()).filter(|&i| inside(p.allowed[i])).collect();
    contributors.sort_unstable_by_key(|&i| std::cmp::Reverse(p.bytes[i]));
    let item_count = contributors.len();
    let regions: Vec<RegionId> = regions_in(set).map(|r| RegionId(r as u16)).collect();
    Err(Infeasibility::Overflow {
        region_names: regions
            .iter()
            .map(|r| p.problem.regions[r.index()].name.clone())
            .collect(),
        regions,
        needed,
        budget,
        over_by: needed - budget,
        veneer_bytes,
        items: contributors
            .into_iter()
            .take(10)
            .map(|i| culprit(p, i))
            .collect(),
        item_count,
    })
}
