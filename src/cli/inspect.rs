//! `hotlink inspect`: what is inside objects, archives and linked images.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::Format;
use crate::board::Board;
use crate::inventory::{Inventory, TextOptions};

/// Show input sections, symbols and the reference graph of objects and archives, and the output
/// sections and region use of linked images.
///
/// Example: `hotlink inspect --board imxrt1062 tests/firmware/build/vm/vm.elf`, or
/// `hotlink inspect --refs tests/firmware/build/vm/*.o`.
#[derive(Args)]
pub struct InspectArgs {
    /// Objects (.o), archives (.a) and linked images (.elf).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Board (name or file) to report how full its regions are for linked images.
    #[arg(long)]
    board: Option<String>,
    /// Print only the per-file summary and totals.
    #[arg(long)]
    summary: bool,
    /// Also list symbols.
    #[arg(long)]
    symbols: bool,
    /// Also list references (relocations) with their kind and type.
    #[arg(long)]
    refs: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let board = args.board.as_deref().map(Board::resolve).transpose()?;
    let inventory = Inventory::load(&args.files)?;
    match args.format {
        Format::Text => {
            let options = TextOptions {
                summary_only: args.summary,
                symbols: args.symbols,
                references: args.refs,
            };
            print!("{}", inventory.to_text(options, board.as_ref()));
        }
        Format::Json => {
            let regions: Vec<_> = board
                .iter()
                .flat_map(|b| {
                    inventory
                        .images
                        .iter()
                        .map(move |i| (i.path.clone(), i.region_use(b)))
                })
                .collect();
            let report = serde_json::json!({
                "files": inventory.files,
                "sections": inventory.sections,
                "symbols": inventory.symbols,
                "references": inventory.references,
                "edges": inventory.section_graph(),
                "images": inventory.images,
                "region_use": regions.into_iter().map(|(path, r)| serde_json::json!({"image": path, "regions": r})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}
