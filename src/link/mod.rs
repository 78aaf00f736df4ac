//! hotlink's built-in static linker for Cortex-M firmware (ARM ELF, Thumb-2).
//!
//! Stages, as in the `wild` linker: [`args`] reads ld's command line and [`script`] GNU ld
//! scripts; [`load`] reads objects and archives; [`resolve`] builds the symbol table, extracts
//! archive members and finds live sections; [`layout`] assigns addresses in memory regions and
//! places veneers; [`relocate`] builds section contents and applies relocations; [`write`] emits
//! the ELF image, the GNU-style map and the JSON link map.

pub mod args;
pub mod layout;
pub mod load;
pub mod relocate;
pub mod resolve;
pub mod script;
pub mod write;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use args::{Input, LinkArgs};
use load::{Archive, Origin};
use resolve::Loaded;
use script::{Command, Script};

/// What a link produced, for the caller to report.
pub struct LinkResult {
    pub map: crate::linkmap::LinkMap,
    pub warnings: Vec<String>,
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
            Input::File(p) => p.clone(),
            Input::Library(name) => find_library(name, &search_dirs)?,
        };
        let data = load::read_file(&path)?;
        if load::is_archive(&data) {
            loaded.push(Loaded::Archive {
                archive: Archive::parse(&path, data)?,
                whole,
            });
        } else {
            let origin = Origin {
                path: path.clone(),
                member: None,
            };
            loaded.push(Loaded::Object(load::parse_object(origin, &data)?));
        }
    }
    let r = resolve::resolve(loaded, &roots)?;
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
    let layout = layout::Layout::new(&script, &r, args.gc_sections, &gc_roots, &defsyms)?;
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
    write::write_atomically(&output, &image)
        .with_context(|| format!("cannot write {}", output.display()))?;
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
        write::write_atomically(path, write::gnu_map(&layout, &r, &map).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json_map {
        let json = serde_json::to_vec_pretty(&map)?;
        write::write_atomically(path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(LinkResult { map, warnings })
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
