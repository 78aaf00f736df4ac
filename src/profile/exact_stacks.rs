//! Exact call stacks on the virtual board, the oracle the unwinder is checked against.
//!
//! The machine reports every call (BL, BLX) and every return (BX LR, POP {pc}, LDR pc); a shadow
//! stack follows them. Returns pop up to the frame they return to, so tail calls (`B` to another
//! function, which keeps the caller's return address) need no special case. Exception entry is
//! not a call: it is recognised as the first instruction of a vector-table handler that was not
//! reached by a call or by a branch from inside the handler; the `EXC_RETURN` return pops it.
//! Where an exception interrupted the code is known only when it returns (the next instruction
//! retired), so exception frames carry an id that [`ShadowStack::resumed`] resolves later.
//!
//! [`StackSampler`] turns the shadow stack into a profile's `call_stacks`: it samples on the
//! same instructions as [`super::ExactProfiler`] (same period, same cycle count), so the stacks
//! hold exactly the PC histogram's samples, each with its full call path.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::CallStacks;
use crate::sim::{Machine, Observer};

/// One frame of an exact stack, innermost first after the sampled PC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExactFrame {
    /// A call made from this call-instruction address that has not returned.
    Call { site: u32 },
    /// Exception number `id` in the order taken: the caller is the interrupted instruction.
    Exception { id: usize },
}

/// The shadow stack and what it learned about exceptions.
#[derive(Default)]
pub struct ShadowStack {
    frames: Vec<ExactFrame>,
    /// Handler entry address → end of the handler function.
    handlers: FxHashMap<u32, u32>,
    /// A call seen but whose instruction has not retired yet: (site, target).
    calling: Option<(u32, u32)>,
    /// Set by a call: the next instruction retired is its target, not an exception handler.
    entered_by_call: Option<u32>,
    /// An exception returned: the next instruction retired is where it resumed.
    returning: Option<usize>,
    resumed: Vec<Option<u32>>,
    last_pc: u32,
    /// What the instruction retiring now changed, so that its own stack can be rebuilt: the
    /// frames its return popped (outermost first) and whether its call pushed one.
    popped: Vec<ExactFrame>,
    pushed: bool,
}

/// The [`Observer`] that keeps a [`ShadowStack`].
pub struct ExactStacks(pub Rc<RefCell<ShadowStack>>);

impl ExactStacks {
    /// An observer for `machine` (its vector table names the exception handlers).
    pub fn new(machine: &Machine) -> (ExactStacks, Rc<RefCell<ShadowStack>>) {
        let shared = Rc::new(RefCell::new(ShadowStack::for_machine(machine)));
        (ExactStacks(shared.clone()), shared)
    }
}

impl ShadowStack {
    /// An empty stack that knows `machine`'s exception handlers from its vector table.
    fn for_machine(machine: &Machine) -> ShadowStack {
        let mut stack = ShadowStack::default();
        let vtor = machine.sys.vtor;
        // Word 0 is the initial SP and word 1 reset (which is not an exception return target).
        for n in 2..256u32 {
            let mut word = [0u8; 4];
            if machine
                .mem
                .peek(vtor.wrapping_add(4 * n), &mut word)
                .is_err()
            {
                break;
            }
            let vector = u32::from_le_bytes(word);
            if vector & 1 == 0 {
                continue;
            }
            let entry = vector & !1;
            let end = machine
                .image
                .function_at(entry)
                .map_or(entry + 2, |f| f.addr + f.size.max(2));
            stack.handlers.insert(entry, end);
        }
        stack
    }

    /// The frames below the current PC, innermost first.
    pub fn frames(&self) -> impl Iterator<Item = ExactFrame> + '_ {
        self.frames.iter().rev().copied()
    }

    /// Where exception `id` resumed, once it has returned.
    pub fn resumed(&self, id: usize) -> Option<u32> {
        self.resumed.get(id).copied().flatten()
    }

    /// The frames below the instruction that just retired, outermost first: as they were while
    /// it ran (before its own call or return), plus an exception entry it began.
    fn frames_of_retired(&self) -> impl Iterator<Item = ExactFrame> + '_ {
        let kept = self.frames.len() - usize::from(self.pushed);
        self.frames[..kept].iter().chain(&self.popped).copied()
    }

    /// Forgets what the retired instruction changed (called once it has been looked at).
    fn end_instruction(&mut self) {
        self.popped.clear();
        self.pushed = false;
    }

    fn retire(&mut self, pc: u32) {
        if let Some(id) = self.returning.take() {
            if self.is_exception_entry(pc) {
                // Tail-chaining: the next handler runs on the same interrupted context.
                self.frames.push(ExactFrame::Exception { id });
                self.last_pc = pc;
                return;
            }
            self.resumed[id] = Some(pc);
        }
        match self.calling {
            Some((site, _)) if site == pc => {}
            Some((_, target)) => {
                self.calling = None;
                self.entered_by_call = Some(target);
            }
            None => {}
        }
        if self.entered_by_call.take() != Some(pc) && self.is_exception_entry(pc) {
            let id = self.resumed.len();
            self.resumed.push(None);
            self.frames.push(ExactFrame::Exception { id });
        }
        self.last_pc = pc;
    }

    /// Whether `pc` is a handler's first instruction reached from outside that handler.
    fn is_exception_entry(&self, pc: u32) -> bool {
        self.handlers
            .get(&pc)
            .is_some_and(|&end| !(pc..end).contains(&self.last_pc))
    }

    fn ret(&mut self, target: u32) {
        if target >> 24 == 0xFF {
            if let Some(k) = self
                .frames
                .iter()
                .rposition(|f| matches!(f, ExactFrame::Exception { .. }))
            {
                if let ExactFrame::Exception { id } = self.frames[k] {
                    self.returning = Some(id);
                }
                self.popped.extend(self.frames.drain(k..));
            } else {
                self.popped.append(&mut self.frames);
            }
            return;
        }
        // Pop to the call this returns from (a BL is 4 bytes, a BLX 2); a return that matches
        // no call (a hand-made jump through LR) leaves the stack alone.
        let matches = |f: &ExactFrame| matches!(f, ExactFrame::Call { site } if target.wrapping_sub(*site) == 4 || target.wrapping_sub(*site) == 2);
        if let Some(k) = self.frames.iter().rposition(matches) {
            if !self.frames[k + 1..]
                .iter()
                .any(|f| matches!(f, ExactFrame::Exception { .. }))
            {
                self.popped.extend(self.frames.drain(k..));
            }
        }
    }

    fn call(&mut self, site: u32, target: u32) {
        self.calling = Some((site, target & !1));
        self.frames.push(ExactFrame::Call { site });
        self.pushed = true;
    }
}

impl Observer for ExactStacks {
    fn retire(&mut self, pc: u32, _cycles: u32) {
        let mut s = self.0.borrow_mut();
        s.retire(pc);
        s.end_instruction();
    }

    fn call(&mut self, site: u32, target: u32) {
        self.0.borrow_mut().call(site, target);
    }

    fn ret(&mut self, _site: u32, target: u32) {
        self.0.borrow_mut().ret(target);
    }
}

/// The exact stacks sampled every `period` cycles, as the observer leaves them.
pub struct StackSamples {
    shadow: ShadowStack,
    period: u64,
    cycles: u64,
    next_sample: u64,
    /// (sampled PC, frames below it outermost first) → samples.
    counts: FxHashMap<(u32, Vec<ExactFrame>), u64>,
}

/// The [`Observer`] that samples exact call stacks; the samples stay readable through the
/// shared handle.
pub struct StackSampler(Rc<RefCell<StackSamples>>);

impl StackSampler {
    /// A sampler for `machine` taking a stack every `period` cycles (at least 1), on the
    /// instructions [`super::ExactProfiler::new`] with the same period samples.
    pub fn new(machine: &Machine, period: u64) -> (StackSampler, Rc<RefCell<StackSamples>>) {
        let shadow = ShadowStack::for_machine(machine);
        let period = period.max(1);
        let samples = Rc::new(RefCell::new(StackSamples {
            shadow,
            period,
            cycles: 0,
            next_sample: period,
            counts: FxHashMap::default(),
        }));
        (StackSampler(samples.clone()), samples)
    }
}

impl Observer for StackSampler {
    fn retire(&mut self, pc: u32, cycles: u32) {
        let s = &mut *self.0.borrow_mut();
        s.shadow.retire(pc);
        s.cycles += u64::from(cycles);
        if s.cycles >= s.next_sample {
            let mut taken = 0;
            while s.next_sample <= s.cycles {
                taken += 1;
                s.next_sample += s.period;
            }
            let frames: Vec<ExactFrame> = s.shadow.frames_of_retired().collect();
            *s.counts.entry((pc, frames)).or_default() += taken;
        }
        s.shadow.end_instruction();
    }

    fn call(&mut self, site: u32, target: u32) {
        self.0.borrow_mut().shadow.call(site, target);
    }

    fn ret(&mut self, _site: u32, target: u32) {
        self.0.borrow_mut().shadow.ret(target);
    }
}

impl StackSamples {
    /// The samples as a profile's call stacks. A caller's frame names an address inside its call
    /// instruction (the return address - 2, what an unwinder reports: BL + 2, BLX Rm + 0); an
    /// exception's caller is the instruction it resumed. A sample inside a handler that had not
    /// returned when the run ended keeps the frames down to the handler, marked truncated.
    pub fn into_call_stacks(&self, machine: &Machine) -> CallStacks {
        let address_in_call = |site: u32| {
            let mut halfword = [0u8; 2];
            let blx_register = machine.mem.peek(site, &mut halfword).is_ok()
                && u16::from_le_bytes(halfword) & 0xFF87 == 0x4780;
            if blx_register {
                site
            } else {
                site.wrapping_add(2)
            }
        };
        CallStacks::from_samples(self.counts.iter().map(|((pc, frames), &count)| {
            let mut stack = vec![*pc];
            let mut truncated = false;
            for frame in frames.iter().rev() {
                match *frame {
                    ExactFrame::Call { site } => stack.push(address_in_call(site)),
                    ExactFrame::Exception { id } => match self.shadow.resumed(id) {
                        Some(resumed) => stack.push(resumed),
                        None => {
                            truncated = true;
                            break;
                        }
                    },
                }
            }
            (stack, count, truncated)
        }))
    }
}
