//! `.ARM.exidx`/`.ARM.extab` → rows (ARM IHI 0038, "Exception Handling ABI for the Arm
//! Architecture"). Each index entry gives a function's unwind opcodes; replaying them once,
//! symbolically from `vsp = SP`, yields the function body's [`Rule`].
//!
//! EHABI tables describe the state at call sites, not at every instruction: the prologue and
//! epilogue are not covered. The function's first instruction gets the entry rule (return
//! address still in LR); samples in the rest of a prologue or epilogue may unwind wrongly, which
//! the exact-stack comparison on the virtual board measures.

use super::{Function, Rule, NOT_SAVED, SAVED_LR};

/// EXIDX_CANTUNWIND: the function cannot be unwound (e.g. it never returns).
const CANT_UNWIND: u32 = 1;

/// Sign-extends a 31-bit place-relative offset.
fn prel31(word: u32, place: u32) -> u32 {
    place.wrapping_add((((word << 1) as i32) >> 1) as u32)
}

pub fn rows(
    address: u32,
    exidx: &[u8],
    extab: Option<(u32, &[u8])>,
    functions: &[Function],
    warnings: &mut Vec<String>,
) -> Vec<(u32, u32, Rule)> {
    let word = |data: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let mut entries: Vec<(u32, Option<Vec<u8>>)> = Vec::new();
    let mut bad = 0usize;
    for k in 0..exidx.len() / 8 {
        let place = address + 8 * k as u32;
        let (Some(first), Some(second)) = (word(exidx, 8 * k), word(exidx, 8 * k + 4)) else {
            break;
        };
        let start = prel31(first, place) & !1;
        let opcodes = if second == CANT_UNWIND {
            None
        } else if second & 0x8000_0000 != 0 {
            compact(second, &[])
        } else {
            let at = prel31(second, place + 4);
            extab
                .and_then(|(base, data)| {
                    let offset = at.checked_sub(base)? as usize;
                    let first = word(data, offset)?;
                    let rest: Vec<u32> = (1..=255)
                        .map_while(|i| word(data, offset + 4 * i))
                        .collect();
                    if first & 0x8000_0000 != 0 {
                        compact(first, &rest)
                    } else {
                        // A generic personality routine (C++): GCC lays the opcodes out after it
                        // in the personality-1 format.
                        let (&next, more) = rest.split_first()?;
                        compact(0x8100_0000 | (next & 0x00FF_FFFF), more)
                    }
                })
                .or_else(|| {
                    bad += 1;
                    None
                })
        };
        entries.push((start, opcodes));
    }
    if bad > 0 {
        warnings.push(format!(
            ".ARM.exidx: {bad} entries point outside .ARM.extab or use an unknown format; not unwound there"
        ));
    }
    entries.sort_by_key(|e| e.0);
    let mut out = Vec::new();
    let mut unsupported = 0usize;
    for (k, (start, opcodes)) in entries.iter().enumerate() {
        // An entry covers up to the next one, or to its function's end when that is sooner.
        let next = entries.get(k + 1).map_or(u32::MAX, |e| e.0);
        let end = functions
            .iter()
            .find(|f| f.start == *start)
            .map_or(next, |f| f.end.min(next));
        let Some(opcodes) = opcodes else { continue };
        let Some(rule) = replay(opcodes) else {
            unsupported += 1;
            continue;
        };
        let body = if rule == Rule::ENTRY {
            *start
        } else {
            start + 2
        };
        out.push((*start, body, Rule::ENTRY));
        out.push((body, end, rule));
    }
    if unsupported > 0 {
        warnings.push(format!(
            ".ARM.exidx: {unsupported} functions use opcodes hotlink does not replay (a pop of SP, iWMMXt, refuse-to-unwind); not unwound there"
        ));
    }
    out
}

/// The opcode bytes of a compact-model entry: personality 0 holds three in `first`;
/// personalities 1 and 2 hold two there, then `first[23:16]` more words of four.
fn compact(first: u32, rest: &[u32]) -> Option<Vec<u8>> {
    let bytes = first.to_be_bytes();
    match (first >> 24) & 0x0F {
        0 => Some(bytes[1..].to_vec()),
        1 | 2 => {
            let more = usize::from(bytes[1]);
            let mut out = bytes[2..].to_vec();
            for w in rest.get(..more)? {
                out.extend_from_slice(&w.to_be_bytes());
            }
            Some(out)
        }
        _ => None,
    }
}

/// Replays unwind opcodes symbolically: vsp is `base + offset`; popped registers are recorded
/// at their offsets. Returns the rule of the function body.
fn replay(opcodes: &[u8]) -> Option<Rule> {
    let mut base = 13u8;
    let mut vsp = 0i32;
    // Offsets from the initial base of r4..r11, LR; and whether PC was popped (then it is the
    // return address, which lands in the LR slot).
    let mut at = [None::<i32>; 9];
    let pop = |reg: u32, vsp: &mut i32, at: &mut [Option<i32>; 9]| {
        match reg {
            4..=11 => at[reg as usize - 4] = Some(*vsp),
            14 | 15 => at[SAVED_LR] = Some(*vsp),
            _ => {}
        }
        *vsp += 4;
    };
    let mut i = 0;
    while i < opcodes.len() {
        let op = opcodes[i];
        i += 1;
        match op {
            0x00..=0x3F => vsp += (i32::from(op & 0x3F) << 2) + 4,
            0x40..=0x7F => vsp -= (i32::from(op & 0x3F) << 2) + 4,
            0x80..=0x8F => {
                let mask = (u32::from(op & 0x0F) << 8) | u32::from(*opcodes.get(i)?);
                i += 1;
                if mask == 0 || mask & (1 << 9) != 0 {
                    return None; // refuse to unwind, or a pop of SP
                }
                for bit in 0..12 {
                    if mask & (1 << bit) != 0 {
                        pop(4 + bit, &mut vsp, &mut at);
                    }
                }
            }
            0x90..=0x9F => {
                let reg = op & 0x0F;
                if reg == 13 || reg == 15 {
                    return None;
                }
                // vsp = r[reg]: later offsets are from that register (a frame pointer).
                if base != 13 || at.iter().any(Option::is_some) {
                    return None;
                }
                base = reg;
                vsp = 0;
            }
            0xA0..=0xAF => {
                for reg in 4..=4 + u32::from(op & 7) {
                    pop(reg, &mut vsp, &mut at);
                }
                if op & 8 != 0 {
                    pop(14, &mut vsp, &mut at);
                }
            }
            0xB0 => break,
            0xB1 => {
                let mask = *opcodes.get(i)?;
                i += 1;
                if mask == 0 || mask & 0xF0 != 0 {
                    return None;
                }
                vsp += 4 * mask.count_ones() as i32;
            }
            0xB2 => {
                let mut value = 0u32;
                let mut shift = 0;
                loop {
                    let b = *opcodes.get(i)?;
                    i += 1;
                    value |= u32::from(b & 0x7F).checked_shl(shift)?;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                vsp += 0x204 + (value << 2) as i32;
            }
            // FSTMFDX pops: 8 bytes per D register plus a pad word.
            0xB3 => {
                let b = *opcodes.get(i)?;
                i += 1;
                vsp += 8 * (i32::from(b & 0x0F) + 1) + 4;
            }
            0xB8..=0xBF => vsp += 8 * (i32::from(op & 7) + 1) + 4,
            // VPUSH pops: 8 bytes per D register.
            0xC8 | 0xC9 => {
                let b = *opcodes.get(i)?;
                i += 1;
                vsp += 8 * (i32::from(b & 0x0F) + 1);
            }
            0xD0..=0xD7 => vsp += 8 * (i32::from(op & 7) + 1),
            _ => return None,
        }
    }
    let mut rule = Rule {
        cfa_register: base,
        cfa_offset: vsp,
        saved: [NOT_SAVED; 9],
    };
    for (slot, offset) in rule.saved.iter_mut().zip(at) {
        if let Some(offset) = offset {
            *slot = i16::try_from(offset - vsp).ok()?;
        }
    }
    Some(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_locals_then_a_masked_pop() {
        // vsp += 8 (locals); pop {r4, r5, r7} under mask 0x00B.
        let rule = replay(&[0x01, 0x80, 0x0B, 0xB0]).unwrap();
        assert_eq!(rule.cfa_register, 13);
        assert_eq!(rule.cfa_offset, 20);
        assert_eq!(rule.saved[0], -12);
        assert_eq!(rule.saved[SAVED_LR], NOT_SAVED);
    }

    #[test]
    fn replays_pop_r4_r14_and_vpush() {
        // pop {r4-r6, r14}; pop d8-d9 (VPUSH).
        let rule = replay(&[0xAA, 0xD1, 0xB0]).unwrap();
        assert_eq!(rule.cfa_offset, 16 + 16);
        assert_eq!(rule.saved[SAVED_LR], -16 - 4);
        assert_eq!(rule.saved[0], -16 - 16);
    }

    #[test]
    fn refuses_refuse_to_unwind_and_truncated_opcodes() {
        assert!(replay(&[0x80, 0x00]).is_none());
        assert!(replay(&[0x80]).is_none());
        assert!(replay(&[0xB2, 0x80]).is_none());
    }

    #[test]
    fn compact_models_unpack_their_opcodes() {
        assert_eq!(compact(0x80B108A9, &[]).unwrap(), vec![0xB1, 0x08, 0xA9]);
        assert_eq!(
            compact(0x8101A9B0, &[0x0102_0304]).unwrap(),
            vec![0xA9, 0xB0, 1, 2, 3, 4]
        );
        assert!(compact(0x8102A9B0, &[0]).is_none());
    }
}
