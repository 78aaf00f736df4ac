//! `plan --flexram auto`: choose the FlexRAM bank split together with the plan.
//!
//! The image's data pins a minimum of DTCM and FlexRAM-OCRAM (what its data output sections use
//! of each); every split of the part that holds it ([`solver::flexram::splits`]) is scored by
//! solving the placement problem again with the ITCM and OCRAM budgets that split gives, and the
//! cheapest wins ([`solver::flexram::choose_split`]). The answer is recorded in plan.json with the
//! IOMUXC values that program it. Scripts that compute the split themselves (Teensy's
//! `_flexram_bank_config`) are compared with the choice, so the user learns what to edit.

use anyhow::{bail, Result};
use hotlink_solver as solver;
use object::{Object, ObjectSection, ObjectSymbol};
use solver::flexram::{FlexramNeeds, FlexramPart, FlexramSplit, BANK_BYTES};

use crate::board::{Board, Region, RegionKind};
use crate::plan::{FlexramCandidate, PlanFlexram};

/// Symbols by which a script tells the startup code its GPR17 value (Teensy's core).
const SCRIPT_CONFIG_SYMBOLS: &[&str] = &["_flexram_bank_config"];

/// The part's FlexRAM as the solver's split search knows it.
pub(super) fn part(board: &Board) -> Result<FlexramPart> {
    let f = &board.flexram;
    if f.bank_size.0 != BANK_BYTES || f.bank_count == 0 || f.bank_count > 16 {
        bail!(
            "--flexram auto: {} has {} FlexRAM banks of {} bytes; only parts with up to 16 banks of 32 KiB are supported",
            board.name,
            f.bank_count,
            f.bank_size.0
        );
    }
    Ok(FlexramPart {
        name: board.name.clone(),
        banks: f.bank_count as u8,
        rom_ocram_banks: f.boot_rom_banks as u8,
        split_gpr18: f.registers.banks_per_register < f.bank_count,
    })
}

/// Bytes of data the image keeps in each kind of FlexRAM: from the start of the region to the end
/// of its last allocated, non-executable output section there (with the script's padding, so the
/// address the data needs, not just its sum). Code is what the plan moves, so it is not counted.
pub(super) fn needs(board: &Board, elf: &[u8]) -> FlexramNeeds {
    let data: Vec<(u64, u64)> = object::File::parse(elf)
        .map(|file| {
            file.sections()
                .filter(|s| {
                    use object::SectionKind as K;
                    matches!(
                        s.kind(),
                        K::Data
                            | K::UninitializedData
                            | K::ReadOnlyData
                            | K::ReadOnlyString
                            | K::Tls
                            | K::UninitializedTls
                    )
                })
                .filter(|s| s.size() > 0)
                .map(|s| (s.address(), s.address() + s.size()))
                .collect()
        })
        .unwrap_or_default();
    let used_in = |kind: RegionKind| -> u64 {
        board
            .regions
            .iter()
            .filter(|r| r.flexram && r.kind == kind)
            .flat_map(|r| {
                let window = r.base.0..r.base.0 + u64::from(board.flexram.bank_count) * BANK_BYTES;
                data.iter()
                    .filter(move |(start, _)| window.contains(start))
                    .map(move |(_, end)| end - r.base.0)
            })
            .max()
            .unwrap_or(0)
    };
    FlexramNeeds {
        itcm_bytes: 0,
        dtcm_bytes: used_in(RegionKind::Dtcm),
        ocram_bytes: used_in(RegionKind::Ocram),
    }
}

/// The size a FlexRAM region has under `split` (other regions keep the board's size).
pub(super) fn region_size(board: &Board, region: &Region, split: &FlexramSplit) -> u64 {
    if !region.flexram {
        return region.size.0;
    }
    match region.kind {
        RegionKind::Itcm => split.itcm_bytes(),
        RegionKind::Dtcm => split.dtcm_bytes(),
        RegionKind::Ocram => {
            let rom = u64::from(board.flexram.boot_rom_banks) * BANK_BYTES;
            split.ocram_bytes().saturating_sub(rom)
        }
        _ => region.size.0,
    }
}

/// Tries every split with `solve_under` (the predicted cycles of the best plan under a split)
/// and returns the chosen split with its record for plan.json.
pub(super) fn choose(
    board: &Board,
    elf: &[u8],
    mut solve_under: impl FnMut(&FlexramSplit) -> Result<f64>,
) -> Result<(FlexramSplit, PlanFlexram)> {
    let part = part(board)?;
    let needs = needs(board, elf);
    let mut candidates = Vec::new();
    let chosen = solver::flexram::choose_split(&part, &needs, |split| {
        let result = solve_under(split).map_err(|e| format!("{e:#}"));
        candidates.push(FlexramCandidate {
            split: *split,
            cycles: result.as_ref().ok().copied(),
            error: result.as_ref().err().cloned(),
        });
        result
    });
    let (split, _) = chosen.map_err(|e| anyhow::anyhow!("--flexram auto: {e}"))?;
    let registers = split.registers(&part);
    let record = PlanFlexram {
        split,
        registers,
        needs,
        candidates,
        script: script_note(elf, &part, &split),
    };
    Ok((split, record))
}

/// Bank counts (ITCM, DTCM, OCRAM) a GPR17 value gives.
pub fn decode_gpr17(gpr17: u32, banks: u8) -> FlexramSplit {
    let count = |code: u32| {
        (0..banks)
            .filter(|b| (gpr17 >> (2 * u32::from(*b))) & 3 == code)
            .count() as u8
    };
    FlexramSplit {
        itcm_banks: count(3),
        dtcm_banks: count(2),
        ocram_banks: count(1),
    }
}

/// What the image's script programs, when it names its GPR17 value, compared with the choice.
fn script_note(elf: &[u8], part: &FlexramPart, chosen: &FlexramSplit) -> Option<String> {
    let file = object::File::parse(elf).ok()?;
    let (name, value) = file.symbols().find_map(|s| {
        let name = s.name().ok()?;
        SCRIPT_CONFIG_SYMBOLS
            .contains(&name)
            .then(|| (name.to_string(), s.address() as u32))
    })?;
    let theirs = decode_gpr17(value, part.banks);
    let describe = |s: &FlexramSplit| {
        format!(
            "ITCM {}, DTCM {}, OCRAM {} banks",
            s.itcm_banks, s.dtcm_banks, s.ocram_banks
        )
    };
    Some(if theirs == *chosen {
        format!(
            "the script's {name} = {value:#010x} ({}) is this split already",
            describe(&theirs)
        )
    } else {
        format!(
            "the script computes the split itself: {name} = {value:#010x} ({}) in this link; it \
             cannot take the chosen split without edits: set {name} to the GPR17 value above, the \
             GPR14 TCM sizes its startup writes, the MEMORY lengths above and a stack top inside \
             the new DTCM",
            describe(&theirs)
        )
    })
}

/// Lines for the plan summary.
pub fn summary(f: &PlanFlexram) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let s = &f.split;
    let r = &f.registers;
    let _ = writeln!(
        out,
        "\n  FlexRAM split (--flexram auto, {} candidates): ITCM {} KB, DTCM {} KB, OCRAM {} KB \
         ({} + {} + {} banks of 32 KB)",
        f.candidates.len(),
        s.itcm_bytes() / 1024,
        s.dtcm_bytes() / 1024,
        s.ocram_bytes() / 1024,
        s.itcm_banks,
        s.dtcm_banks,
        s.ocram_banks
    );
    let _ = writeln!(
        out,
        "    data needs DTCM {} B, FlexRAM OCRAM {} B",
        f.needs.dtcm_bytes, f.needs.ocram_bytes
    );
    let _ = write!(out, "    IOMUXC_GPR17 = {:#010x}", r.gpr17);
    if let Some(v) = r.gpr18 {
        let _ = write!(out, ", IOMUXC_GPR18 = {v:#010x}");
    }
    let _ = writeln!(
        out,
        ", IOMUXC_GPR16 |= {:#x} (FLEXRAM_BANK_CFG_SEL), IOMUXC_GPR14 TCM size fields = {:#010x}",
        r.gpr16_set, r.gpr14
    );
    let _ = writeln!(
        out,
        "    script MEMORY lengths: ITCM {}K, DTCM {}K, FlexRAM OCRAM {}K",
        s.itcm_bytes() / 1024,
        s.dtcm_bytes() / 1024,
        s.ocram_bytes() / 1024
    );
    if let Some(note) = &f.script {
        let _ = writeln!(out, "    {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpr17_decodes_to_the_split_that_made_it() {
        let board = Board::resolve("imxrt1062").unwrap();
        let part = part(&board).unwrap();
        for split in solver::flexram::splits(&part, &FlexramNeeds::default()) {
            let regs = split.registers(&part);
            assert_eq!(decode_gpr17(regs.gpr17, part.banks), split);
        }
        // Teensy's script value with one ITCM bank.
        let teensy = decode_gpr17(0xAAAA_AAAB, 16);
        assert_eq!(
            (teensy.itcm_banks, teensy.dtcm_banks, teensy.ocram_banks),
            (1, 15, 0)
        );
    }
}
