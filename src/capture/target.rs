//! The one interface between the collectors and a target, so that the same sampling code runs
//! against a real board (through probe-rs) and against the virtual board.

use std::time::Duration;

/// Why a target operation failed. Collectors keep the samples they have on any of these.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the probe disconnected: {0}")]
    Disconnected(String),
    #[error("the target reset")]
    Reset,
    #[error("the program exited with status {0}")]
    Exited(i64),
    #[error("{0}")]
    Other(String),
}

/// A Cortex-M core register the collectors read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreRegister {
    Pc,
    Lr,
    Sp,
    /// Any core register by its DCRSR REGSEL number (ARM DDI 0403, C1.6.3): 0-15 are r0-r15,
    /// 17 MSP, 18 PSP. Call-stack sampling reads the ones the unwinder needs.
    Regsel(u16),
}

/// What the probe's SWO receiver reported with a read of trace data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceRead {
    /// The probe's trace buffer overflowed since the last read: bytes were lost before they
    /// reached the host (CMSIS-DAP `DAP_SWO_Status` bit 8).
    pub overrun: bool,
}

/// What the collectors need from a target: word access to its memory (the debug registers, DWT,
/// ITM, TPIU and the SoC's clock registers are all memory-mapped) and the SWO byte stream.
/// Halting and core registers go through DHCSR/DCRSR/DCRDR ([`super::debug`]), the same on a
/// probe and on the virtual board.
///
/// A read is one probe round trip; writes may be held back and sent with the next read or
/// [`Target::flush`] (probes batch them). [`Target::read_block`] is one round trip for many words.
pub trait Target {
    fn read_word(&mut self, address: u32) -> Result<u32, TargetError>;
    /// Reads consecutive words starting at `address` in one transfer (one round trip on a probe
    /// that batches, and one instant on the target: the words are coherent with each other).
    fn read_block(&mut self, address: u32, out: &mut [u32]) -> Result<(), TargetError> {
        for (i, word) in out.iter_mut().enumerate() {
            *word = self.read_word(address + 4 * i as u32)?;
        }
        Ok(())
    }
    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError>;
    /// Sends the writes a probe holds back for batching (they take effect now).
    fn flush(&mut self) -> Result<(), TargetError> {
        Ok(())
    }
    /// Sets up the probe's SWO receiver (NRZ/UART) for a line at `baud` driven by a TPIU whose
    /// trace clock is `trace_clock_hz`, and returns the baud the probe actually granted. The
    /// collector programs the TPIU prescaler itself, from the granted baud.
    fn enable_swo(&mut self, trace_clock_hz: u64, baud: u32) -> Result<u32, TargetError>;
    /// Appends the SWO bytes that arrived since the last call.
    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<TraceRead, TargetError>;
    /// The most SWO bytes per second the probe moves to the host (e.g. CMSIS-DAP v1 over HID:
    /// one 64-byte report per millisecond), `None` when the probe does not say.
    fn swo_byte_rate_limit(&self) -> Option<u64> {
        None
    }
    /// Lets the target run until the host's next poll: real time passes on hardware; the virtual
    /// board runs the cycles a host poll takes.
    fn wait_for_next_poll(&mut self) -> Result<(), TargetError>;
    /// Lets `time` pass on the host while the target does what it does (pacing).
    fn pause(&mut self, time: Duration) -> Result<(), TargetError>;
    /// The host's clock: real time on hardware, modelled time on the virtual board.
    fn now(&self) -> Duration;
    /// The core clock, for converting cycles to time.
    fn core_clock_hz(&self) -> u64;
}

/// Debug registers of the ARMv7-M architecture (ARM DDI 0403, C1) and the CoreSight TPIU.
pub mod regs {
    /// Debug Halting Control and Status.
    pub const DHCSR: u32 = 0xE000_EDF0;
    /// The key that must accompany every write of DHCSR (bits 31:16).
    pub const DHCSR_DBGKEY: u32 = 0xA05F << 16;
    pub const DHCSR_C_DEBUGEN: u32 = 1 << 0;
    pub const DHCSR_C_HALT: u32 = 1 << 1;
    pub const DHCSR_C_MASKINTS: u32 = 1 << 3;
    /// Register transfer through DCRSR/DCRDR complete.
    pub const DHCSR_S_REGRDY: u32 = 1 << 16;
    pub const DHCSR_S_HALT: u32 = 1 << 17;
    pub const DHCSR_S_SLEEP: u32 = 1 << 18;
    pub const DHCSR_S_LOCKUP: u32 = 1 << 19;
    /// Sticky: an instruction retired since the last read.
    pub const DHCSR_S_RETIRE_ST: u32 = 1 << 24;
    /// Sticky: the core reset since the last read.
    pub const DHCSR_S_RESET_ST: u32 = 1 << 25;
    /// Debug Core Register Selector: REGSEL in bits 6:0, REGWnR in bit 16.
    pub const DCRSR: u32 = 0xE000_EDF4;
    pub const DCRSR_REGWNR: u32 = 1 << 16;
    /// Debug Core Register Data.
    pub const DCRDR: u32 = 0xE000_EDF8;
    /// Application Interrupt and Reset Control (VECTKEY 0x05FA in bits 31:16).
    pub const AIRCR: u32 = 0xE000_ED0C;
    pub const AIRCR_VECTKEY: u32 = 0x05FA << 16;
    pub const AIRCR_SYSRESETREQ: u32 = 1 << 2;
    /// Debug Exception and Monitor Control; bit 24 TRCENA powers the DWT and ITM.
    pub const DEMCR: u32 = 0xE000_EDFC;
    pub const DEMCR_TRCENA: u32 = 1 << 24;
    pub const DWT_CTRL: u32 = 0xE000_1000;
    pub const DWT_CTRL_CYCCNTENA: u32 = 1 << 0;
    /// POSTPRESET, bits 4:1: reload value of the sampling down-counter.
    pub const DWT_CTRL_POSTPRESET_SHIFT: u32 = 1;
    /// POSTINIT, bits 8:5.
    pub const DWT_CTRL_POSTINIT_SHIFT: u32 = 5;
    /// CYCTAP, bit 9: tap CYCCNT bit 10 (1) or bit 6 (0).
    pub const DWT_CTRL_CYCTAP: u32 = 1 << 9;
    pub const DWT_CTRL_PCSAMPLENA: u32 = 1 << 12;
    pub const DWT_CTRL_EXCTRCENA: u32 = 1 << 16;
    /// The writable fields the collectors own: CYCCNTENA, POSTPRESET, POSTINIT, CYCTAP,
    /// SYNCTAP (11:10), PCSAMPLENA, EXCTRCENA, CPIEVTENA..FOLDEVTENA (21:17) and CYCEVTENA (22).
    pub const DWT_CTRL_SAMPLING_FIELDS: u32 = 0x007F_1FFF;
    pub const DWT_CYCCNT: u32 = 0xE000_1004;
    /// PC Sample Register: the PC of a recently executed instruction, or 0xFFFF_FFFF when the
    /// core is halted or sleeping. Reads as 0 where PC sampling is not implemented.
    pub const DWT_PCSR: u32 = 0xE000_101C;
    pub const PCSR_IDLE: u32 = 0xFFFF_FFFF;
    pub const ITM_TCR: u32 = 0xE000_0E80;
    pub const ITM_TCR_ITMENA: u32 = 1 << 0;
    pub const ITM_TCR_TSENA: u32 = 1 << 1;
    pub const ITM_TCR_SYNCENA: u32 = 1 << 2;
    pub const ITM_TCR_TXENA: u32 = 1 << 3;
    pub const ITM_LAR: u32 = 0xE000_0FB0;
    pub const ITM_LAR_UNLOCK: u32 = 0xC5AC_CE55;
    /// TPIU Asynchronous Clock Prescaler: line rate = trace clock / (ACPR + 1).
    pub const TPIU_ACPR: u32 = 0xE004_0010;
    /// TPIU Selected Pin Protocol: 1 Manchester, 2 NRZ (UART).
    pub const TPIU_SPPR: u32 = 0xE004_00F0;
    pub const TPIU_SPPR_NRZ: u32 = 2;
    /// TPIU Formatter and Flush Control; 0x100 (TrigIn, no formatter) for SWO.
    pub const TPIU_FFCR: u32 = 0xE004_0304;
    pub const TPIU_FFCR_BYPASS: u32 = 0x100;
}
