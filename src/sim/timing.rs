//! The cycle model: L1 caches, per-region memory latencies from the board file, and an in-order
//! dual-issue approximation of the Cortex-M7 pipeline. Documented, with the source of every
//! parameter, in `docs/sim-model.md`. Deterministic: no host time, no randomness.
//!
//! Hand-written: no crate models the Cortex-M7 pipeline or the i.MX RT memory system.

use serde::Serialize;

use super::decode::{Insn, Op};
use super::memory::MemRegion;
use crate::board::{Board, CacheGeometry, RegionKind};

/// A set-associative cache with LRU replacement (tags only: the data lives in [`super::memory`]).
pub struct Cache {
    /// Per set, `ways` tags in most-recently-used-first order; 0 = invalid (line addresses are
    /// stored plus one so that line 0 is representable).
    tags: Vec<u32>,
    ways: usize,
    sets_mask: u32,
    line_shift: u32,
}

impl Cache {
    pub fn new(g: &CacheGeometry) -> Cache {
        let sets = g.sets().max(1) as usize;
        let ways = g.ways.max(1) as usize;
        Cache {
            tags: vec![0; sets * ways],
            ways,
            sets_mask: (sets.next_power_of_two() - 1) as u32,
            line_shift: g.line.max(4).trailing_zeros(),
        }
    }

    /// Looks `addr` up, allocating on a miss. Returns whether it hit.
    #[inline]
    pub fn access(&mut self, addr: u32) -> bool {
        let line = addr >> self.line_shift;
        let set = (line & self.sets_mask) as usize;
        let tag = line + 1;
        let ways = &mut self.tags[set * self.ways..(set + 1) * self.ways];
        if ways[0] == tag {
            return true;
        }
        // Move to front in one pass: each way shifts down one until the tag is found (a hit)
        // or the least recently used one falls off the end (a miss). A `copy_within` here
        // was a `memmove` call per miss.
        let mut carried = ways[0];
        for way in &mut ways[1..] {
            let t = std::mem::replace(way, carried);
            if t == tag {
                ways[0] = tag;
                return true;
            }
            carried = t;
        }
        ways[0] = tag;
        false
    }

    /// Looks up without allocating (used for stores: no write-allocate in this model).
    #[inline]
    pub fn probe(&mut self, addr: u32) -> bool {
        let line = addr >> self.line_shift;
        let set = (line & self.sets_mask) as usize;
        let tag = line + 1;
        self.tags[set * self.ways..(set + 1) * self.ways].contains(&tag)
    }

    pub fn invalidate(&mut self) {
        self.tags.fill(0);
    }
}

/// What the board says one region costs, resolved once per region.
#[derive(Clone, Copy, Debug)]
struct RegionCost {
    cached: bool,
    /// Extra cycles of an access that bypasses the cache (TCM wait states, uncached OCRAM...).
    uncached: u32,
    /// Cycles to bring a missing line in (critical word first).
    miss: u32,
    /// A sequential miss the FlexSPI prefetch buffer serves.
    prefetch_hit: Option<u32>,
}

/// Counters for one region.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RegionStats {
    pub name: String,
    pub kind: String,
    /// Instructions fetched (executed) from the region.
    pub fetches: u64,
    pub icache_hits: u64,
    pub icache_misses: u64,
    pub data_reads: u64,
    pub data_writes: u64,
    pub dcache_hits: u64,
    pub dcache_misses: u64,
    /// Cycles the core waited on this region (fetch and data).
    pub stall_cycles: u64,
}

/// Per-operation pipeline class.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Single-cycle integer op that may dual-issue.
    Alu,
    /// Load/store of one or two registers.
    Mem,
    Branch,
    /// Multi-cycle or serialising; never pairs.
    Other,
}

fn class(op: Op) -> Class {
    use Op::*;
    match op {
        And | Bic | Orr | Orn | Eor | Add | Adc | Sbc | Sub | Rsb | Mov | Mvn | Tst | Teq | Cmp
        | Cmn | ShiftReg | Movt | Sbfx | Ubfx | Bfi | Bfc | Extend | Rev | Rev16 | Rbit | Revsh
        | Clz | Nop | It | Sel | Pkh => Class::Alu,
        Ldr | Ldrb | Ldrh | Ldrsb | Ldrsh | Str | Strb | Strh | Ldrd | Strd | Vldr | Vstr => {
            Class::Mem
        }
        B | Bl | Bx | Blx | Cbz | Cbnz | Tbb | Tbh => Class::Branch,
        _ => Class::Other,
    }
}

/// Extra issue cycles of multi-cycle operations (beyond the first), an estimate per
/// `docs/sim-model.md` (Arm publishes no Cortex-M7 cycle table).
fn extra_cycles(i: &Insn) -> u32 {
    use super::decode::{flag, varith};
    use Op::*;
    let dbl = i.flags & flag::DBL != 0;
    match i.op {
        Smull | Umull | Smlal | Umlal | Umaal | Smlalxy | Smlald | Smlsld => 1,
        VArith if i.cond == varith::DIV => {
            if dbl {
                28
            } else {
                13
            }
        }
        VUnary if i.cond == 3 => {
            if dbl {
                28
            } else {
                13
            }
        }
        VArith if dbl => 2,
        Barrier => 4,
        Wfi | Svc | Bkpt | Mrs | Msr | Cps => 2,
        _ => 0,
    }
}

/// Branch penalty of a mispredicted or unpredicted branch: refill of the 6-stage pipeline's
/// fetch/decode stages (estimate, see `docs/sim-model.md`).
const MISPREDICT: u32 = 4;
const BTAC_SIZE: usize = 1024;

/// The state of the cycle model between instructions.
pub struct Timing {
    pub icache: Cache,
    pub dcache: Cache,
    pub icache_on: bool,
    pub dcache_on: bool,
    costs: Vec<RegionCost>,
    /// The board file's costs (at its core clock and the ROM's FlexSPI clock), and the kinds
    /// of the regions, for rescaling when the firmware changes its clocks.
    board_costs: Vec<(RegionKind, RegionCost)>,
    /// What an instruction fetch costs per region: the same as `costs` unless
    /// [`Timing::assume_code_in`] asked what the program would take with its code elsewhere.
    fetch_costs: Vec<RegionCost>,
    /// Set by [`Timing::assume_code_in`]: the region (index) all code is fetched as if from.
    code_from: Option<usize>,
    /// Set by [`Timing::assume_code_in`]: the functions' address ranges, sorted. Data reads
    /// inside them (literal pools, inline jump tables) are free, since they move with their
    /// code.
    code_ranges: Vec<(u32, u32)>,
    pub stats: Vec<RegionStats>,
    last_fetch_line: u32,
    /// The XIP line after the last one filled: a miss on it is a prefetch-buffer hit.
    xip_next_line: u32,
    /// The line after the last data line filled from a cached region (the FlexSPI AHB prefetch
    /// serves data streams as well as instruction streams).
    data_next_line: u32,
    /// The destination register of the previous instruction if it was a load (load-use stall).
    load_dest: u8,
    /// Whether the previous instruction issued alone in its cycle and may pair with this one.
    pair_open: bool,
    prev_dest: u8,
    /// Branch target buffer: PC-indexed (target, 2-bit counter).
    btac: Vec<(u32, u8)>,
}

/// Whether `addr` lies in one of the sorted `ranges` (start, end).
fn in_ranges(ranges: &[(u32, u32)], addr: u32) -> bool {
    let i = ranges.partition_point(|&(start, _)| start <= addr);
    i > 0 && addr < ranges[i - 1].1
}

impl Timing {
    pub fn new(board: &Board, regions: &[MemRegion]) -> Timing {
        let t = &board.timing;
        let costs: Vec<RegionCost> = regions
            .iter()
            .map(|r| match r.kind {
                RegionKind::Itcm => RegionCost {
                    cached: false,
                    uncached: t.itcm_wait_states,
                    miss: 0,
                    prefetch_hit: None,
                },
                RegionKind::Dtcm => RegionCost {
                    cached: false,
                    uncached: t.dtcm_wait_states,
                    miss: 0,
                    prefetch_hit: None,
                },
                RegionKind::Ocram => RegionCost {
                    cached: r.cacheable,
                    uncached: t.ocram_uncached_cycles,
                    miss: t.ocram_line_fill_cycles,
                    prefetch_hit: None,
                },
                RegionKind::Xip => RegionCost {
                    cached: r.cacheable,
                    uncached: t.xip_miss_cycles,
                    miss: t.xip_miss_cycles,
                    prefetch_hit: t.xip_prefetch.then_some(t.xip_prefetch_hit_cycles),
                },
                RegionKind::Semc => {
                    let fill = t.semc_line_fill_cycles.unwrap_or(t.ocram_line_fill_cycles);
                    RegionCost {
                        cached: r.cacheable,
                        uncached: fill / 2,
                        miss: fill,
                        prefetch_hit: None,
                    }
                }
            })
            .collect();
        let stats = regions
            .iter()
            .map(|r| RegionStats {
                name: r.name.clone(),
                kind: r.kind.as_str().to_string(),
                ..RegionStats::default()
            })
            .collect();
        Timing {
            icache: Cache::new(&board.cache.instruction),
            dcache: Cache::new(&board.cache.data),
            icache_on: true,
            dcache_on: true,
            fetch_costs: costs.clone(),
            board_costs: regions
                .iter()
                .map(|r| r.kind)
                .zip(costs.iter().copied())
                .collect(),
            code_from: None,
            code_ranges: Vec::new(),
            costs,
            stats,
            last_fetch_line: u32::MAX,
            xip_next_line: u32::MAX,
            data_next_line: u32::MAX,
            load_dest: 0xFF,
            pair_open: false,
            prev_dest: 0xFF,
            btac: vec![(u32::MAX, 0); BTAC_SIZE],
        }
    }

    /// Rescales memory latencies to the clocks the firmware programmed. The board file's cycle
    /// counts hold at its core clock with the boot ROM's FlexSPI clock; a memory access takes
    /// the same time whatever the core clock, so its cost in core cycles scales with
    /// `core_ratio` (core clock / board core clock), and an XIP transfer also scales inversely
    /// with `flexspi_ratio` (FlexSPI root clock / the ROM's). TCM stays at core speed.
    pub fn set_clocks(&mut self, core_ratio: f64, flexspi_ratio: f64) {
        let scale = |cycles: u32, factor: f64| (f64::from(cycles) * factor).round().max(1.0) as u32;
        for (i, (kind, base)) in self.board_costs.iter().enumerate() {
            let factor = match kind {
                RegionKind::Xip => core_ratio / flexspi_ratio.max(1e-3),
                RegionKind::Ocram | RegionKind::Semc => core_ratio,
                RegionKind::Itcm | RegionKind::Dtcm => continue,
            };
            let cost = RegionCost {
                cached: base.cached,
                uncached: scale(base.uncached, factor),
                miss: scale(base.miss, factor),
                prefetch_hit: base.prefetch_hit.map(|c| scale(c, factor)),
            };
            self.fetch_costs[i] = cost;
            self.costs[i] = cost;
        }
        self.apply_code_from();
    }

    /// Makes instruction fetches from every region cost what they would from the board's first
    /// region of `kind` (ITCM: its wait states; OCRAM: its line fill on an I-cache miss; XIP:
    /// the flash's miss and prefetch costs), and data reads inside `functions` (start, end) free;
    /// other data accesses keep their costs. These are the "what if this code ran from there"
    /// runs the planner measures costs with. Literal pools move with their code: free from
    /// TCM, mostly D-cache hits from OCRAM or flash.
    pub fn assume_code_in(&mut self, kind: RegionKind, mut functions: Vec<(u32, u32)>) {
        functions.sort_unstable();
        self.code_ranges = functions;
        let region = self.board_costs.iter().position(|(k, _)| *k == kind);
        self.code_from = Some(region.unwrap_or(usize::MAX));
        self.apply_code_from();
    }

    /// Sets every region's fetch cost to that of the region [`Timing::assume_code_in`] chose
    /// (free when the board has no region of that kind).
    fn apply_code_from(&mut self) {
        let Some(from) = self.code_from else {
            return;
        };
        let cost = self.costs.get(from).copied().unwrap_or(RegionCost {
            cached: false,
            uncached: 0,
            miss: 0,
            prefetch_hit: None,
        });
        for c in &mut self.fetch_costs {
            *c = cost;
        }
    }

    /// What an instruction-cache miss on the board's first region of `kind` costs now (the
    /// firmware's clocks applied), and a prefetch-buffer hit there: what the planner's cache
    /// what-if prices a miss with.
    pub fn miss_cycles(&self, kind: RegionKind) -> Option<(u32, Option<u32>)> {
        let i = self.board_costs.iter().position(|(k, _)| *k == kind)?;
        Some((self.costs[i].miss, self.costs[i].prefetch_hit))
    }

    /// Whether data accesses to region `index` cost nothing but their counter in
    /// [`Timing::data`] whatever the clocks: an uncached TCM without wait states (what the
    /// memory fast path may skip `data` for).
    pub fn data_is_free(&self, index: usize) -> bool {
        let cost = self.costs[index];
        matches!(
            self.board_costs[index].0,
            RegionKind::Itcm | RegionKind::Dtcm
        ) && !cost.cached
            && cost.uncached == 0
    }

    /// Cycles to fetch and issue `i` at `pc` from region `region`, from the state the
    /// instruction before left (the first instruction of a block; the others take
    /// [`Timing::issue_chained`]). The caller counts the region's `fetches`, once per block.
    #[inline(always)]
    pub fn issue(&mut self, i: &Insn, pc: u32, region: usize) -> u32 {
        let mut cycles = 0;
        if pc >> 5 != self.last_fetch_line {
            cycles += self.fetch(pc, region);
        }
        // Issue: pair with the previous instruction when both are simple and independent.
        let c = match i.timing & CLASS_MASK {
            0 => Class::Alu,
            1 => Class::Mem,
            2 => Class::Branch,
            _ => Class::Other,
        };
        let depends = self.prev_dest != 0xFF && (i.rn == self.prev_dest || i.rm == self.prev_dest);
        let load_use = self.load_dest != 0xFF && (i.rn == self.load_dest || i.rm == self.load_dest);
        if load_use {
            cycles += 1;
        }
        let pairs = self.pair_open
            && !depends
            && !load_use
            && matches!(c, Class::Alu | Class::Mem | Class::Branch);
        if pairs {
            self.pair_open = false;
        } else {
            cycles += 1 + u32::from(i.timing >> EXTRA_SHIFT);
            self.pair_open = matches!(c, Class::Alu | Class::Mem);
        }
        self.prev_dest = if c == Class::Alu { i.rd } else { 0xFF };
        self.load_dest = if i.timing & LOAD != 0 { i.rd } else { 0xFF };
        cycles
    }

    /// The stall of fetching a new line at `pc` from region `region` (I-cache and FlexSPI
    /// prefetch model), counted in the region's statistics.
    #[inline(always)]
    fn fetch(&mut self, pc: u32, region: usize) -> u32 {
        let line = pc >> 5;
        self.last_fetch_line = line;
        let stats = &mut self.stats[region];
        let cost = self.fetch_costs[region];
        let stall = if cost.cached && self.icache_on {
            if self.icache.access(pc) {
                stats.icache_hits += 1;
                0
            } else {
                stats.icache_misses += 1;
                let s = match cost.prefetch_hit {
                    Some(p) if line == self.xip_next_line => p,
                    _ => cost.miss,
                };
                self.xip_next_line = line.wrapping_add(1);
                s
            }
        } else {
            cost.uncached
        };
        stats.stall_cycles += u64::from(stall);
        stall
    }

    /// Which of the two precomputed chains (see [`chain`]) the rest of the block follows: whether
    /// the block's first instruction, just issued, left a pairing slot open.
    #[inline(always)]
    pub fn chain_variant(&self) -> u32 {
        u32::from(self.pair_open)
    }

    /// What [`Timing::issue`] would return for `i` at `pc`, a block's instruction after its
    /// first, when the block's first instruction took chain `variant`: a table read plus the
    /// fetch stall at a line crossing. It leaves the pipeline state behind; call
    /// [`Timing::settle`] before anything else reads it.
    #[inline(always)]
    pub fn issue_chained(&mut self, i: &Insn, pc: u32, region: usize, variant: u32) -> u32 {
        let chain = u32::from(i.chain);
        let mut cycles = (chain >> LOAD_USE_SHIFT) & 1;
        if chain & (PAIRS << variant) == 0 {
            cycles += 1 + u32::from(i.timing >> EXTRA_SHIFT);
        }
        if chain & NEW_LINE != 0 {
            cycles += self.fetch(pc, region);
        }
        cycles
    }

    /// Leaves the pipeline state as [`Timing::issue`] would have after issuing `i` at `pc` (not
    /// a block's first instruction) on chain `variant`.
    #[inline(always)]
    pub fn settle(&mut self, i: &Insn, pc: u32, variant: u32) {
        self.last_fetch_line = pc >> 5;
        self.pair_open = u32::from(i.chain) & (PAIR_AFTER << variant) != 0;
        self.prev_dest = if i.timing & CLASS_MASK == 0 {
            i.rd
        } else {
            0xFF
        };
        self.load_dest = if i.timing & LOAD != 0 { i.rd } else { 0xFF };
    }

    /// Cycles of a data access of `bytes` at `addr` in region `region` beyond the issue cycle.
    #[inline]
    pub fn data(&mut self, addr: u32, region: usize, write: bool) -> u32 {
        let cost = self.costs[region];
        let stats = &mut self.stats[region];
        if !self.code_ranges.is_empty() && !write && in_ranges(&self.code_ranges, addr) {
            stats.data_reads += 1;
            return 0;
        }
        let stall = if cost.cached && self.dcache_on {
            let hit = if write {
                self.dcache.probe(addr)
            } else {
                self.dcache.access(addr)
            };
            if write {
                stats.data_writes += 1;
            } else {
                stats.data_reads += 1;
            }
            if hit {
                stats.dcache_hits += 1;
                0
            } else {
                stats.dcache_misses += 1;
                // Stores drain through the write buffer; a read miss waits for the critical word,
                // or only for the FlexSPI prefetch buffer when it continues a sequential stream.
                let line = addr >> 5;
                if write {
                    0
                } else {
                    let stall = match cost.prefetch_hit {
                        Some(p) if line == self.data_next_line => p,
                        _ => cost.miss,
                    };
                    self.data_next_line = line.wrapping_add(1);
                    stall
                }
            }
        } else {
            if write {
                stats.data_writes += 1;
            } else {
                stats.data_reads += 1;
            }
            if write && cost.uncached > 1 {
                1
            } else {
                cost.uncached
            }
        };
        stats.stall_cycles += u64::from(stall);
        stall
    }

    /// Cycles of a branch at `pc` to `target` given whether it was taken.
    #[inline]
    pub fn branch(&mut self, pc: u32, target: u32, taken: bool) -> u32 {
        let slot = &mut self.btac[((pc >> 1) as usize) & (BTAC_SIZE - 1)];
        let predicted_taken = slot.1 >= 2 && slot.0 == target;
        let penalty = if taken == predicted_taken {
            0
        } else {
            MISPREDICT
        };
        if taken {
            slot.0 = target;
            slot.1 = (slot.1 + 1).min(3);
        } else {
            slot.1 = slot.1.saturating_sub(1);
        }
        self.pair_open = false;
        self.last_fetch_line = u32::MAX;
        penalty
    }

    /// Cycles of a multi-register transfer of `n` registers (64-bit data path: two per beat).
    pub fn multiple(&mut self, n: u32) -> u32 {
        self.pair_open = false;
        n.div_ceil(2).saturating_sub(1)
    }

    /// Cycles of an integer divide (early termination: 2 to 12 cycles by quotient size).
    pub fn divide(&mut self, quotient: u32) -> u32 {
        1 + (32 - quotient.leading_zeros()).div_ceil(3).min(11)
    }
}

const CLASS_MASK: u8 = 3;
/// Set for single and dual loads (their destination may stall a dependent instruction).
const LOAD: u8 = 4;
const EXTRA_SHIFT: u8 = 3;

/// Pre-computes what [`Timing::issue`] needs to know about an instruction, once per decode:
/// bits 1:0 the pipeline class, bit 2 a load, bits 7:3 the extra issue cycles (at most 28).
pub fn classify(i: &Insn) -> u8 {
    let class = class(i.op);
    let load = class == Class::Mem && is_load(i.op);
    let code = match class {
        Class::Alu => 0,
        Class::Mem => 1,
        Class::Branch => 2,
        Class::Other => 3,
    };
    code | if load { LOAD } else { 0 } | ((extra_cycles(i).min(31) as u8) << EXTRA_SHIFT)
}

/// Bits of [`Insn::chain`]. Bit `v` of `PAIRS`: the instruction pairs with the one before it
/// when the block's first instruction left the pairing slot open (`v` = 1) or closed (0); bit
/// `v` of `PAIR_AFTER`: the slot is open after it.
const PAIRS: u32 = 1;
const PAIR_AFTER: u32 = 4;
/// It reads the destination of a load just before it (one stall cycle).
const LOAD_USE_SHIFT: u32 = 4;
/// It starts in another 32-byte fetch line than the instruction before it.
const NEW_LINE: u32 = 32;

/// Works out, once per block, how each instruction after the first issues: inside a block the
/// pairing and load-use outcome depends only on the instructions before it and on whether the
/// first one left the pairing slot open, so [`Timing::issue_chained`] is a table read for two
/// possible entry states. Nothing but [`Timing::branch`] (the last instruction of a block) and
/// [`Timing::multiple`] (whose instructions never leave the slot open anyway) changes the
/// state between two instructions of one block. `insns` start at `pc`.
pub fn chain(insns: &mut [Insn], pc: u32) {
    let mut open = [false, true];
    let mut at = pc;
    for k in 1..insns.len() {
        let (p, i) = (insns[k - 1], insns[k]);
        let prev_at = at;
        at = at.wrapping_add(u32::from(p.len));
        let prev_dest = if p.timing & CLASS_MASK == 0 {
            p.rd
        } else {
            0xFF
        };
        let load_dest = if p.timing & LOAD != 0 { p.rd } else { 0xFF };
        let depends = prev_dest != 0xFF && (i.rn == prev_dest || i.rm == prev_dest);
        let load_use = load_dest != 0xFF && (i.rn == load_dest || i.rm == load_dest);
        // Classes 0-2 (ALU, memory, branch) may pair; 0-1 leave the slot open when alone.
        let class = i.timing & CLASS_MASK;
        let mut bits = u32::from(load_use) << LOAD_USE_SHIFT;
        for (v, open) in open.iter_mut().enumerate() {
            if *open && !depends && !load_use && class <= 2 {
                bits |= PAIRS << v;
                *open = false;
            } else {
                *open = class <= 1;
            }
            if *open {
                bits |= PAIR_AFTER << v;
            }
        }
        if at >> 5 != prev_at >> 5 {
            bits |= NEW_LINE;
        }
        insns[k].chain = bits as u8;
    }
}

fn is_load(op: Op) -> bool {
    matches!(
        op,
        Op::Ldr | Op::Ldrb | Op::Ldrh | Op::Ldrsb | Op::Ldrsh | Op::Ldrd
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Bytes;

    #[test]
    fn lru_cache_evicts_the_oldest_way() {
        let g = CacheGeometry {
            size: Bytes(64),
            ways: 2,
            line: 32,
        };
        let mut c = Cache::new(&g);
        assert!(!c.access(0x000));
        assert!(!c.access(0x020));
        assert!(c.access(0x000));
        assert!(!c.access(0x040)); // evicts 0x020
        assert!(c.access(0x000));
        assert!(!c.access(0x020));
    }

    /// The precomputed chain must give what issuing one by one gives: every cost, and the
    /// pipeline state left after any instruction, for both entry states and any previous
    /// destination, on pseudo-random blocks of pairing, load-use and multi-cycle instructions.
    #[test]
    fn chained_issue_matches_issuing_one_by_one() {
        use crate::sim::decode::{decode16, decode32};
        let board = Board::resolve("imxrt1062").expect("board");
        let regions = crate::sim::memory::Memory::new(&board)
            .expect("memory")
            .regions;
        let flash = regions
            .iter()
            .position(|r| r.kind == RegionKind::Xip)
            .expect("flash");
        // movs, adds (dependent and not), ldr (pc and sp relative), str, mul, push, nop, ldr.w.
        let pool: Vec<Insn> = [0x2001u32, 0x1c48, 0x1809, 0x4a01, 0x9801, 0x6008, 0x4348]
            .iter()
            .map(|&w| decode16(w as u16))
            .chain([0xB510, 0xBF00, 0x6812].map(decode16))
            .chain([decode32(0xF8D1_0004), decode32(0xFB00_F001)])
            .map(|mut i| {
                i.timing = classify(&i);
                i
            })
            .collect();
        let mut seed = 12345u32;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as usize % n
        };
        let mut checked = 0;
        for round in 0..400 {
            let len = 1 + next(20);
            let mut insns: Vec<Insn> = (0..len).map(|_| pool[next(pool.len())]).collect();
            let pc = 0x6000_0000 + 2 * next(64) as u32;
            chain(&mut insns, pc);
            let mut one = Timing::new(&board, &regions);
            let mut fast = Timing::new(&board, &regions);
            for t in [&mut one, &mut fast] {
                t.pair_open = round % 2 == 1;
                t.prev_dest = [0xFF, 0, 1, 2][round % 4];
                t.load_dest = [0xFF, 0, 1][round % 3];
            }
            let (mut at, mut variant) = (pc, 0);
            for (k, i) in insns.iter().enumerate() {
                let want = one.issue(i, at, flash);
                let got = if k == 0 {
                    let c = fast.issue(i, at, flash);
                    variant = fast.chain_variant();
                    c
                } else {
                    let c = fast.issue_chained(i, at, flash, variant);
                    fast.settle(i, at, variant);
                    c
                };
                let state = |t: &Timing| (t.pair_open, t.prev_dest, t.load_dest, t.last_fetch_line);
                assert_eq!(
                    (got, state(&fast)),
                    (want, state(&one)),
                    "round {round}, insn {k}"
                );
                at = at.wrapping_add(u32::from(i.len));
                checked += 1;
            }
        }
        assert!(checked > 2000);
    }
}
