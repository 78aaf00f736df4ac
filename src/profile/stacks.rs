//! Call stacks in a profile (format version 2): each distinct code address once in a frame
//! table, each distinct stack once as a node of a prefix tree (outermost caller at the root),
//! and each sample pointing at its stack's innermost node. A long capture of a loop-heavy
//! firmware holds few distinct stacks, so this stays small; it is also the shape the Firefox
//! Profiler and pprof want, so exports are direct.

use anyhow::{bail, Result};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Sampled call stacks, deduplicated.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CallStacks {
    /// Code addresses: a sampled PC, a caller's call instruction (return address - 2) or the PC
    /// an exception interrupted.
    pub frames: Vec<u32>,
    /// Stack nodes as `[parent, frame]`: the parent node (null for an outermost frame) and the
    /// index of this node's frame. Parents come before their children.
    pub stacks: Vec<(Option<u32>, u32)>,
    pub samples: Vec<StackSample>,
}

/// The samples that saw one stack.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StackSample {
    /// Index of the stack's innermost node.
    pub stack: u32,
    pub count: u64,
    /// The unwind stopped early (no unwind information, unreadable stack, too deep): the
    /// outermost frames are missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl CallStacks {
    /// Builds the tables from (frames innermost first, samples, truncated) in any order.
    pub fn from_samples(samples: impl IntoIterator<Item = (Vec<u32>, u64, bool)>) -> CallStacks {
        let mut out = CallStacks::default();
        let mut frame_index: FxHashMap<u32, u32> = FxHashMap::default();
        let mut node_index: FxHashMap<(Option<u32>, u32), u32> = FxHashMap::default();
        let mut counts: FxHashMap<(u32, bool), u64> = FxHashMap::default();
        let mut samples: Vec<_> = samples.into_iter().filter(|s| !s.0.is_empty()).collect();
        samples.sort();
        for (frames, count, truncated) in samples {
            let mut parent = None;
            for &address in frames.iter().rev() {
                let frame = *frame_index.entry(address).or_insert_with(|| {
                    out.frames.push(address);
                    out.frames.len() as u32 - 1
                });
                let node = *node_index.entry((parent, frame)).or_insert_with(|| {
                    out.stacks.push((parent, frame));
                    out.stacks.len() as u32 - 1
                });
                parent = Some(node);
            }
            let leaf = parent.expect("non-empty stack");
            *counts.entry((leaf, truncated)).or_default() += count;
        }
        out.samples = counts
            .into_iter()
            .map(|((stack, truncated), count)| StackSample {
                stack,
                count,
                truncated,
            })
            .collect();
        out.samples.sort_by_key(|s| (s.stack, s.truncated));
        out
    }

    /// The frames of node `stack`, innermost first.
    pub fn frames_of(&self, stack: u32) -> Vec<u32> {
        let mut frames = Vec::new();
        let mut node = Some(stack);
        while let Some(n) = node {
            let (parent, frame) = self.stacks[n as usize];
            frames.push(self.frames[frame as usize]);
            node = parent;
        }
        frames
    }

    /// Every sample's stack, innermost frame first, with its count and truncation.
    pub fn iter(&self) -> impl Iterator<Item = (Vec<u32>, u64, bool)> + '_ {
        self.samples
            .iter()
            .map(|s| (self.frames_of(s.stack), s.count, s.truncated))
    }

    /// The samples the stacks hold.
    pub fn total(&self) -> u64 {
        self.samples.iter().map(|s| s.count).sum()
    }

    /// Index checks serde cannot express (a corrupt file must not make a reader panic).
    pub fn check(&self) -> Result<()> {
        for (k, &(parent, frame)) in self.stacks.iter().enumerate() {
            if frame as usize >= self.frames.len() {
                bail!(
                    "corrupt: call_stacks.stacks[{k}] names frame {frame} of {}",
                    self.frames.len()
                );
            }
            if parent.is_some_and(|p| p as usize >= k) {
                bail!("corrupt: call_stacks.stacks[{k}] has a parent that does not come before it");
            }
        }
        for (k, s) in self.samples.iter().enumerate() {
            if s.stack as usize >= self.stacks.len() {
                bail!(
                    "corrupt: call_stacks.samples[{k}] names stack {} of {}",
                    s.stack,
                    self.stacks.len()
                );
            }
        }
        Ok(())
    }

    /// The same stacks with every address passed through `map` (dropped frames end a stack).
    pub fn map_addresses(&self, mut map: impl FnMut(u32) -> Option<u32>) -> CallStacks {
        CallStacks::from_samples(self.iter().map(|(frames, count, truncated)| {
            let mapped: Vec<u32> = frames.iter().map_while(|&a| map(a)).collect();
            let cut = mapped.len() < frames.len();
            (mapped, count, truncated || cut)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deduplicates_frames_and_shared_prefixes() {
        let stacks = CallStacks::from_samples([
            (vec![0x30, 0x20, 0x10], 5, false),
            (vec![0x40, 0x20, 0x10], 2, false),
            (vec![0x30, 0x20, 0x10], 1, false),
            (vec![0x30, 0x20], 1, true),
        ]);
        assert_eq!(stacks.frames.len(), 4);
        // 0x10, 0x10>0x20, 0x10>0x20>0x30, 0x10>0x20>0x40, 0x20, 0x20>0x30
        assert_eq!(stacks.stacks.len(), 6);
        assert_eq!(stacks.total(), 9);
        let mut all: Vec<_> = stacks.iter().collect();
        all.sort();
        assert_eq!(all[0], (vec![0x30, 0x20], 1, true));
        assert_eq!(all[1], (vec![0x30, 0x20, 0x10], 6, false));
        stacks.check().unwrap();
    }

    #[test]
    fn rejects_dangling_indices() {
        let mut stacks = CallStacks::from_samples([(vec![1, 2], 1, false)]);
        stacks.stacks[0].0 = Some(5);
        assert!(stacks.check().is_err());
    }
}
