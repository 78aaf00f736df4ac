//! What each input section would cost from each region.
//!
//! The profile says what a section cost where it ran. What it would cost elsewhere comes from the
//! virtual board: the image is run twice, as linked and with every instruction fetch — and every
//! read of a literal pool, which moves with its code — as cheap as from ITCM (other data accesses
//! keep their costs: rodata stays where it is). Per function, the ratio
//! of the two is how much of its time was fetch stalls; OCRAM sits between the two in proportion
//! to its line fill against an XIP miss. Documented in docs/placement-model.md ("Costs from the profile").

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use crate::board::Board;
use crate::sim::Limits;
use crate::simrun::{simulate, SimOptions};

/// Self cycles per function entry address from one run on the virtual board; with
/// `in_tcm`, as if all code (and the literal pools in it) ran from TCM; other data accesses keep
/// their costs.
fn cycles_per_function(
    board: &Board,
    elf: &[u8],
    path: &str,
    in_tcm: bool,
) -> Result<FxHashMap<u32, u64>> {
    let options = SimOptions {
        // The what-if runs must not fault where the real run's firmware programs its flash.
        writable_flash: true,
        code_in_tcm: in_tcm,
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

/// Per-function share of cycles that remains when memory is as fast as TCM.
pub struct StallModel {
    /// Function address → fast cycles / real cycles.
    ratio: FxHashMap<u32, f64>,
    /// The cycle-weighted ratio over the whole run, for functions the run did not reach.
    pub overall: f64,
    /// OCRAM's stall relative to XIP's (line fill against a miss).
    pub ocram_share: f64,
}

/// With `--static-estimate`, when the image cannot run on the virtual board (hardware-only
/// firmware), assume this share of a function's XIP cycles remains from TCM. An estimate: the fixtures measure 0.6–0.95.
const FALLBACK_RATIO: f64 = 0.8;

impl StallModel {
    /// Runs the image as linked and on the what-if board. If it cannot run on the virtual board,
    /// that is an error unless `static_estimate` allows a fixed ratio; the second value then
    /// says so (plans carry it, and `plan` prints it).
    pub fn measure(
        board: &Board,
        elf: &[u8],
        path: &str,
        static_estimate: bool,
    ) -> Result<(StallModel, Option<String>)> {
        let ocram_share = f64::from(board.timing.ocram_line_fill_cycles)
            / f64::from(board.timing.xip_miss_cycles.max(1));
        let measured = cycles_per_function(board, elf, path, false).and_then(|real| {
            let fast = cycles_per_function(board, elf, path, true)?;
            Ok((real, fast))
        });
        let (real, fast) = match measured {
            Ok(runs) => runs,
            Err(e) if static_estimate => {
                let model = StallModel {
                    ratio: FxHashMap::default(),
                    overall: FALLBACK_RATIO,
                    ocram_share,
                };
                let note = format!(
                    "static estimate (--static-estimate): the image did not run on the virtual board ({e:#}), so {:.0}% of each section's XIP cycles are assumed to remain from TCM; the prediction is a guess",
                    100.0 * FALLBACK_RATIO
                );
                return Ok((model, Some(note)));
            }
            Err(e) => {
                return Err(e.context(
                    "the plan's costs come from running the image on the virtual board; fix that, or plan with --static-estimate to accept a fixed guess",
                ))
            }
        };
        let mut ratio = FxHashMap::default();
        let (mut real_sum, mut fast_sum) = (0u64, 0u64);
        for (address, cycles) in &real {
            let f = fast.get(address).copied().unwrap_or(*cycles);
            real_sum += cycles;
            fast_sum += f.min(*cycles);
            if *cycles > 0 {
                ratio.insert(*address, (f as f64 / *cycles as f64).min(1.0));
            }
        }
        let overall = fast_sum as f64 / real_sum.max(1) as f64;
        Ok((
            StallModel {
                ratio,
                overall,
                ocram_share,
            },
            None,
        ))
    }

    /// The fast/real ratio for the functions starting at `addresses` (the symbols of one
    /// section), weighted equally, or the overall ratio.
    pub fn ratio(&self, addresses: &[u32]) -> f64 {
        let known: Vec<f64> = addresses
            .iter()
            .filter_map(|a| self.ratio.get(a).copied())
            .collect();
        if known.is_empty() {
            self.overall
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        }
    }
}
