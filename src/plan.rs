//! The placement plan: which input sections move to which region. Written by `hotlink plan`,
//! applied by `hotlink link --plan` or turned into a GNU ld / LLD fragment (`--emit-ld`), and read
//! by reports. Format documented in `docs/plan-format.md`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub mod stable;

/// The `format` field every plan carries.
pub const FORMAT: &str = "hotlink-plan";
/// The newest plan version this hotlink reads and the one it writes.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: String,
    pub version: u32,
    /// Board the plan is for.
    pub board: String,
    /// The strategy that made it (`ilp`, `greedy`, `gnu-fill`, `any-best-fit`, `xip`).
    pub strategy: String,
    /// The regions code may go to, with their budgets and what the plan uses of them.
    pub regions: Vec<PlanRegion>,
    /// Every input section the plan places somewhere other than where the script puts it.
    pub placements: Vec<Placement>,
    /// Veneers the plan expects the linker to add.
    #[serde(default)]
    pub veneers: Vec<PlannedVeneer>,
    pub prediction: Prediction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<SolverReport>,
    /// Decisions the constraints forced (pinned, flash-disabled closure), for people.
    #[serde(default)]
    pub forced: Vec<String>,
    /// Set when the costs are a static guess (`--static-estimate`), not measured: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<String>,
    /// The FlexRAM bank split `plan --flexram auto` chose for this plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexram: Option<PlanFlexram>,
}

/// The FlexRAM split a plan was made for: banks, the IOMUXC values that program them, and every
/// split that was tried, so a reader can check the choice.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanFlexram {
    pub split: hotlink_solver::flexram::FlexramSplit,
    pub registers: hotlink_solver::flexram::FlexramRegisters,
    /// Bytes the image needs in each kind of FlexRAM whatever the plan does (its data).
    pub needs: hotlink_solver::flexram::FlexramNeeds,
    /// Every valid split with the predicted cycles of the best plan under it, or why none fits.
    pub candidates: Vec<FlexramCandidate>,
    /// What the image's own script does about the split, when it says, and what to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// One split `--flexram auto` tried.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlexramCandidate {
    pub split: hotlink_solver::flexram::FlexramSplit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A region of the board as the plan sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanRegion {
    /// Board region name (`ITCM`, `OCRAM2`, `FLASH`…).
    pub name: String,
    pub kind: crate::board::RegionKind,
    /// Address range, so a linker can find the script's MEMORY region that covers it.
    pub base: u64,
    pub size: u64,
    /// Bytes the plan may fill (free space after the script's own content, less a reserve).
    pub budget: u64,
    /// Bytes the plan puts there: moved sections plus their alignment padding.
    pub used: u64,
    /// Bytes reserved for veneers the linker adds in this region.
    pub veneer_bytes: u64,
}

/// One input section and the region it is to run from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// Object file path as the linker sees it, or the archive for a member.
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub section: String,
    pub size: u64,
    /// Region it runs from without the plan.
    pub from: String,
    /// Region it runs from with the plan.
    pub to: String,
    /// Why: `hot` (the objective chose it), `ram-only` (flash-disabled closure), `pinned`.
    pub reason: String,
    /// Predicted cycles saved by the move (negative when a forced move costs cycles).
    pub cycles_saved: f64,
}

impl Placement {
    /// The input-section line GNU ld and LLD understand: `*interp.o(.text.vm_run)` or
    /// `*libc.a:lib_a-memcpy.o(.text)`.
    pub fn ld_pattern(&self) -> String {
        let file = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        match &self.member {
            Some(member) => format!("*{}:{}({})", file(&self.object), member, self.section),
            None => format!("*{}({})", file(&self.object), self.section),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlannedVeneer {
    /// `object:section` of the callee.
    pub callee: String,
    /// Region the veneer sits in (the callers').
    pub region: String,
    pub bytes: u64,
    /// Calls through it per profiled run.
    pub calls: u64,
}

/// What the plan expects to gain, per profiled run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    pub baseline_cycles: f64,
    pub planned_cycles: f64,
}

impl Prediction {
    /// Predicted speedup (baseline / planned).
    pub fn speedup(&self) -> f64 {
        self.baseline_cycles / self.planned_cycles.max(1.0)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SolverReport {
    /// `optimal`, `time-limit`, `heuristic`.
    pub status: String,
    /// Relative optimality gap reached (0 for optimal, absent for heuristics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    pub time_ms: u64,
    /// Items and edges the solver saw after presolve.
    pub items: usize,
    pub edges: usize,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read plan {}", path.display()))?;
        Plan::parse(&text).with_context(|| format!("plan {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Plan> {
        let plan: Plan = crate::versioned::parse(text, FORMAT, VERSION, "plan")?;
        for p in &plan.placements {
            if !plan.regions.iter().any(|r| r.name == p.to) {
                bail!(
                    "placement of {} ({}) names region `{}`, which the plan does not list",
                    p.section,
                    p.object,
                    p.to
                );
            }
        }
        Ok(plan)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    /// What a linked image's map shows was not placed as planned: each planned section that is
    /// missing from the map, or that runs outside its planned region. Works with every map form
    /// (GNU ld, LLD, hotlink), so CI can check that the user's own linker honoured the plan.
    /// Sections are found as `hotlink link --plan` finds them ([`stable::SectionIndex`]), so a
    /// rebuild that renamed rustc's objects and symbols is not reported as missing.
    pub fn unhonoured(&self, map: &crate::linkmap::LinkMap) -> Vec<String> {
        let index =
            stable::SectionIndex::new(map.input_sections.iter().enumerate().map(|(i, s)| {
                (
                    i,
                    s.object.as_str(),
                    s.member.as_deref(),
                    s.section.as_str(),
                )
            }));
        let mut problems = Vec::new();
        for p in &self.placements {
            let label = crate::linkmap::section_label(&p.object, p.member.as_deref(), &p.section);
            let Some(region) = self.regions.iter().find(|r| r.name == p.to) else {
                continue; // Plan::parse refuses such plans
            };
            let found = match index.find(p) {
                stable::Found::Same(v) => v.first().copied(),
                stable::Found::Renamed(i) => Some(i),
                stable::Found::Ambiguous(n) => {
                    problems.push(format!(
                        "{label}: {n} sections of the map have its name once build hashes are \
                         removed; re-plan on this build"
                    ));
                    continue;
                }
                stable::Found::Missing => None,
            };
            match found.map(|i| &map.input_sections[i]) {
                None => problems.push(format!(
                    "{label}: not in the map (renamed, discarded or not linked)"
                )),
                Some(s) if s.address < region.base || s.address >= region.base + region.size => {
                    problems.push(format!(
                        "{label}: runs at {:#010x} in {}, planned for {} ({:#010x}..{:#010x})",
                        s.address,
                        s.output_section,
                        region.name,
                        region.base,
                        region.base + region.size
                    ))
                }
                Some(_) => {}
            }
        }
        problems
    }

    /// The input-section lines of each region the plan moves code to: (region, lines), ready to
    /// INCLUDE inside the output section that runs from the region.
    pub fn ld_blocks(&self) -> Vec<(&PlanRegion, String)> {
        self.regions
            .iter()
            .filter_map(|region| {
                let lines: String = self
                    .placements
                    .iter()
                    .filter(|p| p.to == region.name)
                    .map(|p| {
                        format!(
                            "    {}  /* {} bytes, {} */\n",
                            p.ld_pattern(),
                            p.size,
                            p.reason
                        )
                    })
                    .collect();
                (!lines.is_empty()).then_some((region, lines))
            })
            .collect()
    }

    /// The plan as a linker-script fragment: for each target region, the input-section lines to
    /// INCLUDE inside the output section that runs from it.
    pub fn to_ld_fragment(&self) -> String {
        let mut out = String::from(
            "/* Generated by hotlink from a placement plan; INCLUDE each block inside the output\n   section that runs from its region, before the generic *(.text*) lines. */\n",
        );
        for (region, lines) in self.ld_blocks() {
            out.push_str(&format!(
                "\n/* region {} ({:?}) */\n{lines}",
                region.name, region.kind
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::RegionKind;

    fn sample_plan() -> Plan {
        Plan {
            format: FORMAT.into(),
            version: VERSION,
            board: "imxrt1062".into(),
            strategy: "ilp".into(),
            regions: vec![PlanRegion {
                name: "ITCM".into(),
                kind: RegionKind::Itcm,
                base: 0,
                size: 128 * 1024,
                budget: 16 * 1024,
                used: 316,
                veneer_bytes: 8,
            }],
            placements: vec![
                Placement {
                    object: "../vm/interp.o".into(),
                    member: None,
                    section: ".text.vm_run".into(),
                    size: 300,
                    from: "FLASH".into(),
                    to: "ITCM".into(),
                    reason: "hot".into(),
                    cycles_saved: 1e6,
                },
                Placement {
                    object: "/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libc.a".into(),
                    member: Some("lib_a-memcpy.o".into()),
                    section: ".text".into(),
                    size: 16,
                    from: "FLASH".into(),
                    to: "ITCM".into(),
                    reason: "ram-only".into(),
                    cycles_saved: 10.0,
                },
            ],
            veneers: Vec::new(),
            prediction: Prediction {
                baseline_cycles: 2e6,
                planned_cycles: 1e6,
            },
            solver: None,
            forced: vec!["memcpy: called from flash_erase (.ramfunc root)".into()],
            estimate: None,
            flexram: None,
        }
    }

    #[test]
    fn round_trips_and_checks_regions() {
        let plan = sample_plan();
        let text = serde_json::to_string(&plan).unwrap();
        assert_eq!(Plan::parse(&text).unwrap(), plan);
        let bad = text.replace("\"to\":\"ITCM\"", "\"to\":\"TCM\"");
        assert!(Plan::parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("region `TCM`"));
        let newer = text.replace("\"version\":1", "\"version\":9");
        assert!(Plan::parse(&newer)
            .unwrap_err()
            .to_string()
            .contains("newer"));
        assert_eq!(plan.prediction.speedup(), 2.0);
    }

    #[test]
    fn fragment_lists_sections_per_region() {
        let fragment = sample_plan().to_ld_fragment();
        assert!(fragment.contains("*interp.o(.text.vm_run)"), "{fragment}");
        assert!(
            fragment.contains("*libc.a:lib_a-memcpy.o(.text)"),
            "{fragment}"
        );
        assert!(fragment.contains("/* region ITCM (Itcm) */"), "{fragment}");
    }
}
