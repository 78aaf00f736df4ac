//! The boot ROM of the virtual board: boots a FlexSPI NOR image the way the i.MX RT10xx/RT11xx
//! ROM does (reference manual, "System Boot": FlexSPI NOR boot, Program image, Device
//! Configuration Data), or a headerless image from its vector table.
//!
//! With a board `[boot]` table and a FlexSPI configuration block (tag `FCFB`) at the board's
//! `fcb_offset` in flash, the ROM reads the image vector table (tag 0xD1) at `ivt_offset`,
//! checks it and its boot data, runs the DCD's write/check/NOP commands against the modelled
//! registers and memory, and enters at the IVT entry: a vector table (SP and PC from its first
//! two words, VTOR = it), as MCUXpresso SDK images have, or a Thumb function (Teensy, imxrt-rt:
//! the ROM's own stack and VTOR stay). Images without the block boot from their vector table.

use std::cell::RefCell;

use crate::board::BootRom;

use super::soc::Soc;
use super::{Machine, SimError};

/// Run-time choices for how the board starts and talks (set by `hotlink run`).
#[derive(Clone, Debug, Default)]
pub struct RunSetup {
    /// Boot from the vector table at this address instead (no ROM).
    pub vtor: Option<u32>,
    /// Start executing here (SP from the vector table or the ROM, as without it).
    pub entry: Option<u32>,
    /// Bytes the LPUARTs receive.
    pub uart_input: Vec<u8>,
    /// Print every peripheral access (register, value, PC, function) on stderr.
    pub trace_mmio: bool,
}

thread_local! {
    static SETUP: RefCell<RunSetup> = RefCell::new(RunSetup::default());
}

/// Runs `f` with `setup` applying to every [`Machine`] built on this thread meanwhile. Scoped so
/// that the shared run driver ([`crate::simrun`]) needs no new parameter; afterwards the setup
/// is back to the default.
pub fn with_run_setup<R>(setup: RunSetup, f: impl FnOnce() -> R) -> R {
    let previous = SETUP.with(|s| s.replace(setup));
    let result = f();
    SETUP.with(|s| s.replace(previous));
    result
}

pub(crate) fn current_setup() -> RunSetup {
    SETUP.with(|s| s.borrow().clone())
}

const FCB_TAG: u32 = 0x4246_4346; // "FCFB"
const IVT_TAG: u8 = 0xD1;
const DCD_TAG: u8 = 0xD2;
const DCD_WRITE: u8 = 0xCC;
const DCD_CHECK: u8 = 0xCF;
const DCD_NOP: u8 = 0xC0;
/// Polls of a DCD check command without a count before the ROM is declared stuck.
const DCD_CHECK_LIMIT: u32 = 100_000;
/// Largest DCD the ROM accepts (bytes).
const DCD_MAX: usize = 1768;

/// What the ROM found and did.
#[derive(Clone, Debug)]
pub struct BootRecord {
    pub ivt: u32,
    pub entry: u32,
    pub entry_is_vector_table: bool,
    pub dcd_commands: u32,
}

fn boot_error(why: String) -> SimError {
    SimError::BootHeader { why }
}

impl Machine {
    fn peek_word(&self, addr: u32) -> Option<u32> {
        let mut b = [0u8; 4];
        self.mem.peek(addr, &mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }

    /// Boots through the ROM when the image has a FlexSPI boot header; `Ok(None)` when it has
    /// none (the caller boots from the vector table).
    pub(crate) fn rom_boot(
        &mut self,
        rom: &BootRom,
        flash_base: u32,
    ) -> Result<Option<BootRecord>, SimError> {
        let fcb = flash_base.wrapping_add(rom.fcb_offset);
        let ivt = flash_base.wrapping_add(rom.ivt_offset);
        if self.peek_word(fcb) != Some(FCB_TAG) {
            return Ok(None);
        }
        let word = |m: &Machine, k: u32| m.peek_word(ivt + 4 * k).unwrap_or(0);
        let header = word(self, 0);
        let [tag, len_hi, len_lo, version] = header.to_le_bytes();
        if tag != IVT_TAG || u16::from_be_bytes([len_hi, len_lo]) != 0x20 || version >> 4 != 4 {
            return Err(boot_error(format!(
                "the FlexSPI configuration block (FCFB) is at {fcb:#010x} but no image vector table \
                 is at {ivt:#010x}: found header {header:#010x}, expected tag 0xD1, length 0x0020, \
                 version 4.x (bytes D1 00 20 4x)"
            )));
        }
        let (entry, dcd, boot_data, self_addr) =
            (word(self, 1), word(self, 3), word(self, 4), word(self, 5));
        if self_addr != ivt {
            return Err(boot_error(format!(
                "the IVT at {ivt:#010x} says it is at {self_addr:#010x} (field `self`): link the \
                 .boot_hdr sections at their addresses"
            )));
        }
        if boot_data != 0 {
            let start = self.peek_word(boot_data).unwrap_or(u32::MAX);
            let size = self.peek_word(boot_data + 4).unwrap_or(0);
            let plugin = self.peek_word(boot_data + 8).unwrap_or(0);
            if plugin != 0 {
                return Err(boot_error(format!(
                    "boot data at {boot_data:#010x} marks a plugin image; the virtual board's ROM boots \
                     only normal images"
                )));
            }
            if start != flash_base || size == 0 {
                return Err(boot_error(format!(
                    "boot data at {boot_data:#010x}: image start {start:#010x}, size {size:#x}; \
                     expected the flash base {flash_base:#010x} and a non-zero size"
                )));
            }
        }
        let dcd_commands = if dcd != 0 { self.run_dcd(dcd)? } else { 0 };
        let entry_is_vector_table = entry & 1 == 0;
        if entry_is_vector_table {
            self.reset(entry)?;
        } else {
            self.reset_to_function(entry & !1, rom.sp, rom.vtor)?;
        }
        // The ROM hands over with the L1 caches off: startup code runs uncached until it
        // enables them (SCB CCR.IC/DC), as on the chip.
        self.sys.caches_off();
        self.timing.icache_on = false;
        self.timing.dcache_on = false;
        Ok(Some(BootRecord {
            ivt,
            entry,
            entry_is_vector_table,
            dcd_commands,
        }))
    }

    /// Executes the device configuration data at `dcd`; returns the number of commands.
    fn run_dcd(&mut self, dcd: u32) -> Result<u32, SimError> {
        let mut head = [0u8; 4];
        self.mem.peek(dcd, &mut head).map_err(|e| {
            boot_error(format!(
                "the IVT's DCD pointer {dcd:#010x} cannot be read ({e})"
            ))
        })?;
        let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
        if head[0] != DCD_TAG || !(4..=DCD_MAX).contains(&len) {
            return Err(boot_error(format!(
                "DCD at {dcd:#010x}: header {:02x} {:02x} {:02x} {:02x}, expected tag 0xD2 and a length of 4..{DCD_MAX} bytes",
                head[0], head[1], head[2], head[3]
            )));
        }
        let mut bytes = vec![0u8; len];
        self.mem
            .peek(dcd, &mut bytes)
            .map_err(|e| boot_error(format!("DCD at {dcd:#010x}, {len} bytes: {e}")))?;
        let be = |off: usize| {
            u32::from_be_bytes([bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]])
        };
        let mut off = 4;
        let mut commands = 0;
        while off < len {
            if off + 4 > len {
                return Err(boot_error(format!(
                    "DCD at {dcd:#010x}: command at +{off:#x} runs past the DCD's end"
                )));
            }
            let (tag, param) = (bytes[off], bytes[off + 3]);
            let clen = usize::from(u16::from_be_bytes([bytes[off + 1], bytes[off + 2]]));
            if clen < 4 || off + clen > len {
                return Err(boot_error(format!(
                    "DCD at {dcd:#010x}: command at +{off:#x} has length {clen}, outside the DCD"
                )));
            }
            let width = u32::from(param & 7);
            let (mask_flag, set_flag) = (param & 0x08 != 0, param & 0x10 != 0);
            let at = |what: &str| format!("DCD at {dcd:#010x}, {what} command at +{off:#x}");
            match tag {
                DCD_WRITE => {
                    if !matches!(width, 1 | 2 | 4) || (clen - 4) % 8 != 0 {
                        return Err(boot_error(format!(
                            "{}: width {width} or length {clen} is invalid",
                            at("write")
                        )));
                    }
                    for k in (off + 4..off + clen).step_by(8) {
                        let (addr, value) = (be(k), be(k + 4));
                        let old = if mask_flag {
                            self.boot_read(addr, width, &at("write"))?
                        } else {
                            0
                        };
                        let new = match (mask_flag, set_flag) {
                            (false, _) => value,
                            (true, false) => old & !value,
                            (true, true) => old | value,
                        };
                        self.boot_write(addr, new, width, &at("write"))?;
                    }
                }
                DCD_CHECK => {
                    if !matches!(width, 1 | 2 | 4) || !(clen == 12 || clen == 16) {
                        return Err(boot_error(format!(
                            "{}: width {width} or length {clen} is invalid",
                            at("check")
                        )));
                    }
                    let (addr, mask) = (be(off + 4), be(off + 8));
                    let count = if clen == 16 {
                        be(off + 12)
                    } else {
                        DCD_CHECK_LIMIT
                    };
                    let mut satisfied = false;
                    for _ in 0..count.max(1) {
                        let v = self.boot_read(addr, width, &at("check"))? & mask;
                        satisfied = match (mask_flag, set_flag) {
                            (false, false) => v == 0,
                            (false, true) => v == mask,
                            (true, false) => v != mask,
                            (true, true) => v != 0,
                        };
                        if satisfied {
                            break;
                        }
                    }
                    if !satisfied && clen == 12 {
                        let name = self
                            .soc
                            .as_deref()
                            .map_or(String::new(), |s| format!(" ({})", s.register_name(addr)));
                        return Err(boot_error(format!(
                            "{}: {addr:#010x}{name} never satisfied mask {mask:#010x} ({}) — the ROM would wait forever",
                            at("check"),
                            match (mask_flag, set_flag) {
                                (false, false) => "all bits clear",
                                (false, true) => "all bits set",
                                (true, false) => "any bit clear",
                                (true, true) => "any bit set",
                            }
                        )));
                    }
                }
                DCD_NOP => {}
                other => {
                    return Err(boot_error(format!(
                    "DCD at {dcd:#010x}: command tag {other:#04x} at +{off:#x} is not supported \
                         (write 0xCC, check 0xCF, NOP 0xC0; unlock 0xB2 is not)"
                )))
                }
            }
            commands += 1;
            off += clen;
        }
        Ok(commands)
    }

    /// A ROM access: memory (any permission) or a modelled peripheral register.
    fn boot_read(&mut self, addr: u32, width: u32, ctx: &str) -> Result<u32, SimError> {
        let mut b = [0u8; 4];
        if self.mem.peek(addr, &mut b[..width as usize]).is_ok() {
            return Ok(u32::from_le_bytes(b));
        }
        let now = self.cycles;
        self.cycles += u64::from(super::soc::ACCESS_CYCLES);
        if !Soc::in_window(addr) {
            return Err(unknown_target(addr, ctx));
        }
        self.with_soc(now, |soc, io| soc.read(addr, width, 0, io).ok())
            .flatten()
            .ok_or_else(|| unknown_target(addr, ctx))
    }

    fn boot_write(&mut self, addr: u32, value: u32, width: u32, ctx: &str) -> Result<(), SimError> {
        if self.mem.region_index(addr).is_some() {
            let bytes = value.to_le_bytes();
            self.note_written(addr, width);
            return self
                .mem
                .poke(addr, &bytes[..width as usize])
                .map_err(|_| unknown_target(addr, ctx));
        }
        let now = self.cycles;
        self.cycles += u64::from(super::soc::ACCESS_CYCLES);
        if !Soc::in_window(addr) {
            return Err(unknown_target(addr, ctx));
        }
        let written = self.with_soc(now, |soc, io| {
            let ok = soc.write(addr, value, width, io).is_ok();
            ok.then(|| std::mem::take(&mut soc.effects.flexram))
        });
        let Some(Some(flexram_changed)) = written else {
            return Err(unknown_target(addr, ctx));
        };
        if flexram_changed {
            super::flexram::reconfigure(self);
        }
        Ok(())
    }
}

fn unknown_target(addr: u32, ctx: &str) -> SimError {
    boot_error(format!(
        "{ctx}: {addr:#010x} is neither memory nor a register of the modelled peripheral map; \
         fix the DCD or describe the memory in the board file"
    ))
}
