//! The virtual board as a capture [`Target`]: the collectors that sample real hardware through
//! probe-rs run unchanged against a [`Machine`].
//!
//! The host's view is a debugger's: word reads and writes go through the same bus the firmware
//! uses (DWT_PCSR, DWT_CYCCNT, DWT_CTRL, DEMCR and the ITM registers included); `halt` stops the
//! core's clock, so CYCCNT does not count while halted; the SWO port carries the simulator's real
//! ITM/DWT byte stream (PC samples, sleep packets, exception trace, overflow packets when the
//! line rate is too low). Host time is modelled as a fixed number of core cycles per poll.

use super::target::{regs, CoreRegister, Target, TargetError};
use crate::sim::{Limits, Machine, StopReason};

/// A [`Machine`] seen through the capture interface.
pub struct SimTarget {
    machine: Machine,
    /// Core cycles that pass between two host polls.
    poll_cycles: u64,
    halted: bool,
    /// The program's exit status once it has exited.
    exited: Option<i64>,
}

impl SimTarget {
    /// Wraps `machine`; each [`Target::wait_for_next_poll`] runs it for `poll_cycles` cycles
    /// (at least one).
    pub fn new(machine: Machine, poll_cycles: u64) -> SimTarget {
        SimTarget {
            machine,
            poll_cycles: poll_cycles.max(1),
            halted: false,
            exited: None,
        }
    }

    /// The machine, for its exact counters after a capture.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    fn check_alive(&self) -> Result<(), TargetError> {
        match self.exited {
            Some(code) => Err(TargetError::Exited(code)),
            None => Ok(()),
        }
    }
}

impl Target for SimTarget {
    fn read_word(&mut self, address: u32) -> Result<u32, TargetError> {
        if address == regs::DWT_PCSR && self.halted {
            return Ok(regs::PCSR_IDLE);
        }
        self.machine
            .read_word_32(address)
            .map_err(|e| TargetError::Other(format!("reading {address:#010x}: {e}")))
    }

    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
        self.machine
            .write_word_32(address, value)
            .map_err(|e| TargetError::Other(format!("writing {address:#010x}: {e}")))
    }

    fn halt(&mut self) -> Result<(), TargetError> {
        self.check_alive()?;
        self.halted = true;
        Ok(())
    }

    fn run(&mut self) -> Result<(), TargetError> {
        self.check_alive()?;
        self.halted = false;
        Ok(())
    }

    fn read_register(&mut self, register: CoreRegister) -> Result<u32, TargetError> {
        if !self.halted {
            return Err(TargetError::Other(
                "core registers can only be read while the core is halted".into(),
            ));
        }
        Ok(match register {
            CoreRegister::Pc => self.machine.pc,
            CoreRegister::Lr => self.machine.r[14],
            CoreRegister::Sp => self.machine.r[13],
            CoreRegister::Regsel(n) => {
                super::stacks::sim_register(&self.machine, n).ok_or_else(|| {
                    TargetError::Other(format!(
                        "core register {n} is not one the virtual board has"
                    ))
                })?
            }
        })
    }

    fn enable_swo(&mut self, baud: u32) -> Result<(), TargetError> {
        if baud == 0 {
            return Err(TargetError::Other("SWO baud rate must be above 0".into()));
        }
        self.machine.enable_swo(baud);
        Ok(())
    }

    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<(), TargetError> {
        self.machine.drain_trace(out);
        Ok(())
    }

    fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
        self.check_alive()?;
        if self.halted {
            // A halted core's clock is stopped: host time passes, the target's does not.
            return Ok(());
        }
        let limits = Limits {
            max_cycles: self.machine.cycles.saturating_add(self.poll_cycles),
            ..Limits::default()
        };
        match self.machine.run(limits) {
            Ok(StopReason::Exit { status }) => {
                self.exited = Some(i64::from(status));
                Err(TargetError::Exited(i64::from(status)))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(TargetError::Other(e.to_string())),
        }
    }

    fn core_clock_hz(&self) -> u64 {
        self.machine.core_clock_hz()
    }
}
