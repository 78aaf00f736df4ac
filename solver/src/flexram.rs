//! FlexRAM split (`--flexram auto`): how many 32 KiB banks go to ITCM, DTCM and OCRAM, and the
//! IOMUXC GPR values that program it.
//!
//! Facts (see `shared/reference/imxrt-facts.md` §2): banks are 32 KiB; RT1010/1015 have 4,
//! RT1020 8, RT1040–RT1064 and RT1160/1170 16. Each bank has a 2-bit code in GPR17 (RT1170: low
//! 16 bits in GPR17, high in GPR18): 0 unused, 1 OCRAM, 2 DTCM, 3 ITCM, used when GPR16 bit 2
//! (FLEXRAM_BANK_CFG_SEL) is set. GPR14 tells the core the TCM sizes: CM7_CFGITCMSZ in bits
//! 19:16 and CM7_CFGDTCMSZ in bits 23:20, encoded as log2(KiB) + 1 (0 = none, 8 = 128 KiB), so TCM
//! sizes must be 0 or a power of two. The boot ROM needs one FlexRAM OCRAM bank on
//! RT1010/1015/1020/1050 and none on RT1060/1064/1170 (imxrt-rt `host.rs`).
//!
//! Choosing the split is a small outer search: the candidate splits are few (at most a few dozen),
//! so each is scored by the caller (typically by re-running the placement with the budgets the
//! split gives) and the cheapest valid one wins.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bytes per FlexRAM bank.
pub const BANK_BYTES: u64 = 32 * 1024;

/// A part's FlexRAM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlexramPart {
    pub name: String,
    /// Number of 32 KiB banks.
    pub banks: u8,
    /// Banks the boot ROM needs as OCRAM.
    pub rom_ocram_banks: u8,
    /// Whether the bank configuration spills into GPR18 (RT1170: 16 bits per register).
    pub split_gpr18: bool,
}

impl FlexramPart {
    /// The FlexRAM of a known part family (`RT1010`, `MIMXRT1062`, `imxrt1176`…), matched on the
    /// four digits after "RT".
    pub fn known(name: &str) -> Option<FlexramPart> {
        let upper = name.to_ascii_uppercase();
        let digits: String = upper
            .split("RT")
            .nth(1)?
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let family: u32 = digits.get(..3)?.parse().ok()?;
        let (banks, rom, gpr18) = match family {
            101 => (4, 1, false),
            102 => (8, 1, false),
            104 | 105 => (16, 1, false),
            106 => (16, 0, false),
            116 | 117 => (16, 0, true),
            _ => return None,
        };
        Some(FlexramPart {
            name: name.to_string(),
            banks,
            rom_ocram_banks: rom,
            split_gpr18: gpr18,
        })
    }
}

/// Bank counts per use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlexramSplit {
    pub itcm_banks: u8,
    pub dtcm_banks: u8,
    pub ocram_banks: u8,
}

/// Register values that program a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlexramRegisters {
    /// IOMUXC_GPR17 (FLEXRAM_BANK_CFG, 2 bits per bank; low 16 bits only on RT1170).
    pub gpr17: u32,
    /// IOMUXC_GPR18 on RT1170 (banks 8–15), `None` elsewhere.
    pub gpr18: Option<u32>,
    /// Bits to set in IOMUXC_GPR16 (FLEXRAM_BANK_CFG_SEL) so GPR17 takes effect.
    pub gpr16_set: u32,
    /// IOMUXC_GPR14 TCM size fields (CM7_CFGITCMSZ, CM7_CFGDTCMSZ); other bits zero.
    pub gpr14: u32,
}

impl FlexramSplit {
    pub fn itcm_bytes(&self) -> u64 {
        u64::from(self.itcm_banks) * BANK_BYTES
    }
    pub fn dtcm_bytes(&self) -> u64 {
        u64::from(self.dtcm_banks) * BANK_BYTES
    }
    pub fn ocram_bytes(&self) -> u64 {
        u64::from(self.ocram_banks) * BANK_BYTES
    }

    /// Per-bank codes, bank 0 first: OCRAM in the lowest banks (where the boot ROM expects its
    /// bank), then DTCM, then ITCM; leftover banks unused.
    pub fn bank_codes(&self, part: &FlexramPart) -> Vec<u8> {
        let mut codes = Vec::with_capacity(usize::from(part.banks));
        codes.extend(std::iter::repeat_n(1, usize::from(self.ocram_banks)));
        codes.extend(std::iter::repeat_n(2, usize::from(self.dtcm_banks)));
        codes.extend(std::iter::repeat_n(3, usize::from(self.itcm_banks)));
        codes.resize(usize::from(part.banks), 0);
        codes
    }

    /// The register values for this split on `part`.
    pub fn registers(&self, part: &FlexramPart) -> FlexramRegisters {
        let config = self
            .bank_codes(part)
            .iter()
            .enumerate()
            .fold(0u32, |acc, (bank, &code)| {
                acc | (u32::from(code) << (2 * bank))
            });
        let size_code = |banks: u8| -> u32 {
            if banks == 0 {
                0
            } else {
                (u64::from(banks) * 32).ilog2() + 1
            }
        };
        FlexramRegisters {
            gpr17: if part.split_gpr18 {
                config & 0xFFFF
            } else {
                config
            },
            gpr18: part.split_gpr18.then_some(config >> 16),
            gpr16_set: 1 << 2,
            gpr14: (size_code(self.itcm_banks) << 16) | (size_code(self.dtcm_banks) << 20),
        }
    }
}

/// Bytes that must fit in each kind of FlexRAM whatever the plan does (stack, data, pinned code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlexramNeeds {
    pub itcm_bytes: u64,
    pub dtcm_bytes: u64,
    pub ocram_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum FlexramError {
    #[error("no FlexRAM split of {part} ({banks} banks, {rom} for the boot ROM) holds ITCM {itcm} B, DTCM {dtcm} B and OCRAM {ocram} B")]
    NoSplit {
        part: String,
        banks: u8,
        rom: u8,
        itcm: u64,
        dtcm: u64,
        ocram: u64,
    },
    #[error("no FlexRAM split could be placed: {0}")]
    AllRejected(String),
}

/// Every valid split of `part` meeting `needs`: TCM sizes 0 or a power of two, all banks used,
/// and the boot ROM's OCRAM banks kept.
pub fn splits(part: &FlexramPart, needs: &FlexramNeeds) -> Vec<FlexramSplit> {
    let tcm_sizes: Vec<u8> = [0u8, 1, 2, 4, 8, 16]
        .into_iter()
        .filter(|&b| b <= part.banks)
        .collect();
    let mut out = Vec::new();
    for &itcm in &tcm_sizes {
        for &dtcm in &tcm_sizes {
            let Some(ocram) = part.banks.checked_sub(itcm + dtcm) else {
                continue;
            };
            let split = FlexramSplit {
                itcm_banks: itcm,
                dtcm_banks: dtcm,
                ocram_banks: ocram,
            };
            let ocram_for_program =
                u64::from(ocram.saturating_sub(part.rom_ocram_banks)) * BANK_BYTES;
            if ocram >= part.rom_ocram_banks
                && split.itcm_bytes() >= needs.itcm_bytes
                && split.dtcm_bytes() >= needs.dtcm_bytes
                && ocram_for_program >= needs.ocram_bytes
            {
                out.push(split);
            }
        }
    }
    out
}

/// Pick the split with the lowest score. `score` returns the predicted cycles of the best plan
/// under a split, or an error message when no plan fits it; the first error is reported if every
/// split fails. Among splits of equal cost the one with more DTCM wins (data and stack are
/// fastest there), then the one with more ITCM (room for the code to grow).
pub fn choose_split<F>(
    part: &FlexramPart,
    needs: &FlexramNeeds,
    mut score: F,
) -> Result<(FlexramSplit, f64), FlexramError>
where
    F: FnMut(&FlexramSplit) -> Result<f64, String>,
{
    let candidates = splits(part, needs);
    if candidates.is_empty() {
        return Err(FlexramError::NoSplit {
            part: part.name.clone(),
            banks: part.banks,
            rom: part.rom_ocram_banks,
            itcm: needs.itcm_bytes,
            dtcm: needs.dtcm_bytes,
            ocram: needs.ocram_bytes,
        });
    }
    let mut best: Option<(FlexramSplit, f64)> = None;
    let mut first_error = None;
    for split in candidates {
        match score(&split) {
            Ok(cycles)
                if best.is_none_or(|(b, c)| {
                    (cycles, b.dtcm_banks, b.itcm_banks) < (c, split.dtcm_banks, split.itcm_banks)
                }) =>
            {
                best = Some((split, cycles))
            }
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    best.ok_or_else(|| FlexramError::AllRejected(first_error.unwrap_or_default()))
}
