//! `hotlink heat`: the call-weighted heat map of a profile over an image.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::Format;
use crate::board::Board;
use crate::heat::{self, SectionTable};
use crate::linkmap::LinkMap;
use crate::report::plot;

/// Attribute a profile's samples and cycles to input sections and rank them.
///
/// Example: `hotlink heat --profile profiles/vm.json --map tests/firmware/build/vm/vm.map
/// tests/firmware/build/vm/vm.elf --plot heat-plots/`.
#[derive(Args)]
pub struct HeatArgs {
    /// The linked image the profile was taken on.
    elf: PathBuf,
    #[arg(long)]
    profile: PathBuf,
    /// Link map (hotlink JSON or GNU ld -Map file); without it sections come from ELF symbols.
    #[arg(long)]
    map: Option<PathBuf>,
    /// Board (name or file), for region names and veneer costs.
    #[arg(long, default_value = "imxrt1062")]
    board: String,
    /// Use the profile even if it was taken on a different build.
    #[arg(long)]
    force: bool,
    /// Rows to print.
    #[arg(long, default_value_t = 30)]
    top: usize,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Also draw the plots into this directory: `ranked.svg/.png` (the hottest sections) and
    /// `strip-<region>.svg/.png` (each region's sections by address, coloured by heat).
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
}

pub fn run(args: HeatArgs) -> Result<()> {
    let board = Board::resolve(&args.board)?;
    let (_, profile) = super::profile_for_image(&args.elf, &args.profile, args.force)?;
    let table = match &args.map {
        Some(path) => {
            SectionTable::from_link_map(&LinkMap::load(path)?, &path.display().to_string())
        }
        None => SectionTable::from_elf(&args.elf, Some(&board))?,
    };
    let veneer_cycles = board.veneers.first().map_or(0, |v| v.cycles);
    let heat = heat::build(&profile, &table, veneer_cycles);
    if let Some(dir) = &args.plot {
        for (stem, chart) in heat::plots::charts(&heat, &table, args.top) {
            let svg = dir.join(format!("{stem}.svg"));
            crate::fsutil::write_atomic(&svg, plot::to_svg(&chart)?.as_bytes())?;
            crate::fsutil::write_atomic(&dir.join(format!("{stem}.png")), &plot::to_png(&chart)?)?;
        }
        eprintln!("plots written to {}", dir.display());
    }
    match args.format {
        Format::Text => print!("{}", heat::to_text(&heat, args.top)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&heat)?),
    }
    Ok(())
}
