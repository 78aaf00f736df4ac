//! `hotlink run`: run firmware on the virtual board and report cycles, instructions and memory
//! behaviour per region.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use super::Format;
use crate::board::Board;
use crate::sim::{with_run_setup, FaultReport, Limits, RegionStats, RunSetup, StopReason};
use crate::simrun::{simulate, SimOptions, Window, WindowStats};

/// The cycle limit without --max-cycles, in seconds of the board's core clock.
const DEFAULT_LIMIT_SECONDS: u64 = 10;

/// An address on the command line: hexadecimal with 0x, or decimal.
fn parse_address(s: &str) -> Result<u32, String> {
    let t = s.replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("`{s}` is not a 32-bit address (write it as 0x60002000)"))
}

/// Run firmware on the virtual board (a cycle-approximate Cortex-M7 with the board's memories).
///
/// Example: `hotlink run --board imxrt1062 fw.elf --window bench_start..bench_stop`
#[derive(Args)]
pub struct RunArgs {
    /// The firmware ELF (linked for the board's memory map).
    elf: PathBuf,
    /// A built-in board name or the path of a board file.
    #[arg(long, default_value = "imxrt1062")]
    board: String,
    /// Stop after this many cycles (default: 10 seconds of the board's core clock).
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Stop after this many instructions.
    #[arg(long)]
    max_instructions: Option<u64>,
    /// Also report the cycles between two symbols: entering the first starts the window, entering
    /// the second stops it (e.g. `bench_start..bench_stop`).
    #[arg(long, value_name = "START..STOP")]
    window: Option<String>,
    /// Let stores write the XIP flash (a FlexSPI set up for AHB writes; firmware that programs
    /// its flash with plain stores, like the `flashwrite` fixture, needs this).
    #[arg(long)]
    writable_flash: bool,
    /// Write the run's exact profile (per-function instructions and cycles, call edges, PC
    /// samples; docs/profile-format.md) to this file.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Cycles between the profile's DWT-style PC samples.
    #[arg(long, default_value_t = 1024, requires = "profile")]
    sample_period: u64,
    /// Boot from the vector table at this address instead of through the boot ROM or the
    /// lowest executable segment (e.g. 0x60002000).
    #[arg(long, value_name = "ADDR", value_parser = parse_address)]
    vtor: Option<u32>,
    /// Start executing at this address (after the stack pointer is set up from the vector
    /// table or by the boot ROM).
    #[arg(long, value_name = "ADDR", value_parser = parse_address)]
    entry: Option<u32>,
    /// Bytes the LPUARTs receive (default: nothing).
    #[arg(long, value_name = "FILE")]
    uart_input: Option<PathBuf>,
    /// Print every peripheral register access (register, value, PC, function) on stderr.
    #[arg(long)]
    trace_mmio: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Serialize)]
struct Report {
    board: String,
    elf: String,
    stop: StopReason,
    exit_status: Option<i32>,
    cycles: u64,
    instructions: u64,
    ipc: f64,
    seconds_at_core_clock: f64,
    window: Option<WindowStats>,
    fault: Option<FaultReport>,
    regions: Vec<RegionStats>,
    /// Peripheral registers touched that the virtual board only stores (no behaviour).
    registers_without_behaviour: Vec<String>,
    #[serde(skip)]
    output: Vec<u8>,
}

pub fn run(args: RunArgs) -> Result<()> {
    let board = Board::resolve(&args.board)?;
    let path = args.elf.display().to_string();
    let bytes = std::fs::read(&args.elf).with_context(|| format!("cannot read {path}"))?;
    let window = match &args.window {
        Some(spec) => Some(Window::parse(spec).context("--window")?),
        None => None,
    };
    let uart_input = match &args.uart_input {
        Some(file) => std::fs::read(file)
            .with_context(|| format!("--uart-input: cannot read {}", file.display()))?,
        None => Vec::new(),
    };
    let setup = RunSetup {
        vtor: args.vtor,
        entry: args.entry,
        uart_input,
        trace_mmio: args.trace_mmio,
    };
    let default_limit = args.max_cycles.is_none();
    let max_cycles = args
        .max_cycles
        .unwrap_or(DEFAULT_LIMIT_SECONDS * board.core_clock_hz);
    let options = SimOptions {
        window,
        writable_flash: args.writable_flash,
        limits: Limits {
            max_instructions: args.max_instructions.unwrap_or(u64::MAX),
            max_cycles,
        },
        echo: args.format == Format::Text,
        profile_period: args.profile.as_ref().map(|_| args.sample_period),
        profile_stacks: false,
        veneers: Vec::new(),
        code_from: None,
    };
    let run = with_run_setup(setup, || {
        simulate(&board, &args.board, &bytes, &path, &options)
    })?;
    if let (Some(profile), Some(out)) = (&run.profile, &args.profile) {
        profile.save(out)?;
        eprintln!("profile written to {}", out.display());
    }
    let stop = run.stop.clone();
    let report = Report {
        board: board.name.clone(),
        elf: path,
        stop: run.stop.clone(),
        exit_status: run.exit_status(),
        cycles: run.cycles,
        instructions: run.instructions,
        ipc: run.instructions as f64 / run.cycles.max(1) as f64,
        seconds_at_core_clock: run.cycles as f64 / board.core_clock_hz as f64,
        window: run.window,
        fault: run.fault,
        regions: run
            .regions
            .into_iter()
            .filter(|r| r.fetches + r.data_reads + r.data_writes > 0)
            .collect(),
        registers_without_behaviour: run.plain_registers,
        output: run.output,
    };
    let mut out = std::io::stdout().lock();
    let printed = match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print_text(&mut out, &report),
    }
    .and_then(|()| out.flush());
    match printed {
        // The reader went away (`hotlink run ... | head`): nothing more to say to it.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report to stdout")?,
    }
    match stop {
        StopReason::Exit { status: 0 } => Ok(()),
        StopReason::Exit { status } => bail!("the program exited with status {status}"),
        StopReason::InstructionLimit { limit } => {
            bail!("stopped after {limit} instructions (--max-instructions); the program had not exited")
        }
        StopReason::CycleLimit { limit } if default_limit => bail!(
            "stopped after {limit} cycles ({DEFAULT_LIMIT_SECONDS} s of the core clock, the default \
             limit); the program had not exited. A program that never exits (a main loop) is \
             measured with --window START..STOP; give --max-cycles to run longer"
        ),
        StopReason::CycleLimit { limit } => {
            bail!("stopped after {limit} cycles (--max-cycles); the program had not exited")
        }
    }
}

/// The text report; a write error (a closed pipe) stops it.
fn print_text(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    if !r.output.is_empty() && !r.output.ends_with(b"\n") {
        writeln!(out)?;
    }
    writeln!(out, "--- {} on {} ---", r.elf, r.board)?;
    match r.exit_status {
        Some(s) => writeln!(out, "exit status    {s}")?,
        None => writeln!(out, "stopped        {:?}", r.stop)?,
    }
    writeln!(out, "cycles         {}", r.cycles)?;
    writeln!(out, "instructions   {}", r.instructions)?;
    writeln!(out, "IPC            {:.3}", r.ipc)?;
    writeln!(
        out,
        "time           {:.6} s at the core clock",
        r.seconds_at_core_clock
    )?;
    if let Some(w) = &r.window {
        writeln!(
            out,
            "window         {}..{}: {} cycles, {} instructions, entered {} times",
            w.start, w.stop, w.cycles, w.instructions, w.entries
        )?;
    }
    if let Some(f) = &r.fault {
        writeln!(out, "fault          {f}")?;
    }
    if !r.registers_without_behaviour.is_empty() {
        writeln!(
            out,
            "registers without behaviour (stored only): {}",
            group_registers(&r.registers_without_behaviour)
        )?;
    }
    writeln!(
        out,
        "{:<8} {:>6} {:>12} {:>9} {:>12} {:>12} {:>9} {:>12}",
        "region", "kind", "fetches", "I-hit%", "data reads", "data writes", "D-hit%", "stall cyc"
    )?;
    for s in &r.regions {
        let pct = |h: u64, m: u64| {
            if h + m == 0 {
                "-".to_string()
            } else {
                format!("{:.2}", 100.0 * h as f64 / (h + m) as f64)
            }
        };
        writeln!(
            out,
            "{:<8} {:>6} {:>12} {:>9} {:>12} {:>12} {:>9} {:>12}",
            s.name,
            s.kind,
            s.fetches,
            pct(s.icache_hits, s.icache_misses),
            s.data_reads,
            s.data_writes,
            pct(s.dcache_hits, s.dcache_misses),
            s.stall_cycles
        )?;
    }
    Ok(())
}

/// The registers of one peripheral named one by one while they are few, as a count when many
/// (teensy4-bsp's start-up clears all 256 eDMA channel descriptors): `DMA0 (256 registers)`.
fn group_registers(names: &[String]) -> String {
    const NAMED_UP_TO: usize = 4;
    let peripheral = |n: &str| n.split(['+', '.']).next().unwrap_or(n).to_string();
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for name in names {
        let p = peripheral(name);
        match groups.iter_mut().find(|(q, _)| *q == p) {
            Some((_, members)) => members.push(name),
            None => groups.push((p, vec![name])),
        }
    }
    groups
        .iter()
        .map(|(p, members)| {
            if members.len() <= NAMED_UP_TO {
                members.join(", ")
            } else {
                format!("{p} ({} registers)", members.len())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn many_registers_of_one_peripheral_are_counted() {
        let names: Vec<String> = ["OCOTP.ANA1", "IOMUXC+0x104", "IOMUXC+0x108"]
            .iter()
            .map(|s| s.to_string())
            .chain((0..6).map(|i| format!("DMA0+{:#x}", 0x1000 + 4 * i)))
            .collect();
        assert_eq!(
            super::group_registers(&names),
            "OCOTP.ANA1, IOMUXC+0x104, IOMUXC+0x108, DMA0 (6 registers)"
        );
    }
}
