//! Exact profiles from the virtual board: every retired instruction and every call is seen, so
//! per-function instruction and cycle counts and call-edge counts are exact, and DWT-style PC
//! samples are taken every `period` cycles as hardware would.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::{Capture, ElfIdentity, FunctionCount, Method, Profile};
use crate::sim::{Machine, Observer};

/// What the observer accumulates while the machine runs.
#[derive(Default)]
pub struct ExactCounts {
    /// Per PC: (instructions, cycles).
    per_pc: FxHashMap<u32, (u64, u64)>,
    calls: FxHashMap<(u32, u32), u64>,
    samples: FxHashMap<u32, u64>,
    period: u64,
    cycles: u64,
    next_sample: u64,
}

/// The observer to install with [`Machine::set_observer`]; the counts stay readable through the
/// shared handle.
pub struct ExactProfiler(pub Rc<RefCell<ExactCounts>>);

impl ExactProfiler {
    /// A profiler that also takes a PC sample every `period` cycles (0: no samples).
    pub fn new(period: u64) -> (ExactProfiler, Rc<RefCell<ExactCounts>>) {
        let counts = Rc::new(RefCell::new(ExactCounts {
            period,
            next_sample: period,
            ..ExactCounts::default()
        }));
        (ExactProfiler(counts.clone()), counts)
    }
}

impl Observer for ExactProfiler {
    fn retire(&mut self, pc: u32, cycles: u32) {
        let mut c = self.0.borrow_mut();
        let entry = c.per_pc.entry(pc).or_default();
        entry.0 += 1;
        entry.1 += u64::from(cycles);
        c.cycles += u64::from(cycles);
        if c.period > 0 && c.cycles >= c.next_sample {
            // The sample lands on the instruction retiring when the period elapses, as the DWT's
            // down-counter does.
            while c.next_sample <= c.cycles {
                *c.samples.entry(pc).or_default() += 1;
                c.next_sample += c.period;
            }
        }
    }

    fn call(&mut self, site: u32, target: u32) {
        *self
            .0
            .borrow_mut()
            .calls
            .entry((site, target & !1))
            .or_default() += 1;
    }

    fn ret(&mut self, _site: u32, _target: u32) {}
}

impl ExactCounts {
    /// The exact profile of a finished (or stopped) run on `board`.
    pub fn into_profile(&self, machine: &Machine, elf: ElfIdentity, board: &str) -> Profile {
        let capture = Capture {
            method: Method::Sim,
            sample_period_cycles: (self.period > 0).then_some(self.period),
            duration_ms: None,
            probe: None,
            runs: 1,
            partial: None,
            parameters: Default::default(),
        };
        let mut profile = Profile::new(elf, board, capture);
        profile.set_histogram(self.samples.iter().map(|(pc, n)| (*pc, *n)));
        profile.set_call_edges(self.calls.iter().map(|(k, n)| (*k, *n)));
        profile.totals.cycles = Some(machine.cycles);
        profile.totals.instructions = Some(machine.instructions);
        let mut functions: FxHashMap<u32, FunctionCount> = FxHashMap::default();
        for (&pc, &(instructions, cycles)) in &self.per_pc {
            let (name, address, size) = match machine.image.function_at(pc) {
                Some(f) => (f.name.clone(), f.addr, f.size),
                None => (format!("0x{pc:08x}"), pc, 0),
            };
            let f = functions.entry(address).or_insert_with(|| FunctionCount {
                name,
                address,
                size,
                instructions: 0,
                cycles: 0,
                fetch_stall_cycles: 0,
                calls: 0,
            });
            f.instructions += instructions;
            f.cycles += cycles;
        }
        for (&(_, target), &count) in &self.calls {
            if let Some(f) = functions.get_mut(&target) {
                f.calls += count;
            }
        }
        let mut functions: Vec<FunctionCount> = functions.into_values().collect();
        functions.sort_by_key(|f| f.address);
        profile.functions = functions;
        profile
    }
}
