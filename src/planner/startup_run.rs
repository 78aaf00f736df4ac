//! The dynamic half of the startup-safe set: what the baseline image actually runs, on the
//! virtual board, before its startup code copies each receiving section.
//!
//! The static walk of [`super::safety`] follows relocations; it cannot see a call through a
//! function-pointer table, a copy routine reached through a vendor's `SystemInit` hook, or code
//! the boot ROM's plugin runs. The run sees all of them. It stops as soon as every receiving
//! section has been copied (startup is a few thousand instructions), so it costs far less than
//! the profiling runs.
//!
//! The copy point of a section is the first instruction after which its run-address range no
//! longer holds what it held at reset. The run goes in small chunks and compares the range
//! after each, so what runs inside the chunk that wrote first also counts as "before" (safe:
//! that is the copy loop). An empty section is never written (nor one whose copied bytes equal
//! what was there); its copy point is then the first instruction that loads one of its bounds
//! (`ldr r1, =__ram_function_start__`), and the static rule keeps the copier called right after.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::{Context, Result};
use object::{Object, ObjectSection};
use rustc_hash::FxHashMap;

use super::copy::Receiving;
use super::{safety, Items, PlanInputs};
use crate::board::Board;
use crate::sim::{Limits, Machine, Observer, StopReason};

/// A receiving output section to watch.
#[derive(Clone, Debug)]
pub struct Watched {
    pub name: String,
    /// Its run addresses, `start..end` (empty when the baseline puts nothing there).
    pub start: u32,
    pub end: u32,
    /// Addresses of the instructions that load one of its bounds (the copy's set-up).
    pub markers: Vec<u32>,
    /// What the range holds once copied (the image's bytes at its run addresses), when known:
    /// the run then also times the copy.
    pub expected: Option<Vec<u8>>,
}

/// When the startup copied one section.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyPoint {
    pub section: String,
    /// Instructions retired before it (counted from reset, the boot ROM excluded).
    pub instruction: u64,
    pub cycle: u64,
}

/// What the startup ran before its copies.
#[derive(Debug, Default)]
pub struct StartupRun {
    /// Copy points in order of time.
    pub copies: Vec<CopyPoint>,
    /// Sections the run did not see copied within the limit (or before the program exited).
    pub not_copied: Vec<String>,
    /// Per section whose copy the run saw complete: the copy's cycles per byte. For a forward
    /// copy, the copy loop's rate between the first and the last chunk that saw it under way
    /// (free of the chunks' rounding at both ends: Teensy's 119.1 cycles a byte, 118.8 with
    /// it, against the 119.25 its re-linked images save per byte); else from the chunk that
    /// first wrote its range to the one after which it held the image's bytes.
    pub copy_rates: Vec<(String, f64)>,
    /// Instruction address → (instruction count, cycle) of its first execution.
    first_run: FxHashMap<u32, (u64, u64)>,
}

impl StartupRun {
    /// Instruction addresses first executed before `copy` (or inside the chunk that wrote first).
    pub fn ran_before<'a>(&'a self, copy: &'a CopyPoint) -> impl Iterator<Item = u32> + 'a {
        self.first_run
            .iter()
            .filter(move |(_, (n, _))| *n <= copy.instruction)
            .map(|(&pc, _)| pc)
    }
}

/// (cycle, bytes copied so far) of a copy seen under way.
type Progress = (u64, u64);

/// Instructions per chunk between two looks at the watched ranges: the precision of a copy point.
const CHUNK: u64 = 32;

/// How long to wait for the copies: startup code that has not copied after this many
/// instructions is not going to (it is in `main`'s loop by then).
const STARTUP_LIMIT: u64 = 2_000_000;

/// How many instructions per byte a copy may take before the run stops waiting for it to
/// complete (a byte loop takes about five): past that the section gets no measured rate.
const COPY_INSTRUCTIONS_PER_BYTE: u64 = 16;

/// How long after a section's copy set-up its range must change, or the set-up counts as the
/// copy point (the section is empty, or what was copied equals what was there).
const AFTER_SETUP: u64 = 100_000;

/// Counts instructions and records each address's first execution and the first marker hits.
struct FirstRun {
    state: Rc<RefCell<RunState>>,
}

#[derive(Default)]
struct RunState {
    instructions: u64,
    cycles: u64,
    first_run: FxHashMap<u32, (u64, u64)>,
    /// Marker address → watched sections it belongs to.
    markers: FxHashMap<u32, Vec<usize>>,
    /// Per watched section, its first marker hit.
    marker_hit: Vec<Option<(u64, u64)>>,
}

impl Observer for FirstRun {
    fn retire(&mut self, pc: u32, cycles: u32) {
        let s = &mut *self.state.borrow_mut();
        s.instructions += 1;
        s.cycles += u64::from(cycles);
        let now = (s.instructions, s.cycles);
        let mut first = false;
        s.first_run.entry(pc).or_insert_with(|| {
            first = true;
            now
        });
        if !first {
            return;
        }
        if let Some(sections) = s.markers.get(&pc) {
            for &w in sections {
                s.marker_hit[w].get_or_insert(now);
            }
        }
    }
    fn call(&mut self, _site: u32, _target: u32) {}
    fn ret(&mut self, _site: u32, _target: u32) {}
}

/// Runs the image from reset until every watched section is copied (or the limit).
pub fn trace(board: &Board, elf: &[u8], path: &str, watched: &[Watched]) -> Result<StartupRun> {
    let mut m = Machine::new(board, elf, path)
        .with_context(|| format!("loading {path} on the virtual {}", board.name))?;
    let snapshot = |m: &Machine, w: &Watched| -> Option<Vec<u8>> {
        let mut bytes = vec![0u8; w.end.saturating_sub(w.start) as usize];
        m.mem.peek(w.start, &mut bytes).ok().map(|_| bytes)
    };
    let initial: Vec<Option<Vec<u8>>> = watched.iter().map(|w| snapshot(&m, w)).collect();
    let state = Rc::new(RefCell::new(RunState {
        marker_hit: vec![None; watched.len()],
        ..RunState::default()
    }));
    for (i, w) in watched.iter().enumerate() {
        for &pc in &w.markers {
            state.borrow_mut().markers.entry(pc).or_default().push(i);
        }
    }
    m.set_observer(Some(Box::new(FirstRun {
        state: state.clone(),
    })));
    let mut written: Vec<Option<(u64, u64)>> = vec![None; watched.len()];
    // Per section, the cycle at the start of the chunk that first wrote it, and the cycle at the
    // end of the chunk after which it held its expected bytes: the copy's time, chunk-rounded up.
    let mut copy_start: Vec<Option<u64>> = vec![None; watched.len()];
    let mut complete: Vec<Option<u64>> = vec![None; watched.len()];
    // Per section, (cycle, bytes copied) at the end of the first and of the latest chunk that
    // saw the copy under way: the loop's own rate, free of the chunks' rounding at both ends.
    let mut progress: Vec<Option<(Progress, Progress)>> = vec![None; watched.len()];
    // A section is settled when its range changed, or, when it never changes (empty, or a copy
    // of bytes equal to what was there), some time after the copy's set-up loaded its bounds.
    // A written one with known contents is timed: the run waits for the copy to complete.
    let timing = |i: usize, state: &RunState, written: &[Option<(u64, u64)>]| {
        let w = &watched[i];
        let patience = COPY_INSTRUCTIONS_PER_BYTE * u64::from(w.end - w.start) + AFTER_SETUP;
        w.expected.is_some() && written[i].is_some_and(|(n, _)| state.instructions <= n + patience)
    };
    let done = |written: &[Option<(u64, u64)>], complete: &[Option<u64>], state: &RunState| {
        watched.iter().enumerate().all(|(i, w)| {
            let settled = written[i].is_some()
                || state.marker_hit[i]
                    .is_some_and(|(n, _)| w.start == w.end || state.instructions > n + AFTER_SETUP);
            settled && (complete[i].is_some() || !timing(i, state, written))
        })
    };
    while !done(&written, &complete, &state.borrow()) && m.instructions < STARTUP_LIMIT {
        let chunk_start = state.borrow().cycles;
        let limit = Limits {
            max_instructions: m.instructions + CHUNK,
            max_cycles: u64::MAX,
        };
        let stop = m.run(limit).with_context(|| {
            format!(
                "running the startup of {path} on the virtual {}",
                board.name
            )
        })?;
        let now = {
            let s = state.borrow();
            (s.instructions, s.cycles)
        };
        for (i, w) in watched.iter().enumerate() {
            if written[i].is_none() && w.start < w.end {
                // A range the FlexRAM split does not map yet reads as unreadable: not written.
                let changed = snapshot(&m, w).is_some_and(|now| Some(&now) != initial[i].as_ref());
                if changed {
                    written[i] = Some(now);
                    copy_start[i] = Some(chunk_start);
                }
            }
            if written[i].is_some() && complete[i].is_none() && timing(i, &state.borrow(), &written)
            {
                let held = snapshot(&m, w);
                if held.as_ref() == w.expected.as_ref() {
                    complete[i] = Some(now.1);
                } else if let (Some(held), Some(expected)) = (&held, &w.expected) {
                    let copied = copied_prefix(held, expected) as u64;
                    let first = progress[i].map_or((now.1, copied), |(first, _)| first);
                    progress[i] = Some((first, (now.1, copied)));
                }
            }
        }
        if matches!(stop, StopReason::Exit { .. }) {
            break;
        }
    }
    m.set_observer(None);
    let state = Rc::try_unwrap(state)
        .map_err(|_| anyhow::anyhow!("the startup observer is still installed"))?
        .into_inner();
    let mut run = StartupRun {
        first_run: state.first_run,
        ..StartupRun::default()
    };
    for (i, w) in watched.iter().enumerate() {
        if let (Some(from), Some(to)) = (copy_start[i], complete[i]) {
            let rate = match progress[i] {
                // A forward copy seen under way over at least a quarter of the section.
                Some(((t0, b0), (t1, b1)))
                    if 4 * (b1.saturating_sub(b0)) >= u64::from(w.end - w.start) =>
                {
                    (t1 - t0) as f64 / (b1 - b0) as f64
                }
                _ => (to - from) as f64 / f64::from(w.end - w.start),
            };
            run.copy_rates.push((w.name.clone(), rate));
        }
        let point = written[i].or(state.marker_hit[i]);
        match point {
            Some((instruction, cycle)) => run.copies.push(CopyPoint {
                section: w.name.clone(),
                instruction,
                cycle,
            }),
            None => run.not_copied.push(w.name.clone()),
        }
    }
    run.copies.sort_by_key(|c| c.instruction);
    Ok(run)
}

/// How many leading bytes of `held` are the image's: how far a forward copy has got (bytes that
/// already held their value at reset may run a little ahead of it).
fn copied_prefix(held: &[u8], expected: &[u8]) -> usize {
    held.iter()
        .zip(expected)
        .position(|(h, e)| h != e)
        .unwrap_or(expected.len())
}

/// The startup-safe set: the static rules of [`safety`] united with what the run saw execute
/// before each receiving section's copy. Each pinned item gets its reason; when both halves
/// pin it, the static reason comes first and the run's follows. Also returns the copy rates the
/// run measured ([`StartupRun::copy_rates`]): what moving code into or out of a copied section
/// costs or saves at boot.
pub(super) fn startup_pins(
    inputs: &PlanInputs<'_>,
    items: &Items<'_>,
    copies: &Receiving,
    warnings: &mut Vec<String>,
) -> (BTreeMap<usize, String>, Vec<(String, f64)>) {
    let file = object::File::parse(inputs.elf).ok();
    let entry_address = inputs
        .map
        .entry
        .as_ref()
        .map(|e| e.address)
        .or_else(|| file.as_ref().map(|f| f.entry()));
    let entry = entry_address.and_then(|a| items.at(a & !1));
    let bytes = |i: usize| -> Option<Vec<u8>> {
        let s = items.sections[i];
        let file = file.as_ref()?;
        let section = file
            .sections()
            .find(|x| x.address() <= s.address && s.address + s.size <= x.address() + x.size())?;
        let data = section.data().ok()?;
        let start = (s.address - section.address()) as usize;
        Some(data.get(start..start + s.size as usize)?.to_vec())
    };
    let runs_copied: Vec<bool> = items
        .sections
        .iter()
        .map(|s| {
            copies
                .sections
                .iter()
                .any(|c| c.copied() && s.address >= c.address && s.address < c.address + c.size)
        })
        .collect();
    let mut pinned = safety::startup_safe_set(&safety::StartupFacts {
        sections: &items.sections,
        not_code: &items.not_code,
        references: &items.references,
        entry,
        copy_symbols: &copies.copied_symbols(),
        runs_copied: &runs_copied,
        bytes: &bytes,
    });
    // The image's bytes at a copied section's run addresses: what its range holds once copied.
    let expected = |address: u64, size: u64| -> Option<Vec<u8>> {
        let section = file
            .as_ref()?
            .sections()
            .find(|x| x.address() == address && x.size() == size)?;
        section.data().ok().map(<[u8]>::to_vec)
    };
    let watched = watched_sections(items, copies, &bytes, &expected);
    if watched.is_empty() {
        return (pinned, Vec::new());
    }
    let path = inputs.elf_path.display().to_string();
    let run = match trace(inputs.board, inputs.elf, &path, &watched) {
        Ok(run) => run,
        Err(e) => {
            warnings.push(format!(
                "the startup run on the virtual board failed ({e:#}): only the static startup-safe rules apply"
            ));
            return (pinned, Vec::new());
        }
    };
    for section in &run.not_copied {
        warnings.push(format!(
            "the baseline run did not copy {section} within its first {STARTUP_LIMIT} instructions: only the static startup-safe rules apply to it"
        ));
    }
    // Earliest copy first, so each item names the first copy it ran before.
    let mut dynamic: BTreeMap<usize, String> = BTreeMap::new();
    for copy in &run.copies {
        for pc in run.ran_before(copy) {
            if let Some(item) = items.at(u64::from(pc)) {
                dynamic.entry(item).or_insert_with(|| {
                    format!(
                        "ran before the startup copy into {} (cycle {} of the baseline run on the virtual board)",
                        copy.section, copy.cycle
                    )
                });
            }
        }
    }
    for (item, why) in dynamic {
        pinned
            .entry(item)
            .and_modify(|r| {
                r.push_str("; ");
                r.push_str(&why);
            })
            .or_insert(why);
    }
    (pinned, run.copy_rates)
}

/// The copied receiving sections, with the instructions that load their bounds.
fn watched_sections(
    items: &Items<'_>,
    copies: &Receiving,
    bytes: &dyn Fn(usize) -> Option<Vec<u8>>,
    expected: &dyn Fn(u64, u64) -> Option<Vec<u8>>,
) -> Vec<Watched> {
    let mut by_item: FxHashMap<usize, Vec<&safety::ItemRef>> = FxHashMap::default();
    for r in &items.references {
        by_item.entry(r.from).or_default().push(r);
    }
    copies
        .sections
        .iter()
        .filter(|s| s.copied())
        .map(|s| {
            let symbols: Vec<String> = s.symbols.iter().map(|(name, _)| name.clone()).collect();
            let markers = by_item
                .iter()
                .flat_map(|(&item, refs)| {
                    let code = bytes(item).unwrap_or_default();
                    let base = items.sections[item].address;
                    safety::symbol_uses(refs, &code, &symbols)
                        .into_iter()
                        .map(move |offset| (base + offset) as u32)
                })
                .collect();
            Watched {
                name: s.name.clone(),
                start: s.address as u32,
                end: (s.address + s.size) as u32,
                markers,
                expected: expected(s.address, s.size),
            }
        })
        .collect()
}
