//! Measuring how many cycles an image takes: on the virtual board (deterministic) or on hardware
//! through a debug probe ([`probe`]), for the whole run or a window between two symbols, repeated
//! N times and summarised as min/median/max. Firmware that never exits is measured window by
//! window and stopped after N windows ([`windows`]).

pub mod probe;
pub mod windows;

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::board::Board;
use crate::sim::Limits;
use crate::simrun::{simulate, SimOptions, Window};

/// Cycles of repeated runs of one image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub image: String,
    pub board: String,
    /// `sim` (the virtual board) or `probe` (hardware).
    pub target: String,
    /// The window measured (`START..STOP`), or none for the whole run.
    pub window: Option<String>,
    /// Windows measured per run (`--windows N`): `runs` then holds each window's cycles, run
    /// after run, and the run stopped after the N-th window (firmware that never exits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<u64>,
    /// Cycles of each run (of each window with `windows`), in order.
    pub runs: Vec<u64>,
    pub min: u64,
    pub median: u64,
    pub max: u64,
    /// Instructions of the measured part (the virtual board only).
    pub instructions: Option<u64>,
}

impl Measurement {
    /// Summarises `runs` (at least one).
    pub fn new(
        image: &str,
        board: &str,
        target: &str,
        window: Option<&Window>,
        runs: Vec<u64>,
        instructions: Option<u64>,
    ) -> Result<Measurement> {
        if runs.is_empty() {
            bail!("no run to summarise");
        }
        let mut sorted = runs.clone();
        sorted.sort_unstable();
        Ok(Measurement {
            image: image.to_string(),
            board: board.to_string(),
            target: target.to_string(),
            window: window.map(|w| w.to_string()),
            windows: None,
            min: sorted[0],
            median: sorted[sorted.len() / 2],
            max: sorted[sorted.len() - 1],
            runs,
            instructions,
        })
    }
}

/// Runs `elf` on the virtual board `repeat` times and measures the whole run, or `window`.
/// The program must exit with status 0, and a window must be entered at least once. With
/// `windows`, each run stops after that many windows instead (the program need not exit).
pub fn on_sim(
    elf: &Path,
    board_spec: &str,
    window: Option<&Window>,
    windows: Option<u64>,
    writable_flash: bool,
    repeat: usize,
    limits: Limits,
) -> Result<Measurement> {
    if repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let board = Board::resolve(board_spec)?;
    let path = elf.display().to_string();
    let bytes = std::fs::read(elf).with_context(|| format!("cannot read {path}"))?;
    if let Some(count) = windows {
        let Some(window) = window else {
            bail!("--windows {count} needs --window START..STOP (the main loop's two symbols)");
        };
        let limits = Limits {
            max_cycles: match limits.max_cycles {
                u64::MAX => windows::DEFAULT_LIMIT_SECONDS * board.core_clock_hz,
                given => given,
            },
            ..limits
        };
        let (mut runs, mut instructions) = (Vec::new(), 0);
        for _ in 0..repeat {
            let mut m = crate::sim::Machine::new(&board, &bytes, &path)?;
            if writable_flash {
                m.mem.allow_flash_writes();
            }
            let counts = windows::run_windows(&mut m, window, &path, count, limits, None)?;
            instructions = counts.instructions.iter().sum();
            runs.extend(counts.cycles);
        }
        let mut m = Measurement::new(
            &path,
            &board.name,
            "sim",
            Some(window),
            runs,
            Some(instructions),
        )?;
        m.windows = Some(count);
        return Ok(m);
    }
    let options = SimOptions {
        window: window.cloned(),
        writable_flash,
        limits,
        ..SimOptions::default()
    };
    let mut runs = Vec::with_capacity(repeat);
    let mut instructions = 0;
    for _ in 0..repeat {
        let run = simulate(&board, board_spec, &bytes, &path, &options)?;
        run.require_success(&path)?;
        let (cycles, insns) = match &run.window {
            Some(w) if w.entries == 0 => bail!(
                "{path}: the window {}..{} was never entered (does the program call `{}`?)",
                w.start,
                w.stop,
                w.start
            ),
            Some(w) => (w.cycles, w.instructions),
            None => (run.cycles, run.instructions),
        };
        runs.push(cycles);
        instructions = insns;
    }
    Measurement::new(&path, &board.name, "sim", window, runs, Some(instructions))
}

/// The measurement for people.
pub fn to_text(m: &Measurement) -> String {
    let (count, per) = match m.windows {
        Some(n) => (
            format!("{n} window(s) per run, {} window(s)", m.runs.len()),
            format!(
                "\ncycles per window: {}",
                m.runs
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
        None => (format!("{} run(s)", m.runs.len()), String::new()),
    };
    format!(
        "{} on {} ({}), {}: {count}, cycles min {} median {} max {}{}{per}\n",
        m.image,
        m.board,
        m.target,
        m.window
            .as_deref()
            .map_or("whole run".to_string(), |w| format!("window {w}")),
        m.min,
        m.median,
        m.max,
        m.instructions
            .map_or(String::new(), |i| format!(", {i} instructions"))
    )
}
