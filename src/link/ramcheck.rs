//! The RAM-only check: code that runs while the flash is erased or programmed (the `.ramfunc*`
//! roots, sections matched by `--ram-only`, and sections a plan moved for that reason) must not
//! reach code or read-only data that runs from flash, directly or through other functions.
//!
//! After layout, a breadth-first walk follows relocations from each root through code and
//! read-only sections (writable data is in RAM and is not followed); for every section it reaches
//! that lies in an XIP region, it reports the shortest chain of references that led there, and
//! keeps walking, so that one run lists everything that has to move.

use std::collections::VecDeque;

use object::elf;
use rustc_hash::FxHashMap;

use super::arm::{R_ARM_NONE, R_ARM_V4BX};
use super::layout::Layout;
use super::load::SymSection;
use super::regions::{region_attrs, region_covering, Region};
use super::resolve::Resolved;
use super::script::glob_match;
use crate::board::{Board, RegionKind};

/// Which MEMORY regions are execute-in-place flash. From the board when given (regions whose
/// base address lies in a board region of kind `xip`), else from the script: readable and
/// executable, not writable, and not a TCM (named `*tcm*` or below 16 MB, where every i.MX RT
/// has its ITCM).
pub fn flash_regions(regions: &[Region], board: Option<&Board>) -> Vec<bool> {
    regions
        .iter()
        .map(|m| match board {
            Some(b) => b
                .region_at(m.origin)
                .is_some_and(|g| g.kind == RegionKind::Xip),
            None => {
                let attrs = region_attrs(&m.attrs);
                attrs.contains('x')
                    && !attrs.contains('w')
                    && !m.name.to_ascii_lowercase().contains("tcm")
                    && m.origin >= 0x0100_0000
            }
        })
        .collect()
}

/// One link in a chain: the symbol referred to and the section it is in.
struct Step {
    obj: usize,
    sec: u32,
    symbol: String,
}

fn first_function(r: &Resolved, obj: usize, sec: u32) -> Option<String> {
    r.objects[obj]
        .symbols
        .iter()
        .filter(|s| s.section == SymSection::Section(sec) && s.st_type == elf::STT_FUNC.0)
        .min_by_key(|s| s.value)
        .map(|s| s.name.clone())
}

/// The name to show for relocation symbol `sym` of `obj`, whose target is section `sec` of `to`.
fn symbol_name(r: &Resolved, obj: usize, sym: u32, to: (usize, u32)) -> String {
    let s = &r.objects[obj].symbols[sym as usize];
    if !s.name.is_empty() && s.st_type != elf::STT_SECTION.0 {
        return s.name.clone();
    }
    first_function(r, to.0, to.1)
        .unwrap_or_else(|| r.objects[to.0].sections[to.1 as usize].name.clone())
}

fn short_origin(r: &Resolved, obj: usize) -> String {
    let o = &r.objects[obj].origin;
    let path = o.path.display().to_string();
    let file = path.rsplit('/').next().unwrap_or(&path).to_string();
    match &o.member {
        Some(m) => format!("{file}({m})"),
        None => file,
    }
}

/// Finds every flash section reachable from the RAM-only roots and describes the chain to it.
/// `extra_roots` are input sections that must be RAM-only besides `.ramfunc*` and `patterns`.
pub fn check(
    layout: &Layout,
    r: &Resolved,
    patterns: &[String],
    extra_roots: &[(usize, u32)],
    flash: &[bool],
) -> Vec<String> {
    let region_of = |obj: usize, sec: u32| -> Option<usize> {
        let (out, off) = layout.placement[obj].get(sec as usize).copied().flatten()?;
        let s = &layout.sections[out];
        if !s.alloc {
            return None;
        }
        region_covering(&layout.regions, s.vma + off)
    };
    let in_flash = |obj: usize, sec: u32| region_of(obj, sec).filter(|&m| flash[m]);
    // Parent links of the walk: section → (previous section, step into this one).
    let mut parent: FxHashMap<(usize, u32), Option<(usize, u32)>> = FxHashMap::default();
    let mut steps: FxHashMap<(usize, u32), Step> = FxHashMap::default();
    let mut queue = VecDeque::new();
    for (oi, o) in r.objects.iter().enumerate() {
        for (si, s) in o.sections.iter().enumerate() {
            let key = (oi, si as u32);
            let root = s.name.starts_with(".ramfunc")
                || patterns.iter().any(|p| glob_match(p, &s.name))
                || extra_roots.contains(&key);
            if si == 0 || !root || !s.is_alloc() || layout.placement[oi][si].is_none() {
                continue;
            }
            parent.insert(key, None);
            steps.insert(
                key,
                Step {
                    obj: oi,
                    sec: si as u32,
                    symbol: first_function(r, oi, si as u32).unwrap_or_else(|| s.name.clone()),
                },
            );
            queue.push_back(key);
        }
    }
    let mut findings = Vec::new();
    while let Some((oi, si)) = queue.pop_front() {
        // Keep walking past flash sections: what they call must move with them.
        if let Some(m) = in_flash(oi, si) {
            findings.push(describe(r, layout, &parent, &steps, (oi, si), m));
        }
        let sec = &r.objects[oi].sections[si as usize];
        for rel in &sec.relocs {
            if matches!(rel.r_type, R_ARM_NONE | R_ARM_V4BX) {
                continue;
            }
            let Some(to) = r.symbol_section(oi, rel.sym) else {
                continue;
            };
            let ts = &r.objects[to.0].sections[to.1 as usize];
            if parent.contains_key(&to)
                || !ts.is_alloc()
                || ts.is_write()
                || ts.sh_type == elf::SHT_ARM_EXIDX.0
                || layout.placement[to.0][to.1 as usize].is_none()
            {
                continue;
            }
            parent.insert(to, Some((oi, si)));
            steps.insert(
                to,
                Step {
                    obj: to.0,
                    sec: to.1,
                    symbol: symbol_name(r, oi, rel.sym, to),
                },
            );
            queue.push_back(to);
        }
    }
    findings
}

fn describe(
    r: &Resolved,
    layout: &Layout,
    parent: &FxHashMap<(usize, u32), Option<(usize, u32)>>,
    steps: &FxHashMap<(usize, u32), Step>,
    end: (usize, u32),
    region: usize,
) -> String {
    let mut chain = Vec::new();
    let mut at = Some(end);
    while let Some(key) = at {
        let s = &steps[&key];
        chain.push(format!(
            "{} ({}, {})",
            s.symbol,
            r.objects[s.obj].sections[s.sec as usize].name,
            short_origin(r, s.obj)
        ));
        at = parent.get(&key).copied().flatten();
    }
    chain.reverse();
    let last = &steps[&end];
    let is = &r.objects[last.obj].sections[last.sec as usize];
    let what = if is.is_exec() {
        "code"
    } else {
        "read-only data"
    };
    let pattern = {
        let o = &r.objects[last.obj].origin;
        let path = o.path.display().to_string();
        let file = path.rsplit('/').next().unwrap_or(&path).to_string();
        match &o.member {
            Some(m) => format!("*{file}:{m}({})", is.name),
            None => format!("*{file}({})", is.name),
        }
    };
    format!(
        "RAM-only code reaches {what} in flash: {} in {}\n  fix: run {} from RAM too (plan it \
         into ITCM/OCRAM, or add `{pattern}` to the RAM code output section), or stop calling it \
         while the flash is busy",
        chain.join(" -> "),
        layout.regions[region].name,
        last.symbol
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str, origin: u64, attrs: &str) -> Region {
        Region {
            name: name.into(),
            origin,
            length: 0x1_0000,
            attrs: attrs.into(),
            current: origin,
        }
    }

    #[test]
    fn flash_regions_from_attributes_or_board() {
        let regions = [
            region("m_flash", 0x6000_0000, "RX"),
            region("m_itcm", 0, "RX"),
            region("ITCM2", 0x0100_0000, "rx"),
            region("m_ocram", 0x2020_0000, "RWX"),
            region("other", 0x7000_0000, "rx!w"),
            region("noattrs", 0x3000_0000, ""),
        ];
        assert_eq!(
            flash_regions(&regions, None),
            [true, false, false, false, true, false]
        );
        // The RT1062 has no XIP region at 0x7000_0000, whatever the script says.
        let board = Board::resolve("imxrt1062").unwrap();
        assert_eq!(
            flash_regions(&regions, Some(&board)),
            [true, false, false, false, false, false]
        );
    }
}
