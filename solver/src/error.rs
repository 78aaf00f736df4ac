//! Errors: malformed input, provably infeasible problems (with the structured explanation the CLI
//! prints), and strategies that could not produce a plan.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{ItemId, RegionId};
use crate::Strategy;

/// The problem description itself is malformed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InputError {
    #[error("the problem has no regions")]
    NoRegions,
    #[error("{count} regions given; at most {max} are supported", max = crate::model::MAX_REGIONS)]
    TooManyRegions { count: usize },
    #[error("{count} items given; at most 2^32 - 1 are supported")]
    TooManyItems { count: usize },
    #[error("{what} is {value} bytes, more than the 4 GiB address space")]
    TooLarge { what: String, value: u64 },
    #[error("regions {first:?} and {second:?} are both named {name:?}")]
    DuplicateRegion {
        name: String,
        first: RegionId,
        second: RegionId,
    },
    #[error("item {item:?} ({name}) has alignment {align}; it must be a power of two")]
    BadAlignment {
        item: ItemId,
        name: String,
        align: u64,
    },
    #[error("{context} refers to region {region:?}, which does not exist")]
    UnknownRegion { region: RegionId, context: String },
    #[error("{context} refers to item {item:?}, which does not exist")]
    UnknownItem { item: ItemId, context: String },
    #[error("item {item:?} ({name}) has {len} costs but there are {regions} regions")]
    CostLength {
        item: ItemId,
        name: String,
        len: usize,
        regions: usize,
    },
    #[error("item {item:?} ({name}) has cost {cost} in region {region:?}; costs must be finite and non-negative")]
    BadCost {
        item: ItemId,
        name: String,
        region: RegionId,
        cost: f64,
    },
    #[error("item {item:?} ({name}) has no cost in its current region {region:?}")]
    NoCostInCurrentRegion {
        item: ItemId,
        name: String,
        region: RegionId,
    },
    #[error("the veneer reach matrix must be {regions} x {regions}")]
    ReachShape { regions: usize },
    #[error("the veneer reach matrix says region {region:?} cannot call itself directly")]
    ReachDiagonal { region: RegionId },
    #[error("veneer cycles {cycles} must be finite and non-negative")]
    BadVeneerCycles { cycles: f64 },
    #[error("veneer of {bytes} bytes aligned to {align} is not sensible")]
    BadVeneerSize { bytes: u64, align: u64 },
    #[error("relative gap {gap} must be finite and in [0, 1)")]
    BadGap { gap: f64 },
    #[error("time limit {seconds} s must be finite and positive")]
    BadTimeLimit { seconds: f64 },
}

/// One item in an explanation, with the chain of references that makes it ram-only (root first,
/// the item last; empty if it is not ram-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Culprit {
    pub item: ItemId,
    pub name: String,
    pub bytes: u64,
    pub ram_only_chain: Vec<ItemId>,
    pub ram_only_chain_names: Vec<String>,
}

/// Why no placement can satisfy the constraints.
#[derive(Debug, Clone, PartialEq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Infeasibility {
    /// The item's constraints leave no region for it (e.g. ram-only but pinned to flash, or
    /// ram-only data whose only costed region is XIP).
    #[error("{} has no region it may go to: {}", culprit.name, reasons.join("; "))]
    NoRegion {
        culprit: Culprit,
        reasons: Vec<String>,
    },
    /// The item is bigger than every region it may go to.
    #[error("{} needs {} bytes but the largest region it may go to, {region_name}, has a budget of {budget} bytes{}", culprit.name, culprit.bytes, ram_only_reason(culprit))]
    ItemTooLarge {
        culprit: Culprit,
        region: RegionId,
        region_name: String,
        budget: u64,
    },
    /// Items that can only go to `regions` (and the veneers between fixed ones) need more than
    /// those regions' budgets together.
    #[error("{} need {needed} bytes but {} {} a budget of {budget} bytes: over by {over_by} bytes", describe_items(.items, *.item_count), region_names.join(" + "), if region_names.len() == 1 { "has" } else { "have" })]
    Overflow {
        regions: Vec<RegionId>,
        region_names: Vec<String>,
        needed: u64,
        budget: u64,
        over_by: u64,
        veneer_bytes: u64,
        /// The largest contributors (at most 10).
        items: Vec<Culprit>,
        /// How many items contribute in all.
        item_count: usize,
    },
    /// The solver proved infeasibility that the per-region checks above do not capture (bin
    /// packing across several regions, or veneer bytes).
    #[error("no placement fits the budgets (proved by the ILP solver); largest free items: {}", describe_items(.items, .items.len()))]
    Packing { items: Vec<Culprit> },
}

/// Why a culprit may not stay in flash, when a reference chain says so.
fn ram_only_reason(culprit: &Culprit) -> String {
    if culprit.ram_only_chain_names.is_empty() {
        String::new()
    } else {
        format!(
            "; it must not run from flash: {}",
            culprit.ram_only_chain_names.join(" -> ")
        )
    }
}

fn describe_items(items: &[Culprit], count: usize) -> String {
    let mut names: Vec<String> = items
        .iter()
        .take(3)
        .map(|c| {
            if c.ram_only_chain_names.len() > 1 {
                format!(
                    "{} ({} B, ram-only via {})",
                    c.name,
                    c.bytes,
                    c.ram_only_chain_names.join(" -> ")
                )
            } else {
                format!("{} ({} B)", c.name, c.bytes)
            }
        })
        .collect();
    if count > names.len() {
        names.push(format!("{} more", count - names.len()));
    }
    names.join(", ")
}

/// Everything that can go wrong in [`crate::solve`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SolveError {
    #[error("invalid placement problem: {0}")]
    Input(#[from] InputError),
    /// Boxed: the explanation carries item lists and would bloat every `Result`.
    #[error("infeasible placement: {0}")]
    Infeasible(Box<Infeasibility>),
    /// A heuristic baseline got stuck although the constraints alone are satisfiable (as armlink's
    /// `.ANY` fails with L6220E when veneers are added after placement).
    #[error("strategy {strategy} could not place {item_name}: {reason}")]
    StrategyFailed {
        strategy: Strategy,
        item: ItemId,
        item_name: String,
        reason: String,
    },
    #[error("the exact solver handles at most {max} free items; this problem has {free}")]
    TooLargeForExact { free: usize, max: usize },
    #[error("HiGHS failed: {0}")]
    Backend(String),
    /// A solver produced a plan that breaks a constraint: a bug, reported rather than returned.
    #[error("internal error: {strategy} produced an invalid plan: {violation}")]
    InvalidPlan {
        strategy: Strategy,
        violation: String,
    },
}

impl From<Infeasibility> for SolveError {
    fn from(e: Infeasibility) -> Self {
        SolveError::Infeasible(Box::new(e))
    }
}
