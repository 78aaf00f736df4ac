//! The core's side of peripheral accesses: charges their bus time, hands them to the SoC model,
//! turns a polling loop that makes no progress into a stop naming the register and the bits
//! waited on, prints `--trace-mmio` lines, and acts on FlexRAM reconfiguration.

use super::decode::{self, flag, Op};
use super::memory::BusError;
use super::soc::{self, Io, MmioError, StuckPoll, ACCESS_CYCLES, POLL_LIMIT};
use super::system::Fault;
use super::{flexram, Machine, SimError, Trap};

impl Machine {
    /// Runs `access` on the SoC model with the bus context of an access at cycle `now` (the run's
    /// output for the LPUARTs, the core clock); `None` on a board without a SoC model. The one
    /// place the core's loads and stores and the boot ROM's DCD reach the peripherals.
    pub(crate) fn with_soc<R>(
        &mut self,
        now: u64,
        access: impl FnOnce(&mut soc::Soc, &mut Io<'_>) -> R,
    ) -> Option<R> {
        let soc = self.soc.as_deref_mut()?;
        let mut io = Io {
            now,
            output: &mut self.output,
            echo: self.echo,
            core_hz: self.core_hz,
        };
        Some(access(soc, &mut io))
    }

    fn unmapped(&self, addr: u32) -> Trap {
        Trap::Fault(Fault::data_access(self.pc, addr, BusError::Unmapped))
    }

    /// A load from the peripheral window.
    pub(crate) fn mmio_read(&mut self, addr: u32, size: u32) -> Result<u32, Trap> {
        let (now, pc) = (self.cycles + u64::from(ACCESS_CYCLES), self.pc);
        let Some(read) = self.with_soc(now, |soc, io| soc.read(addr, size, pc, io)) else {
            return Err(self.unmapped(addr));
        };
        self.cycles = now;
        let value = read.map_err(|e| self.mmio_fault(addr, e))?;
        if self.trace_mmio {
            self.trace_line("read ", addr, value);
        }
        if let Some(stuck) = self.soc.as_deref().and_then(|s| s.stuck_poll()) {
            return Err(Trap::stop(self.stuck_poll_error(&stuck)));
        }
        Ok(value)
    }

    /// A store to the peripheral window.
    pub(crate) fn mmio_write(&mut self, addr: u32, value: u32, size: u32) -> Result<(), Trap> {
        let now = self.cycles + u64::from(ACCESS_CYCLES);
        let Some((written, flexram_changed)) = self.with_soc(now, |soc, io| {
            let written = soc.write(addr, value, size, io);
            (written, std::mem::take(&mut soc.effects.flexram))
        }) else {
            return Err(self.unmapped(addr));
        };
        self.cycles = now;
        written.map_err(|e| self.mmio_fault(addr, e))?;
        if self.trace_mmio {
            self.trace_line("write", addr, value);
        }
        if flexram_changed {
            flexram::reconfigure(self);
        }
        if self.clock_reference.is_some()
            && self
                .soc
                .as_deref()
                .is_some_and(|s| s.is_clock_register(addr))
        {
            self.apply_clocks();
        }
        // An interrupt line or a watchdog may have changed: look at them before the next
        // instruction.
        self.next_event = 0;
        Ok(())
    }

    /// The core clock the SoC's clock registers select now, on boards with a SoC model.
    pub fn core_clock_from_registers(&self) -> Option<u64> {
        self.soc.as_deref().map(|s| s.clocks().0)
    }

    /// After a ROM boot: the board file's latencies hold at its core clock and the FlexSPI
    /// clock the ROM set up; from now on the clock registers decide.
    pub(crate) fn start_clock_model(&mut self, board: &crate::board::Board) {
        if let Some(soc) = self.soc.as_deref() {
            let (_, flexspi) = soc.clocks();
            self.clock_reference = Some((board.core_clock_hz, flexspi));
            self.apply_clocks();
        }
    }

    /// Derives the core and FlexSPI clocks from the clock registers and rescales the memory
    /// latencies to them.
    fn apply_clocks(&mut self) {
        let (Some(soc), Some((core_ref, flexspi_ref))) =
            (self.soc.as_deref(), self.clock_reference)
        else {
            return;
        };
        let (core, flexspi) = soc.clocks();
        if core == 0 {
            return; // a clock switch half done (the PLL off): keep the last latencies
        }
        self.core_hz = core;
        self.timing.set_clocks(
            core as f64 / core_ref as f64,
            flexspi as f64 / flexspi_ref.max(1) as f64,
        );
    }

    fn mmio_fault(&self, addr: u32, e: MmioError) -> Trap {
        match e {
            MmioError::Reserved => Trap::Fault(Fault::data_access(
                self.pc,
                addr,
                BusError::ReservedPeripheral,
            )),
        }
    }

    fn trace_line(&self, what: &str, addr: u32, value: u32) {
        if let Some(soc) = self.soc.as_deref() {
            eprintln!(
                "mmio {what} {:<28} {addr:#010x} = {value:#010x}  pc {:#010x} {}",
                soc.register_name(addr),
                self.pc,
                self.describe(self.pc)
            );
        }
    }

    fn stuck_poll_error(&self, p: &StuckPoll) -> SimError {
        let bits = match self.waited_bits() {
            Some(mask) => format!(
                "waiting on bits {mask:#010x} (now {})",
                if p.value & mask == 0 { "clear" } else { "set" }
            ),
            None => "the bits tested could not be read from the code".into(),
        };
        SimError::Stuck {
            pc: self.pc,
            function: self.describe(self.pc),
            why: format!(
                "polling {} ({:#010x}): read {:#010x} {POLL_LIMIT} times with no change, {bits}. \
                 The virtual board does not model what would change it; run with --trace-mmio to see the accesses",
                p.register, p.address, p.value
            ),
        }
    }

    /// The mask a polling loop tests, from the instructions after the load at `pc`: `tst`/`ands`
    /// with an immediate, or a shift moving one bit into N or C (`lsls rX, rX, #n`).
    fn waited_bits(&self) -> Option<u32> {
        let load = self.decode_for_report(self.pc)?;
        let reg = load.rd;
        let mut at = self.pc.wrapping_add(u32::from(load.len));
        for _ in 0..4 {
            let i = self.decode_for_report(at)?;
            let imm = i.flags & flag::IMM != 0;
            match i.op {
                Op::Tst | Op::And if imm && i.rn == reg => return Some(i.imm),
                Op::Mov if !imm && i.rm == reg && i.amount > 0 => {
                    return match i.shift {
                        0 => Some(1 << (31 - u32::from(i.amount).min(31))),
                        1 => Some(1 << (u32::from(i.amount).clamp(1, 32) - 1)),
                        _ => None,
                    };
                }
                _ => {}
            }
            at = at.wrapping_add(u32::from(i.len));
        }
        None
    }

    /// Decodes the instruction at `addr` without touching the decode cache.
    fn decode_for_report(&self, addr: u32) -> Option<decode::Insn> {
        let (hw1, _) = self.mem.fetch16(addr).ok()?;
        Some(if decode::is_wide(hw1) {
            let (hw2, _) = self.mem.fetch16(addr.wrapping_add(2)).ok()?;
            decode::decode32((u32::from(hw1) << 16) | u32::from(hw2))
        } else {
            decode::decode16(hw1)
        })
    }
}
