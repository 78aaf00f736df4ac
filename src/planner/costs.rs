//! What each input section would cost from each region.
//!
//! The profile says what a section cost where it ran. What it would cost elsewhere comes from the
//! virtual board: the image is run as linked and once with every instruction fetch as from
//! each other kind of code memory the plan may use (ITCM: free; OCRAM: its line fill on an
//! I-cache miss; XIP: the flash's miss and prefetch costs), every read of a literal pool, which
//! moves with its code, free (other data accesses keep their costs: rodata stays where it is).
//! Per function, the ratio of a what-if run to the real one is what its time becomes there.
//! A Teensy-style image, whose code all runs from ITCM, gets its cost in flash from the XIP run
//! (it used to be priced at its ITCM cost, so `--free` saw no cost in moving code out).
//! OCRAM is measured rather than interpolated: an XIP miss costs 240 cycles but a sequential one
//! only 30 (the FlexSPI prefetch buffer), while every OCRAM line fill costs 15, so the share of
//! a function's stall that OCRAM keeps depends on how sequential its misses were (interpolating
//! by 15/240 over-predicted `big`'s OCRAM moves by a third, docs/PERFORMANCE.md). Documented in
//! docs/placement-model.md ("Costs from the profile").

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use crate::board::{Board, RegionKind};
use crate::sim::Limits;
use crate::simrun::{simulate, SimOptions};

/// Self cycles per function entry address from one run on the virtual board; with `code_from`,
/// as if all code (and the literal pools in it) ran from a region of that kind; other data
/// accesses keep their costs.
fn cycles_per_function(
    board: &Board,
    elf: &[u8],
    path: &str,
    code_from: Option<RegionKind>,
) -> Result<FxHashMap<u32, u64>> {
    let options = SimOptions {
        // The what-if runs must not fault where the real run's firmware programs its flash.
        writable_flash: true,
        code_from,
        limits: Limits {
            max_instructions: 2_000_000_000,
            max_cycles: u64::MAX,
        },
        profile_period: Some(0),
        ..SimOptions::default()
    };
    let run = simulate(board, &board.name, elf, path, &options)
        .with_context(|| format!("running {path} on the virtual {}", board.name))?;
    if run.exit_status().is_none() {
        anyhow::bail!(
            "{path} did not run to its exit on the virtual board ({:?})",
            run.stop
        );
    }
    let profile = run.profile.expect("the run was profiled");
    Ok(profile
        .functions
        .into_iter()
        .map(|f| (f.address, f.cycles))
        .collect())
}

/// Per function, what its cycles become when its code runs from another kind of memory.
pub struct StallModel {
    /// One entry per what-if run: the kind of memory all code was fetched as if from, per
    /// function address what-if cycles over real cycles, and that ratio over the whole run (for
    /// functions the run did not reach).
    runs: Vec<(RegionKind, FxHashMap<u32, f64>, f64)>,
}

/// With `--static-estimate`, when the image cannot run on the virtual board (hardware-only
/// firmware), assume this share of a function's XIP cycles remains from TCM. An estimate: the fixtures measure 0.6–0.95.
const FALLBACK_RATIO: f64 = 0.8;

impl StallModel {
    /// Runs the image as linked and once with all code fetched as if from each region kind in
    /// `what_ifs`. If it cannot run on the virtual board, that is an error unless
    /// `static_estimate` allows a fixed ratio; the second value then says so (plans carry it,
    /// and `plan` prints it).
    pub fn measure(
        board: &Board,
        elf: &[u8],
        path: &str,
        what_ifs: &[RegionKind],
        static_estimate: bool,
    ) -> Result<(StallModel, Option<String>)> {
        let measured = cycles_per_function(board, elf, path, None).and_then(|real| {
            what_ifs
                .iter()
                .map(|&kind| {
                    let what_if = cycles_per_function(board, elf, path, Some(kind))?;
                    let (ratio, overall) = ratios(&real, &what_if);
                    Ok((kind, ratio, overall))
                })
                .collect::<Result<Vec<_>>>()
        });
        match measured {
            Ok(runs) => Ok((StallModel { runs }, None)),
            Err(e) if static_estimate => {
                let note = format!(
                    "static estimate (--static-estimate): the image did not run on the virtual board ({e:#}), so {:.0}% of each section's XIP cycles are assumed to remain from TCM; the prediction is a guess",
                    100.0 * FALLBACK_RATIO
                );
                Ok((StallModel::estimate(board), Some(note)))
            }
            Err(e) => Err(e.context(
                "the plan's costs come from running the image on the virtual board; fix that, or plan with --static-estimate to accept a fixed guess",
            )),
        }
    }

    /// Fixed ratios, relative to code running from XIP flash: TCM keeps [`FALLBACK_RATIO`] of
    /// its cycles, OCRAM that plus the stall in proportion of its line fill to an XIP miss.
    fn estimate(board: &Board) -> StallModel {
        let ocram_share = f64::from(board.timing.ocram_line_fill_cycles)
            / f64::from(board.timing.xip_miss_cycles.max(1));
        let fixed = |kind, ratio| (kind, FxHashMap::default(), ratio);
        StallModel {
            runs: vec![
                fixed(RegionKind::Itcm, FALLBACK_RATIO),
                fixed(
                    RegionKind::Ocram,
                    FALLBACK_RATIO + (1.0 - FALLBACK_RATIO) * ocram_share,
                ),
                fixed(RegionKind::Xip, 1.0 / FALLBACK_RATIO),
            ],
        }
    }

    /// What-if cycles over real cycles with code in `kind`, for the functions starting at
    /// `addresses` (the symbols of one section) weighted equally, else the run's overall ratio;
    /// 1 when no run was made for `kind` (the code already runs there).
    pub fn ratio(&self, kind: RegionKind, addresses: &[u32]) -> f64 {
        self.runs
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map_or(1.0, |(_, ratios, overall)| {
                mean_ratio(ratios, addresses).unwrap_or(*overall)
            })
    }
}

/// Per function, what-if cycles over real cycles, and the cycle-weighted ratio over the whole
/// run.
fn ratios(real: &FxHashMap<u32, u64>, what_if: &FxHashMap<u32, u64>) -> (FxHashMap<u32, f64>, f64) {
    let mut ratio = FxHashMap::default();
    let (mut real_sum, mut what_if_sum) = (0u64, 0u64);
    for (address, cycles) in real {
        let f = what_if.get(address).copied().unwrap_or(*cycles);
        real_sum += cycles;
        what_if_sum += f;
        if *cycles > 0 {
            ratio.insert(*address, f as f64 / *cycles as f64);
        }
    }
    (ratio, what_if_sum as f64 / real_sum.max(1) as f64)
}

/// The mean of the known ratios of `addresses`, weighted equally.
fn mean_ratio(ratios: &FxHashMap<u32, f64>, addresses: &[u32]) -> Option<f64> {
    let known: Vec<f64> = addresses
        .iter()
        .filter_map(|a| ratios.get(a).copied())
        .collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}
