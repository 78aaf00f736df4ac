//! Thumb-2 (ARMv7E-M + FPv5) decoder: encodings are described as (mask, value, extractor) rows in
//! two tables, one for 16-bit and one for 32-bit instructions, matched first-to-last in the spirit
//! of QEMU's decodetree. Each extractor turns the raw bits into a compact, `Copy` [`Insn`] that the
//! executor caches per halfword address, so decoding runs once per address, not once per step.
//!
//! Written by hand because no maintained, permissively licensed crate decodes Thumb-2 into an
//! executable form (disassembler crates produce text or heavyweight operand trees).

/// Operation of a decoded instruction. Operand meaning per family is documented on [`Insn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Not decoded yet (the cache's empty slot).
    Undecoded,
    /// UNDEFINED or not supported; `imm` holds the raw encoding.
    Undefined,
    // Data processing: op2 is `imm` (F_IMM) or `rm` shifted by (`shift`, `amount`).
    And,
    Bic,
    Orr,
    Orn,
    Eor,
    Add,
    Adc,
    Sbc,
    Sub,
    Rsb,
    Mov,
    Mvn,
    Tst,
    Teq,
    Cmp,
    Cmn,
    /// Shift `rn` by register `rm`, type in `shift`.
    ShiftReg,
    Mul,
    Mla,
    Mls,
    Movt,
    Sbfx,
    Ubfx,
    Bfi,
    Bfc,
    Ssat,
    Usat,
    Ssat16,
    Usat16,
    /// `cond` = kind (0 SXTH, 1 UXTH, 2 SXTB16, 3 UXTB16, 4 SXTB, 5 UXTB); `rn` = 15: no add.
    Extend,
    /// `cond` = op1 (ADD8 0, ADD16 1, ASX 2, SUB8 4, SUB16 5, SAX 6), `shift` = 0 plain, 1 Q, 2 H.
    Parallel,
    Qadd,
    Qsub,
    Qdadd,
    Qdsub,
    Rev,
    Rev16,
    Rbit,
    Revsh,
    Sel,
    Clz,
    Pkh,
    /// SMLA<x><y> (`ra` = 15: SMUL<x><y>); F_NHI/F_MHI select top halves.
    Smlaxy,
    /// SMLAD/SMUAD; F_X swaps halves of rm.
    Smlad,
    Smlsd,
    /// SMLAW<y>/SMULW<y>; F_MHI selects the top half of rm.
    Smlaw,
    /// SMMLA/SMMUL, F_ROUND for the R forms.
    Smmla,
    Smmls,
    Usada8,
    Smull,
    Umull,
    Smlal,
    Umlal,
    Umaal,
    Smlalxy,
    Smlald,
    Smlsld,
    Sdiv,
    Udiv,
    // Loads/stores: base `rn`, offset `imm` (F_IMM, with F_P/F_U/F_W) or `rm` << `amount`.
    Ldr,
    Ldrb,
    Ldrh,
    Ldrsb,
    Ldrsh,
    Str,
    Strb,
    Strh,
    /// Dual: second register in `ra`.
    Ldrd,
    Strd,
    Ldrex,
    Ldrexb,
    Ldrexh,
    /// Store exclusive: status register in `rd`, value in `rm`.
    Strex,
    Strexb,
    Strexh,
    Clrex,
    /// Register list in `imm`; F_DB decrement-before, F_W write-back.
    Ldm,
    Stm,
    Tbb,
    Tbh,
    // Branches: `imm` is the offset from PC+4 (already sign-extended), `cond` its condition.
    B,
    Bl,
    Bx,
    Blx,
    Cbz,
    Cbnz,
    // System.
    /// `imm` = firstcond:mask.
    It,
    Nop,
    /// DSB/DMB/ISB: no architectural effect here, but they drain the pipeline in the timing model.
    Barrier,
    Wfi,
    Svc,
    Bkpt,
    /// `imm` = SYSm.
    Mrs,
    /// `imm` = SYSm, `amount` = mask bits.
    Msr,
    /// `imm` bit 0 = disable, bit 1 = PRIMASK, bit 2 = FAULTMASK.
    Cps,
    // Floating point. F_DBL marks double precision; register numbers are S or D indices.
    Vldr,
    Vstr,
    /// `imm` = number of words; F_DB/F_W as for LDM.
    Vldm,
    Vstm,
    /// Core `rd` <-> S`rn`; F_TOCORE for VMOV Rt, Sn.
    VmovCoreS,
    /// Core `rd`,`ra` <-> S`rm`,S`rm+1` (or D`rm` with F_DBL).
    VmovCore2,
    /// Core `rd` <-> half `amount` of D`rn`.
    VmovScalar,
    Vmrs,
    Vmsr,
    /// `imm` = the expanded bit pattern (low word for single, high word for double).
    VmovImm,
    /// `cond`: see [`VArith`].
    VArith,
    /// `cond`: 0 VMOV, 1 VABS, 2 VNEG, 3 VSQRT.
    VUnary,
    /// F_E for VCMPE, F_IMM for comparison with zero.
    Vcmp,
    /// F32 <-> F64; F_DBL = source is double.
    VcvtFF,
    /// Integer (in S`rm`) to float; F_SIGNED.
    VcvtIF,
    /// Float to integer (into S`rd`); F_SIGNED; `cond` = rounding (see [`Round`]).
    VcvtFI,
    /// Fixed point: F_TOFIXED direction, F_SIGNED, `amount` = size (16/32), `imm` = frac bits.
    VcvtFixed,
    /// Half precision: F_TOHALF direction, F_TOP selects the top half.
    VcvtHalf,
    /// Round to integral float; `cond` = rounding ([`Round`]), F_E = signal inexact (VRINTX).
    Vrint,
    /// `cond` = condition.
    Vsel,
    /// F_MIN for VMINNM.
    VMaxMinNm,
}

/// Flag bits of [`Insn::flags`]; meaning depends on the operation family.
pub mod flag {
    /// Set the condition flags.
    pub const S: u8 = 1;
    /// Set the condition flags when outside an IT block (16-bit encodings).
    pub const S_OUT_IT: u8 = 2;
    /// The second operand or offset is the immediate.
    pub const IMM: u8 = 4;
    /// The modified immediate defines the carry out (its value in `CARRY`).
    pub const IMM_C: u8 = 8;
    pub const CARRY: u8 = 16;
    /// Loads/stores: pre-index, add, write-back.
    pub const P: u8 = 16;
    pub const U: u8 = 32;
    pub const W: u8 = 64;
    /// LDM/STM/VLDM/VSTM: decrement before.
    pub const DB: u8 = 128;
    /// Multiplies: high halves / exchange / round.
    pub const NHI: u8 = 16;
    pub const MHI: u8 = 32;
    pub const X: u8 = 64;
    pub const ROUND: u8 = 64;
    /// Floating point.
    pub const DBL: u8 = 1;
    pub const TOCORE: u8 = 2;
    pub const E: u8 = 8;
    pub const SIGNED: u8 = 16;
    pub const TOFIXED: u8 = 32;
    pub const TOHALF: u8 = 32;
    pub const MIN: u8 = 32;
    pub const TOP: u8 = 64;
    /// Parallel add/sub: unsigned.
    pub const UNSIGNED: u8 = 128;
}

/// Kinds of [`Op::VArith`].
pub mod varith {
    pub const MLA: u8 = 0;
    pub const MLS: u8 = 1;
    pub const NMLS: u8 = 2;
    pub const NMLA: u8 = 3;
    pub const MUL: u8 = 4;
    pub const NMUL: u8 = 5;
    pub const ADD: u8 = 6;
    pub const SUB: u8 = 7;
    pub const DIV: u8 = 8;
    pub const FMA: u8 = 9;
    pub const FMS: u8 = 10;
    pub const FNMA: u8 = 11;
    pub const FNMS: u8 = 12;
}

/// Rounding modes for VCVT/VRINT (`cond` field).
pub mod round {
    /// Ties away from zero (A).
    pub const AWAY: u8 = 0;
    /// Ties to even (N).
    pub const EVEN: u8 = 1;
    /// Towards +infinity (P).
    pub const PLUS: u8 = 2;
    /// Towards -infinity (M).
    pub const MINUS: u8 = 3;
    /// Towards zero (Z).
    pub const ZERO: u8 = 4;
    /// The FPSCR mode (R).
    pub const FPSCR: u8 = 5;
}

/// One decoded instruction: 16 bytes, `Copy`, no heap. Aligned to its size so that copies out
/// of the cache are single aligned moves (an unaligned copy cost a store-forwarding stall on
/// every step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct Insn {
    pub op: Op,
    /// 2 or 4 bytes.
    pub len: u8,
    pub rd: u8,
    pub rn: u8,
    pub rm: u8,
    pub ra: u8,
    /// Shift type: 0 LSL, 1 LSR, 2 ASR, 3 ROR, 4 RRX.
    pub shift: u8,
    pub amount: u8,
    pub flags: u8,
    /// Branch condition or a sub-kind (see [`Op`]).
    pub cond: u8,
    /// The timing model's pre-computed class of this instruction (see
    /// [`super::timing::classify`]), filled in when the instruction enters the decode cache.
    pub timing: u8,
    /// How this instruction issues after the one before it in its block, worked out once when
    /// the block is cached (see [`super::timing::chain`]); 0 for a block's first instruction.
    pub chain: u8,
    pub imm: u32,
}

impl Insn {
    /// The empty cache slot.
    pub const UNDECODED: Insn = Insn {
        op: Op::Undecoded,
        len: 2,
        rd: 0,
        rn: 0,
        rm: 0,
        ra: 0,
        shift: 0,
        amount: 0,
        flags: 0,
        cond: 14,
        timing: 0,
        chain: 0,
        imm: 0,
    };

    fn new(op: Op, len: u8) -> Insn {
        Insn {
            op,
            len,
            ..Insn::UNDECODED
        }
    }

    /// Whether this instruction is the 32-bit form.
    pub fn is_wide(&self) -> bool {
        self.len == 4
    }
}

/// Whether a first halfword starts a 32-bit instruction.
#[inline]
pub fn is_wide(hw1: u16) -> bool {
    (hw1 >> 11) >= 0b11101
}

/// Decodes a 16-bit instruction.
pub fn decode16(hw: u16) -> Insn {
    let w = u32::from(hw);
    for p in T16 {
        if w & p.mask == p.value {
            return (p.extract)(w);
        }
    }
    undefined(w, 2)
}

/// Decodes a 32-bit instruction (`hw1 << 16 | hw2`).
pub fn decode32(w: u32) -> Insn {
    for p in T32 {
        if w & p.mask == p.value {
            return (p.extract)(w);
        }
    }
    undefined(w, 4)
}

struct Pat {
    mask: u32,
    value: u32,
    extract: fn(u32) -> Insn,
}

const fn pat(mask: u32, value: u32, extract: fn(u32) -> Insn) -> Pat {
    Pat {
        mask,
        value,
        extract,
    }
}

fn undefined(w: u32, len: u8) -> Insn {
    Insn {
        imm: w,
        ..Insn::new(Op::Undefined, len)
    }
}

#[inline]
fn bits(w: u32, hi: u32, lo: u32) -> u8 {
    ((w >> lo) & ((1 << (hi - lo + 1)) - 1)) as u8
}

#[inline]
fn bit(w: u32, n: u32) -> bool {
    (w >> n) & 1 != 0
}

fn sign_extend(v: u32, width: u32) -> u32 {
    let s = 32 - width;
    (((v << s) as i32) >> s) as u32
}

// ---------------------------------------------------------------------------------------------
// 16-bit
// ---------------------------------------------------------------------------------------------

fn t16_shift_imm(w: u32) -> Insn {
    let shift = bits(w, 12, 11);
    let mut amount = bits(w, 10, 6);
    if shift != 0 && amount == 0 {
        amount = 32;
    }
    Insn {
        rd: bits(w, 2, 0),
        rm: bits(w, 5, 3),
        shift,
        amount,
        flags: flag::S_OUT_IT,
        ..Insn::new(Op::Mov, 2)
    }
}

fn t16_addsub_reg(w: u32) -> Insn {
    let op = if bit(w, 9) { Op::Sub } else { Op::Add };
    Insn {
        rd: bits(w, 2, 0),
        rn: bits(w, 5, 3),
        rm: bits(w, 8, 6),
        flags: flag::S_OUT_IT,
        ..Insn::new(op, 2)
    }
}

fn t16_addsub_imm3(w: u32) -> Insn {
    let op = if bit(w, 9) { Op::Sub } else { Op::Add };
    Insn {
        rd: bits(w, 2, 0),
        rn: bits(w, 5, 3),
        imm: u32::from(bits(w, 8, 6)),
        flags: flag::S_OUT_IT | flag::IMM,
        ..Insn::new(op, 2)
    }
}

fn t16_imm8(w: u32) -> Insn {
    let r = bits(w, 10, 8);
    let (op, flags) = match bits(w, 12, 11) {
        0 => (Op::Mov, flag::S_OUT_IT),
        1 => (Op::Cmp, flag::S),
        2 => (Op::Add, flag::S_OUT_IT),
        _ => (Op::Sub, flag::S_OUT_IT),
    };
    Insn {
        rd: r,
        rn: r,
        imm: w & 0xFF,
        flags: flags | flag::IMM,
        ..Insn::new(op, 2)
    }
}

fn t16_dp(w: u32) -> Insn {
    let rdn = bits(w, 2, 0);
    let rm = bits(w, 5, 3);
    let base = Insn {
        rd: rdn,
        rn: rdn,
        rm,
        flags: flag::S_OUT_IT,
        ..Insn::new(Op::And, 2)
    };
    let shift_reg = |shift| Insn {
        op: Op::ShiftReg,
        shift,
        ..base
    };
    match bits(w, 9, 6) {
        0 => base,
        1 => Insn {
            op: Op::Eor,
            ..base
        },
        2 => shift_reg(0),
        3 => shift_reg(1),
        4 => shift_reg(2),
        5 => Insn {
            op: Op::Adc,
            ..base
        },
        6 => Insn {
            op: Op::Sbc,
            ..base
        },
        7 => shift_reg(3),
        8 => Insn {
            op: Op::Tst,
            flags: flag::S,
            ..base
        },
        9 => Insn {
            op: Op::Rsb,
            rn: rm,
            imm: 0,
            flags: flag::S_OUT_IT | flag::IMM,
            ..base
        },
        10 => Insn {
            op: Op::Cmp,
            flags: flag::S,
            ..base
        },
        11 => Insn {
            op: Op::Cmn,
            flags: flag::S,
            ..base
        },
        12 => Insn {
            op: Op::Orr,
            ..base
        },
        13 => Insn {
            op: Op::Mul,
            rn: rm,
            rm: rdn,
            ..base
        },
        14 => Insn {
            op: Op::Bic,
            ..base
        },
        _ => Insn {
            op: Op::Mvn,
            ..base
        },
    }
}

fn t16_hireg(w: u32) -> Insn {
    let rdn = bits(w, 2, 0) | (bits(w, 7, 7) << 3);
    let rm = bits(w, 6, 3);
    let op = match bits(w, 9, 8) {
        0 => Op::Add,
        1 => Op::Cmp,
        _ => Op::Mov,
    };
    Insn {
        rd: rdn,
        rn: rdn,
        rm,
        flags: if op == Op::Cmp { flag::S } else { 0 },
        ..Insn::new(op, 2)
    }
}

fn t16_bx(w: u32) -> Insn {
    let op = if bit(w, 7) { Op::Blx } else { Op::Bx };
    Insn {
        rm: bits(w, 6, 3),
        ..Insn::new(op, 2)
    }
}

fn t16_ldr_lit(w: u32) -> Insn {
    Insn {
        rd: bits(w, 10, 8),
        rn: 15,
        imm: (w & 0xFF) << 2,
        flags: flag::IMM | flag::P | flag::U,
        ..Insn::new(Op::Ldr, 2)
    }
}

fn t16_ldst_reg(w: u32) -> Insn {
    let op = [
        Op::Str,
        Op::Strh,
        Op::Strb,
        Op::Ldrsb,
        Op::Ldr,
        Op::Ldrh,
        Op::Ldrb,
        Op::Ldrsh,
    ][usize::from(bits(w, 11, 9))];
    Insn {
        rd: bits(w, 2, 0),
        rn: bits(w, 5, 3),
        rm: bits(w, 8, 6),
        flags: flag::P | flag::U,
        ..Insn::new(op, 2)
    }
}

fn t16_ldst_imm(w: u32) -> Insn {
    let (op, scale) = match bits(w, 15, 11) {
        0b01100 => (Op::Str, 2),
        0b01101 => (Op::Ldr, 2),
        0b01110 => (Op::Strb, 0),
        0b01111 => (Op::Ldrb, 0),
        0b10000 => (Op::Strh, 1),
        _ => (Op::Ldrh, 1),
    };
    Insn {
        rd: bits(w, 2, 0),
        rn: bits(w, 5, 3),
        imm: u32::from(bits(w, 10, 6)) << scale,
        flags: flag::IMM | flag::P | flag::U,
        ..Insn::new(op, 2)
    }
}

fn t16_ldst_sp(w: u32) -> Insn {
    let op = if bit(w, 11) { Op::Ldr } else { Op::Str };
    Insn {
        rd: bits(w, 10, 8),
        rn: 13,
        imm: (w & 0xFF) << 2,
        flags: flag::IMM | flag::P | flag::U,
        ..Insn::new(op, 2)
    }
}

fn t16_adr_addsp(w: u32) -> Insn {
    Insn {
        rd: bits(w, 10, 8),
        rn: if bit(w, 11) { 13 } else { 15 },
        imm: (w & 0xFF) << 2,
        flags: flag::IMM,
        ..Insn::new(Op::Add, 2)
    }
}

fn t16_sp_adjust(w: u32) -> Insn {
    let op = if bit(w, 7) { Op::Sub } else { Op::Add };
    Insn {
        rd: 13,
        rn: 13,
        imm: (w & 0x7F) << 2,
        flags: flag::IMM,
        ..Insn::new(op, 2)
    }
}

fn t16_cbz(w: u32) -> Insn {
    let op = if bit(w, 11) { Op::Cbnz } else { Op::Cbz };
    Insn {
        rn: bits(w, 2, 0),
        imm: (u32::from(bits(w, 9, 9)) << 6) | (u32::from(bits(w, 7, 3)) << 1),
        ..Insn::new(op, 2)
    }
}

fn t16_extend(w: u32) -> Insn {
    let kind = [0, 4, 1, 5][usize::from(bits(w, 7, 6))];
    Insn {
        rd: bits(w, 2, 0),
        rm: bits(w, 5, 3),
        rn: 15,
        cond: kind,
        ..Insn::new(Op::Extend, 2)
    }
}

fn t16_push(w: u32) -> Insn {
    Insn {
        rn: 13,
        imm: (w & 0xFF) | (u32::from(bits(w, 8, 8)) << 14),
        flags: flag::DB | flag::W,
        ..Insn::new(Op::Stm, 2)
    }
}

fn t16_pop(w: u32) -> Insn {
    Insn {
        rn: 13,
        imm: (w & 0xFF) | (u32::from(bits(w, 8, 8)) << 15),
        flags: flag::W,
        ..Insn::new(Op::Ldm, 2)
    }
}

fn t16_cps(w: u32) -> Insn {
    Insn {
        imm: u32::from(bits(w, 4, 4))
            | (u32::from(bits(w, 1, 1)) << 1)
            | (u32::from(bits(w, 0, 0)) << 2),
        ..Insn::new(Op::Cps, 2)
    }
}

fn t16_rev(w: u32) -> Insn {
    let op = match bits(w, 7, 6) {
        0 => Op::Rev,
        1 => Op::Rev16,
        3 => Op::Revsh,
        _ => return undefined(w, 2),
    };
    Insn {
        rd: bits(w, 2, 0),
        rm: bits(w, 5, 3),
        ..Insn::new(op, 2)
    }
}

fn t16_bkpt(w: u32) -> Insn {
    Insn {
        imm: w & 0xFF,
        ..Insn::new(Op::Bkpt, 2)
    }
}

fn t16_it_hint(w: u32) -> Insn {
    if w & 0xF != 0 {
        let firstcond = bits(w, 7, 4);
        if firstcond == 15 || (firstcond == 14 && (w & 0xF).count_ones() != 1) {
            return undefined(w, 2);
        }
        return Insn {
            imm: w & 0xFF,
            ..Insn::new(Op::It, 2)
        };
    }
    match bits(w, 7, 4) {
        3 => Insn::new(Op::Wfi, 2),
        _ => Insn::new(Op::Nop, 2),
    }
}

fn t16_ldstm(w: u32) -> Insn {
    let rn = bits(w, 10, 8);
    let list = w & 0xFF;
    if bit(w, 11) {
        let wback = list & (1 << rn) == 0;
        Insn {
            rn,
            imm: list,
            flags: if wback { flag::W } else { 0 },
            ..Insn::new(Op::Ldm, 2)
        }
    } else {
        Insn {
            rn,
            imm: list,
            flags: flag::W,
            ..Insn::new(Op::Stm, 2)
        }
    }
}

fn t16_bcond(w: u32) -> Insn {
    let cond = bits(w, 11, 8);
    match cond {
        14 => undefined(w, 2),
        15 => Insn {
            imm: w & 0xFF,
            ..Insn::new(Op::Svc, 2)
        },
        _ => Insn {
            cond,
            imm: sign_extend((w & 0xFF) << 1, 9),
            ..Insn::new(Op::B, 2)
        },
    }
}

fn t16_b(w: u32) -> Insn {
    Insn {
        imm: sign_extend((w & 0x7FF) << 1, 12),
        ..Insn::new(Op::B, 2)
    }
}

static T16: &[Pat] = &[
    pat(0xE000, 0x0000, t16_shift_imm_or_addsub),
    pat(0xE000, 0x2000, t16_imm8),
    pat(0xFC00, 0x4000, t16_dp),
    pat(0xFF00, 0x4700, t16_bx),
    pat(0xFC00, 0x4400, t16_hireg),
    pat(0xF800, 0x4800, t16_ldr_lit),
    pat(0xF000, 0x5000, t16_ldst_reg),
    pat(0xE000, 0x6000, t16_ldst_imm),
    pat(0xF000, 0x8000, t16_ldst_imm),
    pat(0xF000, 0x9000, t16_ldst_sp),
    pat(0xF000, 0xA000, t16_adr_addsp),
    pat(0xFF00, 0xB000, t16_sp_adjust),
    pat(0xF500, 0xB100, t16_cbz),
    pat(0xFF00, 0xB200, t16_extend),
    pat(0xFE00, 0xB400, t16_push),
    pat(0xFFE8, 0xB660, t16_cps),
    pat(0xFF00, 0xBA00, t16_rev),
    pat(0xFE00, 0xBC00, t16_pop),
    pat(0xFF00, 0xBE00, t16_bkpt),
    pat(0xFF00, 0xBF00, t16_it_hint),
    pat(0xF000, 0xC000, t16_ldstm),
    pat(0xF000, 0xD000, t16_bcond),
    pat(0xF800, 0xE000, t16_b),
];

fn t16_shift_imm_or_addsub(w: u32) -> Insn {
    match bits(w, 12, 10) {
        0b110 => t16_addsub_reg(w),
        0b111 => t16_addsub_imm3(w),
        _ => t16_shift_imm(w),
    }
}

// ---------------------------------------------------------------------------------------------
// 32-bit
// ---------------------------------------------------------------------------------------------

/// ThumbExpandImm: the value and whether the encoding defines a carry (and its value).
fn thumb_expand_imm(imm12: u32) -> (u32, Option<bool>) {
    if imm12 >> 10 == 0 {
        let b = imm12 & 0xFF;
        let v = match (imm12 >> 8) & 3 {
            0 => b,
            1 => (b << 16) | b,
            2 => (b << 24) | (b << 8),
            _ => (b << 24) | (b << 16) | (b << 8) | b,
        };
        (v, None)
    } else {
        let unrot = 0x80 | (imm12 & 0x7F);
        let v = unrot.rotate_right(imm12 >> 7);
        (v, Some(v >> 31 != 0))
    }
}

fn dp_op(op4: u8, rd: u8, rn: u8, s: bool) -> Option<(Op, bool)> {
    // Returns the operation and whether it ignores rn (MOV/MVN forms).
    Some(match op4 {
        0b0000 if rd == 15 && s => (Op::Tst, false),
        0b0000 => (Op::And, false),
        0b0001 => (Op::Bic, false),
        0b0010 if rn == 15 => (Op::Mov, true),
        0b0010 => (Op::Orr, false),
        0b0011 if rn == 15 => (Op::Mvn, true),
        0b0011 => (Op::Orn, false),
        0b0100 if rd == 15 && s => (Op::Teq, false),
        0b0100 => (Op::Eor, false),
        0b1000 if rd == 15 && s => (Op::Cmn, false),
        0b1000 => (Op::Add, false),
        0b1010 => (Op::Adc, false),
        0b1011 => (Op::Sbc, false),
        0b1101 if rd == 15 && s => (Op::Cmp, false),
        0b1101 => (Op::Sub, false),
        0b1110 => (Op::Rsb, false),
        _ => return None,
    })
}

fn t32_dp_shifted(w: u32) -> Insn {
    let op4 = bits(w, 24, 21);
    let s = bit(w, 20);
    let rn = bits(w, 19, 16);
    let rd = bits(w, 11, 8);
    let rm = bits(w, 3, 0);
    let shift = bits(w, 5, 4);
    let amount = (bits(w, 14, 12) << 2) | bits(w, 7, 6);
    if op4 == 0b0110 {
        // PKHBT (tb = 0, LSL) / PKHTB (tb = 1, ASR).
        let tb = bit(w, 5);
        return Insn {
            rd,
            rn,
            rm,
            shift: if tb { 2 } else { 0 },
            amount: if tb && amount == 0 { 32 } else { amount },
            ..Insn::new(Op::Pkh, 4)
        };
    }
    let Some((op, _)) = dp_op(op4, rd, rn, s) else {
        return undefined(w, 4);
    };
    let (shift, amount) = decode_imm_shift(shift, amount);
    Insn {
        rd,
        rn,
        rm,
        shift,
        amount,
        flags: if s { flag::S } else { 0 },
        ..Insn::new(op, 4)
    }
}

/// DecodeImmShift: LSR/ASR #0 mean 32, ROR #0 means RRX.
fn decode_imm_shift(shift: u8, amount: u8) -> (u8, u8) {
    match (shift, amount) {
        (1 | 2, 0) => (shift, 32),
        (3, 0) => (4, 1),
        _ => (shift, amount),
    }
}

fn t32_dp_modimm(w: u32) -> Insn {
    let op4 = bits(w, 24, 21);
    let s = bit(w, 20);
    let rn = bits(w, 19, 16);
    let rd = bits(w, 11, 8);
    let imm12 = (u32::from(bits(w, 26, 26)) << 11) | (u32::from(bits(w, 14, 12)) << 8) | (w & 0xFF);
    let Some((op, _)) = dp_op(op4, rd, rn, s) else {
        return undefined(w, 4);
    };
    let (imm, carry) = thumb_expand_imm(imm12);
    let mut flags = flag::IMM | if s { flag::S } else { 0 };
    if let Some(c) = carry {
        flags |= flag::IMM_C | if c { flag::CARRY } else { 0 };
    }
    Insn {
        rd,
        rn,
        imm,
        flags,
        ..Insn::new(op, 4)
    }
}

fn t32_plain_imm(w: u32) -> Insn {
    let rn = bits(w, 19, 16);
    let rd = bits(w, 11, 8);
    let imm12 = (u32::from(bits(w, 26, 26)) << 11) | (u32::from(bits(w, 14, 12)) << 8) | (w & 0xFF);
    let imm16 = (u32::from(rn) << 12) | imm12;
    let lsb = (bits(w, 14, 12) << 2) | bits(w, 7, 6);
    let width_field = bits(w, 4, 0);
    let sh = bit(w, 21);
    let base = Insn {
        rd,
        rn,
        ..Insn::new(Op::Add, 4)
    };
    match bits(w, 24, 20) {
        0b00000 => Insn {
            imm: imm12,
            flags: flag::IMM,
            ..base
        },
        0b01010 => Insn {
            op: Op::Sub,
            imm: imm12,
            flags: flag::IMM,
            ..base
        },
        0b00100 => Insn {
            op: Op::Mov,
            imm: imm16,
            flags: flag::IMM,
            ..base
        },
        0b01100 => Insn {
            op: Op::Movt,
            imm: imm16,
            ..base
        },
        0b10000 | 0b10010 | 0b11000 | 0b11010 => {
            let signed = !bit(w, 23);
            if sh && lsb == 0 && bits(w, 7, 6) == 0 {
                Insn {
                    op: if signed { Op::Ssat16 } else { Op::Usat16 },
                    imm: u32::from(width_field & 0xF) + u32::from(signed),
                    ..base
                }
            } else {
                Insn {
                    op: if signed { Op::Ssat } else { Op::Usat },
                    shift: if sh { 2 } else { 0 },
                    amount: lsb,
                    imm: u32::from(width_field) + u32::from(signed),
                    ..base
                }
            }
        }
        0b10100 | 0b11100 => Insn {
            op: if bit(w, 23) { Op::Ubfx } else { Op::Sbfx },
            amount: lsb,
            imm: u32::from(width_field) + 1,
            ..base
        },
        0b10110 => {
            if width_field < lsb {
                return undefined(w, 4);
            }
            Insn {
                op: if rn == 15 { Op::Bfc } else { Op::Bfi },
                amount: lsb,
                imm: u32::from(width_field - lsb) + 1,
                ..base
            }
        }
        _ => undefined(w, 4),
    }
}

fn t32_branch_misc(w: u32) -> Insn {
    // hw2 bits 14 and 12 select the form; bit 13 is J1 of the branch offsets.
    let op2 = (bits(w, 14, 14) << 1) | bits(w, 12, 12);
    let s = u32::from(bits(w, 26, 26));
    let j1 = u32::from(bits(w, 13, 13));
    let j2 = u32::from(bits(w, 11, 11));
    let imm11 = w & 0x7FF;
    match op2 {
        0b00 => {
            let hw1 = w >> 16;
            if bits(w, 25, 23) != 0b111 {
                let off = (s << 20)
                    | (j2 << 19)
                    | (j1 << 18)
                    | (u32::from(bits(w, 21, 16)) << 12)
                    | (imm11 << 1);
                return Insn {
                    cond: bits(w, 25, 22),
                    imm: sign_extend(off, 21),
                    ..Insn::new(Op::B, 4)
                };
            }
            t32_misc_control(w, hw1)
        }
        _ => {
            let i1 = !(j1 ^ s) & 1;
            let i2 = !(j2 ^ s) & 1;
            let off =
                (s << 24) | (i1 << 23) | (i2 << 22) | ((w >> 16 & 0x3FF) << 12) | (imm11 << 1);
            let imm = sign_extend(off, 25);
            match op2 {
                0b01 => Insn {
                    imm,
                    ..Insn::new(Op::B, 4)
                },
                0b11 => Insn {
                    imm,
                    ..Insn::new(Op::Bl, 4)
                },
                _ => undefined(w, 4),
            }
        }
    }
}

fn t32_misc_control(w: u32, hw1: u32) -> Insn {
    let hw2 = w & 0xFFFF;
    match hw1 & 0xFFF0 {
        0xF380 => Insn {
            rn: bits(w, 19, 16),
            imm: hw2 & 0xFF,
            amount: bits(w, 11, 10),
            ..Insn::new(Op::Msr, 4)
        },
        0xF3A0 => match hw2 & 0x7FF {
            3 => Insn::new(Op::Wfi, 4),
            _ => Insn::new(Op::Nop, 4),
        },
        0xF3B0 => match (hw2 >> 4) & 0xF {
            2 => Insn::new(Op::Clrex, 4),
            4..=6 => Insn::new(Op::Barrier, 4),
            _ => undefined(w, 4),
        },
        0xF3E0 | 0xF3F0 => Insn {
            rd: bits(w, 11, 8),
            imm: hw2 & 0xFF,
            ..Insn::new(Op::Mrs, 4)
        },
        _ => undefined(w, 4),
    }
}

fn t32_ldstm(w: u32) -> Insn {
    let load = bit(w, 20);
    let db = bits(w, 24, 23) == 0b10;
    let mut flags = if db { flag::DB } else { 0 };
    if bit(w, 21) {
        flags |= flag::W;
    }
    Insn {
        rn: bits(w, 19, 16),
        imm: w & 0xFFFF,
        flags,
        ..Insn::new(if load { Op::Ldm } else { Op::Stm }, 4)
    }
}

fn t32_table_branch(w: u32) -> Insn {
    Insn {
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        ..Insn::new(if bit(w, 4) { Op::Tbh } else { Op::Tbb }, 4)
    }
}

fn t32_excl_bh(w: u32) -> Insn {
    let load = bit(w, 20);
    let half = bit(w, 4);
    let op = match (load, half) {
        (true, false) => Op::Ldrexb,
        (true, true) => Op::Ldrexh,
        (false, false) => Op::Strexb,
        (false, true) => Op::Strexh,
    };
    if load {
        Insn {
            rd: bits(w, 15, 12),
            rn: bits(w, 19, 16),
            ..Insn::new(op, 4)
        }
    } else {
        Insn {
            rd: bits(w, 3, 0),
            rm: bits(w, 15, 12),
            rn: bits(w, 19, 16),
            ..Insn::new(op, 4)
        }
    }
}

fn t32_excl(w: u32) -> Insn {
    let imm = (w & 0xFF) << 2;
    if bit(w, 20) {
        Insn {
            rd: bits(w, 15, 12),
            rn: bits(w, 19, 16),
            imm,
            ..Insn::new(Op::Ldrex, 4)
        }
    } else {
        Insn {
            rd: bits(w, 11, 8),
            rm: bits(w, 15, 12),
            rn: bits(w, 19, 16),
            imm,
            ..Insn::new(Op::Strex, 4)
        }
    }
}

fn t32_ldstd(w: u32) -> Insn {
    let p = bit(w, 24);
    let wb = bit(w, 21);
    if !p && !wb {
        return undefined(w, 4);
    }
    let mut flags = flag::IMM;
    if p {
        flags |= flag::P;
    }
    if bit(w, 23) {
        flags |= flag::U;
    }
    if wb {
        flags |= flag::W;
    }
    Insn {
        rd: bits(w, 15, 12),
        ra: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        imm: (w & 0xFF) << 2,
        flags,
        ..Insn::new(if bit(w, 20) { Op::Ldrd } else { Op::Strd }, 4)
    }
}

/// Loads and stores of a single register (byte, halfword, word; all addressing forms).
fn t32_ldst_single(w: u32) -> Insn {
    let load = bit(w, 20);
    let signed = bit(w, 24);
    let size = bits(w, 22, 21);
    let rn = bits(w, 19, 16);
    let rt = bits(w, 15, 12);
    let op = match (load, signed, size) {
        (false, false, 0) => Op::Strb,
        (false, false, 1) => Op::Strh,
        (false, false, 2) => Op::Str,
        (true, false, 0) => Op::Ldrb,
        (true, false, 1) => Op::Ldrh,
        (true, false, 2) => Op::Ldr,
        (true, true, 0) => Op::Ldrsb,
        (true, true, 1) => Op::Ldrsh,
        _ => return undefined(w, 4),
    };
    // Preload hints (PLD/PLI) are loads into PC of byte/halfword size.
    if load && rt == 15 && size != 2 {
        return Insn::new(Op::Nop, 4);
    }
    let base = Insn {
        rd: rt,
        rn,
        ..Insn::new(op, 4)
    };
    if rn == 15 {
        // Literal: U in bit 23, imm12.
        let mut flags = flag::IMM | flag::P;
        if bit(w, 23) {
            flags |= flag::U;
        }
        return Insn {
            imm: w & 0xFFF,
            flags,
            ..base
        };
    }
    if bit(w, 23) {
        return Insn {
            imm: w & 0xFFF,
            flags: flag::IMM | flag::P | flag::U,
            ..base
        };
    }
    if bit(w, 11) {
        // imm8 with P/U/W (P=1,U=1,W=0 is the unprivileged form: same effect here).
        let mut flags = flag::IMM;
        if bit(w, 10) {
            flags |= flag::P;
        }
        if bit(w, 9) {
            flags |= flag::U;
        }
        if bit(w, 8) {
            flags |= flag::W;
        }
        if flags & (flag::P | flag::W) == 0 {
            return undefined(w, 4);
        }
        return Insn {
            imm: w & 0xFF,
            flags,
            ..base
        };
    }
    if bits(w, 10, 6) != 0 {
        return undefined(w, 4);
    }
    Insn {
        rm: bits(w, 3, 0),
        amount: bits(w, 5, 4),
        flags: flag::P | flag::U,
        ..base
    }
}

fn t32_shift_reg(w: u32) -> Insn {
    Insn {
        rd: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        shift: bits(w, 22, 21),
        flags: if bit(w, 20) { flag::S } else { 0 },
        ..Insn::new(Op::ShiftReg, 4)
    }
}

fn t32_extend(w: u32) -> Insn {
    let kind = bits(w, 22, 20);
    if kind > 5 {
        return undefined(w, 4);
    }
    Insn {
        rd: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        amount: bits(w, 5, 4) * 8,
        cond: kind,
        ..Insn::new(Op::Extend, 4)
    }
}

fn t32_parallel(w: u32) -> Insn {
    let op1 = bits(w, 22, 20);
    let kind = bits(w, 5, 4);
    if op1 == 3 || op1 == 7 || kind == 3 {
        return undefined(w, 4);
    }
    Insn {
        rd: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        cond: op1,
        shift: kind,
        flags: if bit(w, 6) { flag::UNSIGNED } else { 0 },
        ..Insn::new(Op::Parallel, 4)
    }
}

fn t32_misc_ops(w: u32) -> Insn {
    let op = match (bits(w, 21, 20), bits(w, 5, 4)) {
        (0, 0) => Op::Qadd,
        (0, 1) => Op::Qdadd,
        (0, 2) => Op::Qsub,
        (0, 3) => Op::Qdsub,
        (1, 0) => Op::Rev,
        (1, 1) => Op::Rev16,
        (1, 2) => Op::Rbit,
        (1, 3) => Op::Revsh,
        (2, 0) => Op::Sel,
        (3, 0) => Op::Clz,
        _ => return undefined(w, 4),
    };
    Insn {
        rd: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        ..Insn::new(op, 4)
    }
}

fn t32_mul(w: u32) -> Insn {
    let op1 = bits(w, 22, 20);
    let op2 = bits(w, 5, 4);
    let ra = bits(w, 15, 12);
    let base = Insn {
        rd: bits(w, 11, 8),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        ra,
        ..Insn::new(Op::Mla, 4)
    };
    let hi_n = if bit(w, 5) { flag::NHI } else { 0 };
    let hi_m = if bit(w, 4) { flag::MHI } else { 0 };
    let x = if bit(w, 4) { flag::X } else { 0 };
    match (op1, op2) {
        (0, 0) if ra == 15 => Insn {
            op: Op::Mul,
            ..base
        },
        (0, 0) => base,
        (0, 1) => Insn {
            op: Op::Mls,
            ..base
        },
        (1, _) => Insn {
            op: Op::Smlaxy,
            flags: hi_n | hi_m,
            ..base
        },
        (2, 0 | 1) => Insn {
            op: Op::Smlad,
            flags: x,
            ..base
        },
        (3, 0 | 1) => Insn {
            op: Op::Smlaw,
            flags: hi_m,
            ..base
        },
        (4, 0 | 1) => Insn {
            op: Op::Smlsd,
            flags: x,
            ..base
        },
        (5, 0 | 1) => Insn {
            op: Op::Smmla,
            flags: if bit(w, 4) { flag::ROUND } else { 0 },
            ..base
        },
        (6, 0 | 1) => Insn {
            op: Op::Smmls,
            flags: if bit(w, 4) { flag::ROUND } else { 0 },
            ..base
        },
        (7, 0) => Insn {
            op: Op::Usada8,
            ..base
        },
        _ => undefined(w, 4),
    }
}

fn t32_long_mul(w: u32) -> Insn {
    let op1 = bits(w, 22, 20);
    let op2 = bits(w, 7, 4);
    // rd = RdHi, ra = RdLo.
    let base = Insn {
        rd: bits(w, 11, 8),
        ra: bits(w, 15, 12),
        rn: bits(w, 19, 16),
        rm: bits(w, 3, 0),
        ..Insn::new(Op::Smull, 4)
    };
    match (op1, op2) {
        (0, 0) => base,
        (1, 15) => Insn {
            op: Op::Sdiv,
            ..base
        },
        (2, 0) => Insn {
            op: Op::Umull,
            ..base
        },
        (3, 15) => Insn {
            op: Op::Udiv,
            ..base
        },
        (4, 0) => Insn {
            op: Op::Smlal,
            ..base
        },
        (4, 8..=11) => Insn {
            op: Op::Smlalxy,
            flags: (if bit(w, 5) { flag::NHI } else { 0 })
                | (if bit(w, 4) { flag::MHI } else { 0 }),
            ..base
        },
        (4, 12 | 13) => Insn {
            op: Op::Smlald,
            flags: if bit(w, 4) { flag::X } else { 0 },
            ..base
        },
        (5, 12 | 13) => Insn {
            op: Op::Smlsld,
            flags: if bit(w, 4) { flag::X } else { 0 },
            ..base
        },
        (6, 0) => Insn {
            op: Op::Umlal,
            ..base
        },
        (6, 6) => Insn {
            op: Op::Umaal,
            ..base
        },
        _ => undefined(w, 4),
    }
}

// ---------------------------------------------------------------------------------------------
// Floating point (coprocessors 10 and 11)
// ---------------------------------------------------------------------------------------------

/// Register index of a VFP operand: single = Vx:bit, double = bit:Vx.
fn vreg(dbl: bool, v: u8, extra: u8) -> u8 {
    if dbl {
        (extra << 4) | v
    } else {
        (v << 1) | extra
    }
}

fn vd(w: u32, dbl: bool) -> u8 {
    vreg(dbl, bits(w, 15, 12), bits(w, 22, 22))
}

fn vn(w: u32, dbl: bool) -> u8 {
    vreg(dbl, bits(w, 19, 16), bits(w, 7, 7))
}

fn vm(w: u32, dbl: bool) -> u8 {
    vreg(dbl, bits(w, 3, 0), bits(w, 5, 5))
}

fn fdbl(dbl: bool) -> u8 {
    if dbl {
        flag::DBL
    } else {
        0
    }
}

fn t32_vldr(w: u32) -> Insn {
    let dbl = bit(w, 8);
    let mut flags = fdbl(dbl) | flag::IMM | flag::P;
    if bit(w, 23) {
        flags |= flag::U;
    }
    Insn {
        rd: vd(w, dbl),
        rn: bits(w, 19, 16),
        imm: (w & 0xFF) << 2,
        flags,
        ..Insn::new(if bit(w, 20) { Op::Vldr } else { Op::Vstr }, 4)
    }
}

fn t32_vldm(w: u32) -> Insn {
    let dbl = bit(w, 8);
    let p = bit(w, 24);
    let u = bit(w, 23);
    let wb = bit(w, 21);
    if p == u || (p && !wb) {
        return undefined(w, 4);
    }
    let words = w & 0xFF;
    // FLDMX/FSTMX (odd count for double) transfer the same registers.
    let words = if dbl { words & !1 } else { words };
    let first = vd(w, dbl);
    let regs = if dbl { words / 2 } else { words };
    if words == 0 || u32::from(first) + regs > 32 || (dbl && regs > 16) {
        return undefined(w, 4);
    }
    let mut flags = fdbl(dbl);
    if p {
        flags |= flag::DB;
    }
    if wb {
        flags |= flag::W;
    }
    Insn {
        rd: first,
        rn: bits(w, 19, 16),
        imm: words,
        flags,
        ..Insn::new(if bit(w, 20) { Op::Vldm } else { Op::Vstm }, 4)
    }
}

fn t32_vmov_core2(w: u32) -> Insn {
    let dbl = bit(w, 8);
    Insn {
        rd: bits(w, 15, 12),
        ra: bits(w, 19, 16),
        rm: vm(w, dbl),
        flags: fdbl(dbl) | if bit(w, 20) { flag::TOCORE } else { 0 },
        ..Insn::new(Op::VmovCore2, 4)
    }
}

fn t32_vmov_core_s(w: u32) -> Insn {
    Insn {
        rd: bits(w, 15, 12),
        rn: vn(w, false),
        flags: if bit(w, 20) { flag::TOCORE } else { 0 },
        ..Insn::new(Op::VmovCoreS, 4)
    }
}

fn t32_vmov_scalar(w: u32) -> Insn {
    Insn {
        rd: bits(w, 15, 12),
        rn: vn(w, true),
        amount: bits(w, 21, 21),
        flags: if bit(w, 20) { flag::TOCORE } else { 0 },
        ..Insn::new(Op::VmovScalar, 4)
    }
}

fn t32_vmrs_vmsr(w: u32) -> Insn {
    let reg = bits(w, 19, 16);
    if reg != 1 {
        // Only FPSCR is accessible from unprivileged-or-privileged code on M-profile.
        return undefined(w, 4);
    }
    Insn {
        rd: bits(w, 15, 12),
        ..Insn::new(if bit(w, 20) { Op::Vmrs } else { Op::Vmsr }, 4)
    }
}

/// VFPExpandImm for single (returned as the 32-bit pattern) or double (the high word).
fn vfp_expand_imm(imm8: u32, dbl: bool) -> u32 {
    let a = (imm8 >> 7) & 1;
    let b = (imm8 >> 6) & 1;
    let cdefgh = imm8 & 0x3F;
    if dbl {
        let exp = ((b ^ 1) << 10) | (if b == 1 { 0xFF } else { 0 } << 2) | ((cdefgh >> 4) & 3);
        (a << 31) | (exp << 20) | ((cdefgh & 0xF) << 16)
    } else {
        let exp = ((b ^ 1) << 7) | (if b == 1 { 0x1F } else { 0 } << 2) | ((cdefgh >> 4) & 3);
        (a << 31) | (exp << 23) | ((cdefgh & 0xF) << 19)
    }
}

fn t32_vfp_dp(w: u32) -> Insn {
    let dbl = bit(w, 8);
    let opc1 = (bits(w, 23, 23) << 2) | bits(w, 21, 20);
    let op = bit(w, 6);
    let base = Insn {
        rd: vd(w, dbl),
        rn: vn(w, dbl),
        rm: vm(w, dbl),
        flags: fdbl(dbl),
        ..Insn::new(Op::VArith, 4)
    };
    let arith = |kind| Insn { cond: kind, ..base };
    use varith::*;
    match opc1 {
        0b000 => arith(if op { MLS } else { MLA }),
        0b001 => arith(if op { NMLA } else { NMLS }),
        0b010 => arith(if op { NMUL } else { MUL }),
        0b011 => arith(if op { SUB } else { ADD }),
        0b100 if !op => arith(DIV),
        0b101 => arith(if op { FNMA } else { FNMS }),
        0b110 => arith(if op { FMS } else { FMA }),
        0b111 => t32_vfp_other(w, dbl, base),
        _ => undefined(w, 4),
    }
}

fn t32_vfp_other(w: u32, dbl: bool, base: Insn) -> Insn {
    let opc2 = bits(w, 19, 16);
    let opc3 = bits(w, 7, 6);
    if opc3 & 1 == 0 {
        let imm8 = (u32::from(opc2) << 4) | (w & 0xF);
        return Insn {
            op: Op::VmovImm,
            imm: vfp_expand_imm(imm8, dbl),
            ..base
        };
    }
    let t = bit(w, 7);
    let unary = |kind| Insn {
        op: Op::VUnary,
        cond: kind,
        ..base
    };
    match opc2 {
        0b0000 => unary(if t { 1 } else { 0 }),
        0b0001 => unary(if t { 3 } else { 2 }),
        0b0010 | 0b0011 => {
            if dbl {
                return undefined(w, 4);
            }
            // VCVTB/VCVTT between half (in a half of Sm or Sd) and single.
            let to_half = opc2 == 0b0011;
            Insn {
                op: Op::VcvtHalf,
                flags: (if to_half { flag::TOHALF } else { 0 }) | if t { flag::TOP } else { 0 },
                ..base
            }
        }
        0b0100 | 0b0101 => Insn {
            op: Op::Vcmp,
            flags: base.flags
                | (if t { flag::E } else { 0 })
                | if opc2 == 0b0101 { flag::IMM } else { 0 },
            ..base
        },
        0b0110 => Insn {
            op: Op::Vrint,
            cond: if t { round::ZERO } else { round::FPSCR },
            ..base
        },
        0b0111 if !t => Insn {
            op: Op::Vrint,
            cond: round::FPSCR,
            flags: base.flags | flag::E,
            ..base
        },
        0b0111 => Insn {
            op: Op::VcvtFF,
            // Destination has the other precision.
            rd: vd(w, !dbl),
            ..base
        },
        0b1000 => Insn {
            op: Op::VcvtIF,
            rm: vm(w, false),
            flags: base.flags | if t { flag::SIGNED } else { 0 },
            ..base
        },
        0b1010 | 0b1011 | 0b1110 | 0b1111 => {
            let to_fixed = opc2 & 0b0100 != 0;
            let unsigned = opc2 & 1 != 0;
            let size: u8 = if t { 32 } else { 16 };
            let imm5 = (u32::from(bits(w, 3, 0)) << 1) | u32::from(bits(w, 5, 5));
            if u32::from(size) < imm5 {
                return undefined(w, 4);
            }
            Insn {
                op: Op::VcvtFixed,
                rm: base.rd,
                amount: size,
                imm: u32::from(size) - imm5,
                flags: base.flags
                    | (if to_fixed { flag::TOFIXED } else { 0 })
                    | if unsigned { 0 } else { flag::SIGNED },
                ..base
            }
        }
        0b1100 | 0b1101 => Insn {
            op: Op::VcvtFI,
            rd: vd(w, false),
            cond: if t { round::ZERO } else { round::FPSCR },
            flags: base.flags | if opc2 == 0b1101 { flag::SIGNED } else { 0 },
            ..base
        },
        _ => undefined(w, 4),
    }
}

fn t32_vsel(w: u32) -> Insn {
    let dbl = bit(w, 8);
    let cc = bits(w, 21, 20);
    // cond = cc:(cc[1] xor cc[0]):0 -> EQ, VS, GE, GT.
    let cond = [0, 6, 10, 12][usize::from(cc)];
    Insn {
        rd: vd(w, dbl),
        rn: vn(w, dbl),
        rm: vm(w, dbl),
        cond,
        flags: fdbl(dbl),
        ..Insn::new(Op::Vsel, 4)
    }
}

fn t32_vmaxminnm(w: u32) -> Insn {
    let dbl = bit(w, 8);
    Insn {
        rd: vd(w, dbl),
        rn: vn(w, dbl),
        rm: vm(w, dbl),
        flags: fdbl(dbl) | if bit(w, 6) { flag::MIN } else { 0 },
        ..Insn::new(Op::VMaxMinNm, 4)
    }
}

fn t32_vrint_directed(w: u32) -> Insn {
    let dbl = bit(w, 8);
    let rm_mode = bits(w, 17, 16);
    if bit(w, 18) {
        // VCVTA/N/P/M: to integer with a directed rounding.
        Insn {
            rd: vd(w, false),
            rm: vm(w, dbl),
            cond: rm_mode,
            flags: fdbl(dbl) | if bit(w, 7) { flag::SIGNED } else { 0 },
            ..Insn::new(Op::VcvtFI, 4)
        }
    } else {
        Insn {
            rd: vd(w, dbl),
            rm: vm(w, dbl),
            cond: rm_mode,
            flags: fdbl(dbl),
            ..Insn::new(Op::Vrint, 4)
        }
    }
}

static T32: &[Pat] = &[
    // Load/store multiple.
    pat(0xFFD0_0000, 0xE880_0000, t32_ldstm),
    pat(0xFFD0_0000, 0xE890_0000, t32_ldstm),
    pat(0xFFD0_0000, 0xE900_0000, t32_ldstm),
    pat(0xFFD0_0000, 0xE910_0000, t32_ldstm),
    // Table branch, exclusives, dual.
    pat(0xFFF0_FFE0, 0xE8D0_F000, t32_table_branch),
    pat(0xFFF0_0FEF, 0xE8D0_0F4F, t32_excl_bh),
    pat(0xFFF0_0FE0, 0xE8C0_0F40, t32_excl_bh),
    pat(0xFFE0_0000, 0xE840_0000, t32_excl),
    pat(0xFE50_0000, 0xE840_0000, t32_ldstd),
    pat(0xFE50_0000, 0xE850_0000, t32_ldstd),
    // Data processing, shifted register.
    pat(0xFE00_0000, 0xEA00_0000, t32_dp_shifted),
    // Floating point.
    pat(0xFF30_0E00, 0xED00_0A00, t32_vldr),
    pat(0xFF30_0E00, 0xED10_0A00, t32_vldr),
    pat(0xFFE0_0ED0, 0xEC40_0A10, t32_vmov_core2),
    pat(0xFE00_0E00, 0xEC00_0A00, t32_vldm),
    pat(0xFFE0_0F7F, 0xEE00_0A10, t32_vmov_core_s),
    pat(0xFFC0_0F7F, 0xEE00_0B10, t32_vmov_scalar),
    pat(0xFFE0_0FFF, 0xEEE0_0A10, t32_vmrs_vmsr),
    pat(0xFF00_0E10, 0xEE00_0A00, t32_vfp_dp),
    pat(0xFF80_0E50, 0xFE00_0A00, t32_vsel),
    pat(0xFFB0_0E10, 0xFE80_0A00, t32_vmaxminnm),
    pat(0xFFB8_0E50, 0xFEB8_0A40, t32_vrint_directed),
    // Data processing immediates and branches.
    pat(0xFA00_8000, 0xF000_0000, t32_dp_modimm),
    pat(0xFA00_8000, 0xF200_0000, t32_plain_imm),
    pat(0xF800_8000, 0xF000_8000, t32_branch_misc),
    // Single loads/stores.
    pat(0xFE00_0000, 0xF800_0000, t32_ldst_single),
    // Data processing (register), multiplies, divides.
    pat(0xFF80_F0F0, 0xFA00_F000, t32_shift_reg),
    pat(0xFF80_F0C0, 0xFA00_F080, t32_extend),
    pat(0xFF80_F080, 0xFA80_F000, t32_parallel),
    pat(0xFFC0_F0C0, 0xFA80_F080, t32_misc_ops),
    pat(0xFF80_00C0, 0xFB00_0000, t32_mul),
    pat(0xFF80_0000, 0xFB80_0000, t32_long_mul),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_thumb_immediates() {
        assert_eq!(thumb_expand_imm(0x0AB), (0xAB, None));
        assert_eq!(thumb_expand_imm(0x1AB), (0x00AB_00AB, None));
        assert_eq!(thumb_expand_imm(0x2AB), (0xAB00_AB00, None));
        assert_eq!(thumb_expand_imm(0x3AB), (0xABAB_ABAB, None));
        // 0x4FF: rotate 0xFF right by 9 -> 0x7F80_0000, carry 0.
        assert_eq!(thumb_expand_imm(0x4FF), (0x7F80_0000, Some(false)));
    }

    #[test]
    fn expands_vfp_immediates() {
        // vmov.f32 s0, #1.0 has imm8 0x70; #-2.0 is 0x80; vmov.f64 #0.5 is 0x60.
        assert_eq!(vfp_expand_imm(0x70, false), 1.0f32.to_bits());
        assert_eq!(vfp_expand_imm(0x80, false), (-2.0f32).to_bits());
        assert_eq!(vfp_expand_imm(0x60, true), (0.5f64.to_bits() >> 32) as u32);
    }

    #[test]
    fn decodes_common_encodings() {
        // push {r4, lr}
        let i = decode16(0xB510);
        assert_eq!((i.op, i.imm), (Op::Stm, 0x4010));
        // bl with offset +0x100: f000 f880
        let i = decode32(0xF000_F880);
        assert_eq!((i.op, i.imm), (Op::Bl, 0x100));
        // ldr.w r0, [r1, #4]
        let i = decode32(0xF8D1_0004);
        assert_eq!((i.op, i.rd, i.rn, i.imm), (Op::Ldr, 0, 1, 4));
        // vadd.f32 s0, s1, s2: ee30 0a81
        let i = decode32(0xEE30_0A81);
        assert_eq!(
            (i.op, i.cond, i.rd, i.rn, i.rm),
            (Op::VArith, varith::ADD, 0, 1, 2)
        );
        // udf #0 16-bit and a permanently undefined 32-bit word
        assert_eq!(decode16(0xDE00).op, Op::Undefined);
        assert_eq!(decode32(0xF7F0_A000).op, Op::Undefined);
    }
}
