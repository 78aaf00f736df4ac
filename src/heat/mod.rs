//! The call-weighted heat map: a profile's samples and cycles attributed to input sections, and
//! the calls between sections with what each would cost through a veneer.

pub mod plots;
mod render;
mod table;

use serde::Serialize;

pub use render::to_text;
pub use table::{PlacedSection, SectionTable};

use crate::profile::Profile;

/// How hot one input section is.
#[derive(Clone, Debug, Serialize)]
pub struct SectionHeat {
    pub section: PlacedSection,
    pub samples: u64,
    /// Share of all attributed samples (or of all exact cycles), 0..=1.
    pub share: f64,
    /// Cycles spent in it: exact on the virtual board, else samples × cycles per sample.
    pub cycles: f64,
    /// Cycles per byte: what moving it to faster memory is worth per byte of budget.
    pub density: f64,
    /// Calls into it observed in the profile.
    pub calls: u64,
    /// Inclusive cost (it and everything it called), where the profile has call stacks: the
    /// samples with this section anywhere on their stack, and those × cycles per sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusive_samples: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusive_cycles: Option<f64>,
}

/// Calls from one section into another.
#[derive(Clone, Debug, Serialize)]
pub struct HeatEdge {
    pub from: usize,
    pub to: usize,
    pub calls: u64,
    /// Extra cycles these calls would cost through a long-branch veneer, should the two sections
    /// end up in different regions.
    pub veneer_cycles: u64,
}

/// The heat map of one profile over one image.
#[derive(Clone, Debug, Serialize)]
pub struct HeatMap {
    /// Sections with any heat, hottest first; indices in `edges` refer to this order.
    pub sections: Vec<SectionHeat>,
    pub edges: Vec<HeatEdge>,
    pub total_samples: u64,
    /// Samples at addresses outside every known section (counted, not dropped silently).
    pub unattributed_samples: u64,
    /// Exact cycles of functions outside every known section.
    pub unattributed_cycles: f64,
    /// Cycles one sample stands for, when the profile says.
    pub cycles_per_sample: Option<f64>,
    /// Whether cycles are exact (virtual-board per-function counts).
    pub exact: bool,
    /// Where the section table came from.
    pub source: String,
}

/// Attributes a profile to the sections of `table`. `veneer_cycles` is the board's cost of a call
/// through a long-branch veneer.
pub fn build(profile: &Profile, table: &SectionTable, veneer_cycles: u32) -> HeatMap {
    let n = table.sections.len();
    let mut samples = vec![0u64; n];
    let mut unattributed = 0u64;
    // Both the histogram and the table are sorted by address: a merge join.
    let mut cursor = 0usize;
    for entry in &profile.pc_histogram {
        let pc = u64::from(entry.pc);
        while cursor < n && table.sections[cursor].end() <= pc {
            cursor += 1;
        }
        if cursor < n && table.sections[cursor].address <= pc {
            samples[cursor] += entry.count;
        } else {
            unattributed += entry.count;
        }
    }
    let exact = !profile.functions.is_empty();
    let mut cycles = vec![0f64; n];
    let cycles_per_sample = match (profile.totals.cycles, profile.capture.sample_period_cycles) {
        (Some(c), _) if profile.totals.samples > 0 => {
            Some(c as f64 / profile.totals.samples as f64)
        }
        (_, Some(period)) => Some(period as f64),
        _ => None,
    };
    let mut unattributed_cycles = 0f64;
    if exact {
        for f in &profile.functions {
            match table.lookup(u64::from(f.address)) {
                Some(i) => cycles[i] += f.cycles as f64,
                None => unattributed_cycles += f.cycles as f64,
            }
        }
    } else {
        let per = cycles_per_sample.unwrap_or(1.0);
        for (c, s) in cycles.iter_mut().zip(&samples) {
            *c = *s as f64 * per;
        }
    }
    let mut calls = vec![0u64; n];
    let mut edge_counts: rustc_hash::FxHashMap<(usize, usize), u64> = Default::default();
    for edge in &profile.call_edges {
        let (Some(from), Some(to)) = (
            table.lookup(u64::from(edge.site)),
            table.lookup(u64::from(edge.callee)),
        ) else {
            continue;
        };
        calls[to] += edge.count;
        if from != to {
            *edge_counts.entry((from, to)).or_default() += edge.count;
        }
    }
    let inclusive = profile
        .call_stacks
        .as_ref()
        .map(|stacks| inclusive_samples(stacks, table));
    let total_cycles: f64 = cycles.iter().sum();
    let attributed: u64 = samples.iter().sum();
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| {
            samples[i] > 0
                || cycles[i] > 0.0
                || calls[i] > 0
                || inclusive.as_ref().is_some_and(|v| v[i] > 0)
        })
        .collect();
    order.sort_by(|&a, &b| cycles[b].total_cmp(&cycles[a]).then(a.cmp(&b)));
    let mut rank = vec![usize::MAX; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let sections = order
        .iter()
        .map(|&i| {
            let section = table.sections[i].clone();
            let share = if exact {
                cycles[i] / total_cycles.max(1.0)
            } else {
                samples[i] as f64 / attributed.max(1) as f64
            };
            SectionHeat {
                density: cycles[i] / section.size.max(1) as f64,
                section,
                samples: samples[i],
                share,
                cycles: cycles[i],
                calls: calls[i],
                inclusive_samples: inclusive.as_ref().map(|v| v[i]),
                inclusive_cycles: inclusive
                    .as_ref()
                    .map(|v| v[i] as f64 * cycles_per_sample.unwrap_or(1.0)),
            }
        })
        .collect();
    let mut edges: Vec<HeatEdge> = edge_counts
        .into_iter()
        .map(|((from, to), count)| HeatEdge {
            from: rank[from],
            to: rank[to],
            calls: count,
            veneer_cycles: count * u64::from(veneer_cycles),
        })
        .collect();
    edges.sort_by_key(|e| (std::cmp::Reverse(e.calls), e.from, e.to));
    HeatMap {
        sections,
        edges,
        total_samples: profile.totals.samples,
        unattributed_samples: unattributed,
        unattributed_cycles,
        cycles_per_sample,
        exact,
        source: table.source.clone(),
    }
}

/// Per section, the samples whose stack passes through it (each stack counts a section once,
/// so recursion does not inflate it).
fn inclusive_samples(stacks: &crate::profile::CallStacks, table: &SectionTable) -> Vec<u64> {
    let mut inclusive = vec![0u64; table.sections.len()];
    let mut seen = Vec::new();
    for (frames, count, _) in stacks.iter() {
        seen.clear();
        seen.extend(frames.iter().filter_map(|&a| table.lookup(u64::from(a))));
        seen.sort_unstable();
        seen.dedup();
        for &i in &seen {
            inclusive[i] += count;
        }
    }
    inclusive
}

#[cfg(test)]
mod tests {
    use super::table::tests::section;
    use super::*;
    use crate::profile::tests::sample_profile;

    #[test]
    fn attributes_samples_and_calls_to_sections() {
        let table = SectionTable {
            sections: vec![
                section("itcm_fn", 0x100, 0x10),
                section("flash_fn", 0x6000_0100, 0x40),
                section("caller", 0x6000_0200, 0x20),
            ],
            source: "test".into(),
        };
        // sample_profile: 3 samples at 0x100, 7 at 0x6000_0100, an edge 0x6000_0200 -> 0x100 x7
        let mut profile = sample_profile();
        profile.set_histogram([(0x100, 3), (0x6000_0100, 7), (0x7000_0000, 5)]);
        profile.capture.sample_period_cycles = Some(100);
        let heat = build(&profile, &table, 6);
        assert_eq!(heat.unattributed_samples, 5);
        assert_eq!(heat.sections[0].section.section, ".text.flash_fn");
        assert_eq!(heat.sections[0].samples, 7);
        assert_eq!(heat.sections[0].cycles, 700.0);
        assert!((heat.sections[0].share - 0.7).abs() < 1e-9);
        assert_eq!(heat.sections[0].density, 700.0 / 64.0);
        let itcm = heat
            .sections
            .iter()
            .position(|s| s.section.section == ".text.itcm_fn")
            .unwrap();
        assert_eq!(heat.sections[itcm].calls, 7);
        assert_eq!(heat.edges.len(), 1);
        assert_eq!(heat.edges[0].to, itcm);
        assert_eq!(heat.edges[0].veneer_cycles, 42);
        assert!(heat.sections[0].inclusive_samples.is_none());
    }

    #[test]
    fn inclusive_cost_comes_from_the_call_stacks() {
        let table = SectionTable {
            sections: vec![
                section("leaf", 0x100, 0x10),
                section("caller", 0x6000_0200, 0x20),
                section("main", 0x6000_0300, 0x20),
            ],
            source: "test".into(),
        };
        let mut profile = sample_profile();
        profile.set_histogram([(0x100, 6), (0x6000_0204, 4)]);
        profile.capture.sample_period_cycles = Some(10);
        profile.call_stacks = Some(crate::profile::CallStacks::from_samples([
            (vec![0x100, 0x6000_0202, 0x6000_0302], 6, false),
            // Recursion: caller appears twice but counts once.
            (vec![0x6000_0204, 0x6000_0206, 0x6000_0302], 4, false),
        ]));
        let heat = build(&profile, &table, 6);
        let get = |name: &str| {
            heat.sections
                .iter()
                .find(|s| s.section.section == format!(".text.{name}"))
                .unwrap()
        };
        assert_eq!(get("main").samples, 0);
        assert_eq!(get("main").inclusive_samples, Some(10));
        assert_eq!(get("caller").inclusive_samples, Some(10));
        assert_eq!(get("leaf").inclusive_samples, Some(6));
        assert_eq!(get("main").inclusive_cycles, Some(100.0));
    }
}
