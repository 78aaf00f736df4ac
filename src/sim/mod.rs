//! The virtual board: a cycle-approximate Cortex-M7 (ARMv7E-M, FPv5-D16) simulator of an i.MX RT
//! part, driven by a [`Board`] file.
//!
//! Hand-written because no maintained crate simulates a Cortex-M7 with timing: unicorn is GPL and
//! has no NVIC, SysTick or VTOR; QEMU models no time. The pieces: [`decode`] (table-driven Thumb-2
//! decoder), `exec`/`fpu` (integer and floating-point semantics), `system` (NVIC, SysTick, SCB,
//! exceptions), [`memory`] (the bus over the board's regions), `semihost`, `dwt` and [`timing`].
//!
//! Speed: instructions are decoded once into straight-line blocks (`block`) found by their start
//! address, usually through a link from the block that ran before; stores over cached code drop
//! its page's blocks (startup code copying functions to ITCM). The main loop has no allocation,
//! one block lookup and one statistics update per block and one event comparison per
//! instruction; timers, pending exceptions and the cycle limit are folded into `next_event`,
//! so the core stops and takes interrupts at the same instruction boundaries as a one-by-one
//! interpreter would.

mod block;
mod boot;
mod copycheck;
pub mod decode;
mod dwt;
mod elf;
mod exec;
mod flexram;
mod fpu;
pub mod memory;
mod mmio;
mod mpu;
mod semihost;
pub mod soc;
mod system;
pub mod timing;

use serde::Serialize;
use thiserror::Error;

pub use boot::{with_run_setup, BootRecord, RunSetup};
pub use elf::{Image, Symbol};
pub use memory::BusError;
pub use system::FaultReport;
pub use timing::RegionStats;

use crate::board::Board;
use decode::{Insn, Op};
use memory::{Memory, PAGE_SHIFT};
use system::System;
use timing::Timing;

/// Errors that stop the simulation (as opposed to the program exiting).
#[derive(Debug, Error)]
pub enum SimError {
    #[error("{path}: {why}")]
    BadElf { path: String, why: String },
    #[error("board {board}: {why}")]
    Board { board: String, why: String },
    #[error("{path}: segment at {addr:#010x} ({len} bytes) is not inside any region of board {board}; link the image for this board")]
    SegmentOutsideMemory {
        path: String,
        addr: u32,
        len: usize,
        board: String,
    },
    #[error("no vector table: {why}; VTOR is {vtor:#010x}. Link a vector table at the start of flash, give the image a FlexSPI boot header (FCB and IVT) for the ROM, or name the table with `hotlink run --vtor ADDR` (and the first instruction with --entry ADDR)")]
    NoVectorTable { vtor: u32, why: String },
    #[error("boot ROM: {why}")]
    BootHeader { why: String },
    #[error("the core locked up: {0}")]
    Lockup(FaultReport),
    #[error("breakpoint (BKPT #{imm:#x}) at {pc:#010x} in {function}: no debugger is attached")]
    Breakpoint { pc: u32, imm: u32, function: String },
    #[error("semihosting call {op:#x} at {pc:#010x} is not supported (supported: SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_CLOCK, SYS_ELAPSED, SYS_TICKFREQ, SYS_EXIT, SYS_EXIT_EXTENDED)")]
    Semihosting { pc: u32, op: u32 },
    #[error("semihosting call {op:#x} at {pc:#010x}: its parameter block at {addr:#010x} is not readable")]
    SemihostingMemory { pc: u32, op: u32, addr: u32 },
    #[error("instruction fetch at {pc:#010x} in {function}: {why}")]
    UnwrittenCode {
        pc: u32,
        function: String,
        why: String,
    },
    #[error("{watchdog} expired at cycle {cycle} (pc {pc:#010x} in {function}), {after} cycles after it was started or last serviced: the firmware started it ({timeout}) and did not service it in time; {interrupt}; on the chip it resets the SoC. Service it in the main loop or its interrupt handler, or disable it in the start-up code")]
    Watchdog {
        watchdog: String,
        timeout: String,
        cycle: u64,
        /// Core cycles of its timeout.
        after: u64,
        /// Whether its interrupt was enabled and taken.
        interrupt: String,
        pc: u32,
        function: String,
    },
    #[error("the program is stuck at {pc:#010x} in {function}: {why}")]
    Stuck {
        pc: u32,
        function: String,
        why: String,
    },
}

/// Why [`Machine::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// The program exited through semihosting with this status.
    Exit {
        status: i32,
    },
    InstructionLimit {
        limit: u64,
    },
    CycleLimit {
        limit: u64,
    },
}

/// Limits on one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_instructions: u64,
    pub max_cycles: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_instructions: u64::MAX,
            max_cycles: u64::MAX,
        }
    }
}

/// Internal control flow out of an instruction.
pub(crate) enum Trap {
    /// A synchronous fault to take architecturally.
    Fault(system::Fault),
    Exit(i32),
    /// Boxed so that `Result<(), Trap>`, which every instruction returns, stays small.
    Stop(Box<SimError>),
}

impl Trap {
    fn stop(e: SimError) -> Trap {
        Trap::Stop(Box::new(e))
    }
}

/// The SoC model a board's `[boot]` table names, with its fuses and UART input.
fn new_soc(
    board: &Board,
    rom: &crate::board::BootRom,
    setup: &RunSetup,
) -> Result<soc::Soc, SimError> {
    let bad = |why: String| SimError::Board {
        board: board.name.clone(),
        why,
    };
    let Some(map) = soc::Soc::map_named(&rom.peripherals) else {
        return Err(bad(format!(
            "[boot] peripherals = \"{}\" is not a modelled peripheral map (known: {})",
            rom.peripherals,
            soc::Soc::map_names().join(", ")
        )));
    };
    let mut soc = soc::Soc::new(map);
    soc.input = setup.uart_input.iter().copied().collect();
    let ocotp = soc.peripheral_mut("OCOTP").expect("every map has an OCOTP");
    for (name, &value) in &rom.fuses {
        let Some(i) = ocotp.regs.table.iter().position(|r| r.name == name) else {
            let known: Vec<&str> = ocotp.regs.table.iter().map(|r| r.name).collect();
            return Err(bad(format!(
                "[boot.fuses] {name}: the {} OCOTP has no such shadow register (known: {})",
                map.name,
                if known.is_empty() {
                    "none: its fuses are not modelled".into()
                } else {
                    known.join(", ")
                }
            )));
        };
        ocotp.regs.values[i] = value;
    }
    Ok(soc)
}

/// Hooks the profiling layer installs: called after each retired instruction, and on calls.
pub trait Observer {
    /// One instruction at `pc` retired, costing `cycles`.
    fn retire(&mut self, pc: u32, cycles: u32);
    /// A call (BL/BLX) from `site` to `target` happened.
    fn call(&mut self, site: u32, target: u32);
    /// A return (BX lr, POP {pc}, LDR pc) from `site` to `target` happened.
    fn ret(&mut self, site: u32, target: u32);
    /// An exception was taken from (`entry`), or returns to, thread code on the process stack:
    /// `frame` is where that thread's context is stacked. An RTOS gives each thread its own
    /// process stack, so the address tells which thread a context switch left or resumes.
    fn thread_context(&mut self, _entry: bool, _frame: u32) {}
}

/// The simulated core with its memory and peripherals.
pub struct Machine {
    pub mem: Memory,
    pub image: Image,
    pub timing: Timing,
    pub(crate) sys: System,
    /// R0-R15; R15 reads as the current instruction's address + 4 while it executes.
    pub r: [u32; 16],
    pub pc: u32,
    next_pc: u32,
    pub(crate) n: bool,
    pub(crate) z: bool,
    pub(crate) c: bool,
    pub(crate) v: bool,
    pub(crate) q: bool,
    pub(crate) ge: u8,
    /// ITSTATE (IT[7:0]).
    pub(crate) it: u8,
    /// The stack pointer not currently in R13 (PSP when MSP is active, and vice versa).
    pub(crate) other_sp: u32,
    pub(crate) control: u32,
    pub(crate) primask: bool,
    pub(crate) faultmask: bool,
    pub(crate) basepri: u8,
    /// IPSR: the active exception number, 0 in thread mode.
    pub(crate) ipsr: u32,
    /// S0-S31 (D0-D15 as pairs).
    pub(crate) s: [u32; 32],
    pub(crate) fpscr: u32,
    pub(crate) exclusive: Option<u32>,
    pub cycles: u64,
    pub instructions: u64,
    /// The cycle at which `events` must next run (timers, pending exceptions, limits).
    next_event: u64,
    /// Decoded blocks of instructions by start address.
    blocks: block::BlockCache,
    /// Program output (semihosting stdout and stderr, in order).
    pub output: Vec<u8>,
    /// Also copy program output to the host's stdout/stderr as it is produced.
    pub echo: bool,
    /// The first fault the program took, for the report.
    pub first_fault: Option<FaultReport>,
    observer: Option<Box<dyn Observer>>,
    /// Cycle budget for the current `run` (folded into `next_event`).
    cycle_limit: u64,
    /// The last instruction that retired: what DWT_PCSR and PC samples report.
    pub(crate) last_pc: u32,
    /// Asleep in WFI until an interrupt wakes the core.
    pub(crate) sleeping: bool,
    /// The SoC's peripherals, on boards whose file describes them (`[boot]`).
    pub soc: Option<Box<soc::Soc>>,
    /// FlexRAM bank geometry, for GPR writes that reassign banks.
    flexram: Option<flexram::FlexRamModel>,
    /// Regions made of FlexRAM-OCRAM banks (they shrink and grow with the bank assignment).
    flexram_regions: Vec<usize>,
    /// `--trace-mmio`: print every peripheral access.
    trace_mmio: bool,
    /// What the boot ROM did, when the image had a boot header.
    pub boot: Option<BootRecord>,
    /// The core clock the SoC's clock registers select (the board's until a ROM boot).
    pub(crate) core_hz: u64,
    /// The board's core clock and the ROM's FlexSPI clock, which the board file's memory
    /// latencies are given at; set by a ROM boot, after which clock changes rescale them.
    clock_reference: Option<(u64, u64)>,
    /// Memory regions whose bus permissions the MPU narrowed (see `mpu`).
    mpu_guards: Vec<mpu::Guard>,
    /// Memory regions where the MPU could refuse unprivileged instruction fetches.
    unprivileged_fetch_guarded: Vec<usize>,
    /// Which words of ITCM/OCRAM something wrote since reset (see `copycheck`).
    written: copycheck::Written,
}

impl Machine {
    /// Builds the board, loads the image into its memory and resets the core.
    pub fn new(board: &Board, elf_bytes: &[u8], path: &str) -> Result<Machine, SimError> {
        let image = Image::parse(elf_bytes, path)?;
        let mut mem = Memory::new(board).map_err(|why| SimError::Board {
            board: board.name.clone(),
            why,
        })?;
        for seg in &image.segments {
            mem.poke(seg.paddr, &seg.data)
                .map_err(|_| SimError::SegmentOutsideMemory {
                    path: path.to_string(),
                    addr: seg.paddr,
                    len: seg.data.len(),
                    board: board.name.clone(),
                })?;
        }
        let vtor = image
            .segments
            .iter()
            .map(|s| s.paddr)
            .filter(|&a| {
                mem.region_index(a)
                    .is_some_and(|i| mem.regions[i].executable)
            })
            .min()
            .unwrap_or(0);
        let timing = Timing::new(board, &mem.regions);
        if let Some(dtcm) = mem.regions.iter().enumerate().position(|(i, r)| {
            r.kind == crate::board::RegionKind::Dtcm
                && timing.data_is_free(i)
                && r.readable
                && r.writable
                && !r.executable
        }) {
            mem.set_fast_region(dtcm);
        }
        let setup = boot::current_setup();
        let soc = match &board.boot {
            Some(rom) => Some(Box::new(new_soc(board, rom, &setup)?)),
            None => None,
        };
        let flexram_regions = board
            .regions
            .iter()
            .enumerate()
            .filter(|(_, r)| r.flexram && r.kind == crate::board::RegionKind::Ocram)
            .map(|(i, _)| i)
            .collect();
        let mut m = Machine {
            mem,
            image,
            timing,
            sys: System::new(board.core_clock_hz),
            r: [0; 16],
            pc: 0,
            next_pc: 0,
            n: false,
            z: false,
            c: false,
            v: false,
            q: false,
            ge: 0,
            it: 0,
            other_sp: 0,
            control: 0,
            primask: false,
            faultmask: false,
            basepri: 0,
            ipsr: 0,
            s: [0; 32],
            fpscr: 0,
            exclusive: None,
            cycles: 0,
            instructions: 0,
            next_event: 0,
            blocks: block::BlockCache::new(),
            output: Vec::new(),
            echo: false,
            first_fault: None,
            observer: None,
            cycle_limit: u64::MAX,
            last_pc: 0,
            sleeping: false,
            flexram: soc.as_ref().map(|_| flexram::FlexRamModel::new(board)),
            soc,
            flexram_regions,
            trace_mmio: setup.trace_mmio,
            boot: None,
            core_hz: board.core_clock_hz,
            clock_reference: None,
            mpu_guards: Vec::new(),
            unprivileged_fetch_guarded: Vec::new(),
            written: copycheck::Written::default(),
        };
        let flash = m
            .mem
            .regions
            .iter()
            .find(|r| r.kind == crate::board::RegionKind::Xip)
            .map(|r| r.base);
        match (setup.vtor, &board.boot, flash) {
            (Some(v), _, _) => m.reset(v)?,
            (None, Some(rom), Some(flash)) => {
                m.boot = m.rom_boot(rom, flash)?;
                match m.boot {
                    Some(_) => m.start_clock_model(board),
                    None => m.reset(vtor)?,
                }
            }
            _ => m.reset(vtor)?,
        }
        if let Some(entry) = setup.entry {
            m.pc = entry & !1;
            m.last_pc = m.pc;
        }
        Ok(m)
    }

    /// Enters a function the way the ROM does when the IVT entry is code: the ROM's stack
    /// pointer and VTOR stay, the PC is the function.
    fn reset_to_function(&mut self, entry: u32, sp: u32, vtor: u32) -> Result<(), SimError> {
        if !self
            .mem
            .region_index(entry)
            .is_some_and(|i| self.mem.regions[i].executable)
        {
            return Err(SimError::BootHeader {
                why: format!(
                    "the IVT entry {:#010x} is outside executable memory",
                    entry | 1
                ),
            });
        }
        self.sys.reset(vtor);
        self.r = [0; 16];
        self.r[13] = sp & !7;
        self.r[14] = 0xFFFF_FFFF;
        self.pc = entry;
        self.last_pc = entry;
        self.next_event = 0;
        Ok(())
    }

    /// Drops decoded instructions of region `index` (its memory was remapped).
    fn forget_code_of_region(&mut self, index: usize) {
        self.blocks.forget_region(index);
    }

    /// Reset from the vector table at `vtor`: SP from word 0, PC from word 1.
    pub fn reset(&mut self, vtor: u32) -> Result<(), SimError> {
        let no_table = |why: String| SimError::NoVectorTable { vtor, why };
        let mut word = [0u8; 8];
        self.mem
            .peek(vtor, &mut word)
            .map_err(|e| no_table(format!("cannot read it ({e})")))?;
        let sp = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let reset = u32::from_le_bytes([word[4], word[5], word[6], word[7]]);
        if reset & 1 == 0 {
            return Err(no_table(format!(
                "the reset vector {reset:#010x} lacks the Thumb bit"
            )));
        }
        let target = reset & !1;
        if !self
            .mem
            .region_index(target)
            .is_some_and(|i| self.mem.regions[i].executable)
        {
            return Err(no_table(format!(
                "the reset vector {reset:#010x} is outside executable memory"
            )));
        }
        self.sys.reset(vtor);
        self.r = [0; 16];
        self.r[13] = sp & !3;
        self.r[14] = 0xFFFF_FFFF;
        self.pc = target;
        self.last_pc = target;
        self.sleeping = false;
        self.other_sp = 0;
        self.control = 0;
        self.ipsr = 0;
        self.it = 0;
        self.primask = false;
        self.faultmask = false;
        self.basepri = 0;
        self.next_event = 0;
        Ok(())
    }

    /// Installs the profiling observer (called per retired instruction and per call/return).
    pub fn set_observer(
        &mut self,
        observer: Option<Box<dyn Observer>>,
    ) -> Option<Box<dyn Observer>> {
        std::mem::replace(&mut self.observer, observer)
    }

    /// Runs until the program exits, a limit is reached or an error stops it.
    pub fn run(&mut self, limits: Limits) -> Result<StopReason, SimError> {
        self.cycle_limit = limits.max_cycles;
        self.next_event = 0;
        // The block that ran last, whose links name its likely successor (any number is safe).
        let mut prev = u32::MAX;
        loop {
            if self.cycles >= self.next_event {
                if self.cycles >= self.cycle_limit {
                    return Ok(StopReason::CycleLimit {
                        limit: limits.max_cycles,
                    });
                }
                self.events()?;
            }
            if self.sleeping {
                self.sleep_step()?;
                continue;
            }
            if self.instructions >= limits.max_instructions {
                return Ok(StopReason::InstructionLimit {
                    limit: limits.max_instructions,
                });
            }
            let budget = limits.max_instructions - self.instructions;
            let exit = if self.observer.is_some() {
                self.run_block::<true>(budget, &mut prev)
            } else {
                self.run_block::<false>(budget, &mut prev)
            };
            let exit = exit.map_err(|e| *e)?;
            if let Some(status) = exit {
                return Ok(StopReason::Exit { status });
            }
        }
    }

    /// Executes the block at the PC, at most `budget` (≥ 1) instructions of it, and stops early
    /// after an instruction that branched, trapped or reached `next_event` — so interrupts,
    /// timers and the cycle limit are seen at the same instruction boundaries as when stepping
    /// one instruction at a time. `prev` is the block that ran before (its links are tried
    /// first) and becomes this one. `OBSERVE`: report each retirement to the observer (a
    /// separate instance so that the loop without an observer carries no test for it). Returns
    /// the exit status if the program exited; the error is boxed so that the common result
    /// fits in two registers (the full `Result` was copied through the stack after every block).
    #[inline(always)]
    fn run_block<const OBSERVE: bool>(
        &mut self,
        budget: u64,
        prev: &mut u32,
    ) -> Result<Option<i32>, Box<SimError>> {
        let pc = self.pc;
        let (block, id) = match self.blocks.get_after(*prev, pc) {
            Some(hit) => hit,
            None => match self.decode_block(pc) {
                Ok((block, id)) => {
                    self.blocks.link(*prev, pc, id);
                    (block, id)
                }
                Err(trap) => return self.handle_trap(trap, pc).map_err(Box::new),
            },
        };
        *prev = id;
        let first = block.first as usize;
        let count = (block.len as usize).min(usize::try_from(budget).unwrap_or(usize::MAX));
        let arena = self.blocks.take_arena();
        let (issued, exit) =
            self.run_insns::<OBSERVE>(&arena[first..first + count], pc, block.region as usize);
        self.blocks.restore_arena(arena);
        // Per-block statistics: the instructions issued, counted once for the block.
        self.instructions += issued;
        self.timing.stats[block.region as usize].fetches += issued;
        exit
    }

    /// The loop of [`Machine::run_block`] over the block's first `count` instructions, which
    /// start at `pc` in region `region`. Returns how many it issued, with the exit. The first
    /// instruction issues from the pipeline state the previous block left; the others from
    /// their precomputed chain (`timing::chain`), the state written back only for the last
    /// instruction that ran — before it executes when it is the slice's last (a branch's
    /// timing updates the state after issue), after it when the block is left early.
    #[inline(always)]
    fn run_insns<const OBSERVE: bool>(
        &mut self,
        insns: &[Insn],
        pc: u32,
        region: usize,
    ) -> (u64, Result<Option<i32>, Box<SimError>>) {
        let Some((first, rest)) = insns.split_first() else {
            return (0, Ok(None));
        };
        let cost = self.timing.issue(first, pc, region);
        let variant = self.timing.chain_variant();
        match self.step::<OBSERVE>(first, pc, cost) {
            Ok(true) => {}
            Ok(false) => {
                self.pc = self.next_pc;
                return (1, Ok(None));
            }
            Err(trap) => return (1, self.handle_trap(trap, pc).map_err(Box::new)),
        }
        let mut pc = self.next_pc;
        for (k, insn) in rest.iter().enumerate() {
            let cost = self.timing.issue_chained(insn, pc, region, variant);
            let last = k + 1 == rest.len();
            if last {
                self.timing.settle(insn, pc, variant);
            }
            let stepped = self.step::<OBSERVE>(insn, pc, cost);
            if !last && !matches!(stepped, Ok(true)) {
                self.timing.settle(insn, pc, variant);
            }
            let issued = k as u64 + 2;
            match stepped {
                Ok(true) => pc = self.next_pc,
                Ok(false) => {
                    self.pc = self.next_pc;
                    return (issued, Ok(None));
                }
                Err(trap) => return (issued, self.handle_trap(trap, pc).map_err(Box::new)),
            }
        }
        self.pc = self.next_pc;
        (insns.len() as u64, Ok(None))
    }

    /// Executes `insn` at `pc`, issued in `cost` cycles, and retires it. Returns whether the
    /// block goes on with the fall-through: not after a branch, an exception or when
    /// `next_event` is reached. `self.pc` is this instruction's until the caller moves it on.
    #[inline(always)]
    fn step<const OBSERVE: bool>(&mut self, insn: &Insn, pc: u32, cost: u32) -> Result<bool, Trap> {
        self.pc = pc;
        let fall_through = pc.wrapping_add(u32::from(insn.len));
        self.r[15] = pc.wrapping_add(4);
        self.next_pc = fall_through;
        let before = self.cycles;
        let result = if self.it == 0 || self.it_condition_passes() {
            self.exec(insn)
        } else {
            Ok(())
        };
        if self.it != 0 && insn.op != Op::It {
            self.advance_it();
        }
        self.last_pc = pc;
        self.cycles += u64::from(cost);
        if OBSERVE {
            if let Some(obs) = self.observer.as_mut() {
                obs.retire(pc, (self.cycles - before) as u32);
            }
        }
        result?;
        Ok(self.next_pc == fall_through && self.cycles < self.next_event)
    }

    fn handle_trap(&mut self, trap: Trap, pc: u32) -> Result<Option<i32>, SimError> {
        match trap {
            Trap::Exit(status) => Ok(Some(status)),
            Trap::Stop(e) => Err(*e),
            Trap::Fault(f) => {
                self.pc = pc;
                self.take_fault(f, pc)?;
                Ok(None)
            }
        }
    }

    /// Decodes the block starting at `pc` into the cache. A fetch fault on its first
    /// instruction is the trap to take; a later one ends the block before that instruction
    /// (the fault is taken if execution gets there).
    #[cold]
    fn decode_block(&mut self, pc: u32) -> Result<(block::Block, u32), Trap> {
        let (first, region) = self.decode_at(pc)?;
        let mut insns = vec![first];
        let mut at = pc.wrapping_add(u32::from(first.len));
        let page = pc >> PAGE_SHIFT;
        while insns.len() < block::MAX_INSNS
            && !block::ends_block(&insns[insns.len() - 1])
            && at >> PAGE_SHIFT == page
        {
            match self.decode_at(at) {
                Ok((insn, _)) => {
                    insns.push(insn);
                    at = at.wrapping_add(u32::from(insn.len));
                }
                Err(_) => break,
            }
        }
        timing::chain(&mut insns, pc);
        Ok(self.blocks.insert(pc, region, &insns))
    }

    /// Decodes the instruction at `pc` (with its timing class) and names its region.
    fn decode_at(&mut self, pc: u32) -> Result<(Insn, usize), Trap> {
        self.check_fetch(pc)?;
        let fetch_fault = |e: BusError| Trap::Fault(system::Fault::instruction_access(pc, e));
        let (hw1, region) = self.mem.fetch16(pc).map_err(fetch_fault)?;
        let mut insn = if decode::is_wide(hw1) {
            let (hw2, _) = self.mem.fetch16(pc.wrapping_add(2)).map_err(fetch_fault)?;
            decode::decode32((u32::from(hw1) << 16) | u32::from(hw2))
        } else {
            decode::decode16(hw1)
        };
        insn.timing = timing::classify(&insn);
        Ok((insn, region))
    }

    /// Forgets decoded instructions overlapping a store of `len` bytes at `addr`; when that
    /// drops anything, the running block stops after the current instruction (through
    /// `next_event`) so that the next one is decoded afresh.
    #[inline]
    fn invalidate_code(&mut self, addr: u32, len: u32) {
        self.note_written(addr, len);
        if self.blocks.invalidate(addr, len) {
            self.next_event = 0;
        }
    }

    #[inline]
    fn it_condition_passes(&self) -> bool {
        self.condition(self.it >> 4)
    }

    #[inline]
    fn advance_it(&mut self) {
        if self.it & 0x7 == 0 {
            self.it = 0;
        } else {
            self.it = (self.it & 0xE0) | ((self.it << 1) & 0x1F);
        }
    }

    /// ConditionPassed for a 4-bit condition code.
    #[inline]
    pub(crate) fn condition(&self, cond: u8) -> bool {
        let r = match cond >> 1 {
            0 => self.z,
            1 => self.c,
            2 => self.n,
            3 => self.v,
            4 => self.c && !self.z,
            5 => self.n == self.v,
            6 => self.n == self.v && !self.z,
            _ => return true,
        };
        if cond & 1 == 1 {
            !r
        } else {
            r
        }
    }

    /// The APSR/xPSR flag bits (N, Z, C, V, Q and GE).
    pub fn apsr(&self) -> u32 {
        (u32::from(self.n) << 31)
            | (u32::from(self.z) << 30)
            | (u32::from(self.c) << 29)
            | (u32::from(self.v) << 28)
            | (u32::from(self.q) << 27)
            | (u32::from(self.ge) << 16)
    }

    pub(crate) fn set_apsr(&mut self, v: u32) {
        self.n = v & (1 << 31) != 0;
        self.z = v & (1 << 30) != 0;
        self.c = v & (1 << 29) != 0;
        self.v = v & (1 << 28) != 0;
        self.q = v & (1 << 27) != 0;
        self.ge = ((v >> 16) & 0xF) as u8;
    }

    /// `name+0xoff` for a PC.
    pub fn describe(&self, pc: u32) -> String {
        self.image.describe(pc)
    }

    /// Host-side read of a 32-bit word through the same bus the core uses (debugger view: memory
    /// regardless of permission, and the system registers such as DWT_CYCCNT and DWT_PCSR).
    pub fn read_word_32(&mut self, addr: u32) -> Result<u32, BusError> {
        if addr >= system::PPB_BASE {
            return Ok(self.system_read(addr));
        }
        let mut b = [0u8; 4];
        self.mem.peek(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Host-side write of a 32-bit word (debugger view).
    pub fn write_word_32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        if addr >= system::PPB_BASE {
            self.system_write(addr, value);
            return Ok(());
        }
        self.mem.poke(addr, &value.to_le_bytes())?;
        self.invalidate_code(addr, 4);
        Ok(())
    }

    /// The core clock of the board, for converting cycles to time.
    pub fn core_clock_hz(&self) -> u64 {
        self.sys.clock_hz
    }

    /// Whether the core is asleep in WFI (DWT_PCSR then reads 0xFFFF_FFFF).
    pub fn is_sleeping(&self) -> bool {
        self.sleeping
    }

    /// Connects an SWO trace port at `baud` (NRZ): from now on the ITM/DWT packet stream drains
    /// at the line rate and packets that do not fit the FIFO are lost (overflow packets).
    pub fn enable_swo(&mut self, baud: u32) {
        let clock = self.sys.clock_hz;
        self.sys.dwt.set_swo_baud(clock, baud);
    }

    /// Moves the trace bytes produced so far (ITM/DWT packets) to `out`.
    pub fn drain_trace(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.sys.dwt.port.bytes);
    }

    /// Trace packets lost because the SWO line could not keep up.
    pub fn trace_packets_dropped(&self) -> u64 {
        self.sys.dwt.port.dropped_packets
    }

    /// Per-region timing counters.
    pub fn region_stats(&self) -> &[RegionStats] {
        &self.timing.stats
    }
}
