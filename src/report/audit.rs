//! The flash-disabled audit of a linked image: code that runs while the flash is erased or
//! programmed (`.ramfunc*` sections, sections matching `--ram-only` globs, and sections a plan
//! moved for that reason) must not reach code or read-only data in XIP flash.
//!
//! The linker runs the same check during a link ([`crate::link::ramcheck`]) on its own resolved
//! inputs. A report starts from a finished image and its link map instead, so the walk here goes
//! over the inventory's reference graph ([`crate::inventory`]) of the objects the map names, and
//! takes each section's address from the map.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::board::{Board, RegionKind};
use crate::inventory::{Binding, Definition, Inventory, RefTarget, SectionId, SectionKind};
use crate::link::script::glob_match;
use crate::linkmap::{LinkMap, MapInputSection};
use crate::plan::Plan;

/// What the audit found.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// The flash-disabled roots, as `object:section (function)`.
    pub roots: Vec<String>,
    /// Code or read-only data in flash that a root reaches.
    pub findings: Vec<Finding>,
    /// Objects the link map names that could not be read: their references are not followed.
    pub unread: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The section in flash, as `object:section`.
    pub section: String,
    /// Its function (or the section name when it has none).
    pub symbol: String,
    /// The board region it runs from.
    pub region: String,
    /// The shortest chain of references from a root to it, by function.
    pub chain: Vec<String>,
}

/// Where the file a link map names is: as written, or relative to the map (GNU ld prints paths
/// relative to where it ran, which is usually where it wrote the map).
fn locate(object: &str, map_dir: &Path) -> Option<PathBuf> {
    let as_given = PathBuf::from(object);
    if as_given.is_absolute() {
        return as_given.is_file().then_some(as_given);
    }
    let beside = map_dir.join(object);
    if beside.is_file() {
        return Some(beside);
    }
    as_given.is_file().then_some(as_given)
}

fn symbol_of(s: &MapInputSection) -> String {
    s.symbols
        .iter()
        .min_by_key(|y| y.address)
        .map_or_else(|| s.section.clone(), |y| y.name.clone())
}

/// Runs the audit over the objects `map` names (found beside `map_path` or as written).
pub fn run(
    map: &LinkMap,
    map_path: &Path,
    board: &Board,
    plan: Option<&Plan>,
    patterns: &[String],
) -> Result<Audit> {
    let map_dir = map_path.parent().unwrap_or(Path::new("."));
    let mut files: Vec<String> = map
        .input_sections
        .iter()
        .map(|s| s.object.clone())
        .collect();
    files.sort();
    files.dedup();
    let mut found: FxHashMap<String, String> = FxHashMap::default();
    let mut unread = Vec::new();
    // GNU ld lists its own veneers as coming from the pseudo-file "linker stubs".
    for object in files.iter().filter(|f| f.as_str() != "linker stubs") {
        match locate(object, map_dir) {
            Some(p) => {
                found.insert(p.display().to_string(), object.clone());
            }
            None => unread.push(object.clone()),
        }
    }
    let paths: Vec<&String> = found.keys().collect();
    let inventory = Inventory::load(&paths).map_err(|e| anyhow!("flash-disabled audit: {e}"))?;
    // Inventory section -> the map's record of it (only sections that made it into the image).
    let by_key: FxHashMap<(&str, Option<&str>, &str), &MapInputSection> = map
        .input_sections
        .iter()
        .map(|s| {
            (
                (s.object.as_str(), s.member.as_deref(), s.section.as_str()),
                s,
            )
        })
        .collect();
    let placed: Vec<Option<&MapInputSection>> = inventory
        .sections
        .iter()
        .map(|s| {
            let object = found.get(&s.origin.file)?;
            by_key
                .get(&(object.as_str(), s.origin.member.as_deref(), s.name.as_str()))
                .copied()
        })
        .collect();
    // Symbols resolve to the linked definition: globals over weak ones, only sections in the map.
    let mut globals: FxHashMap<&str, (SectionId, bool)> = FxHashMap::default();
    for y in &inventory.symbols {
        let Definition::Section(id) = y.definition else {
            continue;
        };
        if y.binding == Binding::Local || placed[id].is_none() {
            continue;
        }
        let strong = y.binding == Binding::Global;
        let slot = globals.entry(y.name.as_str()).or_insert((id, strong));
        if strong && !slot.1 {
            *slot = (id, true);
        }
    }
    let mut refs: Vec<Vec<(SectionId, String)>> = vec![Vec::new(); inventory.sections.len()];
    for r in &inventory.references {
        let (to, name) = match &r.target {
            RefTarget::Section(id) => (Some(*id), None),
            RefTarget::Symbol(name) => (globals.get(name.as_str()).map(|g| g.0), Some(name)),
        };
        if let Some(to) = to {
            let name = name.cloned().unwrap_or_else(|| {
                placed[to].map_or_else(|| inventory.sections[to].name.clone(), symbol_of)
            });
            if to != r.from {
                refs[r.from].push((to, name));
            }
        }
    }
    let ram_only_moves: Vec<(&str, Option<&str>, &str)> = plan
        .iter()
        .flat_map(|p| p.placements.iter())
        .filter(|p| p.reason == "ram-only")
        .map(|p| (p.object.as_str(), p.member.as_deref(), p.section.as_str()))
        .collect();
    let is_root = |id: SectionId| -> bool {
        let Some(m) = placed[id] else {
            return false;
        };
        m.section.starts_with(".ramfunc")
            || patterns.iter().any(|p| glob_match(p, &m.section))
            || ram_only_moves.iter().any(|(object, member, section)| {
                *section == m.section
                    && *member == m.member.as_deref()
                    && (m.object == *object || m.object.ends_with(&format!("/{object}")))
            })
    };
    let follows = |id: SectionId| -> bool {
        let s = &inventory.sections[id];
        placed[id].is_some()
            && matches!(s.kind, SectionKind::Code | SectionKind::Rodata)
            && !s.flags.contains('w')
    };
    let in_flash = |id: SectionId| -> Option<String> {
        let m = placed[id]?;
        board
            .region_at(m.address)
            .filter(|r| r.kind == RegionKind::Xip)
            .map(|r| r.name.clone())
    };
    let mut parent: Vec<Option<Option<SectionId>>> = vec![None; inventory.sections.len()];
    let mut step_name: Vec<String> = vec![String::new(); inventory.sections.len()];
    let mut queue = VecDeque::new();
    let mut roots = Vec::new();
    for id in 0..inventory.sections.len() {
        if is_root(id) {
            let m = placed[id].expect("roots are placed");
            parent[id] = Some(None);
            step_name[id] = symbol_of(m);
            roots.push(format!("{} ({})", m.label(), step_name[id]));
            queue.push_back(id);
        }
    }
    let mut findings = Vec::new();
    while let Some(id) = queue.pop_front() {
        if let Some(region) = in_flash(id) {
            let mut chain = Vec::new();
            let mut at = Some(id);
            while let Some(k) = at {
                chain.push(step_name[k].clone());
                at = parent[k].flatten();
            }
            chain.reverse();
            let m = placed[id].expect("walked sections are placed");
            findings.push(Finding {
                section: m.label(),
                symbol: symbol_of(m),
                region,
                chain,
            });
        }
        for (to, name) in &refs[id] {
            if parent[*to].is_some() || !follows(*to) {
                continue;
            }
            parent[*to] = Some(Some(id));
            step_name[*to] = name.clone();
            queue.push_back(*to);
        }
    }
    Ok(Audit {
        roots,
        findings,
        unread,
    })
}

impl Audit {
    /// One line per finding, with the chain that leads to it.
    pub fn describe(&self) -> Vec<String> {
        self.findings
            .iter()
            .map(|f| format!("{} in {}: {}", f.section, f.region, f.chain.join(" -> ")))
            .collect()
    }
}
