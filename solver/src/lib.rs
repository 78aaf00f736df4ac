//! hotlink's placement model and solvers: which input sections run from ITCM, OCRAM/DTCM or XIP
//! flash so a Cortex-M7 i.MX RT program is fastest, within the regions' budgets, with every call
//! between regions paying for its veneer and flash-disabled code kept out of flash.
//!
//! Pure library, no I/O: the `hotlink` crate builds a [`Problem`] from the board, the inventory
//! and the profile, calls [`solve`], and serializes the [`Plan`].
//!
//! * [`model`] — the problem description;
//! * strategies ([`Strategy`]) — the size-driven fills linkers do today, a heat-density greedy,
//!   and the default veneer-aware ILP (HiGHS) with a presolve that keeps it small;
//! * [`solve_exact`] — branch and bound for tiny problems, the reference in tests;
//! * [`Infeasibility`] — why no placement exists, with reference chains for ram-only code;
//! * [`flexram`] — choosing the FlexRAM bank split and the GPR values that program it.

mod baseline;
mod error;
mod eval;
mod exact;
mod feasibility;
pub mod flexram;
mod ilp;
mod local;
pub mod model;
mod plan;
mod presolve;
mod sift_core;
mod sifting;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use error::{Culprit, Infeasibility, InputError, SolveError};
pub use exact::MAX_EXACT_FREE_ITEMS;
pub use feasibility::{propagate_ram_only, ram_only_chain};
pub use model::{
    Edge, Item, ItemId, ItemKind, Padding, Problem, RamOnly, Region, RegionId, RegionKind,
    VeneerModel,
};
pub use plan::{Cycles, Forced, ForcedReason, IlpStats, Placement, Plan, RegionUsage, Veneer};

use model::Prepared;
use plan::Outcome;

/// How to decide the placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Nothing moves except what the constraints force (ram-only code out of flash).
    Xip,
    /// GNU ld `--enable-non-contiguous-regions`: link order, first region (fastest first) with
    /// room.
    GnuFill,
    /// armlink `.ANY` default: largest first, into the RAM region with the most free space.
    AnyBestFit,
    /// Hottest per byte first into the cheapest region with room, as TI's Smart Placement ranks.
    Greedy,
    /// Veneer-aware ILP with presolve (the default).
    #[default]
    Ilp,
}

impl Strategy {
    /// Every strategy, baselines first.
    pub const ALL: [Strategy; 5] = [
        Strategy::Xip,
        Strategy::GnuFill,
        Strategy::AnyBestFit,
        Strategy::Greedy,
        Strategy::Ilp,
    ];

    /// The name used on the command line and in `plan.json`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Xip => "xip",
            Strategy::GnuFill => "gnu-fill",
            Strategy::AnyBestFit => "any-best-fit",
            Strategy::Greedy => "greedy",
            Strategy::Ilp => "ilp",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown strategy name; lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy {0:?}; expected one of xip, gnu-fill, any-best-fit, greedy, ilp")]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| UnknownStrategy(s.to_string()))
    }
}

/// Options for [`solve`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SolveOptions {
    pub strategy: Strategy,
    /// Wall-clock limit for the ILP, in seconds; it returns its best plan so far with the gap
    /// reached.
    pub time_limit_seconds: f64,
    /// Relative optimality gap at which the ILP may stop (0.001 = 0.1% of total cycles).
    pub relative_gap: f64,
    /// Share of `relative_gap` the presolve may spend fixing lukewarm items (the rest is left to
    /// HiGHS). 0 fixes only items that are never run.
    pub presolve_gap_share: f64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            strategy: Strategy::Ilp,
            time_limit_seconds: 30.0,
            relative_gap: 1e-3,
            presolve_gap_share: 0.5,
        }
    }
}

/// Place the items of `problem` with the chosen strategy.
///
/// Checks the input and the constraints first, so an impossible problem gets the same specific
/// [`Infeasibility`] whatever the strategy; a returned plan always respects every budget and
/// constraint (it is re-checked before it is returned).
pub fn solve(problem: &Problem, options: &SolveOptions) -> Result<Plan, SolveError> {
    if !options.relative_gap.is_finite() || !(0.0..1.0).contains(&options.relative_gap) {
        return Err(InputError::BadGap {
            gap: options.relative_gap,
        }
        .into());
    }
    if !options.presolve_gap_share.is_finite() || !(0.0..=1.0).contains(&options.presolve_gap_share)
    {
        return Err(InputError::BadGap {
            gap: options.presolve_gap_share,
        }
        .into());
    }
    if !options.time_limit_seconds.is_finite() || options.time_limit_seconds <= 0.0 {
        return Err(InputError::BadTimeLimit {
            seconds: options.time_limit_seconds,
        }
        .into());
    }
    let p = Prepared::new(problem)?;
    feasibility::check(&p)?;
    let start = Instant::now();
    let outcome = match options.strategy {
        Strategy::Ilp => ilp::solve(
            &p,
            &ilp::IlpSettings {
                time_limit: options.time_limit_seconds,
                relative_gap: options.relative_gap,
                presolve_gap_share: options.presolve_gap_share,
                lp_first_min_columns: ilp::LP_FIRST_MIN_COLUMNS,
            },
        )?,
        heuristic => Outcome {
            assign: baseline::run(&p, heuristic)?,
            lower_bound: None,
            solve_seconds: start.elapsed().as_secs_f64(),
            ilp: None,
        },
    };
    finish(&p, options.strategy, outcome)
}

/// Solve a tiny problem exactly (at most [`MAX_EXACT_FREE_ITEMS`] items with a choice) by branch
/// and bound. The plan's strategy field reads `ilp`, with a gap of 0.
pub fn solve_exact(problem: &Problem) -> Result<Plan, SolveError> {
    let p = Prepared::new(problem)?;
    feasibility::check(&p)?;
    let free = p.allowed.iter().filter(|m| m.count_ones() > 1).count();
    if free > MAX_EXACT_FREE_ITEMS {
        return Err(SolveError::TooLargeForExact {
            free,
            max: MAX_EXACT_FREE_ITEMS,
        });
    }
    let start = Instant::now();
    let assign = exact::solve(&p).ok_or_else(|| {
        SolveError::from(Infeasibility::Packing {
            items: (0..p.n_items())
                .filter(|&i| p.allowed[i].count_ones() > 1)
                .map(|i| feasibility::culprit(&p, i))
                .collect(),
        })
    })?;
    let total = eval::evaluate(&p, &assign).total();
    finish(
        &p,
        Strategy::Ilp,
        Outcome {
            assign,
            lower_bound: Some(total),
            solve_seconds: start.elapsed().as_secs_f64(),
            ilp: None,
        },
    )
}

/// How a given assignment (one region per item, e.g. a hand-written ITCM list) performs and
/// which constraints it breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub cycles: Cycles,
    /// Bytes used per region, items and veneers together.
    pub used: Vec<u64>,
    /// Readable descriptions of every broken constraint; empty when valid.
    pub violations: Vec<String>,
}

/// Evaluate an arbitrary assignment against the model.
pub fn assess(problem: &Problem, assignment: &[RegionId]) -> Result<Assessment, InputError> {
    let p = Prepared::new(problem)?;
    if assignment.len() != p.n_items() {
        return Err(InputError::UnknownItem {
            item: ItemId(assignment.len().min(p.n_items()) as u32),
            context: format!(
                "an assignment of {} regions for {} items",
                assignment.len(),
                p.n_items()
            ),
        });
    }
    if let Some((i, r)) = assignment
        .iter()
        .enumerate()
        .find(|(_, r)| r.index() >= p.n_regions())
    {
        return Err(InputError::UnknownRegion {
            region: *r,
            context: format!("the assignment of item {i}"),
        });
    }
    let e = eval::evaluate(&p, assignment);
    Ok(Assessment {
        cycles: Cycles::from(&e),
        used: (0..p.n_regions())
            .map(|r| e.item_bytes[r] + e.veneer_bytes[r])
            .collect(),
        violations: eval::violations(&p, assignment, &e),
    })
}

fn finish(p: &Prepared, strategy: Strategy, outcome: Outcome) -> Result<Plan, SolveError> {
    let e = eval::evaluate(p, &outcome.assign);
    if let Some(violation) = eval::violations(p, &outcome.assign, &e).into_iter().next() {
        return Err(SolveError::InvalidPlan {
            strategy,
            violation,
        });
    }
    Ok(plan::build(p, strategy, outcome, &e))
}
