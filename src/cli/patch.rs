//! `hotlink patch-script`: the user's linker script with a plan applied, for GNU ld and LLD.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::plan::Plan;
use crate::planner::patch::patch_script;

/// Write a copy of a GNU ld / LLD linker script with a plan applied: the planned input sections
/// first in each receiving output section (`.ram_function`, `.itcm`…), and that section moved
/// ahead of the one whose `*(.text*)` would claim them, its load address unchanged. Link with
/// the copy, then check the link's map with `hotlink verify`.
///
/// Example: `hotlink patch-script --plan plan.json MIMXRT1062xxxxx_flexspi_nor.ld -o planned.ld`
#[derive(Args)]
pub struct PatchScriptArgs {
    #[arg(long)]
    plan: PathBuf,
    /// The linker script to patch (the file that holds SECTIONS).
    script: PathBuf,
    #[arg(short, long)]
    output: PathBuf,
    /// The output section that receives a plan region's sections, when the script's MEMORY
    /// regions cannot tell (always for flash): REGION=.SECTION (repeatable).
    #[arg(long, value_name = "REGION=.SECTION")]
    place_into: Vec<String>,
    /// Where to look for the files the script INCLUDEs, after the script's own directory (the
    /// link line's `-L` directories); they are copied into the patched script.
    #[arg(short = 'L', value_name = "DIR")]
    search_dir: Vec<PathBuf>,
}

pub fn run(args: PatchScriptArgs) -> Result<()> {
    let plan = Plan::load(&args.plan)?;
    let text = std::fs::read_to_string(&args.script)
        .with_context(|| format!("cannot read linker script {}", args.script.display()))?;
    let place_into = args
        .place_into
        .iter()
        .map(|p| super::plan::split_pair(p, "--place-into"))
        .collect::<Result<Vec<_>>>()?;
    let mut inlined = Vec::new();
    let text = inline_includes(&args.script, &text, &args.search_dir, &mut inlined, 0)?;
    let patched = patch_script(&args.script, &text, &plan, &place_into)?;
    for name in &inlined {
        eprintln!("note: INCLUDE {name} copied into the patched script (it reads no other file)");
    }
    crate::fsutil::write_atomic(&args.output, patched.text.as_bytes())?;
    for note in &patched.notes {
        eprintln!("note: {note}");
    }
    eprintln!(
        "{} written: {} planned sections; check the link with hotlink verify --plan {} --map <its map>",
        args.output.display(),
        plan.placements.len(),
        args.plan.display()
    );
    Ok(())
}

/// `text` with every line that is only `INCLUDE file` replaced by that file's lines, found
/// beside `script` (where PX4's `itcm_functions_includes.ld` and Zephyr's `linker_relocate.ld`
/// are) or in `search` (imxrt-rt's `device.x`): the patched copy then holds every statement a
/// plan has to reorder. `inlined` collects the names.
fn inline_includes(
    script: &Path,
    text: &str,
    search: &[PathBuf],
    inlined: &mut Vec<String>,
    depth: usize,
) -> Result<String> {
    let dir = script.parent().unwrap_or(Path::new("."));
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let name = line
            .trim()
            .strip_prefix("INCLUDE")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map(|rest| rest.trim().trim_end_matches(';').trim().trim_matches('"'));
        let Some(name) = name.filter(|n| !n.is_empty() && !n.contains(char::is_whitespace)) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        if depth > 8 {
            bail!(
                "{}:{}: INCLUDE nested too deeply (recursive include?)",
                script.display(),
                n + 1
            );
        }
        let path = std::iter::once(dir)
            .chain(search.iter().map(PathBuf::as_path))
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .with_context(|| {
                format!(
                    "{}:{}: INCLUDE {name}: not found beside the script nor in the -L directories ({}); give the directory that holds it with -L",
                    script.display(),
                    n + 1,
                    search.len()
                )
            })?;
        let included = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push_str(&inline_includes(
            &path,
            &included,
            search,
            inlined,
            depth + 1,
        )?);
        inlined.push(name.to_string());
    }
    Ok(out)
}
