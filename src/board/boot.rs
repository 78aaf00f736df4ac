//! What the virtual board's boot ROM and SoC model need from a board file (`[boot]`, optional:
//! a board without it has no peripherals and boots every image from its vector table).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The boot ROM's behaviour and the state it leaves (reference manual, "System Boot").
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootRom {
    /// The SoC peripheral map the virtual board models (`rt1060`: RT1050/1060/1064).
    pub peripherals: String,
    /// Offset of the FlexSPI configuration block from the start of flash (RT10xx 0, RT11xx 0x400).
    pub fcb_offset: u32,
    /// Offset of the image vector table from the start of flash.
    pub ivt_offset: u32,
    /// The stack pointer the ROM leaves when the IVT entry is a function, not a vector table.
    pub sp: u32,
    /// VTOR the ROM leaves (its own vector table) when the IVT entry is a function.
    pub vtor: u32,
    /// Fuse shadow values the OCOTP reads (register name → value); others read 0.
    #[serde(default)]
    pub fuses: BTreeMap<String, u32>,
}
