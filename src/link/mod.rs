//! hotlink's built-in static linker for Cortex-M firmware (ARM ELF, Thumb-2).
//!
//! Stages, as in the `wild` linker: [`args`] reads ld's command line and [`script`] GNU ld
//! scripts; [`load`] reads objects and archives; [`resolve`] builds the symbol table, extracts
//! archive members and finds live sections; [`layout`] assigns addresses in memory regions and
//! places veneers; [`relocate`] builds section contents and applies relocations; [`write`] emits
//! the ELF image, the GNU-style map and the JSON link map. [`place`] applies a placement plan,
//! [`ramcheck`] checks that flash-disabled code never reaches flash, and [`attributes`] merges
//! the objects' build attributes as GNU ld does (refusing a floating-point ABI mismatch). [`fuzz`] holds the fuzzing entry points.

pub mod args;
pub mod attributes;
pub mod exprsection;
pub mod fuzz;
pub mod layout;
pub mod load;
pub mod merge;
pub mod place;
pub mod ramcheck;
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
            &mut |name, dirs| script::find_in_dirs(name, dirs),
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
            let regions = layout::eval_regions(&script)?;
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
    moves: &[place::Move],
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
        let placed: Vec<&place::Move> = moves
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
