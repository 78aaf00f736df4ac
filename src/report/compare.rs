//! Two run reports side by side: total and per-function cycle deltas, the speedup, region use,
//! and which functions moved to another region.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::RunReport;

/// The `format` field of a comparison.
pub const FORMAT: &str = "hotlink-comparison";

/// `before` against `after`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub format: String,
    pub version: u32,
    /// What the cycles measure: `whole run` or the window `START..STOP`.
    pub measured: String,
    pub cycles_before: u64,
    pub cycles_after: u64,
    /// `after - before` (negative: faster).
    pub cycle_delta: i64,
    /// `before / after` (above 1: faster).
    pub speedup: f64,
    /// Functions whose cycles changed, largest change first.
    pub functions: Vec<FunctionDelta>,
    /// Functions that run from another region.
    pub moves: Vec<Move>,
    /// Things a reader should know (different boards, functions only one side has).
    pub notes: Vec<String>,
    pub before: RunReport,
    pub after: RunReport,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionDelta {
    pub name: String,
    pub cycles_before: u64,
    pub cycles_after: u64,
    pub delta: i64,
    pub region_before: Option<String>,
    pub region_after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Move {
    pub name: String,
    pub size: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cycles_before: u64,
    pub cycles_after: u64,
}

/// Per name: (cycles, region, size) — static functions sharing a name are added up.
fn by_name(r: &RunReport) -> BTreeMap<&str, (u64, Option<&str>, u64)> {
    let mut out: BTreeMap<&str, (u64, Option<&str>, u64)> = BTreeMap::new();
    for f in &r.functions {
        let e = out
            .entry(f.name.as_str())
            .or_insert((0, f.region.as_deref(), f.size));
        e.0 += f.cycles;
    }
    out
}

impl Comparison {
    /// Compares two reports of the same program (typically before and after a re-link). They
    /// must measure the same thing (the same window, or both the whole run).
    pub fn new(before: &RunReport, after: &RunReport) -> Result<Comparison> {
        let window = |r: &RunReport| {
            r.window
                .as_ref()
                .map(|w| format!("{}..{}", w.start, w.stop))
        };
        if window(before) != window(after) {
            bail!(
                "the reports measure different things: {} measures {}, {} measures {}; \
                 re-create them with the same --window",
                before.image.path,
                window(before).unwrap_or_else(|| "the whole run".into()),
                after.image.path,
                window(after).unwrap_or_else(|| "the whole run".into())
            );
        }
        let a = by_name(before);
        let b = by_name(after);
        // A re-link keeps every function; two different programs share only startup and libc.
        let common = a.keys().filter(|k| b.contains_key(*k)).count();
        if 2 * common < a.len().min(b.len()) {
            bail!(
                "{} and {} have only {common} of their functions in common: these are reports of \
                 different programs",
                before.image.path,
                after.image.path
            );
        }
        let mut notes = Vec::new();
        if before.board != after.board {
            notes.push(format!(
                "different boards: {} before, {} after",
                before.board, after.board
            ));
        }
        if before.image.same_program(&after.image) {
            notes.push("both reports are of the same image".to_string());
        }
        for (side, r) in [("before", before), ("after", after)] {
            if r.exit_status != Some(0) {
                notes.push(format!(
                    "the {side} run did not exit cleanly ({})",
                    r.stopped
                        .clone()
                        .unwrap_or_else(|| format!("exit status {}", r.exit_status.unwrap_or(-1)))
                ));
            }
        }
        let mut functions = Vec::new();
        let mut moves = Vec::new();
        let names: std::collections::BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
        for name in names {
            let (cb, rb, size_b) = a.get(name).copied().unwrap_or((0, None, 0));
            let (ca, ra, size_a) = b.get(name).copied().unwrap_or((0, None, 0));
            if cb != ca {
                functions.push(FunctionDelta {
                    name: name.to_string(),
                    cycles_before: cb,
                    cycles_after: ca,
                    delta: ca as i64 - cb as i64,
                    region_before: rb.map(str::to_string),
                    region_after: ra.map(str::to_string),
                });
            }
            if a.contains_key(name) && b.contains_key(name) && rb != ra {
                moves.push(Move {
                    name: name.to_string(),
                    size: size_a.max(size_b),
                    from: rb.map(str::to_string),
                    to: ra.map(str::to_string),
                    cycles_before: cb,
                    cycles_after: ca,
                });
            }
        }
        functions.sort_by(|x, y| {
            y.delta
                .unsigned_abs()
                .cmp(&x.delta.unsigned_abs())
                .then_with(|| x.name.cmp(&y.name))
        });
        moves.sort_by(|x, y| {
            y.cycles_before
                .max(y.cycles_after)
                .cmp(&x.cycles_before.max(x.cycles_after))
                .then_with(|| x.name.cmp(&y.name))
        });
        let cycles_before = before.measured_cycles();
        let cycles_after = after.measured_cycles();
        Ok(Comparison {
            format: FORMAT.to_string(),
            version: super::VERSION,
            measured: window(before).unwrap_or_else(|| "whole run".to_string()),
            cycles_before,
            cycles_after,
            cycle_delta: cycles_after as i64 - cycles_before as i64,
            speedup: cycles_before as f64 / cycles_after.max(1) as f64,
            functions,
            moves,
            notes,
            before: before.clone(),
            after: after.clone(),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a comparison serialises")
    }
}
