//! The copy check: code that runs from ITCM or OCRAM must have been put there since reset — by
//! the ELF loader (images loaded straight into RAM), the boot ROM's DCD, a debugger write or
//! the firmware's own stores (the startup code's copy loop). Fetching an instruction from a
//! word nothing wrote means the startup code did not copy that code: on hardware the core runs
//! whatever the RAM held at power-up. The SDK's startup, for example, copies `.ram_function`
//! only when built with `__STARTUP_INITIALIZE_RAMFUNCTION`, so a plan that moves functions
//! there needs the define.
//!
//! Speed: writes are recorded where stores into executable memory already invalidate decoded
//! instructions ([`Machine::note_written`]), and checked where an instruction is decoded
//! ([`Machine::check_fetch`], a predecode miss), never per executed instruction.

use crate::board::RegionKind;

use super::mpu::Access;
use super::{Machine, SimError, Trap};

/// One bit per 32-bit word of every ITCM and OCRAM region, by memory region index (empty for
/// regions not tracked); built on first use from the ELF segments the loader placed.
#[derive(Debug, Default)]
pub struct Written {
    bits: Vec<Vec<u64>>,
    ready: bool,
}

impl Written {
    fn mark(&mut self, region: usize, first_word: usize, words: usize) {
        let Some(bits) = self.bits.get_mut(region) else {
            return;
        };
        for w in first_word..first_word + words {
            if w / 64 >= bits.len() {
                bits.resize(w / 64 + 1, 0);
            }
            bits[w / 64] |= 1 << (w % 64);
        }
    }

    fn is_set(&self, region: usize, word: usize) -> bool {
        self.bits
            .get(region)
            .and_then(|b| b.get(word / 64))
            .is_some_and(|b| b & (1 << (word % 64)) != 0)
    }

    /// Forgets writes past `size` bytes of `region` (FlexRAM gave its banks away).
    pub fn truncate(&mut self, region: usize, size: u32) {
        if let Some(bits) = self.bits.get_mut(region) {
            let words = size as usize / 4;
            bits.truncate(words.div_ceil(64));
            if let Some(last) = bits.last_mut() {
                if words % 64 != 0 {
                    *last &= (1u64 << (words % 64)) - 1;
                }
            }
        }
    }
}

impl Machine {
    fn tracked(&self, region: usize) -> bool {
        matches!(
            self.mem.regions[region].kind,
            RegionKind::Itcm | RegionKind::Ocram
        )
    }

    /// Sets up the bitmap the first time it is needed: the loader's segments count as written.
    fn written_ready(&mut self) {
        if self.written.ready {
            return;
        }
        self.written.ready = true;
        self.written.bits = (0..self.mem.regions.len())
            .map(|i| {
                let words = if self.tracked(i) {
                    self.mem.regions[i].size as usize / 4
                } else {
                    0
                };
                vec![0; words.div_ceil(64)]
            })
            .collect();
        let spans: Vec<(u32, u32)> = self
            .image
            .segments
            .iter()
            .map(|s| (s.paddr, s.data.len() as u32))
            .collect();
        for (addr, len) in spans {
            self.note_written(addr, len);
        }
    }

    /// Records a write of `len` bytes at `addr` (any store into executable memory, the
    /// loader, the DCD, a debugger).
    pub(crate) fn note_written(&mut self, addr: u32, len: u32) {
        self.written_ready();
        let Some(region) = self.mem.region_index(addr) else {
            return;
        };
        if !self.tracked(region) || len == 0 {
            return;
        }
        let base = self.mem.regions[region].base;
        let first = (addr - base) as usize / 4;
        let last = (addr.wrapping_add(len - 1).wrapping_sub(base)) as usize / 4;
        self.written.mark(region, first, last + 1 - first);
    }

    /// Whether the instruction at `pc` may be fetched: the MPU allows executing it, and, in
    /// ITCM or OCRAM, something wrote it since reset. Called whenever an instruction is decoded.
    pub(crate) fn check_fetch(&mut self, pc: u32) -> Result<(), Trap> {
        if self.sys.mpu.enabled() {
            self.mpu_check(pc, Access::Execute)?;
        }
        let Some(region) = self.mem.region_index(pc) else {
            return Ok(());
        };
        if !self.tracked(region) {
            return Ok(());
        }
        self.written_ready();
        let word = (pc - self.mem.regions[region].base) as usize / 4;
        if self.written.is_set(region, word) {
            return Ok(());
        }
        Err(Trap::stop(self.unwritten_code(pc, region)))
    }

    fn unwritten_code(&self, pc: u32, region: usize) -> SimError {
        let section = match self.image.code_section_at(pc) {
            Some(name) => format!("section `{name}`"),
            None => "no code section of the image".into(),
        };
        SimError::UnwrittenCode {
            pc,
            function: self.describe(pc),
            why: format!(
                "{} ({section}) holds nothing written since reset: the startup code did not copy \
                 this code from flash to RAM. Make the startup copy loop cover the section (the \
                 MCUXpresso SDK's startup copies `.ram_function` only when built with \
                 -D__STARTUP_INITIALIZE_RAMFUNCTION; `hotlink verify` checks a plan's recipe)",
                self.mem.regions[region].name
            ),
        }
    }
}
