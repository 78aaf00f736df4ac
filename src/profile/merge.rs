//! Merging profiles of several runs of the same program.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::{FunctionCount, Profile};

/// Adds up profiles of the same ELF. Profiles of different programs are refused unless `force`;
/// a merge of different capture methods keeps the first method and records the others.
pub fn merge(profiles: &[Profile], force: bool) -> Result<Profile> {
    let Some(first) = profiles.first() else {
        bail!("nothing to merge: give at least one profile");
    };
    let mut merged = first.clone();
    for (i, other) in profiles.iter().enumerate().skip(1) {
        if !force && !first.elf.same_program(&other.elf) {
            bail!(
                "profile {} was taken on a different program ({} sha256 {}…) than the first ({} sha256 {}…); \
                 merge only profiles of one build, or pass --force",
                i + 1,
                other.elf.path,
                &other.elf.sha256[..other.elf.sha256.len().min(12)],
                first.elf.path,
                &first.elf.sha256[..first.elf.sha256.len().min(12)]
            );
        }
        if other.capture.method != merged.capture.method {
            merged.capture.parameters.insert(
                format!("merged_method_{}", i + 1),
                other.capture.method.as_str().into(),
            );
        }
        merged.capture.runs += other.capture.runs;
        merged.capture.duration_ms =
            add_options(merged.capture.duration_ms, other.capture.duration_ms);
        if merged.capture.partial.is_none() {
            merged.capture.partial = other.capture.partial.clone();
        }
        let t = &mut merged.totals;
        t.cycles = add_options(t.cycles, other.totals.cycles);
        t.instructions = add_options(t.instructions, other.totals.instructions);
        t.lost_samples += other.totals.lost_samples;
        t.idle_samples += other.totals.idle_samples;
    }
    merged.set_histogram(
        profiles
            .iter()
            .flat_map(|p| p.pc_histogram.iter().map(|h| (h.pc, h.count))),
    );
    merged.set_call_edges(
        profiles
            .iter()
            .flat_map(|p| p.call_edges.iter().map(|e| ((e.site, e.callee), e.count))),
    );
    let mut functions: BTreeMap<(u32, String), FunctionCount> = BTreeMap::new();
    for f in profiles.iter().flat_map(|p| &p.functions) {
        functions
            .entry((f.address, f.name.clone()))
            .and_modify(|m| {
                m.instructions += f.instructions;
                m.cycles += f.cycles;
                m.fetch_stall_cycles += f.fetch_stall_cycles;
                m.calls += f.calls;
            })
            .or_insert_with(|| f.clone());
    }
    merged.functions = functions.into_values().collect();
    // Stacks merge where every run has them; otherwise they would misstate the shares.
    merged.call_stacks = profiles
        .iter()
        .map(|p| p.call_stacks.as_ref())
        .collect::<Option<Vec<_>>>()
        .map(|all| super::CallStacks::from_samples(all.into_iter().flat_map(|s| s.iter())));
    Ok(merged)
}

/// Sums two optional totals; unknown in either run makes the sum unknown.
fn add_options(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(a? + b?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::tests::sample_profile;

    #[test]
    fn adds_samples_edges_and_runs() {
        let a = sample_profile();
        let merged = merge(&[a.clone(), a.clone()], false).unwrap();
        assert_eq!(merged.capture.runs, 2);
        assert_eq!(merged.totals.samples, 2 * a.totals.samples);
        assert_eq!(merged.call_edges[0].count, 14);
        assert_eq!(merged.capture.duration_ms, Some(2000));
    }

    #[test]
    fn refuses_different_programs_unless_forced() {
        let a = sample_profile();
        let mut b = a.clone();
        b.elf.sha256 = "cd".repeat(32);
        let err = merge(&[a.clone(), b.clone()], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("different program"), "{err}");
        assert!(merge(&[a, b], true).is_ok());
        assert!(merge(&[], false).is_err());
    }
}
