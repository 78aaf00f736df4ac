//! Measuring cycles on hardware through probe-rs: DWT CYCCNT read at hardware breakpoints on the
//! window's two symbols, or from reset until the core halts (a semihosting exit or a `BKPT`).
//!
//! The image must already be programmed into the board's flash. After each reset the core runs
//! to the ELF's entry point (probe-rs halts an i.MX RT in its boot ROM), then the first words of
//! the image are compared with the ELF's so that a stale image is caught, and CYCCNT counts from
//! there. CYCCNT is 32 bits: at
//! 600 MHz it wraps after 7.1 s, so longer windows read short (the difference is taken modulo
//! 2^32).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use probe_rs::MemoryInterface;

use super::Measurement;
use crate::capture::probe::ProbeTarget;
use crate::capture::target::regs::{DEMCR, DEMCR_TRCENA, DWT_CTRL, DWT_CTRL_CYCCNTENA, DWT_CYCCNT};
use crate::simrun::Window;

/// Where the probe is and how long to wait for each halt.
pub struct ProbeOptions<'a> {
    /// probe-rs chip name (e.g. `MIMXRT1060`).
    pub chip: &'a str,
    /// `VID:PID[:SERIAL]`, or the only probe attached.
    pub selector: Option<&'a str>,
    pub core_clock_hz: u64,
    pub timeout: Duration,
}

/// Measures `elf` (already programmed into the target) `repeat` times.
pub fn on_probe(
    elf: &std::path::Path,
    board_name: &str,
    options: &ProbeOptions,
    window: Option<&Window>,
    repeat: usize,
) -> Result<Measurement> {
    if repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let path = elf.display().to_string();
    let bytes = std::fs::read(elf).with_context(|| format!("cannot read {path}"))?;
    let image = crate::sim::Image::parse(&bytes, &path)?;
    let symbols = match window {
        Some(w) => {
            let find = |name: &str| {
                image
                    .symbol(name)
                    .with_context(|| format!("window {w}: {path} has no symbol `{name}`"))
            };
            Some((find(&w.start)?, find(&w.stop)?))
        }
        None => None,
    };
    let mut target =
        ProbeTarget::open(options.chip, options.selector, options.core_clock_hz, false)?;
    let session = target.session();
    let mut core = session.core(0).context("cannot reach core 0")?;
    let mut runs = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        core.reset_and_halt(options.timeout)
            .context("cannot reset and halt the target")?;
        // probe-rs's i.MX RT reset halts in the boot ROM, before FlexSPI is set up: run to the
        // ELF's entry first, so that the image check can read the flash and a whole-run
        // measurement does not count boot-ROM time.
        let entry = u64::from(image.entry & !1);
        core.set_hw_breakpoint(entry)
            .with_context(|| format!("cannot set a breakpoint at the entry {entry:#010x}"))?;
        core.run()?;
        let reached = core.wait_for_core_halted(options.timeout);
        core.clear_hw_breakpoint(entry)?;
        reached.with_context(|| {
            format!(
                "the target did not reach the entry {entry:#010x} within {:?} after reset: \
                 does it boot {path}?",
                options.timeout
            )
        })?;
        if let Some(first) = image.segments.iter().min_by_key(|s| s.paddr) {
            let want = first.data.get(..8).unwrap_or(&first.data);
            let mut got = vec![0u8; want.len()];
            core.read(u64::from(first.paddr), &mut got)
                .context("cannot read the image's first bytes back")?;
            if got != want {
                bail!(
                    "the target does not hold {path} (bytes at {:#010x} differ); program it \
                     first (e.g. `probe-rs download --chip {} {path}`)",
                    first.paddr,
                    options.chip
                );
            }
        }
        let demcr = core.read_word_32(u64::from(DEMCR))?;
        core.write_word_32(u64::from(DEMCR), demcr | DEMCR_TRCENA)?;
        let ctrl = core.read_word_32(u64::from(DWT_CTRL))?;
        core.write_word_32(u64::from(DWT_CTRL), ctrl | DWT_CTRL_CYCCNTENA)?;
        core.write_word_32(u64::from(DWT_CYCCNT), 0)?;
        let mut run_to = |address: Option<u32>| -> Result<u32> {
            if let Some(a) = address {
                core.set_hw_breakpoint(u64::from(a))
                    .with_context(|| format!("cannot set a breakpoint at {a:#010x}"))?;
            }
            core.run()?;
            let halted = core.wait_for_core_halted(options.timeout);
            if let Some(a) = address {
                core.halt(options.timeout)?;
                core.clear_hw_breakpoint(u64::from(a))?;
            }
            halted.with_context(|| {
                format!(
                    "the target did not halt within {:?} (at {})",
                    options.timeout,
                    address.map_or("a semihosting exit".to_string(), |a| format!("{a:#010x}"))
                )
            })?;
            Ok(core.read_word_32(u64::from(DWT_CYCCNT))?)
        };
        let cycles = match symbols {
            Some((start, stop)) => {
                let c0 = run_to(Some(start))?;
                let c1 = run_to(Some(stop))?;
                c1.wrapping_sub(c0)
            }
            None => run_to(None)?,
        };
        runs.push(u64::from(cycles));
    }
    Measurement::new(&path, board_name, "probe", window, runs, None)
}
