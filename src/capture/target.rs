//! The one interface between the collectors and a target, so that the same sampling code runs
//! against a real board (through probe-rs) and against the virtual board.

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

/// What the collectors need from a target: word access to its memory (the DWT and ITM are
/// memory-mapped), halting, core registers, and the SWO byte stream.
pub trait Target {
    fn read_word(&mut self, address: u32) -> Result<u32, TargetError>;
    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError>;
    /// Halts the core (returns once it is halted).
    fn halt(&mut self) -> Result<(), TargetError>;
    /// Resumes the core.
    fn run(&mut self) -> Result<(), TargetError>;
    /// Reads a core register; the core must be halted.
    fn read_register(&mut self, register: CoreRegister) -> Result<u32, TargetError>;
    /// Sets up the trace port (TPIU, SWO in NRZ/UART mode) at `baud`.
    fn enable_swo(&mut self, baud: u32) -> Result<(), TargetError>;
    /// Appends the SWO bytes that arrived since the last call.
    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<(), TargetError>;
    /// Lets the target run until the host's next poll: real time passes on hardware; the virtual
    /// board runs the cycles a host poll takes.
    fn wait_for_next_poll(&mut self) -> Result<(), TargetError>;
    /// The core clock, for converting cycles to time.
    fn core_clock_hz(&self) -> u64;
}

/// Debug registers of the ARMv7-M architecture (ARM DDI 0403, C1).
pub mod regs {
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
    pub const DWT_CYCCNT: u32 = 0xE000_1004;
    /// PC Sample Register: the PC of a recently executed instruction, or 0xFFFF_FFFF when the
    /// core is halted or sleeping.
    pub const DWT_PCSR: u32 = 0xE000_101C;
    pub const PCSR_IDLE: u32 = 0xFFFF_FFFF;
    pub const ITM_TCR: u32 = 0xE000_0E80;
    pub const ITM_TCR_ITMENA: u32 = 1 << 0;
    pub const ITM_TCR_TSENA: u32 = 1 << 1;
    pub const ITM_TCR_SYNCENA: u32 = 1 << 2;
    pub const ITM_TCR_TXENA: u32 = 1 << 3;
    pub const ITM_LAR: u32 = 0xE000_0FB0;
    pub const ITM_LAR_UNLOCK: u32 = 0xC5AC_CE55;
}
