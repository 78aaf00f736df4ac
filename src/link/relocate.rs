//! Relocation: builds each output section's bytes and applies ARM/Thumb-2 relocations.
//!
//! Written by hand because the `object` crate reads relocations but does not apply them, and for
//! Thumb branches it gives neither size nor addend: the addends are implicit (REL) and live in the
//! instruction fields, so each type has a decoder and an encoder ([`super::arm`]). Encodings are from the
//! ARMv7-M Architecture Reference Manual; the relocation formulas from the ARM ELF ABI (AAELF).

use object::elf;

use super::arm::*;
use super::layout::{target, Layout, OutSection, Piece, Target};
use super::load::SymSection;
use super::resolve::Resolved;

#[derive(Debug, thiserror::Error)]
pub enum RelocError {
    #[error("{0}")]
    Undefined(String),
    #[error("{origin}: section `{section}` offset {offset:#x}: {msg}")]
    Bad {
        origin: String,
        section: String,
        offset: u32,
        msg: String,
    },
}

fn read16(d: &[u8], at: usize) -> u32 {
    u32::from(u16::from_le_bytes([d[at], d[at + 1]]))
}

fn write16(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 2].copy_from_slice(&(v as u16).to_le_bytes());
}

fn read32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn write32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Applies one relocation to `data` at `at`. `place` is the run address of the relocated field,
/// `veneer` the address of a veneer to use if a branch does not reach.
pub fn apply(
    r_type: u32,
    data: &mut [u8],
    at: usize,
    place: u64,
    t: Target,
    veneer: Option<u64>,
) -> Result<(), String> {
    let need = match r_type {
        R_ARM_ABS8 => 1,
        R_ARM_ABS16 | R_ARM_THM_JUMP11 | R_ARM_THM_JUMP8 | R_ARM_THM_PC8 => 2,
        R_ARM_NONE | R_ARM_V4BX => 0,
        _ => 4,
    };
    if at + need > data.len() {
        return Err(format!(
            "relocation field ({need} bytes) runs past the end of the section"
        ));
    }
    let s = t.value;
    let p = place;
    match r_type {
        R_ARM_NONE | R_ARM_V4BX => {}
        R_ARM_ABS32 | R_ARM_TARGET1 => {
            let a = read32(data, at);
            write32(data, at, (s as u32).wrapping_add(a));
        }
        R_ARM_REL32 => {
            let a = read32(data, at);
            write32(data, at, (s as u32).wrapping_add(a).wrapping_sub(p as u32));
        }
        R_ARM_PREL31 => {
            let word = read32(data, at);
            let a = sign_extend(word & 0x7fff_ffff, 31);
            let v = s as i64 + a - p as i64;
            if !(-(1 << 30)..(1 << 30)).contains(&v) {
                return Err(format!(
                    "offset {v:#x} to {s:#x} does not fit in 31 bits (±1 GB)"
                ));
            }
            write32(data, at, (word & 0x8000_0000) | (v as u32 & 0x7fff_ffff));
        }
        R_ARM_ABS16 => {
            let a = read16(data, at);
            let v = (s as i64) + i64::from(a as i16);
            if !(-0x8000..=0xffff).contains(&v) {
                return Err(format!("R_ARM_ABS16 value {v:#x} does not fit in 16 bits"));
            }
            write16(data, at, v as u32);
        }
        R_ARM_ABS8 => {
            let v = (s as i64) + i64::from(data[at] as i8);
            if !(-0x80..=0xff).contains(&v) {
                return Err(format!("R_ARM_ABS8 value {v:#x} does not fit in 8 bits"));
            }
            data[at] = v as u8;
        }
        R_ARM_THM_PC22 | R_ARM_THM_JUMP24 => {
            let hw1 = read16(data, at);
            let hw2 = read16(data, at + 2);
            if t.undefined_weak {
                // A call to an undefined weak function becomes a NOP, as in GNU ld.
                write16(data, at, 0xf3af);
                write16(data, at + 2, 0x8000);
                return Ok(());
            }
            if t.arm_function {
                return Err(
                    "branch to ARM-state code: Cortex-M executes Thumb only (is the target built with -mthumb?)"
                        .into(),
                );
            }
            let addend = decode_thumb_branch24(hw1, hw2);
            let mut dest = s & !1;
            let mut offset = dest as i64 + addend - p as i64;
            if !(-(1 << 24)..(1 << 24)).contains(&offset) {
                let Some(v) = veneer else {
                    return Err(format!(
                        "branch to {dest:#x} out of range (offset {offset:#x}) and no veneer was made"
                    ));
                };
                dest = v;
                offset = dest as i64 + addend - p as i64;
            }
            // BL is always Thumb→Thumb on M-profile: keep bit 12 (BL vs BLX) as BL.
            let hw2 = if r_type == R_ARM_THM_PC22 {
                hw2 | 0x1000
            } else {
                hw2
            };
            let (a, b) = encode_thumb_branch24(hw1, hw2, offset)
                .ok_or_else(|| format!("branch offset {offset:#x} out of range"))?;
            write16(data, at, a);
            write16(data, at + 2, b);
        }
        R_ARM_THM_JUMP19 => {
            let hw1 = read16(data, at);
            let hw2 = read16(data, at + 2);
            let offset = (s & !1) as i64 + decode_thumb_branch19(hw1, hw2) - p as i64;
            let (a, b) = encode_thumb_branch19(hw1, hw2, offset).ok_or_else(|| {
                format!("conditional branch offset {offset:#x} out of range (±1 MB)")
            })?;
            write16(data, at, a);
            write16(data, at + 2, b);
        }
        R_ARM_THM_JUMP11 => {
            let insn = read16(data, at);
            let offset = (s & !1) as i64 + sign_extend((insn & 0x7ff) << 1, 12) - p as i64;
            if !(-2048..2048).contains(&offset) {
                return Err(format!(
                    "short branch offset {offset:#x} out of range (±2 KB)"
                ));
            }
            write16(data, at, (insn & 0xf800) | ((offset as u32 >> 1) & 0x7ff));
        }
        R_ARM_THM_JUMP8 => {
            let insn = read16(data, at);
            let offset = (s & !1) as i64 + sign_extend((insn & 0xff) << 1, 9) - p as i64;
            if !(-256..256).contains(&offset) {
                return Err(format!(
                    "conditional branch offset {offset:#x} out of range (±256 B)"
                ));
            }
            write16(data, at, (insn & 0xff00) | ((offset as u32 >> 1) & 0xff));
        }
        R_ARM_THM_MOVW_ABS_NC
        | R_ARM_THM_MOVT_ABS
        | R_ARM_THM_MOVW_PREL_NC
        | R_ARM_THM_MOVT_PREL => {
            let hw1 = read16(data, at);
            let hw2 = read16(data, at + 2);
            let a = i64::from(decode_thumb_mov_imm(hw1, hw2) as u16 as i16);
            let mut v = s as i64 + a;
            if matches!(r_type, R_ARM_THM_MOVW_PREL_NC | R_ARM_THM_MOVT_PREL) {
                v -= p as i64;
            }
            let v = v as u32;
            let imm = if matches!(r_type, R_ARM_THM_MOVT_ABS | R_ARM_THM_MOVT_PREL) {
                v >> 16
            } else {
                v & 0xffff
            };
            let (a, b) = encode_thumb_mov_imm(hw1, hw2, imm);
            write16(data, at, a);
            write16(data, at + 2, b);
        }
        R_ARM_THM_PC8 => {
            // Not emitted by GNU tools; handled as binutils does for IAR objects.
            let insn = read16(data, at);
            let a = i64::from((((insn & 0xff) << 2) + 4) & 0x3ff) - 4;
            let v = (s as i64 + a - (p & !3) as i64) as u32 & 0x3fc;
            write16(data, at, (insn & 0xff00) | (v >> 2));
        }
        R_ARM_THM_PC12 => {
            let hw1 = read16(data, at);
            let hw2 = read16(data, at + 2);
            let imm = i64::from(hw2 & 0xfff);
            let a = if hw1 & 0x80 != 0 { imm } else { -imm };
            let v = s as i64 + a - (p & !3) as i64;
            if v.abs() > 0xfff {
                return Err(format!(
                    "PC-relative load offset {v:#x} out of range (±4 KB)"
                ));
            }
            let hw1 = if v >= 0 { hw1 | 0x80 } else { hw1 & !0x80 };
            write16(data, at, hw1);
            write16(
                data,
                at + 2,
                (hw2 & 0xf000) | (v.unsigned_abs() as u32 & 0xfff),
            );
        }
        R_ARM_THM_ALU_PREL_11_0 => {
            let hw1 = read16(data, at);
            let hw2 = read16(data, at + 2);
            let imm = ((hw1 >> 10) & 1) << 11 | ((hw2 >> 12) & 7) << 8 | (hw2 & 0xff);
            // ADDW (0xF20F) adds, SUBW (0xF2AF) subtracts.
            let a = if hw1 & 0x00a0 == 0x00a0 {
                -i64::from(imm)
            } else {
                i64::from(imm)
            };
            let v = s as i64 + a - (p & !3) as i64;
            if v.abs() > 0xfff {
                return Err(format!("ADR offset {v:#x} out of range (±4 KB)"));
            }
            let m = v.unsigned_abs() as u32;
            let hw1 = (if v < 0 {
                (hw1 & !0x0a0) | 0x0a0
            } else {
                hw1 & !0x0a0
            } & 0xfbff)
                | (((m >> 11) & 1) << 10);
            let hw2 = (hw2 & 0x8f00) | (((m >> 8) & 7) << 12) | (m & 0xff);
            write16(data, at, hw1);
            write16(data, at + 2, hw2);
        }
        other => return Err(format!("unsupported relocation type {other}")),
    }
    Ok(())
}

/// The bytes of a long-branch veneer (`ldr.w pc, [pc, #-0]` + literal) to Thumb address `dest`.
pub fn veneer_bytes(dest: u64) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0..4].copy_from_slice(&[0x5f, 0xf8, 0x00, 0xf0]);
    b[4..8].copy_from_slice(&((dest as u32) | 1).to_le_bytes());
    b
}

/// The addend a REL relocation of type `r_type` keeps in the field at `at`, for the types a
/// reference into a merged string section uses (as GNU ld reads it for that purpose).
fn implicit_addend(r_type: u32, data: &[u8], at: usize) -> Option<i64> {
    let fits = |n: usize| at + n <= data.len();
    match r_type {
        R_ARM_ABS32 | R_ARM_TARGET1 | R_ARM_REL32 if fits(4) => {
            Some(i64::from(read32(data, at) as i32))
        }
        R_ARM_PREL31 if fits(4) => Some(sign_extend(read32(data, at) & 0x7fff_ffff, 31)),
        R_ARM_ABS16 if fits(2) => Some(i64::from(read16(data, at) as u16 as i16)),
        R_ARM_ABS8 if fits(1) => Some(i64::from(data[at] as i8)),
        R_ARM_THM_MOVW_ABS_NC
        | R_ARM_THM_MOVT_ABS
        | R_ARM_THM_MOVW_PREL_NC
        | R_ARM_THM_MOVT_PREL
            if fits(4) =>
        {
            let imm = decode_thumb_mov_imm(read16(data, at), read16(data, at + 2));
            Some(i64::from(imm as u16 as i16))
        }
        _ => None,
    }
}

/// A relocation against the section symbol of a merged string section (a `.LC0` literal)
/// points at symbol + addend, which merging moved: the target becomes that string's new
/// address less the addend, so that applying the relocation as usual lands on it (GNU ld
/// rebases the addend the same way). Other targets are returned unchanged.
fn merged_section_target(
    layout: &Layout,
    r: &Resolved,
    obj: usize,
    rel: &super::load::Reloc,
    data: &[u8],
    t: Target,
) -> Target {
    let s = &r.objects[obj].symbols[rel.sym as usize];
    let SymSection::Section(sec) = s.section else {
        return t;
    };
    if s.st_type != elf::STT_SECTION.0 || layout.merges.size((obj, sec)).is_none() {
        return t;
    }
    let addend = implicit_addend(rel.r_type, data, rel.offset as usize).unwrap_or(0);
    let at = (i64::from(s.value) + addend).max(0) as u64;
    match layout.input_location(r, obj, sec, at) {
        Some((out, off)) => Target {
            value: (layout.sections[out].vma + off).wrapping_sub(addend as u64),
            ..t
        },
        None => t,
    }
}

/// At most this many undefined references are reported.
const MAX_UNDEFINED: usize = 20;

/// One output section's bytes and the undefined references met in it, or a bad relocation.
type Built = Result<(Vec<u8>, Vec<String>), RelocError>;

/// Builds the contents of every output section (empty for NOBITS) with relocations applied.
/// The sections are built on two threads (the first ones in section order and the rest, split
/// at half the bytes); results are taken in section order, so errors read as if built in turn.
pub fn build(layout: &Layout, r: &Resolved) -> Result<Vec<Vec<u8>>, RelocError> {
    let sections = &layout.sections;
    let bytes = |s: &OutSection| if s.nobits || s.empty { 0 } else { s.size };
    let total: u64 = sections.iter().map(bytes).sum();
    let mut seen = 0;
    let split = sections
        .iter()
        .position(|s| {
            seen += bytes(s);
            seen * 2 >= total
        })
        .map_or(sections.len(), |i| i + 1);
    let build_all = |part: &[OutSection]| -> Vec<Built> {
        part.iter()
            .map(|sec| {
                let mut undefined = Vec::new();
                build_section(layout, r, sec, &mut undefined).map(|d| (d, undefined))
            })
            .collect()
    };
    let (first, rest) = std::thread::scope(|scope| {
        let rest = scope.spawn(|| build_all(&sections[split..]));
        let first = build_all(&sections[..split]);
        (first, rest.join())
    });
    let rest = rest.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let mut undefined: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(sections.len());
    for built in first.into_iter().chain(rest) {
        let (data, missing) = built?;
        let room = MAX_UNDEFINED.saturating_sub(undefined.len());
        undefined.extend(missing.into_iter().take(room));
        out.push(data);
    }
    if !undefined.is_empty() {
        return Err(RelocError::Undefined(undefined.join("\n")));
    }
    Ok(out)
}

/// One output section's contents with relocations applied; undefined references are collected
/// in `undefined` (at most [`MAX_UNDEFINED`]).
fn build_section(
    layout: &Layout,
    r: &Resolved,
    sec: &OutSection,
    undefined: &mut Vec<String>,
) -> Result<Vec<u8>, RelocError> {
    if sec.nobits || sec.empty {
        return Ok(Vec::new());
    }
    let bytes = sec.fill.to_be_bytes();
    let fill = &bytes[4 - usize::from(sec.fill_len.clamp(1, 4))..];
    // The fill pattern repeated over the section (one memset for a one-byte fill).
    let mut data = vec![fill[0]; sec.size as usize];
    if fill.len() > 1 {
        for chunk in data.chunks_mut(fill.len()) {
            chunk.copy_from_slice(&fill[..chunk.len()]);
        }
    }
    for (pi, (piece, off)) in sec.pieces.iter().enumerate() {
        let off = *off as usize;
        match *piece {
            Piece::Data { size, .. } => {
                let v = sec.data_values.get(&pi).copied().unwrap_or(0);
                data[off..off + usize::from(size)]
                    .copy_from_slice(&v.to_le_bytes()[..usize::from(size)]);
            }
            Piece::Veneer { target } => {
                data[off..off + 8].copy_from_slice(&veneer_bytes(target));
            }
            Piece::Input { obj, sec: si } => {
                let is = &r.objects[obj].sections[si as usize];
                if is.is_nobits() {
                    data[off..off + is.size as usize].fill(0);
                    continue;
                }
                let kept = layout.exidx_kept.get(&(obj, si));
                // Output offset of an input offset (None: in a merged-away unwind entry).
                let out_offset = |at: u32| -> Option<u32> {
                    let Some(kept) = kept else {
                        return Some(at);
                    };
                    let entry = at as usize / 8;
                    kept.get(entry).copied().unwrap_or(true).then(|| {
                        let before = kept[..entry.min(kept.len())].iter().filter(|&&k| k);
                        before.count() as u32 * 8 + at % 8
                    })
                };
                let size = layout.input_size(is, (obj, si)) as usize;
                let bytes = &mut data[off..off + size];
                if let Some(merged) = layout.merges.contents((obj, si)) {
                    bytes.copy_from_slice(merged);
                    continue;
                }
                match kept {
                    None => bytes.copy_from_slice(&is.data),
                    Some(kept) => {
                        let entries = is.data.chunks_exact(8).zip(kept);
                        let compact: Vec<u8> = entries
                            .filter(|(_, &k)| k)
                            .flat_map(|(e, _)| e.iter().copied())
                            .collect();
                        bytes.copy_from_slice(&compact);
                    }
                }
                for rel in &is.relocs {
                    let Some(rel_offset) = out_offset(rel.offset) else {
                        continue;
                    };
                    let rel = &super::load::Reloc {
                        offset: rel_offset,
                        r_type: rel.r_type,
                        sym: rel.sym,
                    };
                    let t = match target(layout, r, obj, rel.sym) {
                        Ok(t) => merged_section_target(layout, r, obj, rel, bytes, t),
                        Err(name) => {
                            if undefined.len() < MAX_UNDEFINED {
                                undefined.push(format!(
                                    "{}: in `{}`+{:#x}: undefined reference to `{name}`",
                                    r.objects[obj].origin, is.name, rel.offset
                                ));
                            }
                            continue;
                        }
                    };
                    let place = sec.vma + off as u64 + u64::from(rel.offset);
                    // Only branches that do not reach look for their veneer (a scan of
                    // the section's pieces).
                    let veneer = if is_long_branch(rel.r_type)
                        && rel.offset as usize + 4 <= is.data.len()
                        && !branch_reaches(&is.data, rel.offset as usize, place, t.value)
                    {
                        layout.veneer_for(sec, r, obj, rel.sym)
                    } else {
                        None
                    };
                    apply(rel.r_type, bytes, rel.offset as usize, place, t, veneer).map_err(
                        |msg| RelocError::Bad {
                            origin: r.objects[obj].origin.to_string(),
                            section: is.name.clone(),
                            offset: rel.offset,
                            msg: format!("{} ({msg})", reloc_name(rel.r_type)),
                        },
                    )?;
                }
            }
        }
    }
    Ok(data)
}

pub fn reloc_name(r_type: u32) -> String {
    let name = match r_type {
        R_ARM_NONE => "R_ARM_NONE",
        R_ARM_ABS32 => "R_ARM_ABS32",
        R_ARM_REL32 => "R_ARM_REL32",
        R_ARM_ABS16 => "R_ARM_ABS16",
        R_ARM_ABS8 => "R_ARM_ABS8",
        R_ARM_THM_PC22 => "R_ARM_THM_CALL",
        R_ARM_THM_PC8 => "R_ARM_THM_PC8",
        R_ARM_THM_JUMP24 => "R_ARM_THM_JUMP24",
        R_ARM_THM_ALU_PREL_11_0 => "R_ARM_THM_ALU_PREL_11_0",
        R_ARM_THM_PC12 => "R_ARM_THM_PC12",
        R_ARM_TARGET1 => "R_ARM_TARGET1",
        R_ARM_V4BX => "R_ARM_V4BX",
        R_ARM_PREL31 => "R_ARM_PREL31",
        R_ARM_THM_MOVW_ABS_NC => "R_ARM_THM_MOVW_ABS_NC",
        R_ARM_THM_MOVT_ABS => "R_ARM_THM_MOVT_ABS",
        R_ARM_THM_MOVW_PREL_NC => "R_ARM_THM_MOVW_PREL_NC",
        R_ARM_THM_MOVT_PREL => "R_ARM_THM_MOVT_PREL",
        R_ARM_THM_JUMP19 => "R_ARM_THM_JUMP19",
        R_ARM_THM_JUMP11 => "R_ARM_THM_JUMP11",
        R_ARM_THM_JUMP8 => "R_ARM_THM_JUMP8",
        other => return format!("relocation type {other}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(value: u64) -> Target {
        Target {
            value,
            undefined_weak: false,
            arm_function: false,
            name: None,
        }
    }

    #[test]
    fn bl_round_trips_across_the_range() {
        // BL with the assembler's implicit addend of -4: f7ff fffe.
        assert_eq!(decode_thumb_branch24(0xf7ff, 0xfffe), -4);
        for off in [
            0i64,
            2,
            -2,
            0x1000,
            -0x1000,
            0xff_fffe,
            -0x100_0000,
            0x12_3456,
        ] {
            let (a, b) = encode_thumb_branch24(0xf000, 0xd000, off).unwrap();
            assert_eq!(decode_thumb_branch24(a, b), off, "{off:#x}");
            assert_eq!(b & 0xd000, 0xd000, "BL opcode bits kept");
        }
        assert!(encode_thumb_branch24(0xf000, 0xd000, 0x100_0000).is_none());
        assert!(encode_thumb_branch24(0xf000, 0xd000, -0x100_0002).is_none());
    }

    #[test]
    fn thm_call_matches_gnu_encoding() {
        // BL from 0x6000_0100 to 0x6000_0200 with addend -4: offset 0xFC (PC = P + 4).
        let mut d = vec![0xff, 0xf7, 0xfe, 0xff];
        apply(R_ARM_THM_PC22, &mut d, 0, 0x6000_0100, t(0x6000_0201), None).unwrap();
        assert_eq!(d, [0x00, 0xf0, 0x7e, 0xf8]); // bl 0x60000200 (f000 f87e)
    }

    #[test]
    fn out_of_range_call_uses_veneer_or_errors() {
        let mut d = vec![0xff, 0xf7, 0xfe, 0xff];
        let e = apply(R_ARM_THM_PC22, &mut d, 0, 0x6000_0000, t(0x1), None).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        apply(
            R_ARM_THM_PC22,
            &mut d,
            0,
            0x6000_0000,
            t(0x1),
            Some(0x6000_1000),
        )
        .unwrap();
        let off = decode_thumb_branch24(read16(&d, 0), read16(&d, 2));
        assert_eq!(0x6000_0000 + 4 + off, 0x6000_1000);
        assert_eq!(
            veneer_bytes(0x100),
            [0x5f, 0xf8, 0x00, 0xf0, 0x01, 0x01, 0, 0]
        );
    }

    #[test]
    fn weak_undefined_call_becomes_nop_and_arm_target_errors() {
        let mut d = vec![0xff, 0xf7, 0xfe, 0xff];
        let mut weak = t(0);
        weak.undefined_weak = true;
        apply(R_ARM_THM_PC22, &mut d, 0, 0x100, weak, None).unwrap();
        assert_eq!(d, [0xaf, 0xf3, 0x00, 0x80]);
        let mut arm = t(0x200);
        arm.arm_function = true;
        let e = apply(R_ARM_THM_PC22, &mut d, 0, 0x100, arm, None).unwrap_err();
        assert!(e.contains("ARM-state"));
    }

    #[test]
    fn conditional_and_short_branches() {
        for off in [0i64, 4, -4, 0xf_fffe, -0x10_0000] {
            let (a, b) = encode_thumb_branch19(0xf000, 0x8000, off).unwrap();
            assert_eq!(decode_thumb_branch19(a, b), off);
        }
        assert!(encode_thumb_branch19(0xf000, 0x8000, 0x10_0000).is_none());
        // b.n with addend -4 (0xe7fe) from 0x100 to 0x180.
        let mut d = vec![0xfe, 0xe7];
        apply(R_ARM_THM_JUMP11, &mut d, 0, 0x100, t(0x181), None).unwrap();
        assert_eq!(read16(&d, 0), 0xe000 | ((0x180 - 0x104) >> 1));
        let mut d = vec![0xfe, 0xd0]; // beq.n
        apply(R_ARM_THM_JUMP8, &mut d, 0, 0x100, t(0x110), None).unwrap();
        assert_eq!(read16(&d, 0), 0xd000 | ((0x110 - 0x104) >> 1));
        let e = apply(R_ARM_THM_JUMP8, &mut d, 0, 0x100, t(0x1000), None).unwrap_err();
        assert!(e.contains("±256"));
    }

    #[test]
    fn movw_movt_and_data() {
        let mut d = vec![0x40, 0xf2, 0x00, 0x00, 0xc0, 0xf2, 0x00, 0x00];
        apply(R_ARM_THM_MOVW_ABS_NC, &mut d, 0, 0, t(0x6000_1235), None).unwrap();
        apply(R_ARM_THM_MOVT_ABS, &mut d, 4, 0, t(0x6000_1235), None).unwrap();
        assert_eq!(decode_thumb_mov_imm(read16(&d, 0), read16(&d, 2)), 0x1235);
        assert_eq!(decode_thumb_mov_imm(read16(&d, 4), read16(&d, 6)), 0x6000);
        let mut w = 8u32.to_le_bytes().to_vec();
        apply(R_ARM_ABS32, &mut w, 0, 0, t(0x100), None).unwrap();
        assert_eq!(read32(&w, 0), 0x108);
        let mut w = 0u32.to_le_bytes().to_vec();
        apply(R_ARM_REL32, &mut w, 0, 0x50, t(0x100), None).unwrap();
        assert_eq!(read32(&w, 0), 0xb0);
        let mut w = 0x8000_0000u32.to_le_bytes().to_vec();
        apply(R_ARM_PREL31, &mut w, 0, 0x200, t(0x100), None).unwrap();
        assert_eq!(read32(&w, 0), 0x8000_0000 | (0x7fff_ff00));
        // ITCM code (0x0) is out of reach of an unwind table in XIP flash (0x6000_0000).
        let mut w = 0u32.to_le_bytes().to_vec();
        let e = apply(R_ARM_PREL31, &mut w, 0, 0x6000_0000, t(0x100), None).unwrap_err();
        assert!(e.contains("31 bits"), "{e}");
        let mut b = vec![0u8, 0];
        assert!(apply(R_ARM_ABS16, &mut b, 0, 0, t(0x1_0000), None).is_err());
        assert!(apply(R_ARM_ABS8, &mut b, 0, 0, t(0x100), None).is_err());
        assert!(apply(99, &mut w, 0, 0, t(0), None)
            .unwrap_err()
            .contains("unsupported"));
        assert!(apply(R_ARM_ABS32, &mut b, 1, 0, t(0), None).is_err());
    }

    #[test]
    fn pc_relative_loads() {
        // ldr.w r0, [pc, #0] (f8df 0000) at 0x100 to a literal at 0x10c: Pa = 0x100, +0xc - 4.
        let mut d = vec![0xdf, 0xf8, 0x00, 0x00];
        apply(R_ARM_THM_PC12, &mut d, 0, 0x100, t(0x10c), None).unwrap();
        assert_eq!(read16(&d, 2) & 0xfff, 0xc);
        // addw r0, pc, #0 (f20f 0000): negative offset switches to subw.
        let mut d = vec![0x0f, 0xf2, 0x00, 0x00];
        apply(R_ARM_THM_ALU_PREL_11_0, &mut d, 0, 0x200, t(0x100), None).unwrap();
        assert_eq!(read16(&d, 0), 0xf2af);
        assert_eq!(read16(&d, 2) & 0xff, 0x00);
        assert_eq!((read16(&d, 2) >> 12) & 7, 1);
    }
}
