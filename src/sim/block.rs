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
//!
//! Blocks are **chained**: each remembers the last six blocks that ran after it (start address
//! and number, in the block's own 64-byte entry beside its extent), so the usual transition —
//! the fall-through or the taken branch of a loop, the return to one of a few callers, an
//! interpreter's dispatch — finds its successor in the block it just left (hot in the host's
//! L1) instead of walking the page table. A link is only trusted while the cache's `epoch` (bumped
//! whenever anything is dropped) is the one it was made in, so invalidation never has to find
//! the links pointing at a dropped block.

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

/// Where a block's instructions are in the arena, and the region they were fetched from.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub first: u32,
    pub len: u16,
    pub region: u16,
}

/// A successor a block ran into: its start address and number (`pc` odd: none).
#[derive(Clone, Copy)]
struct Link {
    pc: u32,
    id: u32,
}

const NO_LINK: Link = Link { pc: 1, id: 0 };
/// Successors remembered per block: six catch the returns of a function called from a few
/// places and an interpreter's dispatch to its frequent handlers (on the `vm` and `big`
/// fixtures' block traces, 6.4% of transitions miss them, against 9–16% with two).
const LINKS: usize = 6;

/// A block's extent and its most recent successors (newest first), the links valid while
/// `epoch` is the cache's; one host cache line. Following a link reads the successor's entry,
/// which the next transition reads anyway.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Entry {
    epoch: u32,
    block: Block,
    links: [Link; LINKS],
}

const _: () = assert!(std::mem::size_of::<Entry>() == 64);

/// Decoded blocks of the whole address space, indexed by page.
pub struct BlockCache {
    pages: Vec<Option<Box<Page>>>,
    /// Every block's instructions, back to back.
    insns: Vec<Insn>,
    /// Per block number: where it is, and its links.
    entries: Vec<Entry>,
    /// Bumped whenever blocks are dropped: links made before then may name a dropped block.
    epoch: u32,
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
            entries: Vec::new(),
            epoch: 0,
        }
    }

    /// The block starting at `pc` and its number, if decoded.
    #[inline]
    pub fn get(&self, pc: u32) -> Option<(Block, u32)> {
        let page = self.pages[(pc >> PAGE_SHIFT) as usize].as_deref()?;
        let id = page.starts[halfword(pc)].checked_sub(1)?;
        Some((self.entries[id as usize].block, id))
    }

    /// The block starting at `pc`, looked up first among the successors of block `prev` (the
    /// one that ran last; any number is safe, a wrong one only misses), then in the pages. A
    /// page hit becomes `prev`'s newest link.
    #[inline(always)]
    pub fn get_after(&mut self, prev: u32, pc: u32) -> Option<(Block, u32)> {
        if let Some(entry) = self.entries.get(prev as usize) {
            if entry.epoch == self.epoch {
                for link in &entry.links {
                    if link.pc == pc {
                        return Some((self.entries[link.id as usize].block, link.id));
                    }
                }
            }
        }
        let (block, id) = self.get(pc)?;
        self.link(prev, pc, id);
        Some((block, id))
    }

    /// Invalidates every link. Should the counter wrap, links made 2^32 bumps ago would look
    /// current again, so they are erased then.
    fn bump_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.entries
                .iter_mut()
                .for_each(|e| e.links = [NO_LINK; LINKS]);
        }
    }

    /// Records block `id` (starting at `pc`) as the newest successor of block `prev`.
    #[inline]
    pub fn link(&mut self, prev: u32, pc: u32, id: u32) {
        let epoch = self.epoch;
        if let Some(entry) = self.entries.get_mut(prev as usize) {
            if entry.epoch != epoch {
                entry.epoch = epoch;
                entry.links = [NO_LINK; LINKS];
            }
            entry.links.copy_within(0..LINKS - 1, 1);
            entry.links[0] = Link { pc, id };
        }
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

    /// Caches `insns`, decoded from `pc` on in region `region`, as the block starting at `pc`;
    /// returns it and its number. Not to be called while a block runs: a full arena is emptied
    /// first.
    pub fn insert(&mut self, pc: u32, region: usize, insns: &[Insn]) -> (Block, u32) {
        if self.insns.len() + insns.len() > ARENA_LIMIT || self.entries.len() >= u32::MAX as usize {
            self.pages.iter_mut().for_each(|p| *p = None);
            self.insns.clear();
            self.entries.clear();
            self.bump_epoch();
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
            first: self.insns.len() as u32,
            len: insns.len() as u16,
            region: region as u16,
        };
        self.insns.extend_from_slice(insns);
        self.entries.push(Entry {
            epoch: self.epoch,
            block,
            links: [NO_LINK; LINKS],
        });
        let id = self.entries.len() as u32;
        page.starts[halfword(pc)] = id;
        (block, id - 1)
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
                    self.bump_epoch();
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
        self.bump_epoch();
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
        // Chain a block at 0x2000 to it, so that the link must die with the page too.
        let (_, id) = cache.insert(0x2000, 0, &[decode16(0x4770)]);
        assert!(cache.get_after(id, 0x1000).is_some());
        assert!(!cache.invalidate(0x1008, 4), "data after the block");
        assert!(cache.get(0x1000).is_some());
        assert!(
            cache.invalidate(0x1004, 1),
            "a byte of the third instruction"
        );
        assert!(cache.get(0x1000).is_none());
        assert!(cache.get_after(id, 0x1000).is_none(), "a stale link");
    }

    #[test]
    fn a_successor_is_found_through_the_link_and_only_at_its_address() {
        let mut cache = BlockCache::new();
        let (_, a) = cache.insert(0x1000, 0, &[decode16(0x4770)]);
        let (_, b) = cache.insert(0x1100, 1, &[decode16(0x2001), decode16(0x4770)]);
        let (block, id) = cache.get_after(a, 0x1100).expect("page hit");
        assert_eq!((id, block.len, block.region), (b, 2, 1));
        // Now through the link: same answer; another address misses.
        assert_eq!(cache.get_after(a, 0x1100).map(|(_, id)| id), Some(b));
        assert!(cache.get_after(a, 0x1102).is_none());
        // A number no block has (from before a full clear) falls back to the pages.
        assert_eq!(cache.get_after(99, 0x1100).map(|(_, id)| id), Some(b));
    }

    #[test]
    fn a_block_remembers_its_six_newest_successors() {
        let mut cache = BlockCache::new();
        let (_, a) = cache.insert(0x1000, 0, &[decode16(0x4770)]);
        let ids: Vec<u32> = (0..7u32)
            .map(|k| cache.insert(0x2000 + 0x10 * k, 0, &[decode16(0x4770)]).1)
            .collect();
        for (k, &id) in ids.iter().enumerate() {
            cache.link(a, 0x2000 + 0x10 * k as u32, id);
        }
        let linked = |cache: &BlockCache, pc: u32| {
            let entry = &cache.entries[a as usize];
            entry.links.iter().any(|l| l.pc == pc)
        };
        assert!(!linked(&cache, 0x2000), "the oldest of seven fell off");
        for k in 1..7u32 {
            assert!(linked(&cache, 0x2000 + 0x10 * k), "successor {k}");
            let (block, id) = cache.get_after(a, 0x2000 + 0x10 * k).expect("linked");
            assert_eq!((id, block.first), (ids[k as usize], 1 + k));
        }
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
