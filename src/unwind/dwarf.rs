//! `.debug_frame` → rows: gimli evaluates each FDE's CFI program once; every row becomes a
//! [`Rule`]. Rules gimli can express but a few memory reads cannot (DWARF expressions, registers
//! saved in other registers) leave their range without a row, so unwinding there stops cleanly.
//!
//! The FDEs of functions `--gc-sections` removed stay in `.debug_frame`, their addresses
//! resolved to 0, where code can live (ITCM at 0 on i.MX RT): one such FDE would hand its rules
//! to the real code there. The image's own FDEs do not overlap, so an FDE whose range holds the
//! start of another FDE lies over code that is not its own and is left out. (One FDE may cover
//! several function symbols: libgcc's assembly has several entry points per CFI region.)

use gimli::{
    BaseAddresses, CfaRule, CieOrFde, DebugFrame, LittleEndian, RegisterRule, UnwindContext,
    UnwindSection,
};

use super::{Rule, END_OF_STACK, NOT_SAVED, SAVED_LR};

/// DWARF register numbers of the ARM core registers (AADWARF32: r0-r15 are 0-15).
const LR: u16 = 14;

pub fn rows(data: &[u8], warnings: &mut Vec<String>) -> Vec<(u32, u32, Rule)> {
    let mut section = DebugFrame::new(data, LittleEndian);
    section.set_address_size(4);
    let bases = BaseAddresses::default();
    let mut context = UnwindContext::new();
    let mut out = Vec::new();
    let mut skipped = 0usize;
    let mut entries = section.entries(&bases);
    let mut fdes = Vec::new();
    loop {
        let entry = match entries.next() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                warnings.push(format!(
                    ".debug_frame is corrupt ({e}); later entries ignored"
                ));
                break;
            }
        };
        let CieOrFde::Fde(partial) = entry else {
            continue;
        };
        let fde = match partial.parse(DebugFrame::cie_from_offset) {
            Ok(fde) => fde,
            Err(e) => {
                warnings.push(format!(".debug_frame: an FDE is corrupt ({e}); skipped"));
                continue;
            }
        };
        fdes.push(fde);
    }
    let mut starts: Vec<u64> = fdes.iter().map(|f| f.initial_address()).collect();
    starts.sort_unstable();
    for fde in fdes {
        if holds_another_start(fde.initial_address(), fde.len(), &starts) {
            continue;
        }
        let mut table = match fde.rows(&section, &bases, &mut context) {
            Ok(table) => table,
            Err(e) => {
                warnings.push(format!(
                    ".debug_frame: the FDE at {:#010x} cannot be evaluated ({e}); skipped",
                    fde.initial_address()
                ));
                continue;
            }
        };
        loop {
            match table.next_row() {
                Ok(Some(row)) => match rule_of(row) {
                    Some(rule) => {
                        out.push((row.start_address() as u32, row.end_address() as u32, rule))
                    }
                    None => skipped += 1,
                },
                Ok(None) => break,
                Err(e) => {
                    warnings.push(format!(
                        ".debug_frame: the FDE at {:#010x} stops evaluating ({e}); its rest skipped",
                        fde.initial_address()
                    ));
                    break;
                }
            }
        }
    }
    if skipped > 0 {
        warnings.push(format!(
            ".debug_frame: {skipped} rows use rules beyond CFA = register + offset; not unwound there"
        ));
    }
    out
}

/// Whether one of `starts` (sorted FDE starts) lies strictly inside `[start, start + len)`.
fn holds_another_start(start: u64, len: u64, starts: &[u64]) -> bool {
    let i = starts.partition_point(|&s| s <= start);
    starts
        .get(i)
        .is_some_and(|&s| s < start.saturating_add(len))
}

fn rule_of<S: gimli::UnwindContextStorage<usize>>(
    row: &gimli::UnwindTableRow<usize, S>,
) -> Option<Rule> {
    let CfaRule::RegisterAndOffset { register, offset } = row.cfa() else {
        return None;
    };
    let mut rule = Rule {
        cfa_register: u8::try_from(register.0).ok().filter(|&r| r < 16)?,
        cfa_offset: i32::try_from(*offset).ok()?,
        saved: [NOT_SAVED; 9],
    };
    for (reg, r) in row.registers() {
        let slot = match reg.0 {
            4..=11 => usize::from(reg.0 - 4),
            LR => SAVED_LR,
            _ => continue,
        };
        match r {
            RegisterRule::Offset(o) => {
                rule.saved[slot] = i16::try_from(*o)
                    .ok()
                    .filter(|&o| o != NOT_SAVED && o != END_OF_STACK)?
            }
            RegisterRule::SameValue => {}
            // An undefined return address marks the outermost frame (reset handler, thread entry).
            RegisterRule::Undefined if slot == SAVED_LR => rule.saved[slot] = END_OF_STACK,
            RegisterRule::Undefined => {}
            _ => return None,
        }
    }
    Some(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// teensy's ITCM starts at 0, where the FDEs of removed functions land too: those hold the
    /// starts of the real FDEs there; the real ones (and one covering several entry points of
    /// an assembly routine) do not.
    #[test]
    fn an_fde_over_another_fdes_start_is_a_removed_ones() {
        let starts = [0, 0, 0xA8, 0xC0, 0xC0];
        assert!(holds_another_start(0, 0xCC, &starts));
        assert!(holds_another_start(0xA8, 0x1C, &starts));
        assert!(!holds_another_start(0, 0x48, &starts));
        assert!(!holds_another_start(0xC0, 0x14, &starts));
        assert!(!holds_another_start(0xA8, 0x18, &starts));
        assert!(!holds_another_start(0x100, 0x10, &starts));
    }
}
