//! `hotlink verify`: did a link honour a plan?

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::linkmap::LinkMap;
use crate::plan::Plan;

/// Check that a linked image puts every planned section where the plan says, from its link map
/// (GNU ld -Map, LLD -Map, or hotlink's -Map or JSON map). Fails, listing what is not where
/// planned: use it in CI after linking with your own linker and a plan-patched script.
///
/// Example: `hotlink verify --plan plan.json --map build/app.map`
#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long)]
    plan: PathBuf,
    /// The link map of the image built with the plan.
    #[arg(long)]
    map: PathBuf,
}

pub fn run(args: VerifyArgs) -> Result<()> {
    let plan = Plan::load(&args.plan)?;
    let map = LinkMap::load(&args.map)?;
    let problems = plan.unhonoured(&map);
    if !problems.is_empty() {
        bail!(
            "{} of {} planned sections are not where {} puts them (the linker did not honour the plan: GNU ld and LLD give each section to the first output section whose pattern matches it, so the receiving section must come before the one with the generic *(.text*); see docs/guide.md §6):\n  {}",
            problems.len(),
            plan.placements.len(),
            args.plan.display(),
            problems.join("\n  ")
        );
    }
    println!(
        "{}: all {} planned sections are where the plan puts them",
        args.map.display(),
        plan.placements.len()
    );
    Ok(())
}
