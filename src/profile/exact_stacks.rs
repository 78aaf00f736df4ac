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
//! Threads of an RTOS each run on their own process stack (PSP): an exception taken from one
//! thread may return to another. The machine reports the address where each thread context is
//! stacked at entry and unstacked at return ([`Observer::thread_context`]); a return to a context
//! other than the one the exception interrupted swaps the shadow stack for the resumed thread's
//! (empty for a thread started from a hand-made frame), and keeps the left thread's frames until
//! a return resumes it.
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
    /// An exception returned from the return instruction at this address: the next instruction
    /// retired after that one is where it resumed.
    returning: Option<(usize, u32)>,
    resumed: Vec<Option<u32>>,
    last_pc: u32,
    /// What the instruction retiring now changed, so that its own stack can be rebuilt: the
    /// frames its return popped (outermost first) and whether its call pushed one.
    popped: Vec<ExactFrame>,
    pushed: bool,
    /// The retiring instruction switched threads: its own stack is all in `popped`.
    switched: bool,
    /// Thread contexts stacked on a process stack, by address → the exception that interrupted
    /// the thread (known once the handler's first instruction retires).
    thread_contexts: FxHashMap<u32, usize>,
    /// The call frames of the threads switched out, by the exception that interrupted them.
    switched_out: FxHashMap<usize, Vec<ExactFrame>>,
    /// The process-stack context of the exception being entered, until its handler retires.
    entering_thread: Option<u32>,
    /// The process-stack context the exception return in progress resumes.
    resuming_thread: Option<u32>,
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
        let kept = if self.switched {
            0
        } else {
            self.frames.len() - usize::from(self.pushed)
        };
        self.frames[..kept].iter().chain(&self.popped).copied()
    }

    /// Forgets what the retired instruction changed (called once it has been looked at).
    fn end_instruction(&mut self) {
        self.popped.clear();
        self.pushed = false;
        self.switched = false;
    }

    fn retire(&mut self, pc: u32) {
        // The return instruction itself retires after reporting its return.
        let returned = self.returning.filter(|&(_, site)| site != pc);
        if let Some((id, _)) = returned {
            self.returning = None;
            if self.is_exception_entry(pc) {
                // Tail-chaining: the next handler runs on the same interrupted context.
                self.frames.push(ExactFrame::Exception { id });
                self.entered(id);
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
            self.entered(id);
        }
        self.last_pc = pc;
    }

    /// Exception `id` has begun: if it interrupted a thread on the process stack, remember
    /// where that thread's context is.
    fn entered(&mut self, id: usize) {
        if let Some(frame) = self.entering_thread.take() {
            self.thread_contexts.insert(frame, id);
        }
    }

    /// An exception return that popped exception `left` (if any) unstacks the thread context at
    /// `frame`: when that is another thread's, the shadow stack becomes that thread's.
    fn resume_thread(&mut self, left: Option<usize>, site: u32, frame: u32) {
        let resumed = self.thread_contexts.remove(&frame);
        if resumed.is_some() && resumed == left {
            return;
        }
        // The retiring instruction ran on the left thread's stack.
        self.popped.splice(0..0, self.frames.iter().copied());
        self.switched = true;
        if let Some(id) = left {
            self.switched_out
                .insert(id, std::mem::take(&mut self.frames));
        }
        self.frames = resumed
            .and_then(|id| self.switched_out.remove(&id))
            .unwrap_or_default();
        // Where `left` resumes is known only when its thread runs again.
        self.returning = resumed.map(|id| (id, site));
    }

    /// Whether `pc` is a handler's first instruction reached from outside that handler.
    fn is_exception_entry(&self, pc: u32) -> bool {
        self.handlers
            .get(&pc)
            .is_some_and(|&end| !(pc..end).contains(&self.last_pc))
    }

    fn ret(&mut self, site: u32, target: u32) {
        if target >> 24 == 0xFF {
            let mut left = None;
            if let Some(k) = self
                .frames
                .iter()
                .rposition(|f| matches!(f, ExactFrame::Exception { .. }))
            {
                if let ExactFrame::Exception { id } = self.frames[k] {
                    self.returning = Some((id, site));
                    left = Some(id);
                }
                self.popped.extend(self.frames.drain(k..));
            }
            // Without an exception frame, its entry went unseen (a vector table the firmware
            // builds at run time, as Teensy's does): the frames below stay.
            if let Some(frame) = self.resuming_thread.take() {
                self.resume_thread(left, site, frame);
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

    fn thread_context(&mut self, entry: bool, frame: u32) {
        if entry {
            self.entering_thread = Some(frame);
        } else {
            self.resuming_thread = Some(frame);
        }
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

    fn ret(&mut self, site: u32, target: u32) {
        self.0.borrow_mut().ret(site, target);
    }

    fn thread_context(&mut self, entry: bool, frame: u32) {
        self.0.borrow_mut().thread_context(entry, frame);
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

    fn ret(&mut self, site: u32, target: u32) {
        self.0.borrow_mut().shadow.ret(site, target);
    }

    fn thread_context(&mut self, entry: bool, frame: u32) {
        self.0.borrow_mut().shadow.thread_context(entry, frame);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds one instruction's events (a call or a return it made, then its retirement) and
    /// returns the frames below it as the sampler records them.
    fn step(s: &mut ShadowStack, pc: u32, event: Option<(bool, u32)>) -> Vec<ExactFrame> {
        match event {
            Some((true, target)) => s.call(pc, target),
            Some((false, target)) => s.ret(pc, target),
            None => {}
        }
        s.retire(pc);
        let frames = s.frames_of_retired().collect();
        s.end_instruction();
        frames
    }

    /// Hand-picked PCs around one call: the BL and the instruction after the return run in the
    /// caller's frame; the callee's first instruction and its return instruction run with the
    /// call's frame below them.
    #[test]
    fn a_sample_on_the_call_or_the_return_instruction_is_in_the_right_frame() {
        let mut s = ShadowStack::default();
        let call = ExactFrame::Call { site: 0x2010 };
        assert_eq!(step(&mut s, 0x200E, None), []);
        assert_eq!(step(&mut s, 0x2010, Some((true, 0x1001))), [], "the BL");
        assert_eq!(step(&mut s, 0x1000, None), [call], "callee's entry");
        assert_eq!(step(&mut s, 0x1002, None), [call]);
        assert_eq!(
            step(&mut s, 0x1010, Some((false, 0x2014))),
            [call],
            "the return"
        );
        assert_eq!(step(&mut s, 0x2014, None), [], "after the return");
    }

    /// An exception return: the return instruction retires inside the handler, and the
    /// interrupted code resumes at the next instruction retired (not at the return itself).
    #[test]
    fn an_exception_resumes_at_the_next_instruction_retired() {
        let mut s = ShadowStack::default();
        s.handlers.insert(0x3000, 0x3010);
        step(&mut s, 0x2000, None);
        let handler = step(&mut s, 0x3000, None);
        assert_eq!(handler, [ExactFrame::Exception { id: 0 }]);
        let ret = step(&mut s, 0x300E, Some((false, 0xFFFF_FFF9)));
        assert_eq!(ret, [ExactFrame::Exception { id: 0 }]);
        assert_eq!(s.resumed(0), None);
        assert_eq!(step(&mut s, 0x2002, None), []);
        assert_eq!(s.resumed(0), Some(0x2002));
    }

    /// Two threads on their own process stacks: an exception taken from thread A returns to
    /// thread B's context; B starts with an empty stack, A's frames come back when a later
    /// exception returns to A's context.
    #[test]
    fn the_shadow_stack_follows_the_running_thread() {
        let mut s = ShadowStack::default();
        s.handlers.insert(0x3000, 0x3010);
        let a_call = ExactFrame::Call { site: 0x2010 };
        step(&mut s, 0x2010, Some((true, 0x1001)));
        assert_eq!(step(&mut s, 0x1000, None), [a_call]);
        // PendSV from A (context at 0xA000), returning to B's made-up context at 0xB000.
        s.thread_context(true, 0xA000);
        assert_eq!(
            step(&mut s, 0x3000, None),
            [a_call, ExactFrame::Exception { id: 0 }]
        );
        s.thread_context(false, 0xB000);
        step(&mut s, 0x300E, Some((false, 0xFFFF_FFFD)));
        assert_eq!(step(&mut s, 0x4000, None), [], "B runs on its own stack");
        // The next switch, from B (context at 0xB100) back to A.
        s.thread_context(true, 0xB100);
        assert_eq!(
            step(&mut s, 0x3000, None),
            [ExactFrame::Exception { id: 1 }]
        );
        s.thread_context(false, 0xA000);
        step(&mut s, 0x300E, Some((false, 0xFFFF_FFFD)));
        assert_eq!(step(&mut s, 0x1002, None), [a_call], "A's frames are back");
        assert_eq!(s.resumed(0), Some(0x1002), "A's exception resumed in A");
        assert_eq!(s.resumed(1), None, "B has not run again");
    }
}
