//! `hotlink check`: cycle regressions against a baseline, for CI.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::Format;
use crate::fsutil::write_atomic;
use crate::report::check::{self, Baseline};

/// Check cycle counts against a baseline for CI; fail on a regression.
///
/// Measures every benchmark of a baseline file on the virtual board. Writes JUnit XML (--junit) and a Markdown summary (--summary, e.g.
/// `$GITHUB_STEP_SUMMARY`); --update rewrites the baseline with the measured cycles. Baseline
/// format: docs/report-format.md.
///
/// Example: `hotlink check --baseline perf/cycles.json --max-regression 2% --junit check.xml
/// --summary "$GITHUB_STEP_SUMMARY"`
#[derive(Args)]
pub struct CheckArgs {
    /// The baseline file (images are relative to its directory).
    #[arg(long)]
    baseline: PathBuf,
    /// Allowed slowdown per benchmark, in percent (`2%`, `0.5`).
    #[arg(long, default_value = "2%")]
    max_regression: String,
    /// Rewrite the baseline with the measured cycles (and succeed unless a benchmark could not be
    /// measured).
    #[arg(long)]
    update: bool,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary here (appended to when the file exists, as CI job summaries
    /// expect).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: CheckArgs) -> Result<()> {
    let threshold = check::parse_percent(&args.max_regression)
        .map_err(|e| anyhow::anyhow!("--max-regression: {e}"))?;
    let baseline = Baseline::load(&args.baseline)?;
    let outcome = check::check(&args.baseline, &baseline, threshold);
    if let Some(path) = &args.junit {
        write_atomic(path, check::to_junit(&outcome).as_bytes())?;
    }
    if let Some(path) = &args.summary {
        let mut text = std::fs::read(path).unwrap_or_default();
        text.extend_from_slice(check::to_markdown(&outcome).as_bytes());
        write_atomic(path, &text)?;
    }
    match args.format {
        Format::Text => print!("{}", check::to_text(&outcome)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
    }
    let errors = outcome
        .results
        .iter()
        .filter(|r| matches!(r.status, check::Status::Error { .. }))
        .count();
    if args.update {
        let next = check::updated(&baseline, &outcome);
        let mut json = serde_json::to_string_pretty(&next)?;
        json.push('\n');
        write_atomic(&args.baseline, json.as_bytes())?;
        eprintln!("baseline {} updated", args.baseline.display());
        if errors > 0 {
            bail!("{errors} benchmark(s) could not be measured; their cycles were kept");
        }
        return Ok(());
    }
    if outcome.failed() {
        let regressions = outcome
            .results
            .iter()
            .filter(|r| r.status == check::Status::Regression)
            .count();
        bail!(
            "{regressions} regression(s) beyond {threshold}% and {errors} benchmark(s) that could \
             not be measured (accept the new figures with --update)"
        );
    }
    Ok(())
}
