//! The profile: where a firmware spent its time, as captured on hardware or on the virtual board.
//!
//! One versioned JSON format (documented in `docs/profile-format.md`) for every capture method, so
//! that the heat map, the planner and the reports read profiles the same way whatever produced
//! them. A profile names the exact ELF it was taken on (SHA-256, GNU build-id), so a profile of
//! another program is caught before it misleads a plan.

mod exact;
mod exact_stacks;
pub mod export;
mod identity;
mod merge;
mod remap;
mod show;
mod stacks;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use exact::{ExactCounts, ExactProfiler};
pub use exact_stacks::{ExactFrame, ExactStacks, ShadowStack, StackSampler, StackSamples};
pub use identity::ElfIdentity;
pub use merge::merge;
pub use remap::{for_image, layout_of, remap, LayoutEntry, RemapReport};
pub use show::{diff_text, show_text};
pub use stacks::{CallStacks, StackSample};

/// The `format` field every profile carries.
pub const FORMAT: &str = "hotlink-profile";
/// The newest profile version this hotlink reads and the one it writes. Version 2 added
/// `call_stacks`; version 1 files read as profiles without stacks.
pub const VERSION: u32 = 2;

/// A profile of one or more runs of one ELF image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub format: String,
    pub version: u32,
    pub elf: ElfIdentity,
    /// Board name (or board file path) the profile was taken on.
    pub board: String,
    pub capture: Capture,
    pub totals: Totals,
    /// Samples per PC (Thumb bit clear), sorted by PC.
    #[serde(default)]
    pub pc_histogram: Vec<PcCount>,
    /// Calls observed, per call site and callee, sorted.
    #[serde(default)]
    pub call_edges: Vec<CallEdge>,
    /// Exact per-function counts (virtual-board profiles only), sorted by address.
    #[serde(default)]
    pub functions: Vec<FunctionCount>,
    /// The image's function layout, so the profile can be re-mapped onto a later build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layout: Vec<LayoutEntry>,
    /// Sampled call stacks (version 2), where the capture unwound them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_stacks: Option<CallStacks>,
}

/// How the profile was captured.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The virtual board: exact counts.
    Sim,
    /// Non-intrusive polling of DWT_PCSR.
    Pcsr,
    /// Halt, read PC and LR, resume.
    Halt,
    /// DWT periodic PC sampling over SWO/ITM.
    Swo,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Sim => "sim",
            Method::Pcsr => "pcsr",
            Method::Halt => "halt",
            Method::Swo => "swo",
        }
    }
}

/// Capture method and parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    pub method: Method,
    /// Cycles between PC samples, where sampling is periodic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_period_cycles: Option<u64>,
    /// Wall-clock duration of the capture in milliseconds (hardware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The probe used (`VID:PID:serial`), for hardware captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// How many runs were merged into this profile.
    pub runs: u32,
    /// Set when the capture stopped early (Ctrl-C, probe lost, target reset); says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
    /// Any other method-specific parameters (e.g. SWO baud rate, halting overhead).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// Totals over the whole capture.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// PC samples attributed to an address.
    pub samples: u64,
    /// Cycles covered, where known (exact on the virtual board, from CYCCNT on hardware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<u64>,
    /// Instructions retired (virtual board).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
    /// Samples known to be lost (ITM overflow, dropped bytes, failed reads).
    #[serde(default)]
    pub lost_samples: u64,
    /// Samples taken while the core slept or was halted (PCSR reads 0xFFFF_FFFF).
    #[serde(default)]
    pub idle_samples: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct PcCount {
    pub pc: u32,
    pub count: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct CallEdge {
    /// Address of the call (or tail-call) instruction.
    pub site: u32,
    /// Address of the function entered.
    pub callee: u32,
    pub count: u64,
}

/// Exact counts for one function on the virtual board.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FunctionCount {
    pub name: String,
    pub address: u32,
    pub size: u32,
    /// Instructions retired inside the function (not its callees).
    pub instructions: u64,
    /// Cycles spent inside the function (not its callees), stalls included.
    pub cycles: u64,
    /// Of those, cycles stalled on instruction fetch.
    #[serde(default)]
    pub fetch_stall_cycles: u64,
    /// Times it was entered by a call.
    pub calls: u64,
}

impl Profile {
    /// An empty profile for an ELF, to be filled by a collector.
    pub fn new(elf: ElfIdentity, board: &str, capture: Capture) -> Profile {
        Profile {
            format: FORMAT.to_string(),
            version: VERSION,
            elf,
            board: board.to_string(),
            capture,
            totals: Totals::default(),
            pc_histogram: Vec::new(),
            call_edges: Vec::new(),
            functions: Vec::new(),
            layout: Vec::new(),
            call_stacks: None,
        }
    }

    /// Reads a profile, refusing other formats, newer versions and corrupt files with a message
    /// that names the file and the place.
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read profile {}", path.display()))?;
        Profile::parse(&text).with_context(|| format!("profile {}", path.display()))
    }

    /// Parses profile JSON (see [`Profile::load`]).
    pub fn parse(text: &str) -> Result<Profile> {
        let profile: Profile = crate::versioned::parse(text, FORMAT, VERSION, "profile")?;
        profile.check()?;
        Ok(profile)
    }

    /// Consistency checks serde cannot express.
    fn check(&self) -> Result<()> {
        let histogram: u64 = self.pc_histogram.iter().map(|p| p.count).sum();
        if histogram != self.totals.samples {
            bail!(
                "corrupt: the PC histogram holds {histogram} samples but totals.samples says {}",
                self.totals.samples
            );
        }
        if self.pc_histogram.windows(2).any(|w| w[0].pc >= w[1].pc) {
            bail!("corrupt: the PC histogram is not sorted by PC or repeats a PC");
        }
        if self.capture.runs == 0 {
            bail!("corrupt: capture.runs is 0");
        }
        if let Some(stacks) = &self.call_stacks {
            stacks.check()?;
            if stacks.total() > self.totals.samples {
                bail!(
                    "corrupt: call_stacks hold {} samples, more than totals.samples ({})",
                    stacks.total(),
                    self.totals.samples
                );
            }
        }
        Ok(())
    }

    /// Writes the profile atomically as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    /// Builds the sorted histogram from unsorted PC counts.
    pub fn set_histogram(&mut self, counts: impl IntoIterator<Item = (u32, u64)>) {
        let mut merged: BTreeMap<u32, u64> = BTreeMap::new();
        for (pc, count) in counts {
            *merged.entry(pc & !1).or_default() += count;
        }
        self.pc_histogram = merged
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|(pc, count)| PcCount { pc, count })
            .collect();
        self.totals.samples = self.pc_histogram.iter().map(|p| p.count).sum();
    }

    /// Builds the sorted edge list from unsorted (site, callee) counts.
    pub fn set_call_edges(&mut self, edges: impl IntoIterator<Item = ((u32, u32), u64)>) {
        let mut merged: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for ((site, callee), count) in edges {
            *merged.entry((site & !1, callee & !1)).or_default() += count;
        }
        self.call_edges = merged
            .into_iter()
            .map(|((site, callee), count)| CallEdge {
                site,
                callee,
                count,
            })
            .collect();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_profile() -> Profile {
        let elf = ElfIdentity {
            path: "fw.elf".into(),
            sha256: "ab".repeat(32),
            build_id: None,
            size: 1234,
        };
        let capture = Capture {
            method: Method::Pcsr,
            sample_period_cycles: None,
            duration_ms: Some(1000),
            probe: Some("1366:1051:000123".into()),
            runs: 1,
            partial: None,
            parameters: BTreeMap::new(),
        };
        let mut profile = Profile::new(elf, "imxrt1062", capture);
        profile.set_histogram([(0x6000_0101, 5), (0x100, 3), (0x6000_0100, 2)]);
        profile.set_call_edges([((0x6000_0200, 0x100), 7)]);
        profile
    }

    #[test]
    fn round_trips_through_json() {
        let profile = sample_profile();
        assert_eq!(profile.totals.samples, 10);
        assert_eq!(
            profile.pc_histogram,
            vec![
                PcCount {
                    pc: 0x100,
                    count: 3
                },
                PcCount {
                    pc: 0x6000_0100,
                    count: 7
                }
            ]
        );
        let text = serde_json::to_string(&profile).unwrap();
        assert_eq!(Profile::parse(&text).unwrap(), profile);
    }

    #[test]
    fn version_1_profiles_still_read_and_stacks_round_trip() {
        let mut profile = sample_profile();
        let v1 = serde_json::to_string(&profile)
            .unwrap()
            .replace("\"version\":2", "\"version\":1");
        assert!(Profile::parse(&v1).unwrap().call_stacks.is_none());
        profile.call_stacks = Some(CallStacks::from_samples([
            (vec![0x100, 0x6000_0202], 2, false),
            (vec![0x6000_0100], 5, true),
        ]));
        let text = serde_json::to_string(&profile).unwrap();
        assert_eq!(Profile::parse(&text).unwrap(), profile);
        let too_many = text.replace("\"count\":5", "\"count\":9");
        assert!(Profile::parse(&too_many)
            .unwrap_err()
            .to_string()
            .contains("more than totals.samples"));
    }

    #[test]
    fn rejects_newer_versions_corruption_and_other_formats() {
        let text = serde_json::to_string(&sample_profile()).unwrap();
        let newer = text.replace("\"version\":2", "\"version\":3");
        assert!(Profile::parse(&newer)
            .unwrap_err()
            .to_string()
            .contains("newer than this hotlink"));
        let truncated = &text[..text.len() / 2];
        assert!(Profile::parse(truncated)
            .unwrap_err()
            .to_string()
            .contains("not valid JSON at line 1"));
        let other = text.replace(FORMAT, "something-else");
        assert!(Profile::parse(&other)
            .unwrap_err()
            .to_string()
            .contains("not a hotlink profile"));
        let inconsistent = text.replace("\"samples\":10", "\"samples\":11");
        assert!(Profile::parse(&inconsistent)
            .unwrap_err()
            .to_string()
            .contains("holds 10 samples"));
        let unknown = text.replace("\"board\"", "\"bored\":1,\"board\"");
        assert!(Profile::parse(&unknown)
            .unwrap_err()
            .to_string()
            .contains("unknown field `bored`"));
    }
}
