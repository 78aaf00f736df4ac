//! Halting, resuming and core-register access through the debug registers themselves (DHCSR,
//! DCRSR, DCRDR; ARMv7-M ARM C1.6), and the debug state a capture finds and must leave behind.
//!
//! Written against [`Target`] words rather than probe-rs's `Core::halt`/`run`: probe-rs reads the
//! PC on every halt and single-steps before every run (about 17 USB round trips per sample),
//! and its session clears DEMCR when it is dropped. Here a halted sample is a DHCSR write (held
//! back by the probe), one DHCSR read, and one DCRSR write + DCRDR read per register; resuming
//! never steps, so a `BKPT` the program hit is not stepped over.

use super::target::{regs, CoreRegister, Target, TargetError};

/// The core's state as DHCSR reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreState {
    pub halted: bool,
    pub sleeping: bool,
    pub locked_up: bool,
    /// The core reset since DHCSR was last read (S_RESET_ST, cleared by the read).
    pub reset: bool,
    /// Whether halting debug is enabled (C_DEBUGEN).
    pub debug_enabled: bool,
}

impl CoreState {
    pub fn from_dhcsr(dhcsr: u32) -> CoreState {
        CoreState {
            halted: dhcsr & regs::DHCSR_S_HALT != 0,
            sleeping: dhcsr & regs::DHCSR_S_SLEEP != 0,
            locked_up: dhcsr & regs::DHCSR_S_LOCKUP != 0,
            reset: dhcsr & regs::DHCSR_S_RESET_ST != 0,
            debug_enabled: dhcsr & regs::DHCSR_C_DEBUGEN != 0,
        }
    }

    /// Why sampling cannot go on, if it cannot: a reset, a lockup, or a halt nobody asked for
    /// (a `BKPT`, a semihosting call, a watchpoint).
    pub fn interruption(&self, halt_expected: bool) -> Option<TargetError> {
        if self.reset {
            Some(TargetError::Reset)
        } else if self.locked_up {
            Some(TargetError::Other(
                "the core locked up (a fault inside a fault handler): DHCSR.S_LOCKUP is set".into(),
            ))
        } else if self.halted && !halt_expected {
            Some(TargetError::Other(
                "the core halted by itself (a BKPT, a semihosting call or a watchpoint): \
                 DHCSR.S_HALT is set; hotlink does not step over it"
                    .into(),
            ))
        } else {
            None
        }
    }
}

/// Reads DHCSR (one round trip; clears the sticky S_RESET_ST).
pub fn state(target: &mut dyn Target) -> Result<CoreState, TargetError> {
    Ok(CoreState::from_dhcsr(target.read_word(regs::DHCSR)?))
}

/// Halts the core and confirms it halted. Fails if the core reset or locked up instead.
pub fn halt(target: &mut dyn Target) -> Result<(), TargetError> {
    target.write_word(
        regs::DHCSR,
        regs::DHCSR_DBGKEY | regs::DHCSR_C_DEBUGEN | regs::DHCSR_C_HALT,
    )?;
    for _ in 0..8 {
        let now = state(target)?;
        if let Some(stop) = now.interruption(true) {
            return Err(stop);
        }
        if now.halted {
            return Ok(());
        }
    }
    Err(TargetError::Other(
        "the core did not halt (DHCSR.S_HALT stayed clear after 8 reads)".into(),
    ))
}

/// Resumes the core without stepping, and makes the probe send the write now.
pub fn resume(target: &mut dyn Target) -> Result<(), TargetError> {
    target.write_word(regs::DHCSR, regs::DHCSR_DBGKEY | regs::DHCSR_C_DEBUGEN)?;
    target.flush()
}

/// The DCRSR REGSEL of a core register.
fn regsel(register: CoreRegister) -> u32 {
    match register {
        CoreRegister::Sp => 13,
        CoreRegister::Lr => 14,
        // DebugReturnAddress: the PC the core resumes at.
        CoreRegister::Pc => 15,
        CoreRegister::Regsel(n) => u32::from(n),
    }
}

/// Reads core registers of a halted core: per register a DCRSR write (held back by the probe)
/// and a DCRDR read. The transfer takes a few core cycles; a probe round trip is far longer, so
/// S_REGRDY is set by the time DCRDR is read.
pub fn read_registers(
    target: &mut dyn Target,
    registers: &[CoreRegister],
    out: &mut [u32],
) -> Result<(), TargetError> {
    for (register, value) in registers.iter().zip(out.iter_mut()) {
        target.write_word(regs::DCRSR, regsel(*register))?;
        *value = target.read_word(regs::DCRDR)?;
    }
    Ok(())
}

/// The debug registers a capture changes, as it found them, to be put back at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundState {
    pub dhcsr: u32,
    pub demcr: u32,
    pub dwt_ctrl: u32,
    pub itm_tcr: u32,
}

impl FoundState {
    pub fn read(target: &mut dyn Target) -> Result<FoundState, TargetError> {
        Ok(FoundState {
            dhcsr: target.read_word(regs::DHCSR)?,
            demcr: target.read_word(regs::DEMCR)?,
            dwt_ctrl: target.read_word(regs::DWT_CTRL)?,
            itm_tcr: target.read_word(regs::ITM_TCR)?,
        })
    }

    /// Puts the registers back: DWT_CTRL's fields (CYCCNT keeps counting if it was), ITM_TCR,
    /// DEMCR, and DHCSR's C_DEBUGEN; a core that was running when found runs again, unless it
    /// halted by itself meanwhile.
    pub fn restore(&self, target: &mut dyn Target) -> Result<(), TargetError> {
        let ctrl = target.read_word(regs::DWT_CTRL)?;
        target.write_word(
            regs::DWT_CTRL,
            (ctrl & !regs::DWT_CTRL_SAMPLING_FIELDS)
                | (self.dwt_ctrl & regs::DWT_CTRL_SAMPLING_FIELDS),
        )?;
        target.write_word(regs::ITM_LAR, regs::ITM_LAR_UNLOCK)?;
        target.write_word(regs::ITM_TCR, self.itm_tcr)?;
        target.write_word(regs::DEMCR, self.demcr)?;
        if state(target)?.halted {
            // The collectors resume every halt of theirs: a core halted now stopped at a BKPT
            // or a semihosting call. It stays there, for the user or a debugger to see.
            return target.flush();
        }
        let keep = regs::DHCSR_C_DEBUGEN | regs::DHCSR_C_MASKINTS;
        let halt = if self.dhcsr & regs::DHCSR_S_HALT != 0 {
            regs::DHCSR_C_HALT | regs::DHCSR_C_DEBUGEN
        } else {
            0
        };
        target.write_word(regs::DHCSR, regs::DHCSR_DBGKEY | (self.dhcsr & keep) | halt)?;
        target.flush()
    }
}
