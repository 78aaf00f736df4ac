//! Applying a placement plan (`--plan`, docs/plan-format.md): each planned input section is taken
//! out of the output section the script would give it and appended to the output section that
//! runs from the plan's target region, so the startup code's existing copy loop moves it.
//!
//! The receiving output section is the one named with `--place-into REGION=.section`, or else the
//! first loadable output section of the script whose run region (a MEMORY region, through
//! REGION_ALIAS) covers the plan region's base address, that is executable and has an input
//! section description to append to. After layout, [`veneer_use`] measures the veneer bytes the
//! moves really added in each region, to hold them against the plan's reserve.

use rustc_hash::FxHashMap;

use super::layout::{function_at, veneer_call_sites, Layout, Move, Piece};
use super::regions::{region_attrs, region_covering, Region};
use super::resolve::Resolved;
use super::script::{
    Command, Expr, ExprKind, OutputItem, OutputSection, OutputType, Script, SectionsItem,
};
use crate::plan::stable::{Found, SectionIndex};
use crate::plan::{Placement, Plan, PlanRegion};

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("plan: {0}")]
    Plan(String),
}

fn plan_err(msg: impl Into<String>) -> PlaceError {
    PlaceError::Plan(msg.into())
}

fn output_statements(script: &Script) -> Vec<&OutputSection> {
    let mut out = Vec::new();
    for c in &script.commands {
        if let Command::Sections(items) = c {
            for item in items {
                if let SectionsItem::Output(o) = item {
                    out.push(&**o);
                }
            }
        }
    }
    out
}

fn aliases(script: &Script) -> FxHashMap<&str, &str> {
    script
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::RegionAlias { alias, region } => Some((alias.as_str(), region.as_str())),
            _ => None,
        })
        .collect()
}

fn unalias<'a>(aliases: &FxHashMap<&str, &'a str>, mut name: &'a str) -> &'a str {
    for _ in 0..8 {
        match aliases.get(name) {
            Some(n) => name = n,
            None => break,
        }
    }
    name
}

/// The output section that receives the sections planned for `region`.
pub fn receiving_section(
    region: &PlanRegion,
    place_into: &[(String, String)],
    script: &Script,
    regions: &[Region],
) -> Result<String, PlaceError> {
    let outputs = output_statements(script);
    let covering = region_covering(regions, region.base);
    if let Some((_, name)) = place_into
        .iter()
        .find(|(r, _)| *r == region.name || covering.is_some_and(|m| regions[m].name == *r))
    {
        return match outputs.iter().find(|o| o.name == *name) {
            Some(o) if o.items.iter().any(|i| matches!(i, OutputItem::Input(_))) => {
                Ok(name.clone())
            }
            Some(_) => Err(plan_err(format!(
                "--place-into {}={name}: output section `{name}` has no input section \
                 description (like `*(.itcm*)`) to add planned sections to",
                region.name
            ))),
            None => Err(plan_err(format!(
                "--place-into {}={name}: the linker script has no output section `{name}` \
                 (it has: {})",
                region.name,
                outputs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        };
    }
    let hint = format!(
        "name the output section with --place-into {}=.SECTION",
        region.name
    );
    let Some(m) = covering else {
        return Err(plan_err(format!(
            "region {} ({:#x}..{:#x}) is not inside any MEMORY region of the linker script; {hint}",
            region.name,
            region.base,
            region.base + region.size
        )));
    };
    let memory = &regions[m];
    let attrs = region_attrs(&memory.attrs);
    if !attrs.is_empty() && !attrs.contains('x') {
        return Err(plan_err(format!(
            "region {} falls in MEMORY region `{}`, which is not executable ({}); {hint}",
            region.name, memory.name, memory.attrs
        )));
    }
    let aliases = aliases(script);
    outputs
        .iter()
        .find(|o| {
            o.kind != OutputType::NoLoad
                && o.name != "/DISCARD/"
                && o.region
                    .as_deref()
                    .is_some_and(|r| unalias(&aliases, r) == memory.name)
                && o.items.iter().any(|i| matches!(i, OutputItem::Input(_)))
        })
        .map(|o| o.name.clone())
        .ok_or_else(|| {
            plan_err(format!(
                "no output section of the linker script runs from MEMORY region `{}` (which \
                 holds plan region {}); add one that the startup code copies (like \
                 `.itcm : {{ *(.itcm*) }} > {} AT> m_flash`), or {hint}",
                memory.name, region.name, memory.name
            ))
        })
}

/// Every content section of this link, indexed to find planned ones by path, file name or,
/// after a rebuild renamed them, by their build-independent name.
fn section_index(r: &Resolved) -> SectionIndex<(usize, u32)> {
    let paths: Vec<String> = r
        .objects
        .iter()
        .map(|o| o.origin.path.display().to_string())
        .collect();
    SectionIndex::new(r.objects.iter().enumerate().flat_map(|(oi, o)| {
        let path = paths[oi].as_str();
        let member = o.origin.member.as_deref();
        o.sections
            .iter()
            .enumerate()
            .skip(1)
            .map(move |(si, s)| ((oi, si as u32), path, member, s.name.as_str()))
    }))
}

fn describe(p: &Placement) -> String {
    match &p.member {
        Some(m) => format!("`{}` of {}({m})", p.section, p.object),
        None => format!("`{}` of {}", p.section, p.object),
    }
}

/// Finds every planned input section and the output section that receives it. Sections the
/// link does not have are a warning (pushed to `warnings`), and an error only when none is found.
pub fn resolve_moves(
    plan: &Plan,
    place_into: &[(String, String)],
    script: &Script,
    regions: &[Region],
    r: &Resolved,
    warnings: &mut Vec<String>,
) -> Result<Vec<Move>, PlaceError> {
    for (name, _) in place_into {
        let known =
            plan.regions.iter().any(|p| p.name == *name) || regions.iter().any(|m| m.name == *name);
        if !known {
            return Err(plan_err(format!(
                "--place-into {name}=...: `{name}` is neither a region of the plan ({}) nor a \
                 MEMORY region of the linker script",
                plan.regions
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let mut receivers: FxHashMap<&str, String> = FxHashMap::default();
    let index = section_index(r);
    let mut moves = Vec::new();
    let mut missing = Vec::new();
    let mut renamed = 0;
    for p in &plan.placements {
        let Some(region) = plan.regions.iter().find(|g| g.name == p.to) else {
            return Err(plan_err(format!(
                "placement of {} names region `{}`, which the plan does not list",
                describe(p),
                p.to
            )));
        };
        let output = match receivers.get(region.name.as_str()) {
            Some(o) => o.clone(),
            None => {
                let o = receiving_section(region, place_into, script, regions)?;
                receivers.insert(&region.name, o.clone());
                o
            }
        };
        let found = match index.find(p) {
            Found::Same(v) => v,
            Found::Renamed(one) => {
                renamed += 1;
                vec![one]
            }
            Found::Ambiguous(n) => {
                missing.push(format!(
                    "{} ({n} sections match once build hashes are removed)",
                    describe(p)
                ));
                Vec::new()
            }
            Found::Missing => {
                missing.push(describe(p));
                Vec::new()
            }
        };
        for (obj, sec) in found {
            moves.push(Move {
                obj,
                sec,
                output: output.clone(),
                plan_region: region.name.clone(),
                ram_only: p.reason == "ram-only",
            });
        }
    }
    for output in receivers.values() {
        check_copied(output, script, r)?;
    }
    if missing.is_empty() {
        return Ok(moves);
    }
    let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
    let list = format!(
        "{}{}",
        shown.join(", "),
        if missing.len() > shown.len() {
            ", ..."
        } else {
            ""
        }
    );
    if moves.is_empty() {
        return Err(plan_err(format!(
            "none of the {} planned section(s) is in this link: {list}; was the plan made for another build of another \
             program? Re-run `hotlink plan` on this build's link map",
            missing.len()
        )));
    }
    warnings.push(format!(
        "plan: {} of {} planned section(s) are not in this link and stay where the script puts \
         them: {list} (renamed in the source, inlined or removed since the plan; {renamed} others \
         were found under new build hashes). Re-run `hotlink plan` on this build to place them",
        missing.len(),
        plan.placements.len()
    ));
    Ok(moves)
}

/// The names an expression reads (symbols, and section names given to LOADADDR/ADDR/SIZEOF).
fn names_in(expr: &Expr, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Sym(name) => out.push(name.clone()),
        ExprKind::Unary(_, a) => names_in(a, out),
        ExprKind::Binary(_, a, b) => {
            names_in(a, out);
            names_in(b, out);
        }
        ExprKind::Cond(a, b, c) => {
            names_in(a, out);
            names_in(b, out);
            names_in(c, out);
        }
        ExprKind::Call(_, args) => args.iter().for_each(|a| names_in(a, out)),
        ExprKind::Num(_) | ExprKind::Dot | ExprKind::Str(_) => {}
    }
}

/// The symbols that bound an output section's run and load addresses: those assigned inside it,
/// those its `AT(...)` reads, and top-level ones computed from `LOADADDR(.it)`/`ADDR(.it)`.
fn bounding_symbols(output: &OutputSection, script: &Script) -> Vec<String> {
    let mut symbols: Vec<String> = output
        .items
        .iter()
        .filter_map(|item| match item {
            OutputItem::Assign(a) if a.target != "." => Some(a.target.clone()),
            _ => None,
        })
        .collect();
    if let Some(lma) = &output.lma {
        names_in(lma, &mut symbols);
    }
    for c in &script.commands {
        let Command::Sections(items) = c else {
            continue;
        };
        for item in items {
            if let SectionsItem::Assign(a) = item {
                let mut read = Vec::new();
                names_in(&a.expr, &mut read);
                if read.contains(&output.name) {
                    symbols.push(a.target.clone());
                }
            }
        }
    }
    symbols.retain(|s| *s != output.name);
    symbols
}

/// Refuses to fill a RAM output section that nothing copies at boot: the startup copy reads the
/// symbols that bound it, so if no object references any of them, code placed there is never
/// copied and the image faults far from the cause (the MCUXpresso SDK's `.ram_function` without
/// `__STARTUP_INITIALIZE_RAMFUNCTION`). Sections without such symbols are not judged.
fn check_copied(output: &str, script: &Script, r: &Resolved) -> Result<(), PlaceError> {
    let Some(section) = output_statements(script)
        .into_iter()
        .find(|o| o.name == output)
    else {
        return Ok(());
    };
    let bounds = bounding_symbols(section, script);
    let read = bounds
        .iter()
        .any(|b| r.global(b).is_some_and(|g| !g.referenced_by.is_empty()));
    if bounds.is_empty() || read {
        return Ok(());
    }
    Err(plan_err(format!(
        "the plan puts code into output section {output}, but no object reads the symbols that bound it ({}): nothing copies it there at boot, and the image would fault when it runs that code. \
         Build the startup code so that it copies {output} (the MCUXpresso SDK's startup does only with -D__STARTUP_INITIALIZE_RAMFUNCTION), or name a section it copies with --place-into",
        bounds.join(", ")
    )))
}

/// Veneer bytes the plan's moves added in one plan region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeneerUse {
    pub region: String,
    pub added: u64,
    pub reserved: u64,
    /// Targets (symbol or address) of the added veneers, for messages.
    pub targets: Vec<String>,
}

/// Counts, per plan region, the veneers that exist because of the plan: those whose target lies
/// in a moved section or that are called from a moved section. A veneer in a region the plan
/// does not list counts against a reserve of 0 under the MEMORY region's name.
pub fn veneer_use(layout: &Layout, r: &Resolved, plan: &Plan, moves: &[Move]) -> Vec<VeneerUse> {
    let moved: rustc_hash::FxHashSet<(usize, u32)> = moves.iter().map(|m| (m.obj, m.sec)).collect();
    let moved_ranges: Vec<(u64, u64)> = moves
        .iter()
        .filter_map(|m| {
            let (out, off) = layout.placement[m.obj][m.sec as usize]?;
            let start = layout.sections[out].vma + off;
            Some((
                start,
                start + r.objects[m.obj].sections[m.sec as usize].size,
            ))
        })
        .collect();
    let mut uses: Vec<VeneerUse> = plan
        .regions
        .iter()
        .map(|g| VeneerUse {
            region: g.name.clone(),
            added: 0,
            reserved: g.veneer_bytes,
            targets: Vec::new(),
        })
        .collect();
    for sec in &layout.sections {
        let sites = veneer_call_sites(layout, r, sec);
        for (piece, off) in &sec.pieces {
            let Piece::Veneer { target } = *piece else {
                continue;
            };
            let dest = target & !1;
            let address = sec.vma + off;
            let to_moved = moved_ranges.iter().any(|&(a, b)| dest >= a && dest < b);
            let from_moved = !to_moved
                && sites
                    .get(&address)
                    .is_some_and(|v| v.iter().any(|&(o, s, _, _)| moved.contains(&(o, s))));
            if !to_moved && !from_moved {
                continue;
            }
            let name = plan
                .regions
                .iter()
                .find(|g| address >= g.base && address - g.base < g.size)
                .map(|g| g.name.clone())
                .or_else(|| sec.region.map(|i| layout.regions[i].name.clone()))
                .unwrap_or_else(|| sec.name.clone());
            let at = match uses.iter().position(|u| u.region == name) {
                Some(i) => i,
                None => {
                    uses.push(VeneerUse {
                        region: name,
                        added: 0,
                        reserved: 0,
                        targets: Vec::new(),
                    });
                    uses.len() - 1
                }
            };
            uses[at].added += 8;
            let label = function_at(layout, r, target).unwrap_or_else(|| format!("{dest:#x}"));
            uses[at].targets.push(label);
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str, origin: u64, length: u64, attrs: &str) -> Region {
        Region {
            name: name.into(),
            origin,
            length,
            attrs: attrs.into(),
            current: origin,
        }
    }

    fn plan_region(name: &str, base: u64) -> PlanRegion {
        PlanRegion {
            name: name.into(),
            kind: crate::board::RegionKind::Itcm,
            base,
            size: 0x2_0000,
            budget: 0x1000,
            used: 0,
            veneer_bytes: 0,
        }
    }

    fn script(text: &str) -> Script {
        super::super::script::parse("t.ld", text, &[], &mut |n, _| {
            Err(format!("no INCLUDE {n} in tests"))
        })
        .unwrap()
    }

    const SCRIPT: &str = "MEMORY { flash (rx) : ORIGIN = 0x60000000, LENGTH = 8M \
        itcm (rwx) : ORIGIN = 0, LENGTH = 128K  dtcm (rw) : ORIGIN = 0x20000000, LENGTH = 128K }\n\
        REGION_ALIAS(\"CODE_RAM\", itcm)\n\
        SECTIONS { .text : { *(.text*) } > flash\n\
        .noload (NOLOAD) : { *(.nl) } > CODE_RAM\n\
        .itcm : { . = ALIGN(8); *(.itcm*) } > CODE_RAM AT> flash\n\
        .data : { *(.data*) } > dtcm AT> flash }\n";

    fn regions() -> Vec<Region> {
        vec![
            region("flash", 0x6000_0000, 8 << 20, "rx"),
            region("itcm", 0, 128 << 10, "rwx"),
            region("dtcm", 0x2000_0000, 128 << 10, "rw"),
        ]
    }

    #[test]
    fn finds_the_loaded_section_that_runs_from_the_region() {
        let s = script(SCRIPT);
        let got = receiving_section(&plan_region("ITCM", 0), &[], &s, &regions()).unwrap();
        assert_eq!(got, ".itcm", "skips NOLOAD, follows REGION_ALIAS");
        let named = [("ITCM".to_string(), ".data".to_string())];
        let got = receiving_section(&plan_region("ITCM", 0), &named, &s, &regions()).unwrap();
        assert_eq!(got, ".data");
    }

    #[test]
    fn explains_what_is_wrong() {
        let s = script(SCRIPT);
        let e = receiving_section(&plan_region("DTCM", 0x2000_0000), &[], &s, &regions())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not executable") && e.contains("--place-into DTCM="),
            "{e}"
        );
        let e = receiving_section(&plan_region("SDRAM", 0x8000_0000), &[], &s, &regions())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not inside any MEMORY region"), "{e}");
        let named = [("ITCM".to_string(), ".itcmx".to_string())];
        let e = receiving_section(&plan_region("ITCM", 0), &named, &s, &regions())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no output section `.itcmx`") && e.contains(".text"),
            "{e}"
        );
    }
}
