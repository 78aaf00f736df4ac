//! The cache what-if of a candidate plan.
//!
//! Per-section costs ([`super::costs`]) are measured on the image as linked: a section that stays
//! in XIP flash is priced with the instruction-cache misses it had there, sharing the 32 KB cache
//! with every other hot section. Once the plan takes hot code into TCM (which the core fetches
//! without the cache), what stays in flash competes with less and misses less. On an image whose
//! hot code thrashes the cache that is a large part of the gain at small budgets, and per-section
//! costs cannot see it (on the `sdk` fixture at 8 KB of ITCM the prediction was 54.5% under the
//! measured gain, docs/PERFORMANCE.md).
//!
//! So the image is run once more on the virtual board with two shadow instruction caches of the
//! board's geometry fed the run's fetch stream: one sees every line (as the run's own cache did),
//! the other skips the lines of the sections the plan moves to TCM. The misses the staying code
//! no longer takes, priced at what a miss costs at the firmware's clocks, are what the plan saves
//! beyond the per-section costs. (They were priced at the run's XIP stall cycles per fetch miss,
//! but those stalls include data reads from flash: on `flashwrite`, which reads back what it
//! programs, that made each miss cost six times too much.) Moving code also moves what stays: the
//! link closes the gaps, which changes which lines share a cache set, so the second cache sees
//! each staying line at its address less the bytes moved out below it (alignment padding aside).
//! Code moved to OCRAM still goes through the cache, at its new address (the per-section OCRAM
//! cost was measured with all code at its old one, sharing the cache as linked): its own misses
//! change too, priced at OCRAM's line fill.

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::{Context, Result};

use crate::board::{Board, RegionKind};
use crate::sim::timing::Cache;
use crate::sim::{Limits, Machine, Observer, StopReason};

/// What the what-if run found.
#[derive(Clone, Debug, Default)]
pub struct CacheWhatIf {
    /// Cycles the code staying in cached memory saves once the moved code leaves the cache;
    /// negative when it misses more: a function that shared a cache line with hot code that
    /// moves out now takes that line's miss itself (on `rtos` at 2 KB of ITCM, three such
    /// functions cost ~960 cycles, 14% of the gain), and closing the gaps can make new set
    /// conflicts.
    pub saving: f64,
    /// Misses (full misses and prefetch-buffer hits) of the code that stays in flash, as linked
    /// and with the plan applied.
    pub staying_misses: (u64, u64),
}

/// A section the plan moves: its address range in the image that was run, whether its new
/// region is fetched without the instruction cache (TCM), and where it will start when known.
#[derive(Clone, Copy, Debug)]
pub struct Moved {
    pub start: u32,
    pub end: u32,
    pub uncached: bool,
    pub to: Option<u32>,
}

/// Runs `elf` on `board` with the shadow caches and prices what the staying code saves when the
/// `moved` sections leave their place, less one flash miss for each of the `veneer_lines` the
/// plan adds in flash.
pub fn cache_what_if(
    board: &Board,
    elf: &[u8],
    path: &str,
    moved: &[Moved],
    veneer_lines: u64,
) -> Result<CacheWhatIf> {
    let shadow = Rc::new(RefCell::new(Shadow::new(board, moved)));
    let mut machine = Machine::new(board, elf, path)?;
    // As the stall model's runs: the firmware may program its own flash.
    machine.mem.allow_flash_writes();
    machine.set_observer(Some(Box::new(Feed(shadow.clone()))));
    let stop = machine
        .run(Limits {
            max_instructions: 2_000_000_000,
            max_cycles: u64::MAX,
        })
        .with_context(|| format!("the cache what-if run of {path}"))?;
    machine.set_observer(None);
    if !matches!(stop, StopReason::Exit { .. }) {
        anyhow::bail!("the cache what-if run of {path} did not reach its exit ({stop:?})");
    }
    let xip = machine
        .timing
        .miss_cycles(RegionKind::Xip)
        .unwrap_or((0, None));
    let price = Prices {
        miss: f64::from(xip.0),
        prefetch: f64::from(xip.1.unwrap_or(xip.0)),
        ocram_fill: f64::from(
            machine
                .timing
                .miss_cycles(RegionKind::Ocram)
                .map_or(0, |c| c.0),
        ),
    };
    let mut what_if = shadow.borrow().price(&price);
    what_if.saving -= veneer_lines as f64 * price.miss;
    Ok(what_if)
}

/// What a shadow miss costs, in core cycles at the firmware's clocks.
struct Prices {
    /// A miss on XIP flash, and one the prefetch buffer serves.
    miss: f64,
    prefetch: f64,
    /// A line fill from OCRAM.
    ocram_fill: f64,
}

/// Miss and prefetch-buffer-hit counts.
#[derive(Clone, Copy, Debug, Default)]
struct Misses {
    full: u64,
    prefetch: u64,
}

impl Misses {
    fn weighted(self, miss: f64, prefetch: f64) -> f64 {
        self.full as f64 * miss + self.prefetch as f64 * prefetch
    }
}

/// One instruction cache and the XIP prefetch buffer in front of it (as `sim::timing` models
/// them: a miss on the line after the last one filled is a prefetch hit).
struct Lane {
    cache: Cache,
    next_line: u32,
}

impl Lane {
    /// Fetches the line of `address`; `None` on a hit, else whether the prefetch buffer held it.
    fn fetch(&mut self, address: u32, shift: u32, prefetchable: bool) -> Option<bool> {
        let line = address >> shift;
        if self.cache.access(address) {
            return None;
        }
        let prefetched = prefetchable && line == self.next_line;
        self.next_line = line.wrapping_add(1);
        Some(prefetched)
    }
}

fn tally(misses: &mut Misses, outcome: Option<bool>) {
    match outcome {
        Some(true) => misses.prefetch += 1,
        Some(false) => misses.full += 1,
        None => {}
    }
}

struct Shadow {
    /// Moved sections, sorted by start.
    moved: Vec<Moved>,
    /// Bytes of the first `i` moved sections: how far the link shifts code above them down.
    moved_below: Vec<u32>,
    /// Cached code memory: (start, end, is XIP flash).
    cached: Vec<(u32, u32, bool)>,
    prefetch: bool,
    shift: u32,
    last_line: u32,
    /// Sees every fetched line, as the run's own cache.
    as_linked: Lane,
    /// Does not see the lines moved to TCM.
    planned: Lane,
    /// XIP misses of the code that stays, in each lane.
    staying_as_linked: Misses,
    staying_planned: Misses,
    /// Misses of the code moved to OCRAM, in each lane.
    ocram_as_linked: Misses,
    ocram_planned: Misses,
}

impl Shadow {
    fn new(board: &Board, moved: &[Moved]) -> Shadow {
        let geometry = &board.cache.instruction;
        let cached: Vec<(u32, u32, bool)> = board
            .regions
            .iter()
            .filter(|r| {
                r.cacheable
                    && matches!(
                        r.kind,
                        RegionKind::Xip | RegionKind::Ocram | RegionKind::Semc
                    )
            })
            .map(|r| {
                let start = r.base.0 as u32;
                let end = (r.base.0 + r.size.0).min(u64::from(u32::MAX)) as u32;
                (start, end, r.kind == RegionKind::Xip)
            })
            .collect();
        // Only what leaves cached memory changes the cache's view (code moving from TCM to
        // flash is rare and small: not modelled).
        let mut moved: Vec<Moved> = moved
            .iter()
            .filter(|m| cached.iter().any(|&(s, e, _)| s <= m.start && m.start < e))
            .copied()
            .collect();
        moved.sort_by_key(|m| m.start);
        let moved_below = std::iter::once(0)
            .chain(moved.iter().scan(0u32, |sum, m| {
                *sum += m.end - m.start;
                Some(*sum)
            }))
            .collect();
        let lane = || Lane {
            cache: Cache::new(geometry),
            next_line: u32::MAX,
        };
        Shadow {
            moved,
            moved_below,
            cached,
            prefetch: board.timing.xip_prefetch,
            shift: geometry.line.max(4).trailing_zeros(),
            last_line: u32::MAX,
            as_linked: lane(),
            planned: lane(),
            staying_as_linked: Misses::default(),
            staying_planned: Misses::default(),
            ocram_as_linked: Misses::default(),
            ocram_planned: Misses::default(),
        }
    }

    /// The moved section holding `pc`, or where the staying `pc` ends up once the link has
    /// closed the gaps below it.
    fn moved_at(&self, pc: u32) -> Result<Moved, u32> {
        let i = self.moved.partition_point(|m| m.start <= pc);
        match i.checked_sub(1).map(|k| self.moved[k]) {
            Some(m) if pc < m.end => Ok(m),
            _ => Err(pc - self.moved_below[i]),
        }
    }

    fn fetch(&mut self, pc: u32) {
        let line = pc >> self.shift;
        if line == self.last_line {
            return;
        }
        self.last_line = line;
        let Some(&(_, _, xip)) = self.cached.iter().find(|&&(s, e, _)| s <= pc && pc < e) else {
            return;
        };
        let prefetchable = xip && self.prefetch;
        let linked = self.as_linked.fetch(pc, self.shift, prefetchable);
        match self.moved_at(pc) {
            // Fetched from TCM: never reaches the cache.
            Ok(m) if m.uncached => {}
            // Moved to OCRAM: it still competes for the cache, at its new address (its old
            // one when the receiving section is not known).
            Ok(m) => {
                let address = m.to.map_or(pc, |to| to + (pc - m.start));
                let planned = self.planned.fetch(address, self.shift, false);
                tally(&mut self.ocram_as_linked, linked);
                tally(&mut self.ocram_planned, planned);
            }
            Err(address) => {
                let planned = self.planned.fetch(address, self.shift, prefetchable);
                if xip {
                    tally(&mut self.staying_as_linked, linked);
                    tally(&mut self.staying_planned, planned);
                }
            }
        }
    }

    /// The staying code's saving in cycles (negative when it misses more), and the moved
    /// OCRAM code's, at `price`.
    fn price(&self, price: &Prices) -> CacheWhatIf {
        let staying = self.staying_as_linked.weighted(price.miss, price.prefetch)
            - self.staying_planned.weighted(price.miss, price.prefetch);
        let fill = price.ocram_fill;
        let ocram =
            self.ocram_as_linked.weighted(fill, fill) - self.ocram_planned.weighted(fill, fill);
        CacheWhatIf {
            saving: staying + ocram,
            staying_misses: (
                self.staying_as_linked.full + self.staying_as_linked.prefetch,
                self.staying_planned.full + self.staying_planned.prefetch,
            ),
        }
    }
}

/// The observer the machine owns; the shadow caches stay readable after the run.
struct Feed(Rc<RefCell<Shadow>>);

impl Observer for Feed {
    fn retire(&mut self, pc: u32, _cycles: u32) {
        self.0.borrow_mut().fetch(pc);
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> Board {
        Board::resolve("imxrt1062").unwrap()
    }

    /// The board file's prices (at its own clocks).
    fn prices(board: &Board) -> Prices {
        Prices {
            miss: f64::from(board.timing.xip_miss_cycles),
            prefetch: f64::from(board.timing.xip_prefetch_hit_cycles),
            ocram_fill: f64::from(board.timing.ocram_line_fill_cycles),
        }
    }

    /// A loop over more flash lines than the cache holds misses on every line; with half of
    /// them moved to TCM the rest fit and stop missing, and the saving says so.
    #[test]
    fn moving_half_of_a_thrashing_loop_lets_the_rest_hit() {
        let board = board();
        let base = board
            .regions
            .iter()
            .find(|r| r.kind == RegionKind::Xip)
            .unwrap()
            .base
            .0 as u32;
        let size = board.cache.instruction.size.0 as u32;
        let half = base + size * 3 / 4;
        let moved = [Moved {
            start: base,
            end: half,
            uncached: true,
            to: None,
        }];
        let mut shadow = Shadow::new(&board, &moved);
        for _ in 0..4 {
            // 1.5 cache sizes of straight-line code, a stride of one line per fetch.
            for pc in (base..base + size * 3 / 2).step_by(board.cache.instruction.line as usize) {
                shadow.fetch(pc);
            }
        }
        let lines = u64::from(size / 2 / board.cache.instruction.line);
        assert_eq!(
            shadow.staying_as_linked.full + shadow.staying_as_linked.prefetch,
            4 * (lines + lines / 2),
            "as linked, every staying line misses in every pass"
        );
        assert_eq!(
            shadow.staying_planned.full + shadow.staying_planned.prefetch,
            lines + lines / 2,
            "with the first half in TCM, the rest misses only in the first pass"
        );
        let priced = shadow.price(&prices(&board));
        // Three of every staying line's four misses are saved, each worth at most a full miss.
        let saved = 3 * (lines + lines / 2);
        let miss = f64::from(board.timing.xip_miss_cycles);
        assert!(
            priced.saving > 0.0 && priced.saving <= saved as f64 * miss,
            "{priced:?}"
        );
    }

    /// A function that shared its cache line with hot code now takes that line's miss itself:
    /// the what-if says the plan costs, not saves (it used to drop negative savings).
    #[test]
    fn a_cold_neighbour_of_moved_code_misses_more() {
        let board = board();
        let line = board.cache.instruction.line;
        let base = 0x6000_2000;
        // The hot half-line at `base` moves to TCM; the cold code right after it stays, and
        // the link closes the gap: it now starts a line that nothing else fetches.
        let moved = [Moved {
            start: base,
            end: base + line / 2,
            uncached: true,
            to: None,
        }];
        let mut shadow = Shadow::new(&board, &moved);
        shadow.fetch(base);
        // A fetch from ITCM in between (the shadow skips repeats of the last line).
        shadow.fetch(0x100);
        shadow.fetch(base + line / 2);
        let priced = shadow.price(&prices(&board));
        assert_eq!(priced.staying_misses, (0, 1), "{priced:?}");
        assert!(priced.saving < 0.0, "{priced:?}");
    }

    #[test]
    fn nothing_moved_saves_nothing() {
        let board = board();
        let mut shadow = Shadow::new(&board, &[]);
        let base = 0x6000_2000;
        for pc in (base..base + 0x20000).step_by(4) {
            shadow.fetch(pc);
        }
        assert_eq!(shadow.price(&prices(&board)).saving, 0.0);
    }
}
