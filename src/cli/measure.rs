//! `hotlink measure`: cycles of an image, repeated, on the virtual board or on hardware.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;

use super::Format;
use crate::board::Board;
use crate::measure::{self, probe::ProbeOptions};
use crate::sim::Limits;
use crate::simrun::Window;

/// Measure the cycles an image takes, repeated (min/median/max).
///
/// The whole run, or a window between two symbols, repeated N times (min/median/max). On the virtual board by default; on hardware with --probe/--chip
/// (the image must already be programmed; DWT CYCCNT is read at hardware breakpoints).
///
/// Example: `hotlink measure --window vm_run..vm_done --repeat 3 tests/firmware/build/vm/vm.elf`
#[derive(Args)]
pub struct MeasureArgs {
    /// The firmware ELF.
    elf: PathBuf,
    /// A built-in board name or the path of a board file.
    #[arg(long, default_value = "imxrt1062")]
    board: String,
    /// Measure between entering the first symbol and entering the second (`START..STOP`).
    #[arg(long, value_name = "START..STOP")]
    window: Option<String>,
    /// Firmware that never exits (a main loop): measure each of the first N windows and stop
    /// the run after the N-th (needs --window; the virtual board only).
    #[arg(long, value_name = "N")]
    windows: Option<u64>,
    /// How many runs.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Let stores write the XIP flash (firmware that programs its flash, like `flashwrite`).
    #[arg(long)]
    writable_flash: bool,
    /// Stop a virtual-board run after this many cycles (an error: the program must exit).
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Measure on hardware through this probe (`VID:PID[:SERIAL]`); `--chip` alone picks the only
    /// probe attached.
    #[arg(long)]
    probe: Option<String>,
    /// probe-rs chip name for hardware (default: the board's probe-rs target).
    #[arg(long)]
    chip: Option<String>,
    /// Seconds to wait for the target to reach each breakpoint or exit (hardware).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(args: MeasureArgs) -> Result<()> {
    let window = args.window.as_deref().map(Window::parse).transpose()?;
    let m = if args.probe.is_some() || args.chip.is_some() {
        if args.windows.is_some() {
            bail!("--windows runs on the virtual board only; on hardware, measure one window (--window) with --repeat");
        }
        let board = Board::resolve(&args.board)?;
        let chip = args.chip.clone().unwrap_or(board.probe_rs_target.clone());
        measure::probe::on_probe(
            &args.elf,
            &board.name,
            &ProbeOptions {
                chip: &chip,
                selector: args.probe.as_deref(),
                core_clock_hz: board.core_clock_hz,
                timeout: Duration::from_secs_f64(args.timeout.max(0.001)),
            },
            window.as_ref(),
            args.repeat,
        )?
    } else {
        measure::on_sim(
            &args.elf,
            &args.board,
            window.as_ref(),
            args.windows,
            args.writable_flash,
            args.repeat,
            Limits {
                max_cycles: args.max_cycles.unwrap_or(u64::MAX),
                ..Limits::default()
            },
        )?
    };
    match args.format {
        Format::Text => print!("{}", measure::to_text(&m)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&m)?),
    }
    Ok(())
}
