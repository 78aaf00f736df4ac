//! `.debug_frame` → rows: gimli evaluates each FDE's CFI program once; every row becomes a
//! [`Rule`]. Rules gimli can express but a few memory reads cannot (DWARF expressions, registers
//! saved in other registers) leave their range without a row, so unwinding there stops cleanly.

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
