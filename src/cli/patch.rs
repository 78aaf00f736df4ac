//! `hotlink patch-script`: the user's linker script with a plan applied, for GNU ld and LLD.

use std::path::PathBuf;

use anyhow::{Context, Result};
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
    let patched = patch_script(&args.script, &text, &plan, &place_into)?;
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
