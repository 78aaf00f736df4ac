//! `hotlink diff`: how two linked images differ, by section and symbol.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::inventory::diff::{differences, ImageView};

/// Compare two linked images (e.g. GNU ld's and hotlink's from the same inputs): which
/// allocated section moved or changed size, where its bytes first differ (named by the nearest
/// symbol), which symbol changed value. Exits 1 when they differ, so it can gate CI.
///
/// Example: `hotlink diff build/fw-ld.elf build/fw-hotlink.elf`
#[derive(Args)]
pub struct DiffArgs {
    /// The reference image.
    a: PathBuf,
    /// The image compared with it.
    b: PathBuf,
}

pub fn run(args: DiffArgs) -> Result<()> {
    let read = |p: &PathBuf| -> Result<ImageView> {
        let data = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        ImageView::parse(&data, &p.display().to_string())
    };
    let (a, b) = (read(&args.a)?, read(&args.b)?);
    let found = differences(&a, &b);
    if found.is_empty() {
        println!(
            "{} and {}: same loadable sections, bytes and symbols",
            args.a.display(),
            args.b.display()
        );
        return Ok(());
    }
    for d in &found {
        println!("{d}");
    }
    bail!(
        "{} and {} differ in {} places (listed above)",
        args.a.display(),
        args.b.display(),
        found.len()
    )
}
