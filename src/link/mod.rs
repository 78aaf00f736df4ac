//! hotlink's built-in static linker for Cortex-M firmware (ARM ELF, Thumb-2).
//!
//! A line of stages, as in the `wild` linker: each module reads only the modules before it in
//! this list (`STAGE_ORDER`; a unit test reads every file's `super::`/`crate::link::` paths and
//! fails on one that reaches forward), so a stage can be read, tested and sped up on its own.
//!
//! 1. Facts and inputs: [`arm`] (relocation numbers, Thumb-2 branch encodings and reach),
//!    [`stub_order`] (GNU ld's veneer-order facts: BFD section ids, its name hash), [`args`] (ld's
//!    command line), [`script`] (GNU ld scripts), [`exprsection`] (which section a script
//!    expression is relative to), [`regions`] (MEMORY evaluated, region queries).
//! 2. [`load`] reads objects and archives.
//! 3. [`resolve`] builds the symbol table, extracts archive members and finds live sections;
//!    [`merge`] folds mergeable strings and constants; [`attributes`] merges the objects' build
//!    attributes as GNU ld does.
//! 4. [`layout`] assigns addresses in memory regions and places veneers; it also answers what a
//!    symbol's address is and which branches go through a veneer. [`place`] applies a placement
//!    plan: it turns the plan into the [`layout::Move`]s layout takes as input, and after layout
//!    measures the veneer bytes the moves added.
//! 5. [`relocate`] builds section contents and applies relocations.
//! 6. [`write`] emits the ELF image, the GNU-style map and the JSON link map; [`ramcheck`] checks
//!    the laid-out image: flash-disabled code never reaches flash.
//!
//! This file drives the stages in that order; [`fuzz`] holds the fuzzing entry points.

pub mod args;
pub mod arm;
pub mod attributes;
pub mod exprsection;
pub mod fuzz;
pub mod layout;
pub mod load;
pub mod merge;
pub mod place;
pub mod ramcheck;
pub mod regions;
pub mod relocate;
pub mod resolve;
pub mod script;
pub mod stub_order;
pub mod write;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use args::{Input, LinkArgs, Severity};
use load::{Archive, Origin};
use resolve::Loaded;
use script::{Command, Script};

/// What a link produced, for the caller to report.
pub struct LinkResult {
    pub map: crate::linkmap::LinkMap,
    pub warnings: Vec<String>,
    /// What the plan did, per region (empty without `--plan`).
    pub notes: Vec<String>,
}

fn find_library(name: &str, dirs: &[PathBuf]) -> Result<PathBuf> {
    let file = match name.strip_prefix(':') {
        Some(exact) => exact.to_string(),
        None => format!("lib{name}.a"),
    };
    dirs.iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "cannot find -l{name} ({file}) in the library search path: {}",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

fn load_scripts(args: &LinkArgs) -> Result<Script> {
    if args.scripts.is_empty() {
        bail!("no linker script: pass one with -T (hotlink has no built-in default script)");
    }
    let mut all = Script::default();
    for path in &args.scripts {
        let found = script::find_in_dirs(&path.display().to_string(), &args.search_dirs)
            .map_err(|e| anyhow!("linker script: {e}"))?;
        let parsed = script::parse(
            &found.0.display().to_string(),
            &found.1,
            &args.search_dirs,
            &mut |name, dirs| match &args.base_dir {
                Some(base) if base.join(name).is_file() => {
                    script::find_in_dirs(&base.join(name).display().to_string(), dirs)
                }
                _ => script::find_in_dirs(name, dirs),
            },
        )?;
        all.commands.extend(parsed.commands);
    }
    Ok(all)
}

/// Runs a whole link as `ld` would with these arguments.
pub fn link(args: &LinkArgs) -> Result<LinkResult> {
    let mut warnings: Vec<String> = args
        .ignored
        .iter()
        .map(|o| format!("ignoring option `{o}` (no effect on a static Cortex-M link)"))
        .collect();
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("a.out"));
    let plan = match &args.plan {
        Some(path) => Some(crate::plan::Plan::load(path)?),
        None => None,
    };
    if let Some(path) = &args.emit_ld {
        let Some(plan) = &plan else {
            bail!("--emit-ld needs a plan: pass --plan FILE");
        };
        crate::fsutil::write_atomic(path, plan.to_ld_fragment().as_bytes())?;
    }
    if plan.is_none() && !args.place_into.is_empty() {
        bail!("--place-into only applies with --plan FILE");
    }
    let board = match &args.board {
        Some(spec) => Some(crate::board::Board::resolve(spec)?),
        None => None,
    };
    let script = load_scripts(args)?;
    let mut search_dirs = args.search_dirs.clone();
    let mut roots: Vec<String> = args.undefined.clone();
    for c in &script.commands {
        match c {
            Command::SearchDir(d) => search_dirs.push(PathBuf::from(d)),
            Command::Extern(syms) => roots.extend(syms.iter().cloned()),
            _ => {}
        }
    }
    if let Some(e) = &args.entry {
        roots.push(e.clone());
    }
    // Load inputs in order.
    let mut loaded = Vec::new();
    let mut whole = false;
    let mut static_mode = false;
    for input in &args.inputs {
        let path = match input {
            Input::StartGroup => {
                loaded.push(Loaded::GroupStart);
                continue;
            }
            Input::EndGroup => {
                loaded.push(Loaded::GroupEnd);
                continue;
            }
            Input::WholeArchive(on) => {
                whole = *on;
                continue;
            }
            Input::Static(on) => {
                static_mode = *on;
                continue;
            }
            Input::File(p) => p.clone(),
            Input::Library(name) => find_library(name, &search_dirs)?,
        };
        let data = load::read_file(&path)?;
        if load::is_archive(&data) {
            loaded.push(Loaded::Archive {
                archive: Archive::parse(&path, data)?,
                whole,
                checked: static_mode || matches!(input, Input::Library(_)),
            });
        } else {
            let origin = Origin {
                path: path.clone(),
                member: None,
            };
            loaded.push(Loaded::Object(load::parse_object(origin, &data)?));
        }
    }
    let r = resolve::resolve(loaded, &roots, args.allow_multiple_definition)?;
    let moves = match &plan {
        Some(plan) => {
            let regions = regions::eval_regions(&script)?;
            place::resolve_moves(plan, &args.place_into, &script, &regions, &r, &mut warnings)?
        }
        None => Vec::new(),
    };
    let mut defsyms = Vec::new();
    for (sym, expr) in &args.defsyms {
        let e = script::parse_expr(&format!("--defsym {sym}"), expr)?;
        defsyms.push((sym.clone(), e));
    }
    let entry_name = args.entry.clone().or_else(|| {
        script.commands.iter().find_map(|c| match c {
            Command::Entry(e) => Some(e.clone()),
            _ => None,
        })
    });
    let mut gc_roots = roots.clone();
    gc_roots.extend(entry_name.iter().cloned());
    let layout = layout::Layout::new(
        &script,
        &r,
        args.gc_sections,
        &gc_roots,
        &defsyms,
        &moves,
        !args.no_merge_exidx_entries,
    )?;
    warnings.extend(layout.attribute_warnings.iter().cloned());
    if !layout.dropped_exidx.is_empty() {
        let names: Vec<String> = layout
            .dropped_exidx
            .iter()
            .map(|&(o, s)| {
                format!(
                    "{}({})",
                    r.objects[o].origin, r.objects[o].sections[s as usize].name
                )
            })
            .collect();
        warnings.push(format!(
            "left out {} unwind table entr{} whose code is more than 1 GB from .ARM.exidx \
             (R_ARM_PREL31 cannot reach ITCM from XIP flash): {}; unwinding stops in those \
             functions (C code does not unwind; for C++ exceptions keep them in flash or OCRAM)",
            names.len(),
            if names.len() == 1 { "y" } else { "ies" },
            names.join(", ")
        ));
    }
    let mut notes = Vec::new();
    if let Some(plan) = &plan {
        plan_checks(plan, &layout, &r, &moves, &mut warnings, &mut notes);
    }
    let severity = args.ram_only_check.unwrap_or(if plan.is_some() {
        Severity::Error
    } else {
        Severity::Warn
    });
    if severity != Severity::Off {
        let flash = ramcheck::flash_regions(&layout.regions, board.as_ref());
        let ram_only: Vec<(usize, u32)> = moves
            .iter()
            .filter(|m| m.ram_only)
            .map(|m| (m.obj, m.sec))
            .collect();
        let findings = ramcheck::check(&layout, &r, &args.ram_only, &ram_only, &flash);
        if !findings.is_empty() {
            if severity == Severity::Error {
                bail!(
                    "{}
({} finding(s); the check is an error with --plan or                      --ram-only-check=error)",
                    findings.join("\n"),
                    findings.len()
                );
            }
            warnings.extend(findings);
        }
    }
    let contents = relocate::build(&layout, &r)?;
    let symbols = write::collect_symbols(&layout, &r);
    let (entry_symbol, entry_addr) = match &entry_name {
        Some(name) => match layout.global_value(&r, name) {
            Some(v) => (Some(name.clone()), v),
            None => {
                warnings.push(format!(
                    "cannot find entry symbol `{name}`; defaulting to 0"
                ));
                (Some(name.clone()), 0)
            }
        },
        None => (None, 0),
    };
    let image = write::elf_image(&layout, &r, &contents, &symbols, entry_addr);
    crate::fsutil::write_build_output(&output, &image)?;
    let map = write::link_map(
        &layout,
        &r,
        &symbols,
        crate::linkmap::MapEntry {
            symbol: entry_symbol,
            address: entry_addr,
        },
    );
    if let Some(path) = &args.map {
        crate::fsutil::write_build_output(path, write::gnu_map(&layout, &r, &map).as_bytes())?;
    }
    if let Some(path) = &args.json_map {
        let json = serde_json::to_vec_pretty(&map)?;
        crate::fsutil::write_build_output(path, &json)?;
    }
    Ok(LinkResult {
        map,
        warnings,
        notes,
    })
}

/// After layout with a plan: sections that `--gc-sections` removed, and the veneer bytes each
/// region really got against the plan's reserve.
fn plan_checks(
    plan: &crate::plan::Plan,
    layout: &layout::Layout,
    r: &resolve::Resolved,
    moves: &[layout::Move],
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    for m in moves {
        if layout.placement[m.obj][m.sec as usize].is_none() {
            warnings.push(format!(
                "plan: `{}` of {} is not in the image (removed by --gc-sections: nothing refers to it)",
                r.objects[m.obj].sections[m.sec as usize].name,
                r.objects[m.obj].origin
            ));
        }
    }
    for region in &plan.regions {
        let placed: Vec<&layout::Move> = moves
            .iter()
            .filter(|m| m.plan_region == region.name)
            .collect();
        if placed.is_empty() {
            continue;
        }
        let bytes: u64 = placed
            .iter()
            .map(|m| r.objects[m.obj].sections[m.sec as usize].size)
            .sum();
        notes.push(format!(
            "plan: {} section(s), {bytes} bytes into {} (output section {})",
            placed.len(),
            region.name,
            placed[0].output
        ));
    }
    for u in place::veneer_use(layout, r, plan, moves) {
        if u.added == 0 {
            continue;
        }
        notes.push(format!(
            "plan: {} veneer bytes added in {} (reserved {})",
            u.added, u.region, u.reserved
        ));
        if u.added > u.reserved {
            warnings.push(format!(
                "plan: the moves added {} bytes of veneers in {}, more than the {} the plan                  reserved (veneers to {}); the plan's budget for {} is off by {} bytes: re-plan                  with a larger veneer reserve, or check that the region still has room",
                u.added,
                u.region,
                u.reserved,
                u.targets.join(", "),
                u.region,
                u.added - u.reserved
            ));
        }
    }
}

/// GNU ld's `--print-memory-usage` table.
pub fn memory_usage(map: &crate::linkmap::LinkMap) -> String {
    let mut out = String::from("Memory region         Used Size  Region Size  %age Used\n");
    for r in &map.regions {
        let pct = if r.length == 0 {
            0.0
        } else {
            r.used as f64 * 100.0 / r.length as f64
        };
        out.push_str(&format!(
            "{:>16}: {:>12} {:>12} {:>9.2}%\n",
            r.name,
            human(r.used),
            human(r.length),
            pct
        ));
    }
    out
}

fn human(v: u64) -> String {
    if v >= 1 << 30 && v % (1 << 30) == 0 {
        format!("{} GB", v >> 30)
    } else if v >= 1 << 20 && v % (1 << 20) == 0 {
        format!("{} MB", v >> 20)
    } else if v >= 1 << 10 && v % (1 << 10) == 0 {
        format!("{} KB", v >> 10)
    } else {
        format!("{v} B")
    }
}

/// The stages in the order they run; a module may read only the modules before it (the driver,
/// this file, and the fuzzing entry points read them all).
#[cfg(test)]
const STAGE_ORDER: [&str; 16] = [
    "arm",
    "stub_order",
    "args",
    "script",
    "exprsection",
    "regions",
    "load",
    "resolve",
    "merge",
    "attributes",
    "layout",
    "place",
    "relocate",
    "write",
    "ramcheck",
    "fuzz",
];

#[cfg(test)]
mod tests {
    use super::STAGE_ORDER;

    /// `optimize -C DIR` rebases a recorded link line: a script's `INCLUDE` of a file beside it
    /// (PX4's `itcm_functions_includes.ld`) is found in DIR, as GNU ld finds it in the current
    /// directory of the link it was recorded from.
    #[test]
    fn a_rebased_link_finds_includes_in_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.ld"), "INCLUDE list.ld\n").unwrap();
        std::fs::write(dir.path().join("list.ld"), "ENTRY(reset)\n").unwrap();
        let mut args = super::LinkArgs::parse(["-T".into(), "main.ld".into()]).unwrap();
        args.rebase(dir.path());
        let script = super::load_scripts(&args).unwrap();
        assert!(!script.commands.is_empty(), "{:?}", script.commands);
    }

    /// The first path segment after each `prefix` in `code`: `prefix` `name::…` gives `name`,
    /// `prefix` `{a, b::c}` gives `a` and `b`.
    fn names_after(code: &str, prefix: &str) -> Vec<String> {
        let ident = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
                .collect()
        };
        let mut out = Vec::new();
        for (at, _) in code.match_indices(prefix) {
            // `super::super::x` holds `super::x` too: count it only where it starts, and only
            // when it is exactly `prefix` (deeper paths leave src/link).
            if code[..at].ends_with("super::") {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            if rest.starts_with("super::") {
                continue;
            }
            let Some(group) = rest.strip_prefix('{') else {
                out.push(ident(rest));
                continue;
            };
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        }
        out.retain(|n| !n.is_empty());
        out
    }

    /// The sibling modules (or driver items) that `code` names, `depth` modules below `link`.
    fn link_uses(code: &str, depth: usize) -> Vec<String> {
        let mut names = names_after(code, &"super::".repeat(depth));
        names.extend(names_after(code, "crate::link::"));
        names
    }

    /// Every file of src/link (and of its module folders) names only stages before its own,
    /// in its code and in its tests; a new file must be given its place in `STAGE_ORDER`.
    #[test]
    fn each_stage_reads_only_the_stages_before_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/link");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let module = path.file_name().unwrap().to_string_lossy().to_string();
                for sub in std::fs::read_dir(&path).unwrap() {
                    files.push((module.clone(), sub.unwrap().path(), 2));
                }
            } else if path.file_stem().is_some_and(|s| s != "mod") {
                let module = path.file_stem().unwrap().to_string_lossy().to_string();
                files.push((module, path, 1));
            }
        }
        assert!(files.len() > STAGE_ORDER.len(), "read {files:?}");
        let mut wrong = Vec::new();
        for (module, path, depth) in &files {
            let rank = STAGE_ORDER
                .iter()
                .position(|m| m == module)
                .unwrap_or_else(|| panic!("{} has no place in STAGE_ORDER", path.display()));
            let text = std::fs::read_to_string(path).unwrap();
            // A file's test module sits one level deeper than its code.
            let (code, tests) = match text.find("#[cfg(test)]\nmod ") {
                Some(at) => text.split_at(at),
                None => (text.as_str(), ""),
            };
            let uses = link_uses(code, *depth)
                .into_iter()
                .chain(link_uses(tests, depth + 1));
            for used in uses {
                let ok =
                    used == "*" || used == *module || STAGE_ORDER[..rank].contains(&used.as_str());
                if !ok {
                    wrong.push(format!("{} uses `{used}`", path.display()));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "stages must read only the stages before them ({STAGE_ORDER:?}):\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn finds_grouped_and_nested_uses() {
        let code = "use super::{layout::{A, B}, load};\nuse super::super::script;\n\
                    let x = crate::link::write::f();";
        assert_eq!(link_uses(code, 1), ["layout", "load", "write"]);
        assert_eq!(link_uses(code, 2), ["script", "write"]);
    }
}
