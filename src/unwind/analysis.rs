//! Frame-pointer rows, from the code itself: for images built with `-fno-omit-frame-pointer`
//! but without `.debug_frame` or EHABI tables, and for the library code linked into them
//! (newlib's libm and libgcc are built without frame pointers).
//!
//! GCC's Thumb-2 frame does not chain: r7 points at the bottom of the frame (`push {.., r7,
//! lr}; [vpush]; [sub sp, #S]; add r7, sp, #A`), not at the saved {r7, lr} pair, and at -O2 the
//! scheduler interleaves these with the body's first instructions. So each function is decoded
//! once, instruction by instruction, following what it does to SP, r7 and the saved registers:
//! every instruction gets a [`Rule`], prologue and epilogues included. The rule is SP-relative
//! where the offset of SP is known statically, and r7-relative where SP moved by an amount the
//! code does not state (`alloca`, variable-length arrays) after r7 was set up; leaving r7 out
//! where SP suffices also keeps a function that uses r7 as an ordinary register from
//! misleading the unwinder.
//!
//! Control flow is followed in one pass: forward branches carry their state to their target,
//! the code after an unconditional branch or return takes the state of a branch to it (or the
//! function body's), literal pools and TBB/TBH tables are skipped instead of decoded. No crate
//! decodes Thumb-2 for stack effects (capstone-style disassemblers give text, not effects), so
//! the few instruction forms that matter are decoded here (ARM DDI 0403, A5).

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Function, Rule, NOT_SAVED, SAVED_LR};

/// Where the function's frame is, as the unwinder sees it before one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frame {
    /// CFA - SP, when known.
    sp: Option<i32>,
    /// CFA - r7, once the function set r7 up from SP after saving the caller's r7.
    fp: Option<i32>,
    /// Offsets from the CFA of r4..r11 and LR (as [`Rule::saved`]).
    saved: [i16; 9],
}

impl Frame {
    const ENTRY: Frame = Frame {
        sp: Some(0),
        fp: None,
        saved: [NOT_SAVED; 9],
    };

    fn rule(&self) -> Option<Rule> {
        let (cfa_register, cfa_offset) = match (self.sp, self.fp) {
            (Some(sp), _) => (13, sp),
            (None, Some(fp)) => (7, fp),
            (None, None) => return None,
        };
        Some(Rule {
            cfa_register,
            cfa_offset,
            saved: self.saved,
        })
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Grow(bytes) => {
                self.sp = self.sp.map(|sp| sp + bytes);
                // Slots SP moved above are free: an exception entry may overwrite them.
                if let Some(sp) = self.sp {
                    for offset in &mut self.saved {
                        if *offset != NOT_SAVED && i32::from(*offset) < -sp {
                            *offset = NOT_SAVED;
                        }
                    }
                }
            }
            Effect::Push(mask, bytes) => {
                self.sp = self.sp.map(|sp| sp + bytes);
                let Some(sp) = self.sp else { return };
                // The lowest register goes to the lowest address, the new SP.
                let mut slot = -sp;
                for reg in 0..16 {
                    if mask & (1 << reg) == 0 {
                        continue;
                    }
                    match (saved_index(reg), i16::try_from(slot)) {
                        // A second save of a register holds this function's value, not the caller's.
                        (Some(i), Ok(offset)) if self.saved[i] == NOT_SAVED => {
                            self.saved[i] = offset
                        }
                        (Some(_), Err(_)) => self.sp = None,
                        _ => {}
                    }
                    slot += 4;
                }
            }
            Effect::Pop(mask) => {
                for reg in 0..16 {
                    if mask & (1 << reg) != 0 {
                        if let Some(i) = saved_index(reg) {
                            self.saved[i] = NOT_SAVED;
                        }
                    }
                }
                if mask & (1 << 7) != 0 {
                    self.fp = None;
                }
                self.sp = self.sp.map(|sp| sp - 4 * mask.count_ones() as i32);
            }
            Effect::SpUnknown => self.sp = None,
            Effect::SpFromFp => self.sp = self.fp,
            Effect::FpFromSp(offset) => {
                let r7_saved = self.saved[7 - 4] != NOT_SAVED;
                self.fp = self.sp.filter(|_| r7_saved).map(|sp| sp - offset);
            }
            Effect::FpAdd(k) => self.fp = self.fp.map(|fp| fp - k),
        }
    }
}

/// The index in [`Rule::saved`] of core register `reg`, if the unwinder tracks it.
fn saved_index(reg: usize) -> Option<usize> {
    match reg {
        4..=11 => Some(reg - 4),
        14 => Some(SAVED_LR),
        _ => None,
    }
}

/// What one instruction does to the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    None,
    /// SP moves down by this many bytes (negative: up).
    Grow(i32),
    /// Registers stored at the new SP upwards, SP moved down by this many bytes (bit n = rn).
    Push(u16, i32),
    /// Registers loaded from SP, SP moved up (bit 15: PC, a return).
    Pop(u16),
    /// SP set to a value the code does not state.
    SpUnknown,
    /// `mov sp, r7`.
    SpFromFp,
    /// `add r7, sp, #offset`.
    FpFromSp(i32),
    /// `adds r7, #k` (negative: `subs`).
    FpAdd(i32),
}

/// Where execution goes after one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Next,
    Call,
    /// A branch, to `target` when the instruction states it; `conditional` ones also fall through.
    Jump {
        target: Option<u32>,
        conditional: bool,
    },
    /// TBB (`half` false) or TBH: a table of branch offsets follows the instruction.
    Table {
        half: bool,
    },
    /// IT: this many instructions follow that are conditional.
    It(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    len: u32,
    effect: Effect,
    flow: Flow,
    /// A PC-relative load's data: (address, bytes), to be skipped when reached.
    literal: Option<(u32, u32)>,
    /// `cmp rN, #imm`: the bound GCC checks before a TBB/TBH, whose table has imm + 1 entries.
    compare: Option<u32>,
}

/// The length of the Thumb instruction whose first halfword is `hw`.
fn length(hw: u16) -> u32 {
    if hw >> 11 >= 0b11101 {
        4
    } else {
        2
    }
}

fn halfword(code: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(code.get(at..at + 2)?.try_into().ok()?))
}

/// ThumbExpandImm (ARM DDI 0403, A5.3.2) of the 12-bit `i:imm3:imm8` field.
fn expand_imm(imm12: u32) -> u32 {
    let imm8 = imm12 & 0xFF;
    if imm12 >> 10 == 0 {
        match (imm12 >> 8) & 3 {
            0 => imm8,
            1 => (imm8 << 16) | imm8,
            2 => (imm8 << 24) | (imm8 << 8),
            _ => imm8 * 0x0101_0101,
        }
    } else {
        (0x80 | (imm12 & 0x7F)).rotate_right(imm12 >> 7)
    }
}

/// Decodes the instruction at `pc` (`code[at..]`) for its stack effect and control flow.
fn decode(code: &[u8], at: usize, pc: u32) -> Option<Insn> {
    let f = halfword(code, at)?;
    let len = length(f);
    let mut insn = Insn {
        len,
        effect: Effect::None,
        flow: Flow::Next,
        literal: None,
        compare: None,
    };
    let jump = |target: Option<u32>, conditional: bool| Flow::Jump {
        target,
        conditional,
    };
    if len == 2 {
        let imm8 = i32::from(f & 0xFF);
        match f {
            0xB400..=0xB5FF => insn.effect = push((f & 0xFF) | ((f & 0x100) << 6)),
            0xBC00..=0xBDFF => {
                insn.effect = Effect::Pop((f & 0xFF) | ((f & 0x100) << 7));
                if f & 0x100 != 0 {
                    insn.flow = jump(None, false);
                }
            }
            0xB000..=0xB07F => insn.effect = Effect::Grow(-4 * i32::from(f & 0x7F)),
            0xB080..=0xB0FF => insn.effect = Effect::Grow(4 * i32::from(f & 0x7F)),
            0xAF00..=0xAFFF => insn.effect = Effect::FpFromSp(4 * imm8),
            0x3700..=0x37FF => insn.effect = Effect::FpAdd(imm8),
            0x3F00..=0x3FFF => insn.effect = Effect::FpAdd(-imm8),
            0x466F => insn.effect = Effect::FpFromSp(0),
            0x46BD => insn.effect = Effect::SpFromFp,
            // MOV or ADD (register) into SP, or into PC (a computed jump).
            _ if f & 0xFD87 == 0x4485 => insn.effect = Effect::SpUnknown,
            _ if f & 0xFD87 == 0x4487 => insn.flow = jump(None, false),
            // BX Rm; BLX Rm.
            _ if f & 0xFF87 == 0x4700 => insn.flow = jump(None, false),
            _ if f & 0xFF87 == 0x4780 => insn.flow = Flow::Call,
            0xD000..=0xDDFF => {
                let offset = i32::from(f as u8 as i8) << 1;
                insn.flow = jump(Some(pc.wrapping_add(4).wrapping_add(offset as u32)), true);
            }
            0xE000..=0xE7FF => {
                let offset = (i32::from(f & 0x7FF) << 21) >> 20;
                insn.flow = jump(Some(pc.wrapping_add(4).wrapping_add(offset as u32)), false);
            }
            // CBZ, CBNZ.
            _ if f & 0xF500 == 0xB100 => {
                let offset = (u32::from(f >> 9) & 1) << 6 | (u32::from(f >> 3) & 0x1F) << 1;
                insn.flow = jump(Some(pc + 4 + offset), true);
            }
            0xBF01..=0xBFFF if f & 0xF != 0 => insn.flow = Flow::It(4 - (f & 0xF).trailing_zeros()),
            0x2800..=0x2FFF => insn.compare = Some(imm8 as u32),
            0x4800..=0x4FFF => insn.literal = Some((((pc + 4) & !3) + 4 * imm8 as u32, 4)),
            _ => {}
        }
        return Some(insn);
    }
    let s = halfword(code, at + 2)?;
    let rd = (s >> 8) & 0xF;
    let rt = s >> 12;
    let imm12 =
        (u32::from(f >> 10) & 1) << 11 | (u32::from(s >> 12) & 7) << 8 | u32::from(s & 0xFF);
    let branch = f & 0xF800 == 0xF000 && s & 0x8000 != 0;
    match f {
        0xE92D => insn.effect = push(s & 0x5FFF),
        0xE8BD => {
            insn.effect = Effect::Pop(s & 0xDFFF);
            if s & 0x8000 != 0 {
                insn.flow = jump(None, false);
            }
        }
        // STR Rt, [SP, #-4]! and LDR Rt, [SP], #4: a push or pop of one register.
        0xF84D if s & 0x0FFF == 0x0D04 => insn.effect = push(1 << rt),
        0xF85D if s & 0x0FFF == 0x0B04 => {
            insn.effect = Effect::Pop(1 << rt);
            if rt == 15 {
                insn.flow = jump(None, false);
            }
        }
        // STRD Rt, Rt2, [SP, #-8]! and LDRD Rt, Rt2, [SP], #8 (newlib's strlen); STRD with a
        // larger pre-decrement keeps the pair at the bottom (libgcc's `strd ip, lr, [sp, #-16]!`).
        0xE96D if rt < rd => {
            insn.effect = Effect::Push((1 << rt) | (1 << rd), 4 * i32::from(s & 0xFF))
        }
        0xE8FD if s & 0xFF == 2 && rt < rd => insn.effect = Effect::Pop((1 << rt) | (1 << rd)),
        0xE96D | 0xE8FD => insn.effect = Effect::SpUnknown,
        // VPUSH, VPOP (imm8 counts words).
        0xED2D if s & 0x0E00 == 0x0A00 => insn.effect = Effect::Grow(4 * i32::from(s & 0xFF)),
        0xECBD if s & 0x0E00 == 0x0A00 => insn.effect = Effect::Grow(-4 * i32::from(s & 0xFF)),
        // TBB, TBH [PC, Rm].
        0xE8DF if s & 0xFFE0 == 0xF000 => {
            insn.flow = Flow::Table {
                half: s & 0x10 != 0,
            }
        }
        // LDR, LDRD, VLDR from a literal pool.
        _ if f & 0xFF7F == 0xF85F => {
            insn.literal = Some((literal(pc, f & 0x80 != 0, u32::from(s & 0xFFF)), 4));
            if rt == 15 {
                insn.flow = jump(None, false);
            }
        }
        _ if f & 0xFF7F == 0xE95F => {
            insn.literal = Some((literal(pc, f & 0x80 != 0, 4 * u32::from(s & 0xFF)), 8))
        }
        _ if f & 0xFF3F == 0xED1F && s & 0x0E00 == 0x0A00 => {
            let bytes = if s & 0x0100 != 0 { 8 } else { 4 };
            insn.literal = Some((literal(pc, f & 0x80 != 0, 4 * u32::from(s & 0xFF)), bytes));
        }
        // SUB/ADD SP, SP, #imm (modified immediate, and the plain 12-bit W forms); ADD r7, SP.
        _ if f & 0xFBEF == 0xF1AD && rd == 13 => {
            insn.effect = Effect::Grow(expand_imm(imm12) as i32)
        }
        _ if f & 0xFBFF == 0xF2AD && rd == 13 => insn.effect = Effect::Grow(imm12 as i32),
        _ if f & 0xFBEF == 0xF10D && rd == 13 => {
            insn.effect = Effect::Grow(-(expand_imm(imm12) as i32))
        }
        _ if f & 0xFBFF == 0xF20D && rd == 13 => insn.effect = Effect::Grow(-(imm12 as i32)),
        _ if f & 0xFBEF == 0xF10D && rd == 7 => {
            insn.effect = Effect::FpFromSp(expand_imm(imm12) as i32)
        }
        _ if f & 0xFBFF == 0xF20D && rd == 7 => insn.effect = Effect::FpFromSp(imm12 as i32),
        // CMP.W Rn, #imm.
        _ if f & 0xFBF0 == 0xF1B0 && s & 0x8F00 == 0x0F00 => insn.compare = Some(expand_imm(imm12)),
        // BL, BLX (immediate).
        _ if branch && s & 0xC000 == 0xC000 => insn.flow = Flow::Call,
        // B.W (T4).
        _ if branch && s & 0xD000 == 0x9000 => {
            let sign = u32::from(f >> 10) & 1;
            let i1 = !(u32::from(s >> 13) ^ sign) & 1;
            let i2 = !(u32::from(s >> 11) ^ sign) & 1;
            let raw = sign << 24
                | i1 << 23
                | i2 << 22
                | u32::from(f & 0x3FF) << 12
                | u32::from(s & 0x7FF) << 1;
            let offset = ((raw << 7) as i32) >> 7;
            insn.flow = jump(Some(pc.wrapping_add(4).wrapping_add(offset as u32)), false);
        }
        // B<c>.W (T3); condition 111x encodes other instructions (MSR, MRS, barriers).
        _ if branch && s & 0xD000 == 0x8000 && (f >> 6) & 0xE != 0xE => {
            let raw = (u32::from(f >> 10) & 1) << 20
                | (u32::from(s >> 11) & 1) << 19
                | (u32::from(s >> 13) & 1) << 18
                | u32::from(f & 0x3F) << 12
                | u32::from(s & 0x7FF) << 1;
            let offset = ((raw << 11) as i32) >> 11;
            insn.flow = jump(Some(pc.wrapping_add(4).wrapping_add(offset as u32)), true);
        }
        // LDR PC, [Rn, ...]: a computed jump.
        _ if (f & 0xFFF0 == 0xF8D0 || f & 0xFFF0 == 0xF850) && rt == 15 => {
            insn.flow = jump(None, false)
        }
        // Any other data-processing instruction writing SP (register or immediate forms).
        _ if (f & 0xFE00 == 0xEA00 || (f & 0xF800 == 0xF000 && s & 0x8000 == 0)) && rd == 13 => {
            insn.effect = Effect::SpUnknown
        }
        _ => {}
    }
    Some(insn)
}

/// A push of the registers in `mask`, one word each.
fn push(mask: u16) -> Effect {
    Effect::Push(mask, 4 * mask.count_ones() as i32)
}

/// The address a PC-relative load reads.
fn literal(pc: u32, add: bool, offset: u32) -> u32 {
    let base = (pc + 4) & !3;
    if add {
        base.wrapping_add(offset)
    } else {
        base.wrapping_sub(offset)
    }
}

pub fn rows<'a>(
    functions: &[Function],
    code_at: impl Fn(u32) -> Option<&'a [u8]>,
    warnings: &mut Vec<String>,
) -> Vec<(u32, u32, Rule)> {
    let mut out = Vec::new();
    let mut lost = 0usize;
    for f in functions {
        let Some(code) = code_at(f.start) else {
            continue;
        };
        let size = (f.end - f.start) as usize;
        if !function_rows(f.start, &code[..size.min(code.len())], &mut out) {
            lost += 1;
        }
    }
    if lost > 0 {
        warnings.push(format!(
            "{lost} functions set SP in ways hotlink cannot follow without a frame pointer; frame-pointer unwinding stops in parts of them"
        ));
    }
    out
}

/// The targets outside the function at `start` of its unconditional branches (`b`, `b.w`):
/// tail calls, which hand the function's caller on to the target. Decoded linearly, literal
/// pools skipped.
pub fn tail_branch_targets(start: u32, code: &[u8]) -> Vec<u32> {
    let end = start + code.len() as u32;
    let mut literals: FxHashSet<u32> = FxHashSet::default();
    let mut targets = Vec::new();
    let mut at = 0usize;
    while at + 2 <= code.len() {
        let pc = start + at as u32;
        if literals.contains(&pc) {
            at += 2;
            continue;
        }
        let Some(insn) = decode(code, at, pc) else {
            break;
        };
        if let Some((address, bytes)) = insn.literal {
            literals.extend((0..bytes).step_by(2).map(|k| address.wrapping_add(k)));
        }
        if let Flow::Jump {
            target: Some(t),
            conditional: false,
        } = insn.flow
        {
            if !(start..end).contains(&t) {
                targets.push(t);
            }
        }
        at += insn.len as usize;
    }
    targets
}

/// Appends the rows of the function at `start`; false when SP was lost somewhere in it.
fn function_rows(start: u32, code: &[u8], out: &mut Vec<(u32, u32, Rule)>) -> bool {
    let end = start + code.len() as u32;
    // States carried by forward branches to their targets.
    let mut pending: FxHashMap<u32, Frame> = FxHashMap::default();
    let mut literals: FxHashSet<u32> = FxHashSet::default();
    // The state falling through into the next instruction (none after a jump or return).
    let mut next = Some(Frame::ENTRY);
    // The state at the first call or branch: where the prologue is done.
    let mut body: Option<Frame> = None;
    let mut conditional_left = 0u32;
    let mut compared: Option<u32> = None;
    let mut complete = true;
    let mut at = 0usize;
    while at + 2 <= code.len() {
        let pc = start + at as u32;
        if literals.contains(&pc) {
            at += 2;
            next = None;
            continue;
        }
        let Some(insn) = decode(code, at, pc) else {
            break;
        };
        let in_it = conditional_left > 0;
        conditional_left = conditional_left.saturating_sub(1);
        let here = next.or_else(|| pending.get(&pc).copied()).or(body);
        at += insn.len as usize;
        let Some(mut frame) = here else {
            continue;
        };
        match frame.rule() {
            Some(rule) => out.push((pc, pc + insn.len, rule)),
            None => complete = false,
        }
        if insn.compare.is_some() {
            compared = insn.compare;
        }
        if let Some((address, bytes)) = insn.literal {
            literals.extend((0..bytes).step_by(2).map(|k| address.wrapping_add(k)));
        }
        if body.is_none() && insn.flow != Flow::Next && !matches!(insn.flow, Flow::It(_)) {
            body = Some(frame);
        }
        let before = frame;
        frame.apply(insn.effect);
        next = Some(frame);
        match insn.flow {
            Flow::Next | Flow::Call => {}
            Flow::It(n) => conditional_left = n,
            Flow::Jump {
                target,
                conditional,
            } => {
                if let Some(t) = target.filter(|&t| t > pc && t < end) {
                    pending.entry(t).or_insert(frame);
                }
                // A conditional return that is not taken leaves the frame as it was.
                next = (conditional || in_it).then_some(before);
            }
            Flow::Table { half } => {
                let size = if half { 2 } else { 1 };
                let table = at;
                // As many entries as the bound checked before (then the code resumes), or up to
                // the first target when no bound was seen.
                let entries = compared.map_or(256, |n| n as usize + 1).min(256);
                let mut first_target = end;
                let mut k = 0;
                while k < entries && start + ((table + k * size) as u32) < first_target {
                    let entry = match half {
                        true => halfword(code, table + 2 * k).map(u32::from),
                        false => code.get(table + k).map(|&b| u32::from(b)),
                    };
                    let Some(entry) = entry else { break };
                    let target = start + table as u32 + 2 * entry;
                    if target > start + table as u32 && target < end {
                        first_target = first_target.min(target);
                        pending.entry(target).or_insert(frame);
                    }
                    k += 1;
                }
                at = (table + k * size + 1) & !1;
                next = None;
            }
        }
    }
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(halfwords: &[u16]) -> Vec<u8> {
        halfwords.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    fn rule_at(rows: &[(u32, u32, Rule)], pc: u32) -> Option<Rule> {
        rows.iter()
            .find(|(s, e, _)| (*s..*e).contains(&pc))
            .map(|r| r.2)
    }

    /// GCC 12 -O2 -fno-omit-frame-pointer: a leaf that saves r7 only, and whose epilogue
    /// restores SP from r7 before `bx lr`.
    #[test]
    fn follows_a_leaf_frame_through_its_epilogue() {
        let f = code(&[
            0xB480, // push {r7}
            0xB083, // sub sp, #12
            0x4603, // mov r3, r0
            0xAF00, // add r7, sp, #0
            0xBEAB, // bkpt 0xab
            0x370C, // adds r7, #12
            0x46BD, // mov sp, r7
            0xF85D, 0x7B04, // ldr.w r7, [sp], #4
            0x4770, // bx lr
        ]);
        let mut rows = vec![];
        assert!(function_rows(0x1000, &f, &mut rows));
        let at = |pc| rule_at(&rows, pc).unwrap();
        assert_eq!(at(0x1000), Rule::ENTRY);
        assert_eq!(at(0x1002).cfa_offset, 4);
        assert_eq!(at(0x1002).saved[3], -4, "r7 saved just below the CFA");
        assert_eq!(at(0x1008).cfa_offset, 16);
        assert_eq!(at(0x100C).cfa_offset, 16, "mov sp, r7 keeps the CFA");
        assert_eq!(at(0x100E).cfa_offset, 4);
        assert_eq!(at(0x1012), Rule::ENTRY, "r7 restored, return address in LR");
    }

    /// An early return in the middle (`pop {r4, pc}`) and a forward branch past it: the code
    /// after the return takes the branch's state, not the popped one.
    #[test]
    fn code_after_a_return_takes_the_state_of_the_branch_to_it() {
        let f = code(&[
            0xB510, // push {r4, lr}
            0xB082, // sub sp, #8
            0xB108, // cbz r0, +2 → 0x100A
            0xB002, // add sp, #8
            0xBD10, // pop {r4, pc}
            0xF7FF, 0xFFF8, // bl (somewhere)
            0xE7FA, // b → 0x1004
        ]);
        let mut rows = vec![];
        function_rows(0x1000, &f, &mut rows);
        let at = |pc| rule_at(&rows, pc).unwrap();
        assert_eq!(at(0x1008).cfa_offset, 8);
        assert_eq!(at(0x100A).cfa_offset, 16);
        assert_eq!(at(0x100A).saved[SAVED_LR], -4);
        assert_eq!(at(0x100A).saved[0], -8);
    }

    /// A conditional return inside an IT block leaves the fall-through frame alone, and a
    /// literal pool after the function's last return gets no rows.
    #[test]
    fn conditional_returns_and_literal_pools() {
        let f = code(&[
            0xB508, // push {r3, lr}
            0x4802, // ldr r0, [pc, #8] → 0x100C
            0x2800, // cmp r0, #0
            0xBF08, // it eq
            0xBD08, // popeq {r3, pc}
            0xBD08, // pop {r3, pc}
            0xF85D, 0x7B04, // literal word that would decode as a pop of r7
        ]);
        let mut rows = vec![];
        function_rows(0x1000, &f, &mut rows);
        assert_eq!(rule_at(&rows, 0x100A).unwrap().cfa_offset, 8);
        assert!(rule_at(&rows, 0x100C).is_none());
    }

    /// libgcc's `__aeabi_uldivmod`: the pair stored at the bottom of a 16-byte pre-decrement,
    /// LR reloaded, and the slot forgotten once SP moved above it (an exception entry at the
    /// `bx lr` would overwrite it).
    #[test]
    fn a_strd_with_a_larger_pre_decrement_and_its_release() {
        let f = code(&[
            0xF1AD, 0x0C08, // sub.w ip, sp, #8
            0xE96D, 0xCE04, // strd ip, lr, [sp, #-16]!
            0xF000, 0xF806, // bl
            0xF8DD, 0xE004, // ldr.w lr, [sp, #4]
            0xB004, // add sp, #16
            0x4770, // bx lr
        ]);
        let mut rows = vec![];
        assert!(function_rows(0x1000, &f, &mut rows));
        let at = |pc| rule_at(&rows, pc).unwrap();
        assert_eq!(at(0x1008).cfa_offset, 16);
        assert_eq!(at(0x1008).saved[SAVED_LR], -12);
        assert_eq!(at(0x1012), Rule::ENTRY);
    }

    /// newlib-exit's reset handler: a copy loop (a backward conditional branch, a literal
    /// load) and a tail branch to crt0's `_start`, the only target outside it.
    #[test]
    fn tail_branches_leave_the_function() {
        let f = code(&[
            0x4A02, // ldr r2, [pc, #8] → 0x100C
            0x3801, // subs r0, #1
            0xD1FC, // bne → 0x1000
            0xF7FF, 0xBFF9, // b.w → 0x0FFC
            0xE7FA, // b → 0x1002
            0xF7FF, 0xBFF0, // the literal: would decode as a b.w out, to 0x0FF0
        ]);
        assert_eq!(tail_branch_targets(0x1000, &f), [0x0FFC]);
    }

    #[test]
    fn wide_sp_arithmetic_and_branch_offsets_decode() {
        // sub.w sp, sp, #588 (modified immediate)
        let i = decode(&code(&[0xF5AD, 0x7D13]), 0, 0).unwrap();
        assert_eq!(i.effect, Effect::Grow(588));
        // b.w 0x600038d0 from 0x600039a2
        let i = decode(&code(&[0xF7FF, 0xBF95]), 0, 0x6000_39A2).unwrap();
        assert_eq!(
            i.flow,
            Flow::Jump {
                target: Some(0x6000_38D0),
                conditional: false
            }
        );
        // bl is a call; vpush {d8-d9} grows by 16
        assert_eq!(
            decode(&code(&[0xF000, 0xF8CF]), 0, 0).unwrap().flow,
            Flow::Call
        );
        assert_eq!(
            decode(&code(&[0xED2D, 0x8B04]), 0, 0).unwrap().effect,
            Effect::Grow(16)
        );
    }
}
