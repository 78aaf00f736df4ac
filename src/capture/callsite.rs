//! Which call instruction, if any, a sampled LR returns to: `BL imm` (32 bits, 4 bytes before
//! the return address) or `BLX Rm` (16 bits, 2 bytes before). Anything else means LR does not
//! hold a return address right now (it is stale, an EXC_RETURN value, or was reused), and the
//! sample gives no call edge.
//!
//! The instructions are read from the target (once per distinct LR), not the ELF: code copied
//! to ITCM at startup runs at addresses the ELF's load image does not show.

use rustc_hash::FxHashMap;

use super::target::{Target, TargetError};
use crate::sim::Image;

/// A call instruction found before a return address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSite {
    pub address: u32,
    /// The callee a `BL` names; `None` for `BLX Rm`.
    pub callee: Option<u32>,
}

/// The call site before `return_address` (Thumb bit set) given the two halfwords before it.
pub fn decode(return_address: u32, first: u16, second: u16) -> Option<CallSite> {
    let ret = return_address & !1;
    // BLX Rm: 0100 0111 1 Rm 000.
    if second & 0xFF87 == 0x4780 {
        return Some(CallSite {
            address: ret - 2,
            callee: None,
        });
    }
    // BL: 11110 S imm10, 11 J1 1 J2 imm11.
    if first & 0xF800 == 0xF000 && second & 0xD000 == 0xD000 {
        let s = u32::from(first >> 10) & 1;
        let imm10 = u32::from(first) & 0x3FF;
        let j1 = u32::from(second >> 13) & 1;
        let j2 = u32::from(second >> 11) & 1;
        let imm11 = u32::from(second) & 0x7FF;
        let i1 = !(j1 ^ s) & 1;
        let i2 = !(j2 ^ s) & 1;
        let imm = (s << 24) | (i1 << 23) | (i2 << 22) | (imm10 << 12) | (imm11 << 1);
        let offset = ((imm << 7) as i32) >> 7;
        let site = ret - 4;
        return Some(CallSite {
            address: site,
            callee: Some(site.wrapping_add(4).wrapping_add(offset as u32)),
        });
    }
    None
}

/// Call sites by return address, read from the target as new return addresses appear.
#[derive(Default)]
pub struct CallSites {
    known: FxHashMap<u32, Option<CallSite>>,
}

impl CallSites {
    /// The call site `lr` returns to, if LR holds a return address into code.
    pub fn site(
        &mut self,
        target: &mut dyn Target,
        lr: u32,
    ) -> Result<Option<CallSite>, TargetError> {
        if lr & 1 == 0 || !(4..0xE000_0000).contains(&lr) {
            return Ok(None);
        }
        if let Some(known) = self.known.get(&lr) {
            return Ok(*known);
        }
        let start = ((lr & !1) - 4) & !3;
        let mut words = [0u32; 2];
        let found = match target.read_block(start, &mut words) {
            Ok(()) => {
                let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                let at = ((lr & !1) - 4 - start) as usize;
                let half = |i: usize| u16::from_le_bytes([bytes[at + i], bytes[at + i + 1]]);
                decode(lr, half(0), half(2))
            }
            // Not readable: not code.
            Err(TargetError::Other(_)) => None,
            Err(e) => return Err(e),
        };
        self.known.insert(lr, found);
        Ok(found)
    }
}

/// Drops the edges a stale LR produced, using the ELF's functions: an edge whose call site lies
/// in the sampled function itself (a leaf whose LR still points back into it after a call
/// returned), or whose `BL` names another function than the one sampled. Returns how many
/// samples' edges were dropped.
pub fn drop_stale_edges(
    image: &Image,
    edges: &mut FxHashMap<(u32, u32), u64>,
    call_targets: &FxHashMap<u32, u32>,
) -> u64 {
    let mut dropped = 0;
    edges.retain(|&(site, pc), count| {
        let callee_function = image.function_at(pc).map(|f| f.addr);
        let site_function = image.function_at(site).map(|f| f.addr);
        let self_edge = callee_function.is_some() && callee_function == site_function;
        let wrong_callee = call_targets.get(&site).is_some_and(|&target| {
            let named = image.function_at(target).map(|f| f.addr);
            named.is_some() && callee_function.is_some() && named != callee_function
        });
        let keep = !self_edge && !wrong_callee;
        if !keep {
            dropped += *count;
        }
        keep
    });
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bl_and_blx_register_sites() {
        // BL from 0x6000_0100 to 0x6000_0200: offset 0xFC.
        let site = decode(0x6000_0105, 0xF000, 0xF87E).unwrap();
        assert_eq!(site.address, 0x6000_0100);
        assert_eq!(site.callee, Some(0x6000_0200));
        // A backward BL: from 0x6000_0200 to 0x6000_0100 (offset -0x104).
        let site = decode(0x6000_0205, 0xF7FF, 0xFF7E).unwrap();
        assert_eq!(site.callee, Some(0x6000_0100));
        // BLX r3 at 0x6000_0102: the site is 2 bytes before the return address, not 4.
        let site = decode(0x6000_0105, 0x2000, 0x4798).unwrap();
        assert_eq!(site.address, 0x6000_0102);
        assert_eq!(site.callee, None);
        // A plain ADDS before the return address: not a call.
        assert_eq!(decode(0x6000_0105, 0x2000, 0x1840), None);
    }
}
