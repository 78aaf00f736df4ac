//! `.debug_frame` → rows: gimli evaluates each FDE's CFI program once; every row becomes a
//! [`Rule`]. Rules gimli can express but a few memory reads cannot (DWARF expressions, registers
//! saved in other registers) leave their range without a row, so unwinding there stops cleanly.
//!
//! The FDEs of functions `--gc-sections` removed stay in `.debug_frame`, their addresses
//! resolved to 0, where code can live (ITCM at 0 on i.MX RT): one such FDE would hand its rules
//! to the real code there. An FDE describes one function, so one whose range holds the start of
//! another function of the symbol table is not the code's and is left out.

use gimli::{
    BaseAddresses, CfaRule, CieOrFde, DebugFrame, LittleEndian, RegisterRule, UnwindContext,
    UnwindSection,
};

use super::{Function, Rule, END_OF_STACK, NOT_SAVED, SAVED_LR};

/// DWARF register numbers of the ARM core registers (AADWARF32: r0-r15 are 0-15).
const LR: u16 = 14;

pub fn rows(
    data: &[u8],
    functions: &[Function],
    warnings: &mut Vec<String>,
) -> Vec<(u32, u32, Rule)> {
    let mut section = DebugFrame::new(data, LittleEndian);
    section.set_address_size(4);
    let bases = BaseAddresses::default();
    let mut context = UnwindContext::new();
    let mut out = Vec::new();
    let mut skipped = 0usize;
    let mut entries = section.entries(&bases);
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
        if spans_functions(fde.initial_address(), fde.len(), functions) {
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

/// Whether a function of `functions` (sorted) starts strictly inside `[start, start + len)`:
/// then the FDE is a removed function's, placed at 0.
fn spans_functions(start: u64, len: u64, functions: &[Function]) -> bool {
    let i = functions.partition_point(|f| u64::from(f.start) <= start);
    functions
        .get(i)
        .is_some_and(|f| u64::from(f.start) < start.saturating_add(len))
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
    /// starts of other functions; the real FDEs (one function each) do not.
    #[test]
    fn an_fde_over_several_functions_is_a_removed_ones() {
        let functions = [
            Function {
                start: 0,
                end: 0x20,
            },
            Function {
                start: 0xA8,
                end: 0xC0,
            },
            Function {
                start: 0xC0,
                end: 0xD4,
            },
        ];
        assert!(spans_functions(0, 0xCC, &functions));
        assert!(spans_functions(0xA8, 0x1C, &functions));
        assert!(!spans_functions(0xC0, 0x14, &functions));
        assert!(!spans_functions(0xA8, 0x18, &functions));
        assert!(!spans_functions(0x100, 0x10, &functions));
    }
}
