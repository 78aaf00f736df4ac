//! Frame-pointer rows, for images without `.debug_frame` or EHABI tables but built with
//! `-fno-omit-frame-pointer`: GCC's Thumb-2 frame is `push {.., r7, lr}; [vpush]; [sub sp, #S];
//! add r7, sp, #A` (r7 points at the bottom of the frame, not at the saved pair, so a plain
//! chain walk is not possible). Decoding each function's prologue once gives the offset from r7
//! to the CFA; the epilogue's `adds r7, #k; mov sp, r7; pop {.., pc}` gets rows of its own.
//! Functions that do not set up r7 get no rows.

use super::{Function, Rule, NOT_SAVED, SAVED_LR};

/// The length of the Thumb instruction whose first halfword is `hw`.
fn length(hw: u16) -> u32 {
    if hw >> 11 >= 0b11101 {
        4
    } else {
        2
    }
}

/// The halfwords of the instruction at `code[at..]`.
fn insn(code: &[u8], at: usize) -> Option<(u16, u16)> {
    let h = |i: usize| Some(u16::from_le_bytes(code.get(i..i + 2)?.try_into().ok()?));
    let first = h(at)?;
    Some((first, if length(first) == 4 { h(at + 2)? } else { 0 }))
}

/// A push: the register mask (bit 14 = LR), or `None` for another instruction.
fn push_mask(first: u16, second: u16) -> Option<u16> {
    match first {
        0xB400..=0xB5FF => Some((first & 0xFF) | ((first & 0x100) << 6)),
        0xE92D => Some(second & 0x5FFF),
        _ => None,
    }
}

pub fn rows<'a>(
    functions: &[Function],
    code_at: impl Fn(u32) -> Option<&'a [u8]>,
    warnings: &mut Vec<String>,
) -> Vec<(u32, u32, Rule)> {
    let mut out = Vec::new();
    let mut without = 0usize;
    for f in functions {
        let Some(code) = code_at(f.start) else {
            continue;
        };
        let size = (f.end - f.start) as usize;
        let code = &code[..size.min(code.len())];
        match function_rows(f.start, code) {
            Some(rows) => out.extend(rows),
            None => without += 1,
        }
    }
    if without > 0 && !out.is_empty() {
        warnings.push(format!(
            "{without} functions do not set up the r7 frame pointer; frame-pointer unwinding stops there"
        ));
    }
    out
}

/// The rows of one function whose prologue sets up r7, or `None`.
fn function_rows(start: u32, code: &[u8]) -> Option<Vec<(u32, u32, Rule)>> {
    let end = start + code.len() as u32;
    let mut rows = vec![];
    let (first, second) = insn(code, 0)?;
    let mask = push_mask(first, second)?;
    if mask & (1 << 7) == 0 || mask & (1 << 14) == 0 {
        return None;
    }
    let pushed = 4 * mask.count_ones() as i32;
    let mut sp_based = Rule {
        cfa_register: 13,
        cfa_offset: pushed,
        saved: [NOT_SAVED; 9],
    };
    let mut slot = -pushed;
    for reg in 0..15 {
        if mask & (1 << reg) != 0 {
            match reg {
                4..=11 => sp_based.saved[reg - 4] = slot as i16,
                14 => sp_based.saved[SAVED_LR] = slot as i16,
                _ => {}
            }
            slot += 4;
        }
    }
    let mut at = length(first);
    rows.push((start, start + at, Rule::ENTRY));
    // Then a vpush, a sub sp, and the frame pointer set-up, each optional but in that order.
    let fp_offset = loop {
        let (first, second) = insn(code, at as usize)?;
        let grows = match (first, second) {
            (0xED2D, s) if s & 0xFF00 == 0x8B00 => 4 * i32::from(s & 0xFF),
            (f, _) if f & 0xFF80 == 0xB080 => 4 * i32::from(f & 0x7F),
            (f, s) if f & 0xFBFF == 0xF2AD && s & 0x8F00 == 0x0D00 => {
                i32::from(((f & 0x400) << 1) | ((s & 0x7000) >> 4) | (s & 0xFF))
            }
            (f, _) if f & 0xFF00 == 0xAF00 => break 4 * i32::from(f & 0xFF),
            (0x466F, _) => break 0,
            _ => return None,
        };
        let next = at + length(first);
        rows.push((start + at, start + next, sp_based));
        sp_based.cfa_offset += grows;
        at = next;
    };
    let next = at + length(insn(code, at as usize)?.0);
    rows.push((start + at, start + next, sp_based));
    let body = Rule {
        cfa_register: 7,
        cfa_offset: sp_based.cfa_offset - fp_offset,
        ..sp_based
    };
    // The body, one row per instruction (adjacent equal rows merge later): the epilogue's
    // `adds r7, #k` and `mov sp, r7` change the rule until its `pop {.., pc}`.
    let mut state = body;
    let mut at = next;
    while let Some((first, second)) = insn(code, at as usize) {
        let next = at + length(first);
        rows.push((start + at, start + next, state));
        state = match first {
            f if f & 0xFF00 == 0x3700 && state.cfa_register == 7 => Rule {
                cfa_offset: state.cfa_offset - i32::from(f & 0xFF),
                ..state
            },
            0x46BD if state.cfa_register == 7 => Rule {
                cfa_register: 13,
                ..state
            },
            f if f & 0xFF00 == 0xBD00 || (f == 0xE8BD && second & 0x8000 != 0) => body,
            _ => state,
        };
        at = next;
    }
    rows.push((start + at, end, body));
    Some(rows)
}
