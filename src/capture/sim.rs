//! The virtual board as a capture [`Target`]: the collectors that sample real hardware through
//! probe-rs run unchanged against a [`Machine`], behind a modelled probe ([`ProbeModel`]).
//!
//! What a debugger sees is modelled after the hardware, not after what the collectors expect:
//! - DHCSR (C_DEBUGEN, C_HALT, S_HALT, S_SLEEP, S_LOCKUP, sticky S_RESET_ST and S_RETIRE_ST) with
//!   its write key, DCRSR/DCRDR register transfers, AIRCR.SYSRESETREQ; a halted core's clock
//!   stops (CYCCNT too), a `BKPT` halts it, a lockup freezes it with the PC at 0xEFFF_FFFE;
//!   a reset (a scheduled one models a watchdog) sets S_RESET_ST and keeps the debug registers
//!   (they are reset by power-on only);
//! - the TPIU (ACPR, SPPR, FFCR) in [`crate::sim`]'s DWT model, fed by the trace clock that the
//!   SoC model's CCM registers give ([`super::clock`]), as the firmware's own clock code left
//!   them: a gated clock or an unmuxed pad leaves the line silent; a prescaler that does not
//!   match the probe's UART gives garbage;
//! - the SoC's peripheral registers as a debugger sees them: reads and writes in the
//!   peripheral window go to the board's SoC model ([`crate::sim::soc`]), the same registers
//!   the firmware programs;
//! - the probe's round-trip latency: every read takes [`ProbeModel::round_trip`] of host time,
//!   during which a running core runs on; the probe's SWO buffer overruns when the host does not
//!   empty it fast enough.
//!
//! The trace clock follows the firmware's clock code at the granularity of the host's polls:
//! after each stretch the core runs, and after each debugger write, the registers are read
//! again and the TPIU retimed when they changed. Boards without a SoC model keep the DWT
//! model's fixed trace clock, and their CCM reads fail as on a chip without one.

use std::time::Duration;

use super::clock::{self, TraceClockRegisters};
use super::probe_model::{self, ProbeModel};
use super::target::{regs, Target, TargetError, TraceRead};
use crate::sim::soc::Soc;
use crate::sim::{Limits, Machine, SimError, StopReason};

/// The PC a locked-up core reports.
const LOCKUP_PC: u32 = 0xEFFF_FFFE;

/// A [`Machine`] seen through the capture interface.
pub struct SimTarget {
    machine: Machine,
    probe: ProbeModel,
    /// Core cycles that pass between two host polls.
    poll_cycles: u64,
    /// Modelled host time, in core cycles.
    host_cycles: u64,
    debug_enabled: bool,
    mask_interrupts: bool,
    halted: bool,
    locked_up: bool,
    reset_sticky: bool,
    retired_at_last_read: u64,
    dcrdr: u32,
    /// The program's exit status once it has exited.
    exited: Option<i64>,
    /// A reset at this core cycle (a watchdog, a brown-out).
    reset_at: Option<u64>,
    vtor: u32,
    /// The trace clock registers as last applied to the TPIU (`None` before the first time).
    trace_registers: Option<TraceClockRegisters>,
    /// The probe's SWO receiver baud, once set up.
    swo_baud: Option<u64>,
    /// SWO bytes in the probe's buffer.
    swo_pending: Vec<u8>,
    swo_overrun: bool,
}

impl SimTarget {
    /// Wraps `machine` behind an ideal probe; each [`Target::wait_for_next_poll`] runs it for
    /// `poll_cycles` cycles (at least one).
    pub fn new(mut machine: Machine, poll_cycles: u64) -> SimTarget {
        let vtor = machine.read_word_32(0xE000_ED08).unwrap_or(0);
        let mut target = SimTarget {
            machine,
            probe: ProbeModel::ideal(),
            poll_cycles: poll_cycles.max(1),
            host_cycles: 0,
            // Attaching (probe-rs's debug_core_start) sets C_DEBUGEN.
            debug_enabled: true,
            mask_interrupts: false,
            halted: false,
            locked_up: false,
            reset_sticky: false,
            retired_at_last_read: 0,
            dcrdr: 0,
            exited: None,
            reset_at: None,
            vtor,
            trace_registers: None,
            swo_baud: None,
            swo_pending: Vec::new(),
            swo_overrun: false,
        };
        target.follow_trace_clock();
        target
    }

    /// Puts `probe` between the host and the board.
    pub fn with_probe(mut self, probe: ProbeModel) -> SimTarget {
        self.probe = probe;
        self
    }

    /// The machine, for its exact counters after a capture.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// Resets the core when it reaches core cycle `cycle` (a watchdog).
    pub fn schedule_reset(&mut self, cycle: u64) {
        self.reset_at = Some(cycle);
    }

    /// Retimes the TPIU when the SoC's trace clock registers changed since the last look (the
    /// firmware's clock code, or a debugger write). Reads them without side effects.
    fn follow_trace_clock(&mut self) {
        // The trace clock registers below are the RT1060's; other maps keep the board's clock.
        let Some(soc) = self
            .machine
            .soc
            .as_deref()
            .filter(|s| s.map().name == "rt1060")
        else {
            return;
        };
        let peek = |address| peek(soc, address).unwrap_or(0);
        let registers = TraceClockRegisters {
            cbcmr: peek(clock::CCM_CBCMR),
            cscdr1: peek(clock::CCM_CSCDR1),
            ccgr0: peek(clock::CCM_CCGR0),
            pll_sys: peek(clock::CCM_ANALOG_PLL_SYS),
            pfd_528: peek(clock::CCM_ANALOG_PFD_528),
            swo_pad_mux: peek(clock::IOMUXC_MUX_GPIO_AD_B0_10),
        };
        if self.trace_registers == Some(registers) {
            return;
        }
        self.trace_registers = Some(registers);
        let decoded = registers.decode();
        let (now, core) = (self.machine.cycles, self.machine.core_clock_hz());
        self.machine
            .sys
            .dwt
            .set_trace_clock(now, core, decoded.tpiu_hz(), decoded.pin_muxed);
    }

    /// A debugger's access to the peripheral window: a bus access to the SoC model, as the
    /// probe's AHB-AP makes one. `None` when the board has no SoC model.
    fn soc_access(&mut self, address: u32, write: Option<u32>) -> Option<Result<u32, TargetError>> {
        if !Soc::in_window(address) {
            return None;
        }
        let now = self.machine.cycles;
        let result = self.machine.with_soc(now, |soc, io| match write {
            Some(value) => soc.write(address, value, 4, io).map(|()| value),
            None => soc.read(address, 4, 0, io),
        })?;
        Some(result.map_err(|_| {
            TargetError::Other(format!(
                "{} {address:#010x}: a reserved peripheral slot (bus error)",
                if write.is_some() {
                    "writing"
                } else {
                    "reading"
                }
            ))
        }))
    }

    fn check_alive(&self) -> Result<(), TargetError> {
        match self.exited {
            Some(code) => Err(TargetError::Exited(code)),
            None => Ok(()),
        }
    }

    fn round_trip_cycles(&self) -> u64 {
        (self.probe.round_trip.as_secs_f64() * self.machine.core_clock_hz() as f64) as u64
    }

    /// Host time passes: `cycles` core cycles of it. A running core runs them.
    fn advance(&mut self, cycles: u64) -> Result<(), TargetError> {
        self.host_cycles += cycles;
        let end = self.machine.cycles.saturating_add(cycles);
        while self.machine.cycles < end {
            if self.halted || self.locked_up || self.exited.is_some() {
                return self.check_alive();
            }
            let stop = self.reset_at.map_or(end, |r| r.min(end));
            if self.machine.cycles >= stop {
                self.reset_core()?;
                continue;
            }
            let limits = Limits {
                max_cycles: stop,
                ..Limits::default()
            };
            match self.machine.run(limits) {
                Ok(StopReason::Exit { status }) => {
                    self.exited = Some(i64::from(status));
                    return Err(TargetError::Exited(i64::from(status)));
                }
                Ok(_) => self.follow_trace_clock(),
                Err(SimError::Lockup(_)) => self.locked_up = true,
                Err(SimError::Breakpoint { .. }) if self.debug_enabled => self.halted = true,
                Err(e) => return Err(TargetError::Other(e.to_string())),
            }
        }
        Ok(())
    }

    /// A system reset: the core restarts from the vector table; the debug registers (DEMCR,
    /// DWT, ITM, TPIU) are reset by power-on only, so they are kept.
    fn reset_core(&mut self) -> Result<(), TargetError> {
        self.reset_at = None;
        let dwt = std::mem::take(&mut self.machine.sys.dwt);
        let reset = self.machine.reset(self.vtor);
        self.machine.sys.dwt = dwt;
        reset.map_err(|e| TargetError::Other(format!("reset: {e}")))?;
        self.reset_sticky = true;
        self.locked_up = false;
        Ok(())
    }

    fn dhcsr(&mut self) -> u32 {
        let retired = self.machine.instructions != self.retired_at_last_read;
        self.retired_at_last_read = self.machine.instructions;
        let bit = |on: bool, mask: u32| if on { mask } else { 0 };
        let value = bit(self.debug_enabled, regs::DHCSR_C_DEBUGEN)
            | bit(self.halted, regs::DHCSR_C_HALT | regs::DHCSR_S_HALT)
            | bit(self.mask_interrupts, regs::DHCSR_C_MASKINTS)
            | regs::DHCSR_S_REGRDY
            | bit(
                self.machine.is_sleeping() && !self.halted,
                regs::DHCSR_S_SLEEP,
            )
            | bit(self.locked_up, regs::DHCSR_S_LOCKUP)
            | bit(retired, regs::DHCSR_S_RETIRE_ST)
            | bit(self.reset_sticky, regs::DHCSR_S_RESET_ST);
        self.reset_sticky = false;
        value
    }

    fn write_dhcsr(&mut self, value: u32) {
        if value & 0xFFFF_0000 != regs::DHCSR_DBGKEY {
            return; // Writes without the key are ignored.
        }
        self.debug_enabled = value & regs::DHCSR_C_DEBUGEN != 0;
        self.mask_interrupts = value & regs::DHCSR_C_MASKINTS != 0;
        if self.debug_enabled && value & regs::DHCSR_C_HALT != 0 {
            self.halted = true;
        } else if !self.locked_up {
            self.halted = false;
        }
    }

    /// A DCRSR write: moves a core register to or from DCRDR (halted core only).
    fn register_transfer(&mut self, value: u32) {
        if !self.halted {
            return;
        }
        let index = (value & 0x7F) as usize;
        let write = value & regs::DCRSR_REGWNR != 0;
        match (index, write) {
            (_, false) => {
                if let Some(v) = super::stacks::sim_register(&self.machine, index as u16) {
                    self.dcrdr = v;
                }
            }
            (0..=14, true) => self.machine.r[index] = self.dcrdr,
            (15, true) => self.machine.pc = self.dcrdr & !1,
            _ => {}
        }
    }

    /// A word as the debugger reads it now.
    fn debug_read(&mut self, address: u32) -> Result<u32, TargetError> {
        if let Some(value) = self.soc_access(address, None) {
            return value;
        }
        Ok(match address {
            regs::DHCSR => self.dhcsr(),
            regs::DCRDR => self.dcrdr,
            regs::DWT_PCSR if self.locked_up => LOCKUP_PC,
            regs::DWT_PCSR if self.halted => regs::PCSR_IDLE,
            0xE004_0000..=0xE004_0FFF => self.machine.sys.dwt.tpiu_read(address),
            _ => self
                .machine
                .read_word_32(address)
                .map_err(|e| TargetError::Other(format!("reading {address:#010x}: {e}")))?,
        })
    }

    /// Moves the line's bytes into the probe's buffer, through its UART.
    fn receive_swo(&mut self) {
        let mut sent = Vec::new();
        self.machine.drain_trace(&mut sent);
        if sent.is_empty() {
            return;
        }
        // Without a receiver set up, the host sees the line as sent (a direct view).
        let mut arrived = Vec::with_capacity(sent.len());
        match (self.swo_baud, self.machine.sys.dwt.tpiu.line_baud()) {
            (Some(receiver), Some(line)) => {
                probe_model::receive(line, receiver, &sent, &mut arrived)
            }
            _ => arrived = sent,
        }
        let room = self
            .probe
            .swo_buffer_bytes
            .saturating_sub(self.swo_pending.len());
        if arrived.len() > room {
            arrived.truncate(room);
            self.swo_overrun = true;
        }
        self.swo_pending.extend_from_slice(&arrived);
    }
}

/// A SoC register's stored value, read without the side effects of a bus read (a behaviour's
/// computed bits, the firmware's poll watch): what decides the trace clock.
fn peek(soc: &Soc, address: u32) -> Option<u32> {
    soc.peek(address)
}

impl Target for SimTarget {
    fn read_word(&mut self, address: u32) -> Result<u32, TargetError> {
        let value = self.debug_read(address)?;
        self.advance(self.round_trip_cycles())?;
        Ok(value)
    }

    fn read_block(&mut self, address: u32, out: &mut [u32]) -> Result<(), TargetError> {
        for (i, word) in out.iter_mut().enumerate() {
            *word = self.debug_read(address + 4 * i as u32)?;
        }
        self.advance(self.round_trip_cycles())
    }

    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
        if let Some(written) = self.soc_access(address, Some(value)) {
            written?;
            self.follow_trace_clock();
            return Ok(());
        }
        match address {
            regs::DHCSR => self.write_dhcsr(value),
            regs::DCRSR => self.register_transfer(value),
            regs::DCRDR => self.dcrdr = value,
            regs::AIRCR
                if value & 0xFFFF_0000 == regs::AIRCR_VECTKEY
                    && value & regs::AIRCR_SYSRESETREQ != 0 =>
            {
                self.reset_core()?
            }
            0xE004_0000..=0xE004_0FFF => {
                let (now, core) = (self.machine.cycles, self.machine.core_clock_hz());
                self.machine.sys.dwt.tpiu_write(now, core, address, value);
            }
            _ => self
                .machine
                .write_word_32(address, value)
                .map_err(|e| TargetError::Other(format!("writing {address:#010x}: {e}")))?,
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        self.advance(self.round_trip_cycles())
    }

    fn enable_swo(&mut self, trace_clock_hz: u64, baud: u32) -> Result<u32, TargetError> {
        if baud == 0 || trace_clock_hz == 0 {
            return Err(TargetError::Other(
                "SWO baud rate and trace clock must be above 0".into(),
            ));
        }
        let granted = self.probe.grant_baud(baud);
        self.swo_baud = Some(u64::from(granted));
        Ok(granted)
    }

    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<TraceRead, TargetError> {
        self.receive_swo();
        let take = self
            .probe
            .swo_bytes_per_read
            .unwrap_or(usize::MAX)
            .min(self.swo_pending.len());
        out.extend(self.swo_pending.drain(..take));
        let overrun = std::mem::take(&mut self.swo_overrun) && self.probe.reports_overrun;
        self.advance(self.round_trip_cycles())?;
        Ok(TraceRead { overrun })
    }

    fn swo_byte_rate_limit(&self) -> Option<u64> {
        self.probe.byte_rate_limit()
    }

    fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
        self.check_alive()?;
        self.advance(self.poll_cycles)?;
        // The probe keeps receiving while the host is away.
        self.receive_swo();
        Ok(())
    }

    fn pause(&mut self, time: Duration) -> Result<(), TargetError> {
        let cycles = (time.as_secs_f64() * self.machine.core_clock_hz() as f64) as u64;
        self.advance(cycles)?;
        self.receive_swo();
        Ok(())
    }

    fn now(&self) -> Duration {
        Duration::from_secs_f64(self.host_cycles as f64 / self.machine.core_clock_hz() as f64)
    }

    fn core_clock_hz(&self) -> u64 {
        self.machine.core_clock_hz()
    }
}
