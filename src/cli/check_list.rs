//! `hotlink check-list`: does every section an include list names still exist?

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::linkmap::LinkMap;
use crate::planner::include_list::{self, Build};

/// Check that every function an include list names (PX4's `itcm_functions_includes.ld`, or any
/// file of `*(.text.<function>)` lines) still exists in a build, as PX4's `itcm_check.py` does:
/// the linker silently ignores a line whose function was renamed or removed. From the ELF's
/// symbols, or exactly from the link map with --map. Lines marked `itcm-check-ignore` are
/// skipped. Exits 1 listing what is missing.
///
/// Example: `hotlink check-list --elf build/app.elf itcm_functions_includes.ld`
#[derive(Args)]
pub struct CheckListArgs {
    /// The include lists to check.
    #[arg(required = true)]
    lists: Vec<PathBuf>,
    /// The built image.
    #[arg(long, required_unless_present = "map")]
    elf: Option<PathBuf>,
    /// The link map of the build (checks every line, also those not named after a function).
    #[arg(long)]
    map: Option<PathBuf>,
}

pub fn run(args: CheckListArgs) -> Result<()> {
    let map = args.map.as_deref().map(LinkMap::load).transpose()?;
    let symbols = match (&map, &args.elf) {
        (None, Some(elf)) => {
            let bytes =
                std::fs::read(elf).with_context(|| format!("cannot read {}", elf.display()))?;
            Some(include_list::elf_symbols(&bytes).with_context(|| elf.display().to_string())?)
        }
        _ => None,
    };
    let build = match (&map, &symbols) {
        (Some(map), _) => Build::Map(map),
        (None, Some(symbols)) => Build::Symbols(symbols),
        (None, None) => unreachable!("clap requires --elf or --map"),
    };
    let source = args
        .map
        .as_ref()
        .or(args.elf.as_ref())
        .map_or_else(String::new, |p| p.display().to_string());
    let (mut missing, mut checked) = (Vec::new(), 0);
    for list in &args.lists {
        let text = std::fs::read_to_string(list)
            .with_context(|| format!("cannot read {}", list.display()))?;
        let entries = include_list::parse_list(&text);
        if entries.is_empty() {
            bail!(
                "{}: no input-section lines (`*(.text.<function>)`); is this the include list?",
                list.display()
            );
        }
        let result = include_list::check(&entries, &build);
        checked += result.checked;
        for e in &result.unchecked {
            eprintln!(
                "note: {}:{}: {}({}) is not named after a function; give --map to check it",
                list.display(),
                e.line,
                e.file,
                e.section
            );
        }
        missing.extend(
            result
                .missing
                .iter()
                .map(|e| format!("{}:{}: {}({})", list.display(), e.line, e.file, e.section)),
        );
    }
    if !missing.is_empty() {
        bail!(
            "{} of {checked} listed sections are not in {source} (renamed or removed: the linker ignores such lines silently, so they run from flash; regenerate the list with `hotlink emit`):\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }
    println!("{source}: all {checked} listed sections exist");
    Ok(())
}
