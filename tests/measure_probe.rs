//! `measure` on hardware (#15 defect 10) against a model of an i.MX RT10xx behind probe-rs: its
//! `reset_and_halt` stops the core in the boot ROM, where the FlexSPI flash is not readable yet
//! and cycles pass that are not the program's. The measurement must run to the ELF's entry
//! before it checks the image and starts counting.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use hotlink::capture::target::regs::{
    DEMCR, DEMCR_TRCENA, DWT_CTRL, DWT_CTRL_CYCCNTENA, DWT_CYCCNT,
};
use hotlink::measure::probe::{measure_runs, DebugCore};
use hotlink::sim::Image;

/// Where the modelled core can be: the boot ROM, then the program's points in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Point {
    Rom,
    Entry,
    WindowStart,
    WindowStop,
    Exit,
}

/// Cycles from each point to the next: the ROM's FlexSPI set-up, startup, the window, the rest.
const ROM_CYCLES: u32 = 4_000_000;
const STARTUP_CYCLES: u32 = 10_000;
const WINDOW_CYCLES: u32 = 777;
const TAIL_CYCLES: u32 = 5_000;

struct Rt10xx {
    flash: (u32, Vec<u8>),
    addresses: [(Point, u32); 3],
    at: Point,
    halted: bool,
    /// The flash holds a bootable image: the ROM reaches the entry.
    boots: bool,
    breakpoints: BTreeSet<u32>,
    demcr: u32,
    dwt_ctrl: u32,
    cyccnt: u32,
}

impl Rt10xx {
    fn new(image: &Image, start: u32, stop: u32) -> Rt10xx {
        let first = image.segments.iter().min_by_key(|s| s.paddr).unwrap();
        Rt10xx {
            flash: (first.paddr, first.data.clone()),
            addresses: [
                (Point::Entry, image.entry & !1),
                (Point::WindowStart, start),
                (Point::WindowStop, stop),
            ],
            at: Point::Rom,
            halted: true,
            boots: true,
            breakpoints: BTreeSet::new(),
            demcr: 0,
            dwt_ctrl: 0x4000_0000,
            cyccnt: 0,
        }
    }

    fn address(&self, point: Point) -> Option<u32> {
        self.addresses
            .iter()
            .find(|(p, _)| *p == point)
            .map(|&(_, a)| a)
    }

    fn cost(from: Point) -> u32 {
        match from {
            Point::Rom => ROM_CYCLES,
            Point::Entry => STARTUP_CYCLES,
            Point::WindowStart => WINDOW_CYCLES,
            Point::WindowStop => TAIL_CYCLES,
            Point::Exit => 0,
        }
    }
}

impl DebugCore for Rt10xx {
    fn reset_and_halt(&mut self, _: Duration) -> Result<()> {
        // probe-rs's RT10xx sequence: the core halts at the ROM's first instruction; the debug
        // block keeps its registers (power-on reset only).
        self.at = Point::Rom;
        self.halted = true;
        self.cyccnt = 0;
        Ok(())
    }
    fn set_hw_breakpoint(&mut self, address: u32) -> Result<()> {
        self.breakpoints.insert(address);
        Ok(())
    }
    fn clear_hw_breakpoint(&mut self, address: u32) -> Result<()> {
        self.breakpoints.remove(&address);
        Ok(())
    }
    fn run(&mut self) -> Result<()> {
        // Runs point to point until a breakpoint or the exit (a semihosting halt).
        if self.at == Point::Rom && !self.boots {
            self.halted = false;
            return Ok(());
        }
        let counting = self.demcr & DEMCR_TRCENA != 0 && self.dwt_ctrl & DWT_CTRL_CYCCNTENA != 0;
        loop {
            let next = match self.at {
                Point::Rom => Point::Entry,
                Point::Entry => Point::WindowStart,
                Point::WindowStart => Point::WindowStop,
                Point::WindowStop | Point::Exit => Point::Exit,
            };
            if counting {
                self.cyccnt = self.cyccnt.wrapping_add(Rt10xx::cost(self.at));
            }
            self.at = next;
            let hit = self
                .address(next)
                .is_some_and(|a| self.breakpoints.contains(&a));
            if hit || next == Point::Exit {
                self.halted = true;
                return Ok(());
            }
        }
    }
    fn halt(&mut self, _: Duration) -> Result<()> {
        self.halted = true;
        Ok(())
    }
    fn wait_for_core_halted(&mut self, _: Duration) -> Result<()> {
        if !self.halted {
            bail!("timeout");
        }
        Ok(())
    }
    fn read_bytes(&mut self, address: u32, out: &mut [u8]) -> Result<()> {
        let (base, data) = &self.flash;
        if self.at == Point::Rom && (0x6000_0000..0x7000_0000).contains(&address) {
            bail!("reading {address:#010x}: bus fault (FlexSPI is not set up in the boot ROM)");
        }
        let from = (address - base) as usize;
        out.copy_from_slice(&data[from..from + out.len()]);
        Ok(())
    }
    fn read_word(&mut self, address: u32) -> Result<u32> {
        Ok(match address {
            DEMCR => self.demcr,
            DWT_CTRL => self.dwt_ctrl,
            DWT_CYCCNT => self.cyccnt,
            _ => bail!("unmodelled read of {address:#010x}"),
        })
    }
    fn write_word(&mut self, address: u32, value: u32) -> Result<()> {
        match address {
            DEMCR => self.demcr = value,
            DWT_CTRL => self.dwt_ctrl = value,
            DWT_CYCCNT => self.cyccnt = value,
            _ => bail!("unmodelled write of {address:#010x}"),
        }
        Ok(())
    }
}

fn sdk() -> Image {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/firmware/build/sdk/sdk.elf");
    Image::parse(&std::fs::read(&path).unwrap(), "sdk.elf").unwrap()
}

const TIMEOUT: Duration = Duration::from_secs(1);

#[test]
fn measure_after_reset_runs_to_the_entry_before_checking_the_image_and_counting() {
    let image = sdk();
    let (start, stop) = (
        image.symbol("coremark_like").unwrap(),
        image.symbol("workload_run").unwrap(),
    );
    let mut core = Rt10xx::new(&image, start, stop);
    let window = measure_runs(
        &mut core,
        &image,
        "sdk.elf",
        "MIMXRT1060",
        Some((start, stop)),
        2,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(window, vec![u64::from(WINDOW_CYCLES); 2]);
    // A whole run counts from the entry: no boot-ROM cycles.
    let whole = measure_runs(&mut core, &image, "sdk.elf", "MIMXRT1060", None, 1, TIMEOUT).unwrap();
    assert_eq!(
        whole,
        vec![u64::from(STARTUP_CYCLES + WINDOW_CYCLES + TAIL_CYCLES)]
    );
}

#[test]
fn measure_refuses_a_target_holding_another_image() {
    let image = sdk();
    let mut core = Rt10xx::new(&image, 0, 0);
    core.flash.1[4] ^= 0xFF;
    let err =
        measure_runs(&mut core, &image, "sdk.elf", "MIMXRT1060", None, 1, TIMEOUT).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("does not hold sdk.elf")
            && err.contains("probe-rs download --chip MIMXRT1060"),
        "{err}"
    );
}

#[test]
fn a_target_that_never_reaches_the_entry_is_named() {
    let image = sdk();
    let mut core = Rt10xx::new(&image, 0, 0);
    // It boots something else: the entry breakpoint is never hit and the core keeps running.
    core.boots = false;
    let err =
        measure_runs(&mut core, &image, "sdk.elf", "MIMXRT1060", None, 1, TIMEOUT).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("did not reach the entry") && err.contains("does it boot sdk.elf"),
        "{err}"
    );
}
