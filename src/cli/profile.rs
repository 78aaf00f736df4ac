//! `hotlink profile show|merge|export|diff`: look at and combine recorded profiles.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::Format;
use crate::profile::export::{self, ExportFormat};
use crate::profile::{diff_text, merge, show_text, Profile};

/// Print, compare and merge profiles (format: docs/profile-format.md).
///
/// Example: `hotlink profile show profiles/vm.imxrt1062.sim.json`, or
/// `hotlink profile merge -o all.json run1.json run2.json`.
#[derive(Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    action: ProfileAction,
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Summarise a profile: identity, capture, totals, top functions or PCs.
    Show {
        profile: PathBuf,
        /// How many rows to list.
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Add up profiles of several runs of the same build.
    Merge {
        #[arg(required = true, num_args = 1..)]
        profiles: Vec<PathBuf>,
        /// Where to write the merged profile.
        #[arg(short, long)]
        output: PathBuf,
        /// Merge even if the profiles were taken on different builds.
        #[arg(long)]
        force: bool,
    },
    /// Export the profile's call stacks (or its PC histogram) for another viewer: firefox
    /// (profiler.firefox.com, `samply load`), speedscope, folded (flamegraph.pl, inferno) or
    /// pprof (`go tool pprof`).
    Export {
        profile: PathBuf,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Where to write the export.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Compare two profiles: totals and the functions or PCs that changed most.
    Diff {
        a: PathBuf,
        b: PathBuf,
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
}

pub fn run(args: ProfileArgs) -> Result<()> {
    match args.action {
        ProfileAction::Show {
            profile,
            top,
            format,
        } => {
            let profile = Profile::load(&profile)?;
            match format {
                Format::Text => print!("{}", show_text(&profile, top)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&profile)?),
            }
        }
        ProfileAction::Merge {
            profiles,
            output,
            force,
        } => {
            let loaded = profiles
                .iter()
                .map(|p| Profile::load(p))
                .collect::<Result<Vec<_>>>()?;
            let merged = merge(&loaded, force)?;
            merged.save(&output)?;
            eprintln!(
                "merged {} profiles ({} samples) into {}",
                loaded.len(),
                merged.totals.samples,
                output.display()
            );
        }
        ProfileAction::Export {
            profile,
            format,
            output,
        } => {
            let loaded = Profile::load(&profile)?;
            let bytes = export::export(&loaded, format)?;
            crate::fsutil::write_atomic(&output, &bytes)?;
            eprintln!(
                "{} samples{} exported to {}",
                loaded.totals.samples,
                if loaded.call_stacks.is_some() {
                    " with call stacks"
                } else {
                    " (no call stacks: one frame each)"
                },
                output.display()
            );
        }
        ProfileAction::Diff { a, b, top } => {
            let (a, b) = (Profile::load(&a)?, Profile::load(&b)?);
            print!("{}", diff_text(&a, &b, top));
        }
    }
    Ok(())
}
