//! The decoded-block cache: straight-line runs of decoded instructions, found by their first
//! address with one lookup, so that the run loop pays for the lookup, the limit checks and the
//! statistics once per block rather than once per instruction.
//!
//! A block ends at the first instruction that may change the program flow (see [`ends_block`]),
//! at a 4 KiB page end, or after [`MAX_INSNS`] instructions. The run loop still checks after every
//! instruction whether it branched, raised an exception or reached an event, so a block is only a
//! prediction of the straight-line path: leaving one early is always correct.
//!
//! All blocks' instructions live back to back in one arena and pages map a start address to a
//! block number, so hot code stays dense in the host's caches and a lookup is two small loads
//! (no reference count to touch). Invalidation is by page: each page keeps a bitmap of the halfwords its cached instructions
//! cover, and a store that overlaps one of them drops every block of the page (startup code
//! copying functions to ITCM, self-modifying code). Stores next to code (data sharing a page with
//! it) touch no covered halfword and cost one bitmap test.

use super::decode::{Insn, Op};
use super::memory::PAGE_SHIFT;

/// Instructions per block at most: bounds the work of decoding ahead of execution.
pub const MAX_INSNS: usize = 64;
/// Arena size at which the whole cache is dropped and refilled (programs that keep copying
/// code over itself would otherwise grow it without bound): 16 MiB of instructions.
const ARENA_LIMIT: usize = 1 << 20;
const HALFWORDS: usize = 1 << (PAGE_SHIFT - 1);

/// The decoded blocks starting in one 4 KiB page.
struct Page {
    /// The memory region the page belongs to (the fetch cost of its instructions).
    region: u8,
    /// Per halfword: the number of the block starting there plus one (0: none).
    starts: Box<[u32]>,
    /// Per halfword: whether a cached instruction starts or ends there.
    covered: [u64; HALFWORDS / 64],
}

/// Where a block's instructions are in the arena.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub first: usize,
    pub len: usize,
}

/// Decoded blocks of the whole address space, indexed by page.
pub struct BlockCache {
    pages: Vec<Option<Box<Page>>>,
    /// Every block's instructions, back to back.
    insns: Vec<Insn>,
    blocks: Vec<Block>,
}

#[inline]
fn halfword(addr: u32) -> usize {
    ((addr as usize) & ((1 << PAGE_SHIFT) - 1)) >> 1
}

impl BlockCache {
    pub fn new() -> BlockCache {
        let mut pages = Vec::new();
        pages.resize_with(1 << (32 - PAGE_SHIFT), || None);
        BlockCache {
            pages,
            insns: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// The block starting at `pc` and its region, if decoded.
    #[inline]
    pub fn get(&self, pc: u32) -> Option<(Block, usize)> {
        let page = self.pages[(pc >> PAGE_SHIFT) as usize].as_deref()?;
        let id = page.starts[halfword(pc)].checked_sub(1)?;
        Some((self.blocks[id as usize], usize::from(page.region)))
    }

    /// Lends the arena out while a block runs, so that the run loop executes instructions in
    /// place (a copy of each onto the stack cost a store-forwarding stall per instruction).
    /// Blocks are only inserted between blocks; give it back with [`BlockCache::restore_arena`].
    #[inline]
    pub fn take_arena(&mut self) -> Vec<Insn> {
        std::mem::take(&mut self.insns)
    }

    #[inline]
    pub fn restore_arena(&mut self, insns: Vec<Insn>) {
        self.insns = insns;
    }

    /// Caches `insns`, decoded from `pc` on in region `region`, as the block starting at `pc`.
    /// Not to be called while a block runs: a full arena is emptied first.
    pub fn insert(&mut self, pc: u32, region: usize, insns: &[Insn]) -> Block {
        if self.insns.len() + insns.len() > ARENA_LIMIT || self.blocks.len() >= u32::MAX as usize {
            self.pages.iter_mut().for_each(|p| *p = None);
            self.insns.clear();
            self.blocks.clear();
        }
        let page = self.pages[(pc >> PAGE_SHIFT) as usize].get_or_insert_with(|| {
            Box::new(Page {
                region: region as u8,
                starts: vec![0; HALFWORDS].into_boxed_slice(),
                covered: [0; HALFWORDS / 64],
            })
        });
        let mut at = pc;
        for insn in insns {
            for h in [at, at.wrapping_add(u32::from(insn.len) - 2)] {
                // The second halfword of an instruction that straddles the page end lies in the
                // next page; a store there is caught by the two-byte look-back of `invalidate`.
                if h >> PAGE_SHIFT == pc >> PAGE_SHIFT {
                    let k = halfword(h);
                    page.covered[k / 64] |= 1 << (k % 64);
                }
            }
            at = at.wrapping_add(u32::from(insn.len));
        }
        let block = Block {
            first: self.insns.len(),
            len: insns.len(),
        };
        self.insns.extend_from_slice(insns);
        self.blocks.push(block);
        page.starts[halfword(pc)] = self.blocks.len() as u32;
        block
    }

    /// Drops the blocks of any page whose cached instructions overlap a store of `len` bytes
    /// at `addr` (a 32-bit instruction starting 2 bytes before the store overlaps it too).
    /// Returns whether anything was dropped: the block running now may be stale.
    #[inline]
    pub fn invalidate(&mut self, addr: u32, len: u32) -> bool {
        let first = (addr & !1).wrapping_sub(2);
        let last = addr.wrapping_add(len.max(1) - 1);
        let mut dropped = false;
        let mut page_no = first >> PAGE_SHIFT;
        loop {
            if let Some(page) = self.pages[page_no as usize].as_deref() {
                let lo = if page_no == first >> PAGE_SHIFT {
                    halfword(first)
                } else {
                    0
                };
                let hi = if page_no == last >> PAGE_SHIFT {
                    halfword(last)
                } else {
                    HALFWORDS - 1
                };
                if (lo..=hi).any(|k| page.covered[k / 64] & (1 << (k % 64)) != 0) {
                    self.pages[page_no as usize] = None;
                    dropped = true;
                }
            }
            if page_no == last >> PAGE_SHIFT {
                return dropped;
            }
            page_no = page_no.wrapping_add(1) & ((1 << (32 - PAGE_SHIFT)) - 1);
        }
    }

    /// Drops every block of region `index` (its memory was remapped).
    pub fn forget_region(&mut self, index: usize) {
        for page in self.pages.iter_mut() {
            if page
                .as_ref()
                .is_some_and(|p| usize::from(p.region) == index)
            {
                *page = None;
            }
        }
    }
}

/// Whether `insn` may write the PC, stop, or change what may interrupt the core: the block
/// ends after it (the run loop re-checks events and the next address there).
pub fn ends_block(insn: &Insn) -> bool {
    use Op::*;
    match insn.op {
        B | Bl | Bx | Blx | Cbz | Cbnz | Tbb | Tbh | Svc | Bkpt | Wfi | Msr | Cps | Undecoded
        | Undefined => true,
        Ldm => insn.imm & (1 << 15) != 0,
        Ldr => insn.rd == 15,
        And | Bic | Orr | Orn | Eor | Add | Adc | Sbc | Sub | Rsb | Mov | Mvn => insn.rd == 15,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::decode::{decode16, decode32};

    fn block_of(pc: u32, words: &[u16], cache: &mut BlockCache) {
        let insns: Vec<Insn> = words.iter().map(|&w| decode16(w)).collect();
        cache.insert(pc, 0, &insns);
    }

    #[test]
    fn a_store_over_cached_code_drops_its_page_and_a_store_beside_it_does_not() {
        let mut cache = BlockCache::new();
        // movs r0, #1; adds r0, #2; bx lr at 0x1000.
        block_of(0x1000, &[0x2001, 0x3002, 0x4770], &mut cache);
        assert_eq!(cache.get(0x1000).map(|(b, _)| b.len), Some(3));
        assert!(!cache.invalidate(0x1008, 4), "data after the block");
        assert!(cache.get(0x1000).is_some());
        assert!(
            cache.invalidate(0x1004, 1),
            "a byte of the third instruction"
        );
        assert!(cache.get(0x1000).is_none());
    }

    #[test]
    fn a_store_into_the_second_half_of_a_straddling_instruction_is_caught() {
        let mut cache = BlockCache::new();
        let wide = decode32(0xF000_F800); // bl
        assert_eq!(wide.len, 4);
        cache.insert(0x1FFE, 0, &[wide]);
        assert!(cache.invalidate(0x2000, 2));
        assert!(cache.get(0x1FFE).is_none());
    }

    #[test]
    fn branches_and_pc_writes_end_a_block() {
        assert!(ends_block(&decode16(0x4770))); // bx lr
        assert!(ends_block(&decode16(0xBD10))); // pop {r4, pc}
        assert!(ends_block(&decode16(0x4687))); // mov pc, r0
        assert!(!ends_block(&decode16(0xB510))); // push {r4, lr}
        assert!(!ends_block(&decode16(0x2001))); // movs r0, #1
    }
}
