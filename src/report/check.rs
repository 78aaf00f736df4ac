//! `hotlink check`: cycle-count regression checks for CI against a stored baseline.
//!
//! The baseline (`docs/report-format.md`, "Baseline") lists benchmarks, each an image, a board,
//! an optional window and the cycles it took. Every benchmark is measured again on the virtual
//! board (deterministic, so any change is real) and compared; the outcome is written for people
//! (text, Markdown for a CI job summary) and for CI tools (JUnit XML).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::sim::Limits;
use crate::simrun::Window;

/// The `format` field of a baseline file.
pub const FORMAT: &str = "hotlink-baseline";
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub format: String,
    pub version: u32,
    pub benchmarks: Vec<Benchmark>,
}

/// One measured quantity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    /// Unique name, as CI reports show it.
    pub name: String,
    /// The image, relative to the baseline file's directory (or absolute).
    pub image: String,
    /// Board name or board file.
    #[serde(default = "default_board")]
    pub board: String,
    /// `START..STOP` symbols, or absent for the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Firmware that never exits: stop after this many windows; `cycles` is their sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<u64>,
    /// The image programs its own flash (see `hotlink run --writable-flash`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writable_flash: bool,
    /// The cycles it took when the baseline was written.
    pub cycles: u64,
}

fn default_board() -> String {
    "imxrt1062".to_string()
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "baseline {}: malformed at line {}, column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if baseline.format != FORMAT {
            bail!(
                "{} is not a hotlink baseline (format `{}`, expected `{FORMAT}`)",
                path.display(),
                baseline.format
            );
        }
        if baseline.version != VERSION {
            bail!(
                "baseline {} has version {}; this hotlink reads version {VERSION}",
                path.display(),
                baseline.version
            );
        }
        let mut names: Vec<&str> = baseline
            .benchmarks
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "baseline {}: benchmark `{}` is listed twice",
                path.display(),
                w[0]
            );
        }
        Ok(baseline)
    }
}

/// How one benchmark fared.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    /// Within the threshold.
    Pass,
    /// Slower than the threshold allows.
    Regression,
    /// Faster by more than the threshold: the baseline could be updated.
    Improvement,
    /// Could not be measured.
    Error { message: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub name: String,
    pub baseline: u64,
    pub measured: Option<u64>,
    /// Relative change in percent (positive: slower).
    pub change_percent: Option<f64>,
    #[serde(flatten)]
    pub status: Status,
}

/// The outcome of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckOutcome {
    pub max_regression_percent: f64,
    pub results: Vec<BenchResult>,
}

impl CheckOutcome {
    /// Whether CI should fail: a regression or a benchmark that could not be measured.
    pub fn failed(&self) -> bool {
        self.results
            .iter()
            .any(|r| matches!(r.status, Status::Regression | Status::Error { .. }))
    }
}

/// Parses `2%`, `2` (percent) or `0.5%`.
pub fn parse_percent(text: &str) -> Result<f64> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => bail!("`{text}` is not a percentage (e.g. 2% or 0.5%)"),
    }
}

fn image_path(baseline: &Path, image: &str) -> PathBuf {
    let p = PathBuf::from(image);
    if p.is_absolute() {
        p
    } else {
        baseline.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Measures every benchmark of the baseline at `path` on the virtual board and compares.
pub fn check(path: &Path, baseline: &Baseline, max_regression_percent: f64) -> CheckOutcome {
    let results = baseline
        .benchmarks
        .iter()
        .map(|b| {
            let measured = (|| -> Result<u64> {
                let window = b.window.as_deref().map(Window::parse).transpose()?;
                let m = crate::measure::on_sim(
                    &image_path(path, &b.image),
                    &b.board,
                    window.as_ref(),
                    b.windows,
                    b.writable_flash,
                    1,
                    Limits::default(),
                )?;
                Ok(match b.windows {
                    Some(_) => m.runs.iter().sum(),
                    None => m.median,
                })
            })();
            match measured {
                Ok(cycles) => {
                    let change = 100.0 * (cycles as f64 - b.cycles as f64) / b.cycles.max(1) as f64;
                    let status = if change > max_regression_percent {
                        Status::Regression
                    } else if -change > max_regression_percent {
                        Status::Improvement
                    } else {
                        Status::Pass
                    };
                    BenchResult {
                        name: b.name.clone(),
                        baseline: b.cycles,
                        measured: Some(cycles),
                        change_percent: Some(change),
                        status,
                    }
                }
                Err(e) => BenchResult {
                    name: b.name.clone(),
                    baseline: b.cycles,
                    measured: None,
                    change_percent: None,
                    status: Status::Error {
                        message: format!("{e:#}"),
                    },
                },
            }
        })
        .collect();
    CheckOutcome {
        max_regression_percent,
        results,
    }
}

/// The baseline with the measured cycles (benchmarks that failed to measure keep theirs).
pub fn updated(baseline: &Baseline, outcome: &CheckOutcome) -> Baseline {
    let mut next = baseline.clone();
    for (b, r) in next.benchmarks.iter_mut().zip(&outcome.results) {
        if let Some(m) = r.measured {
            b.cycles = m;
        }
    }
    next
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Pass => "ok",
        Status::Regression => "REGRESSION",
        Status::Improvement => "faster",
        Status::Error { .. } => "ERROR",
    }
}

fn change(r: &BenchResult) -> String {
    r.change_percent
        .map_or("-".to_string(), |c| format!("{c:+.2}%"))
}

/// One line per benchmark.
pub fn to_text(o: &CheckOutcome) -> String {
    let mut out = String::new();
    for r in &o.results {
        let _ = writeln!(
            out,
            "{:<10} {:<28} baseline {:>12}  measured {:>12}  {}",
            status_word(&r.status),
            r.name,
            r.baseline,
            r.measured.map_or("-".to_string(), |m| m.to_string()),
            change(r)
        );
        if let Status::Error { message } = &r.status {
            let _ = writeln!(out, "           {message}");
        }
    }
    let failed = o
        .results
        .iter()
        .filter(|r| !matches!(r.status, Status::Pass | Status::Improvement))
        .count();
    let _ = writeln!(
        out,
        "{} benchmark(s), {failed} failed (threshold {}%)",
        o.results.len(),
        o.max_regression_percent
    );
    out
}

/// A Markdown table for a CI job summary (`$GITHUB_STEP_SUMMARY`).
pub fn to_markdown(o: &CheckOutcome) -> String {
    let mut out = format!(
        "## hotlink check: {}\n\nThreshold: {}% slower than the baseline.\n\n\
         | benchmark | baseline cycles | measured cycles | change | status |\n|---|---:|---:|---:|---|\n",
        if o.failed() { "failed" } else { "passed" },
        o.max_regression_percent
    );
    for r in &o.results {
        let status = match &r.status {
            Status::Error { message } => format!("error: {}", message.replace('|', "\\|")),
            s => status_word(s).to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.name.replace('|', "\\|"),
            r.baseline,
            r.measured.map_or("-".to_string(), |m| m.to_string()),
            change(r),
            status
        );
    }
    out
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: one test case per benchmark; regressions are failures, unmeasurable ones errors.
pub fn to_junit(o: &CheckOutcome) -> String {
    let failures = o
        .results
        .iter()
        .filter(|r| r.status == Status::Regression)
        .count();
    let errors = o
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Error { .. }))
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"hotlink check\" \
         tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        o.results.len()
    );
    for r in &o.results {
        let _ = write!(
            out,
            "  <testcase classname=\"hotlink.check\" name=\"{}\">",
            xml(&r.name)
        );
        match &r.status {
            Status::Regression => {
                let _ = write!(
                    out,
                    "<failure message=\"{} cycles, baseline {} ({}, threshold {}%)\"/>",
                    r.measured.unwrap_or(0),
                    r.baseline,
                    change(r),
                    o.max_regression_percent
                );
            }
            Status::Error { message } => {
                let _ = write!(out, "<error message=\"{}\"/>", xml(message));
            }
            Status::Pass | Status::Improvement => {
                let _ = write!(
                    out,
                    "<system-out>{} cycles, baseline {} ({})</system-out>",
                    r.measured.unwrap_or(0),
                    r.baseline,
                    change(r)
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_with_or_without_the_sign() {
        assert_eq!(parse_percent("2%").unwrap(), 2.0);
        assert_eq!(parse_percent("0.5").unwrap(), 0.5);
        assert!(parse_percent("-1%").is_err());
        assert!(parse_percent("lots").is_err());
    }

    #[test]
    fn junit_and_markdown_name_failures() {
        let o = CheckOutcome {
            max_regression_percent: 2.0,
            results: vec![
                BenchResult {
                    name: "vm<1>".into(),
                    baseline: 100,
                    measured: Some(110),
                    change_percent: Some(10.0),
                    status: Status::Regression,
                },
                BenchResult {
                    name: "dsp".into(),
                    baseline: 100,
                    measured: None,
                    change_percent: None,
                    status: Status::Error {
                        message: "cannot read x".into(),
                    },
                },
            ],
        };
        assert!(o.failed());
        let junit = to_junit(&o);
        assert!(
            junit.contains("tests=\"2\" failures=\"1\" errors=\"1\""),
            "{junit}"
        );
        assert!(junit.contains("name=\"vm&lt;1&gt;\""));
        let md = to_markdown(&o);
        assert!(
            md.contains("| vm<1> | 100 | 110 | +10.00% | REGRESSION |"),
            "{md}"
        );
        assert!(md.contains("## hotlink check: failed"));
    }
}
