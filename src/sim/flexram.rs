//! FlexRAM reconfiguration at run time: when firmware writes IOMUXC_GPR14/16/17 (as Teensy's and
//! imxrt-rt's reset handlers do before touching their stack), ITCM, DTCM and FlexRAM-OCRAM take
//! the sizes the new bank assignment gives them, immediately, as on the chip.
//!
//! Sizes: GPR16.FLEXRAM_BANK_CFG_SEL chooses GPR17 (2 bits a bank: 0 unused, 1 OCRAM, 2 DTCM,
//! 3 ITCM) over the fuse default layout; a TCM's size is its banks, limited by GPR14's
//! CM7_CFGxTCMSZ when that field is not 0 (n: 2^(n+9) bytes). Contents up to the new size stay.

use crate::board::{Board, RegionKind};

use super::Machine;

/// The FlexRAM registers and bank geometry of the board, resolved once.
#[derive(Clone, Debug)]
pub struct FlexRamModel {
    bank_size: u32,
    bank_count: u32,
    default_layout: Vec<u8>,
    banks_per_register: u32,
    bank_config: Vec<String>,
    select: String,
    select_bit: u32,
    tcm_size: String,
    itcm_shift: u32,
    dtcm_shift: u32,
}

impl FlexRamModel {
    pub fn new(board: &Board) -> FlexRamModel {
        let f = &board.flexram;
        let reg = |name: &str| name.trim_start_matches("IOMUXC_").to_string();
        FlexRamModel {
            bank_size: f.bank_size.0 as u32,
            bank_count: f.bank_count,
            default_layout: f.default_layout.bytes().collect(),
            banks_per_register: f.registers.banks_per_register,
            bank_config: f.registers.bank_config.iter().map(|r| reg(r)).collect(),
            select: reg(&f.registers.select),
            select_bit: f.registers.select_bit,
            tcm_size: reg(&f.registers.tcm_size),
            itcm_shift: f.registers.itcm_size_shift,
            dtcm_shift: f.registers.dtcm_size_shift,
        }
    }

    /// Sizes in bytes of ITCM, DTCM and FlexRAM-OCRAM for GPR values read through `gpr`.
    fn sizes(&self, gpr: impl Fn(&str) -> u32) -> (u32, u32, u32) {
        let from_registers = gpr(&self.select) & (1 << self.select_bit) != 0;
        let (mut i, mut d, mut o) = (0, 0, 0);
        for bank in 0..self.bank_count {
            let kind = if from_registers {
                let reg = &self.bank_config
                    [(bank / self.banks_per_register) as usize % self.bank_config.len().max(1)];
                match (gpr(reg) >> (2 * (bank % self.banks_per_register))) & 3 {
                    1 => b'O',
                    2 => b'D',
                    3 => b'I',
                    _ => b'-',
                }
            } else {
                self.default_layout
                    .get(bank as usize)
                    .copied()
                    .unwrap_or(b'-')
            };
            match kind {
                b'I' => i += self.bank_size,
                b'D' => d += self.bank_size,
                b'O' => o += self.bank_size,
                _ => {}
            }
        }
        let tcm = gpr(&self.tcm_size);
        let limit = |banks: u32, shift: u32| match (tcm >> shift) & 0xF {
            0 => banks,
            n => banks.min(1u32.checked_shl(n + 9).unwrap_or(u32::MAX)),
        };
        (limit(i, self.itcm_shift), limit(d, self.dtcm_shift), o)
    }
}

/// Re-derives the FlexRAM regions from the GPR registers after one of them was written.
pub(crate) fn reconfigure(m: &mut Machine) {
    let (Some(model), Some(soc)) = (m.flexram.as_ref(), m.soc.as_deref()) else {
        return;
    };
    let Some(gpr) = soc.peripheral("IOMUXC_GPR") else {
        return;
    };
    let (itcm, dtcm, ocram) = model.sizes(|name| gpr.regs.try_get(name).unwrap_or(0));
    for index in 0..m.mem.regions.len() {
        let r = &m.mem.regions[index];
        let size = match r.kind {
            RegionKind::Itcm => itcm,
            RegionKind::Dtcm => dtcm,
            RegionKind::Ocram if m.flexram_regions.contains(&index) => ocram,
            _ => continue,
        };
        if size != r.size {
            m.mem.resize(index, size);
            m.written.truncate(index, size);
            m.forget_code_of_region(index);
        }
    }
}
