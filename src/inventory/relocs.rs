//! ARM ELF relocation types: names as the ARM ELF ABI (AAELF32) spells them, and what kind of
//! reference each one makes.
//!
//! The `object` crate exposes ARM relocation types only as raw numbers (and calls `R_ARM_THM_CALL`
//! by its old name `R_ARM_THM_PC22`), so the table of names and the classification live here.

use serde::Serialize;

/// What a relocation means for placement: a call keeps a return address, a tail call (or any other
/// branch) does not, and everything else reads or takes the address of its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    Call,
    TailCall,
    Data,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Call => "call",
            RefKind::TailCall => "tail-call",
            RefKind::Data => "data",
        }
    }
}

pub const R_ARM_NONE: u32 = 0;
pub const R_ARM_ABS32: u32 = 2;
pub const R_ARM_REL32: u32 = 3;
pub const R_ARM_THM_CALL: u32 = 10;
pub const R_ARM_CALL: u32 = 28;
pub const R_ARM_JUMP24: u32 = 29;
pub const R_ARM_THM_JUMP24: u32 = 30;
pub const R_ARM_PREL31: u32 = 42;
pub const R_ARM_THM_JUMP19: u32 = 51;
pub const R_ARM_THM_JUMP6: u32 = 52;
pub const R_ARM_THM_JUMP11: u32 = 102;
pub const R_ARM_THM_JUMP8: u32 = 103;

const NAMES: &[(u32, &str)] = &[
    (0, "R_ARM_NONE"),
    (1, "R_ARM_PC24"),
    (2, "R_ARM_ABS32"),
    (3, "R_ARM_REL32"),
    (4, "R_ARM_LDR_PC_G0"),
    (5, "R_ARM_ABS16"),
    (6, "R_ARM_ABS12"),
    (7, "R_ARM_THM_ABS5"),
    (8, "R_ARM_ABS8"),
    (9, "R_ARM_SBREL32"),
    (10, "R_ARM_THM_CALL"),
    (11, "R_ARM_THM_PC8"),
    (12, "R_ARM_BREL_ADJ"),
    (13, "R_ARM_TLS_DESC"),
    (17, "R_ARM_TLS_DTPMOD32"),
    (18, "R_ARM_TLS_DTPOFF32"),
    (19, "R_ARM_TLS_TPOFF32"),
    (20, "R_ARM_COPY"),
    (21, "R_ARM_GLOB_DAT"),
    (22, "R_ARM_JUMP_SLOT"),
    (23, "R_ARM_RELATIVE"),
    (24, "R_ARM_GOTOFF32"),
    (25, "R_ARM_BASE_PREL"),
    (26, "R_ARM_GOT_BREL"),
    (27, "R_ARM_PLT32"),
    (28, "R_ARM_CALL"),
    (29, "R_ARM_JUMP24"),
    (30, "R_ARM_THM_JUMP24"),
    (31, "R_ARM_BASE_ABS"),
    (38, "R_ARM_TARGET1"),
    (39, "R_ARM_SBREL31"),
    (40, "R_ARM_V4BX"),
    (41, "R_ARM_TARGET2"),
    (42, "R_ARM_PREL31"),
    (43, "R_ARM_MOVW_ABS_NC"),
    (44, "R_ARM_MOVT_ABS"),
    (45, "R_ARM_MOVW_PREL_NC"),
    (46, "R_ARM_MOVT_PREL"),
    (47, "R_ARM_THM_MOVW_ABS_NC"),
    (48, "R_ARM_THM_MOVT_ABS"),
    (49, "R_ARM_THM_MOVW_PREL_NC"),
    (50, "R_ARM_THM_MOVT_PREL"),
    (51, "R_ARM_THM_JUMP19"),
    (52, "R_ARM_THM_JUMP6"),
    (53, "R_ARM_THM_ALU_PREL_11_0"),
    (54, "R_ARM_THM_PC12"),
    (55, "R_ARM_ABS32_NOI"),
    (56, "R_ARM_REL32_NOI"),
    (102, "R_ARM_THM_JUMP11"),
    (103, "R_ARM_THM_JUMP8"),
];

/// The ABI name of a relocation type, or `R_ARM_<n>` for one hotlink does not know by name.
pub fn name(r_type: u32) -> String {
    NAMES
        .iter()
        .find(|(n, _)| *n == r_type)
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| format!("R_ARM_{r_type}"))
}

/// How a relocation of this type refers to its target.
pub fn kind(r_type: u32) -> RefKind {
    match r_type {
        R_ARM_THM_CALL | R_ARM_CALL | 1 => RefKind::Call,
        R_ARM_THM_JUMP24 | R_ARM_JUMP24 | R_ARM_THM_JUMP19 | R_ARM_THM_JUMP11 | R_ARM_THM_JUMP8
        | R_ARM_THM_JUMP6 => RefKind::TailCall,
        _ => RefKind::Data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(name(R_ARM_THM_CALL), "R_ARM_THM_CALL");
        assert_eq!(name(200), "R_ARM_200");
        assert_eq!(kind(R_ARM_THM_CALL), RefKind::Call);
        assert_eq!(kind(R_ARM_THM_JUMP24), RefKind::TailCall);
        assert_eq!(kind(R_ARM_ABS32), RefKind::Data);
        assert_eq!(kind(R_ARM_PREL31), RefKind::Data);
    }
}
