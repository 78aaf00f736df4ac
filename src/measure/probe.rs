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

use crate::sim::Image;

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
    let image = Image::parse(&bytes, &path)?;
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
    let runs = measure_runs(
        &mut core,
        &image,
        &path,
        options.chip,
        symbols,
        repeat,
        options.timeout,
    )?;
    Measurement::new(&path, board_name, "probe", window, runs, None)
}

/// The operations a measurement needs from a halting core: probe-rs's [`probe_rs::Core`] on
/// hardware; a model of one in tests (what probe-rs's RT10xx reset does is the point).
pub trait DebugCore {
    /// Resets the chip and halts the core (probe-rs's RT10xx sequence halts in the boot ROM).
    fn reset_and_halt(&mut self, timeout: Duration) -> Result<()>;
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<()>;
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<()>;
    fn run(&mut self) -> Result<()>;
    fn halt(&mut self, timeout: Duration) -> Result<()>;
    fn wait_for_core_halted(&mut self, timeout: Duration) -> Result<()>;
    fn read_bytes(&mut self, address: u32, out: &mut [u8]) -> Result<()>;
    fn read_word(&mut self, address: u32) -> Result<u32>;
    fn write_word(&mut self, address: u32, value: u32) -> Result<()>;
}

impl DebugCore for probe_rs::Core<'_> {
    fn reset_and_halt(&mut self, timeout: Duration) -> Result<()> {
        probe_rs::Core::reset_and_halt(self, timeout)?;
        Ok(())
    }
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<()> {
        Ok(probe_rs::Core::set_hw_breakpoint(self, u64::from(address))?)
    }
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<()> {
        Ok(probe_rs::Core::clear_hw_breakpoint(
            self,
            u64::from(address),
        )?)
    }
    fn run(&mut self) -> Result<()> {
        Ok(probe_rs::Core::run(self)?)
    }
    fn halt(&mut self, timeout: Duration) -> Result<()> {
        probe_rs::Core::halt(self, timeout)?;
        Ok(())
    }
    fn wait_for_core_halted(&mut self, timeout: Duration) -> Result<()> {
        Ok(probe_rs::Core::wait_for_core_halted(self, timeout)?)
    }
    fn read_bytes(&mut self, address: u32, out: &mut [u8]) -> Result<()> {
        Ok(self.read(u64::from(address), out)?)
    }
    fn read_word(&mut self, address: u32) -> Result<u32> {
        Ok(self.read_word_32(u64::from(address))?)
    }
    fn write_word(&mut self, address: u32, value: u32) -> Result<()> {
        Ok(self.write_word_32(u64::from(address), value)?)
    }
}

/// Measures `repeat` runs of `image` on `core`: after each reset, runs to the ELF's entry
/// (probe-rs halts an i.MX RT in its boot ROM, before FlexSPI is up), checks that the target
/// holds the image, starts CYCCNT there and reads it at the window's symbols (`symbols`), or at
/// the halt that ends the program.
pub fn measure_runs(
    core: &mut dyn DebugCore,
    image: &Image,
    path: &str,
    chip: &str,
    symbols: Option<(u32, u32)>,
    repeat: usize,
    timeout: Duration,
) -> Result<Vec<u64>> {
    let mut runs = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        core.reset_and_halt(timeout)
            .context("cannot reset and halt the target")?;
        // probe-rs's i.MX RT reset halts in the boot ROM, before FlexSPI is set up: run to the
        // ELF's entry first, so that the image check can read the flash and a whole-run
        // measurement does not count boot-ROM time.
        let entry = image.entry & !1;
        core.set_hw_breakpoint(entry)
            .with_context(|| format!("cannot set a breakpoint at the entry {entry:#010x}"))?;
        core.run()?;
        let reached = core.wait_for_core_halted(timeout);
        core.clear_hw_breakpoint(entry)?;
        reached.with_context(|| {
            format!(
                "the target did not reach the entry {entry:#010x} within {timeout:?} after \
                 reset: does it boot {path}?"
            )
        })?;
        if let Some(first) = image.segments.iter().min_by_key(|s| s.paddr) {
            let want = first.data.get(..8).unwrap_or(&first.data);
            let mut got = vec![0u8; want.len()];
            core.read_bytes(first.paddr, &mut got)
                .context("cannot read the image's first bytes back")?;
            if got != want {
                bail!(
                    "the target does not hold {path} (bytes at {:#010x} differ); program it \
                     first (e.g. `probe-rs download --chip {chip} {path}`)",
                    first.paddr
                );
            }
        }
        let demcr = core.read_word(DEMCR)?;
        core.write_word(DEMCR, demcr | DEMCR_TRCENA)?;
        let ctrl = core.read_word(DWT_CTRL)?;
        core.write_word(DWT_CTRL, ctrl | DWT_CTRL_CYCCNTENA)?;
        core.write_word(DWT_CYCCNT, 0)?;
        let mut run_to = |address: Option<u32>| -> Result<u32> {
            if let Some(a) = address {
                core.set_hw_breakpoint(a)
                    .with_context(|| format!("cannot set a breakpoint at {a:#010x}"))?;
            }
            core.run()?;
            let halted = core.wait_for_core_halted(timeout);
            if let Some(a) = address {
                core.halt(timeout)?;
                core.clear_hw_breakpoint(a)?;
            }
            halted.with_context(|| {
                format!(
                    "the target did not halt within {timeout:?} (at {})",
                    address.map_or("a semihosting exit".to_string(), |a| format!("{a:#010x}"))
                )
            })?;
            core.read_word(DWT_CYCCNT)
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
    Ok(runs)
}
