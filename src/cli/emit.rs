//! `hotlink emit`: a plan in the form a project's own build takes.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::linkmap::LinkMap;
use crate::plan::Plan;
use crate::planner::{include_list, zephyr};

/// Write a plan as the file a project's build already reads: PX4's include list
/// (`itcm_functions_includes.ld`: one `*(.text.<function>)` per line, INCLUDEd in an ITCM
/// section ahead of `.text`) or Zephyr's `zephyr_code_relocate()` calls. The output replaces the
/// project's own list: it keeps what the plan leaves in the region and adds what it moves in.
///
/// Examples: `hotlink emit --format px4 --plan plan.json --map build/app.map -o
/// boards/.../itcm_functions_includes.ld`, then `hotlink check-list` in CI;
/// `hotlink emit --format zephyr --plan plan.json --map build/zephyr/zephyr.map -o relocate.cmake`,
/// included from the application's CMakeLists.txt.
#[derive(Args)]
pub struct EmitArgs {
    #[arg(long, value_enum)]
    format: EmitFormat,
    #[arg(long)]
    plan: PathBuf,
    /// The link map of the image the plan was made for: what the region holds today.
    #[arg(long)]
    map: PathBuf,
    /// px4: the region whose list to write.
    #[arg(long, default_value = "ITCM")]
    region: String,
    /// zephyr: one call per file without FILTER (Zephyr releases whose zephyr_code_relocate has
    /// no FILTER): every function of each file moves; the output says what that costs.
    #[arg(long)]
    whole_files: bool,
    /// zephyr: the LOCATION of a plan region, e.g. OCRAM2=OCRAM_TEXT (default: REGION_TEXT).
    #[arg(long, value_name = "REGION=LOCATION")]
    location: Vec<String>,
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum EmitFormat {
    /// PX4's itcm_functions_includes.ld.
    Px4,
    /// Zephyr's zephyr_code_relocate() calls.
    Zephyr,
}

pub fn run(args: EmitArgs) -> Result<()> {
    let plan = Plan::load(&args.plan)?;
    let map = LinkMap::load(&args.map)?;
    let (text, notes) = match args.format {
        EmitFormat::Px4 => include_list::write_list(&plan, &map, &args.region)?,
        EmitFormat::Zephyr => {
            let locations = args
                .location
                .iter()
                .map(|l| super::plan::split_pair(l, "--location"))
                .collect::<Result<Vec<_>>>()?;
            let options = zephyr::CallOptions {
                filter: !args.whole_files,
                locations,
            };
            let calls = zephyr::relocate_calls(&plan, &map, &options)?;
            (calls.text, calls.notes)
        }
    };
    crate::fsutil::write_atomic(&args.output, text.as_bytes())?;
    for note in &notes {
        eprintln!("note: {note}");
    }
    eprintln!("{} written", args.output.display());
    Ok(())
}
