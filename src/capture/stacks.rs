//! Call-stack sampling: halt, unwind through the target's registers and memory, resume. The
//! same code runs against a probe and against the virtual board, through [`Target`].

use rustc_hash::FxHashMap;

use super::collect::{Collected, Limits, Progress, Run, StopReason};
use super::debug;
use super::target::{regs, CoreRegister, Target, TargetError};
use crate::sim::Machine;
use crate::unwind::{self, Table, TargetMemory, Unwound};

/// A [`Target`] seen by the unwinder. The first target error is kept, so that a probe lost in
/// the middle of an unwind stops the capture instead of passing for unreadable memory.
pub struct TargetStackMemory<'t> {
    target: &'t mut dyn Target,
    pub error: Option<TargetError>,
    /// Probe transactions this unwind took (register and word reads).
    pub reads: u64,
}

impl<'t> TargetStackMemory<'t> {
    pub fn new(target: &'t mut dyn Target) -> TargetStackMemory<'t> {
        TargetStackMemory {
            target,
            error: None,
            reads: 0,
        }
    }

    fn keep<T>(&mut self, result: Result<T, TargetError>) -> Option<T> {
        self.reads += 1;
        match result {
            Ok(v) => Some(v),
            Err(TargetError::Other(_)) => None,
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }
}

impl TargetMemory for TargetStackMemory<'_> {
    fn read_word(&mut self, address: u32) -> Option<u32> {
        let r = self.target.read_word(address);
        self.keep(r)
    }

    fn read_register(&mut self, n: u8) -> Option<u32> {
        let mut value = [0];
        let r = debug::read_registers(
            self.target,
            &[CoreRegister::Regsel(u16::from(n))],
            &mut value,
        )
        .map(|()| value[0]);
        self.keep(r)
    }
}

/// Core register `n` (DCRSR REGSEL numbering) of the virtual board.
pub(crate) fn sim_register(machine: &Machine, n: u16) -> Option<u32> {
    // CONTROL.SPSEL (bit 1) selects the process stack in thread mode.
    let on_psp = machine.ipsr == 0 && machine.control & 2 != 0;
    match n {
        0..=14 => Some(machine.r[usize::from(n)]),
        15 => Some(machine.pc),
        17 => Some(if on_psp {
            machine.other_sp
        } else {
            machine.r[13]
        }),
        18 => Some(if on_psp {
            machine.r[13]
        } else {
            machine.other_sp
        }),
        _ => None,
    }
}

/// Halts the target, unwinds its stack and resumes it.
pub fn sample(
    target: &mut dyn Target,
    table: &Table,
    limits: unwind::Limits,
) -> Result<(Unwound, u64), TargetError> {
    debug::halt(target)?;
    let mut memory = TargetStackMemory::new(target);
    let unwound = unwind::unwind(table, &mut memory, limits);
    let (error, reads) = (memory.error, memory.reads);
    debug::resume(target)?;
    match error {
        Some(e) => Err(e),
        None => Ok((unwound, reads)),
    }
}

/// Unwound stacks, deduplicated: frames (sampled PC first) → (samples, of which truncated).
#[derive(Debug, Default)]
pub struct StackCounts {
    pub stacks: FxHashMap<Vec<u32>, (u64, u64)>,
    /// Probe transactions per sample, summed (for the rate the probe allows).
    pub reads: u64,
}

impl StackCounts {
    /// The profile's deduplicated stack tables.
    pub fn into_call_stacks(self) -> crate::profile::CallStacks {
        crate::profile::CallStacks::from_samples(self.stacks.into_iter().flat_map(
            |(frames, (count, truncated))| {
                [
                    (frames.clone(), count - truncated, false),
                    (frames, truncated, true),
                ]
                .into_iter()
                .filter(|s| s.1 > 0)
            },
        ))
    }
}

/// `halt --stacks`: the halting collector that unwinds the whole stack at each sample. Call
/// edges come from consecutive frames (each caller's call site → the callee's frame).
pub fn collect(
    target: &mut dyn Target,
    table: &Table,
    limits: &Limits,
    progress: Progress<'_>,
) -> (Collected, StackCounts) {
    let mut collected = Collected::default();
    let mut counts = StackCounts::default();
    let mut run = Run::new(target, limits, progress);
    let stop = (|| -> Result<StopReason, TargetError> {
        target.write_word(regs::DEMCR, regs::DEMCR_TRCENA)?;
        loop {
            if run.should_stop(target, &collected) {
                return Ok(StopReason::Limit);
            }
            let (unwound, reads) = sample(target, table, unwind::Limits::default())?;
            counts.reads += reads;
            let Some(&pc) = unwound.frames.first() else {
                collected.lost += 1;
                target.wait_for_next_poll()?;
                continue;
            };
            *collected.pcs.entry(pc).or_default() += 1;
            collected.samples += 1;
            for pair in unwound.frames.windows(2) {
                *collected.edges.entry((pair[1], pair[0])).or_default() += 1;
            }
            let entry = counts.stacks.entry(unwound.frames).or_default();
            entry.0 += 1;
            entry.1 += u64::from(unwound.truncated.is_some());
            target.wait_for_next_poll()?;
        }
    })()
    .unwrap_or_else(StopReason::from);
    run.finish(target, None, &mut collected, stop);
    let per_sample = counts.reads as f64 / collected.samples.max(1) as f64;
    collected
        .parameters
        .push(("probe_reads_per_sample".into(), format!("{per_sample:.1}")));
    (collected, counts)
}
