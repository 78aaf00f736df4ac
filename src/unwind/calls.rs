//! Where calls return to. A return address the unwinder finds must follow a call instruction
//! (BL, BLX). One that does not, but is a function's first instruction, was put there by hand,
//! as an RTOS does when it starts a task from a made-up frame whose LR is a "task returned"
//! trap: it marks the bottom of a stack. Any other address is a corrupt frame.
//!
//! The executable sections are scanned once, halfword by halfword, for BL/BLX encodings; a scan
//! that also matches data or the middle of another instruction only accepts more addresses,
//! never fewer, so a real return address is never refused. Addresses outside the scanned code
//! (a ROM, code loaded at run time) are accepted.

use object::{Object, ObjectSection, SectionKind};

use super::Function;

/// What a return address found by the unwinder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnAddress {
    /// After a call, or outside the scanned code.
    Call,
    /// A function's entry, not after a call: a made-up frame, the bottom of the stack.
    MadeUp,
    /// Neither.
    Corrupt,
}

/// The return addresses of every call in an image's code.
#[derive(Clone, Debug, Default)]
pub struct CallReturns {
    /// The scanned code, as sorted address ranges.
    code: Vec<(u32, u32)>,
    /// Sorted addresses just after a BL or BLX (without the Thumb bit).
    returns: Vec<u32>,
    /// Sorted function entries.
    entries: Vec<u32>,
}

impl CallReturns {
    pub fn scan(file: &object::File<'_>, functions: &[Function]) -> CallReturns {
        let mut out = CallReturns {
            entries: functions.iter().map(|f| f.start).collect(),
            ..CallReturns::default()
        };
        for section in file.sections() {
            if section.kind() != SectionKind::Text {
                continue;
            }
            let (Ok(data), start) = (section.data(), section.address() as u32) else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            out.code
                .push((start, start.wrapping_add(data.len() as u32)));
            let halfwords: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            for (k, &h) in halfwords.iter().enumerate() {
                let at = start.wrapping_add(2 * k as u32);
                // BLX Rm (T1).
                if h & 0xFF87 == 0x4780 {
                    out.returns.push(at + 2);
                }
                // BL (T1) and BLX immediate (T2): 11110 prefix, second halfword 11x1x / 11x0x.
                if h & 0xF800 == 0xF000 {
                    if let Some(&s) = halfwords.get(k + 1) {
                        if s & 0xC000 == 0xC000 {
                            out.returns.push(at + 4);
                        }
                    }
                }
            }
        }
        out.code.sort_unstable();
        out.returns.sort_unstable();
        out.returns.dedup();
        out
    }

    /// What `ra` (Thumb bit ignored) is as a return address.
    pub fn classify(&self, ra: u32) -> ReturnAddress {
        let ra = ra & !1;
        let in_code = self
            .code
            .iter()
            .any(|&(start, end)| (start..=end).contains(&ra));
        if !in_code || self.returns.binary_search(&ra).is_ok() {
            ReturnAddress::Call
        } else if self.entries.binary_search(&ra).is_ok() {
            ReturnAddress::MadeUp
        } else {
            ReturnAddress::Corrupt
        }
    }
}
