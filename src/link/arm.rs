//! ARM facts the linker's stages share: relocation type numbers (AAELF), the Thumb-2 branch and
//! MOVW/MOVT immediate encodings (ARMv7-M ARM, A5.3/A7.7), and which branches may need a veneer
//! and how far they reach. A leaf module: layout decides veneers with these facts, relocate
//! applies relocations with them, and neither has to read the other.

// ARM relocation types (AAELF). Plain numbers: `r_type` is read as u32, and the object crate names
// R_ARM_THM_CALL `R_ARM_THM_PC22` and JUMP11/JUMP8 `THM_PC11`/`THM_PC9`.
pub const R_ARM_NONE: u32 = 0;
pub const R_ARM_ABS32: u32 = 2;
pub const R_ARM_REL32: u32 = 3;
pub const R_ARM_ABS16: u32 = 5;
pub const R_ARM_ABS8: u32 = 8;
pub const R_ARM_THM_PC22: u32 = 10;
pub const R_ARM_THM_PC8: u32 = 11;
pub const R_ARM_THM_JUMP24: u32 = 30;
pub const R_ARM_THM_ALU_PREL_11_0: u32 = 35;
pub const R_ARM_THM_PC12: u32 = 36;
pub const R_ARM_TARGET1: u32 = 38;
pub const R_ARM_V4BX: u32 = 40;
pub const R_ARM_PREL31: u32 = 42;
pub const R_ARM_THM_MOVW_ABS_NC: u32 = 47;
pub const R_ARM_THM_MOVT_ABS: u32 = 48;
pub const R_ARM_THM_MOVW_PREL_NC: u32 = 49;
pub const R_ARM_THM_MOVT_PREL: u32 = 50;
pub const R_ARM_THM_JUMP19: u32 = 51;
pub const R_ARM_THM_JUMP11: u32 = 102;
pub const R_ARM_THM_JUMP8: u32 = 103;

/// Sign-extends the low `bits` bits of `v`.
pub fn sign_extend(v: u32, bits: u32) -> i64 {
    let shift = 32 - bits;
    i64::from(((v << shift) as i32) >> shift)
}

/// Thumb-2 BL / B.W (T4) immediate: decode the signed byte offset.
pub fn decode_thumb_branch24(hw1: u32, hw2: u32) -> i64 {
    let s = (hw1 >> 10) & 1;
    let imm10 = hw1 & 0x3ff;
    let j1 = (hw2 >> 13) & 1;
    let j2 = (hw2 >> 11) & 1;
    let imm11 = hw2 & 0x7ff;
    let i1 = !(j1 ^ s) & 1;
    let i2 = !(j2 ^ s) & 1;
    let v = (s << 24) | (i1 << 23) | (i2 << 22) | (imm10 << 12) | (imm11 << 1);
    sign_extend(v, 25)
}

/// Encodes a BL / B.W offset into the two halfwords, keeping the opcode bits. None if out of range.
pub fn encode_thumb_branch24(hw1: u32, hw2: u32, offset: i64) -> Option<(u32, u32)> {
    if !(-(1 << 24)..(1 << 24)).contains(&offset) || offset & 1 != 0 {
        return None;
    }
    let v = offset as u32;
    let s = (v >> 24) & 1;
    let i1 = (v >> 23) & 1;
    let i2 = (v >> 22) & 1;
    let j1 = (!(i1 ^ s)) & 1;
    let j2 = (!(i2 ^ s)) & 1;
    let hw1 = (hw1 & 0xf800) | (s << 10) | ((v >> 12) & 0x3ff);
    let hw2 = (hw2 & 0xd000) | (j1 << 13) | (j2 << 11) | ((v >> 1) & 0x7ff);
    Some((hw1, hw2))
}

/// B<cond>.W (T3): signed offset.
pub fn decode_thumb_branch19(hw1: u32, hw2: u32) -> i64 {
    let s = (hw1 >> 10) & 1;
    let imm6 = hw1 & 0x3f;
    let j1 = (hw2 >> 13) & 1;
    let j2 = (hw2 >> 11) & 1;
    let imm11 = hw2 & 0x7ff;
    let v = (s << 20) | (j2 << 19) | (j1 << 18) | (imm6 << 12) | (imm11 << 1);
    sign_extend(v, 21)
}

pub fn encode_thumb_branch19(hw1: u32, hw2: u32, offset: i64) -> Option<(u32, u32)> {
    if !(-(1 << 20)..(1 << 20)).contains(&offset) || offset & 1 != 0 {
        return None;
    }
    let v = offset as u32;
    let hw1 = (hw1 & 0xfbc0) | (((v >> 20) & 1) << 10) | ((v >> 12) & 0x3f);
    let hw2 =
        (hw2 & 0xd000) | (((v >> 18) & 1) << 13) | (((v >> 19) & 1) << 11) | ((v >> 1) & 0x7ff);
    Some((hw1, hw2))
}

/// MOVW/MOVT (T3) 16-bit immediate imm4:i:imm3:imm8.
pub fn decode_thumb_mov_imm(hw1: u32, hw2: u32) -> u32 {
    ((hw1 & 0xf) << 12) | (((hw1 >> 10) & 1) << 11) | (((hw2 >> 12) & 7) << 8) | (hw2 & 0xff)
}

pub fn encode_thumb_mov_imm(hw1: u32, hw2: u32, imm: u32) -> (u32, u32) {
    let hw1 = (hw1 & 0xfbf0) | ((imm >> 12) & 0xf) | (((imm >> 11) & 1) << 10);
    let hw2 = (hw2 & 0x8f00) | (((imm >> 8) & 7) << 12) | (imm & 0xff);
    (hw1, hw2)
}

/// A relocation that must go through a veneer: THM_CALL/THM_JUMP24 whose target is out of range.
pub fn is_long_branch(r_type: u32) -> bool {
    r_type == R_ARM_THM_PC22 || r_type == R_ARM_THM_JUMP24
}

/// Does a Thumb BL/B.W at `place` with this instruction reach `dest`?
pub fn branch_reaches(data: &[u8], at: usize, place: u64, dest: u64) -> bool {
    let halfword = |i: usize| u32::from(u16::from_le_bytes([data[i], data[i + 1]]));
    let addend = decode_thumb_branch24(halfword(at), halfword(at + 2));
    let offset = (dest & !1) as i64 + addend - place as i64;
    (-(1 << 24)..(1 << 24)).contains(&offset)
}
