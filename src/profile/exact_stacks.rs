//! Exact call stacks on the virtual board, the oracle the unwinder is checked against.
//!
//! The machine reports every call (BL, BLX) and every return (BX LR, POP {pc}, LDR pc); a shadow
//! stack follows them. Returns pop up to the frame they return to, so tail calls (`B` to another
//! function, which keeps the caller's return address) need no special case. Exception entry is
//! not a call: it is recognised as the first instruction of a vector-table handler that was not
//! reached by a call or by a branch from inside the handler; the `EXC_RETURN` return pops it.
//! Where an exception interrupted the code is known only when it returns (the next instruction
//! retired), so exception frames carry an id that [`ShadowStack::resumed`] resolves later.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::sim::{Machine, Observer};

/// One frame of an exact stack, innermost first after the sampled PC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// The [`Observer`] that keeps a [`ShadowStack`].
pub struct ExactStacks(pub Rc<RefCell<ShadowStack>>);

impl ExactStacks {
    /// An observer for `machine` (its vector table names the exception handlers).
    pub fn new(machine: &Machine) -> (ExactStacks, Rc<RefCell<ShadowStack>>) {
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
        let shared = Rc::new(RefCell::new(stack));
        (ExactStacks(shared.clone()), shared)
    }
}

impl ShadowStack {
    /// The frames below the current PC, innermost first.
    pub fn frames(&self) -> impl Iterator<Item = ExactFrame> + '_ {
        self.frames.iter().rev().copied()
    }

    /// Where exception `id` resumed, once it has returned.
    pub fn resumed(&self, id: usize) -> Option<u32> {
        self.resumed.get(id).copied().flatten()
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
            while let Some(frame) = self.frames.pop() {
                if let ExactFrame::Exception { id } = frame {
                    self.returning = Some(id);
                    return;
                }
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
                self.frames.truncate(k);
            }
        }
    }
}

impl Observer for ExactStacks {
    fn retire(&mut self, pc: u32, _cycles: u32) {
        self.0.borrow_mut().retire(pc);
    }

    fn call(&mut self, site: u32, target: u32) {
        let mut s = self.0.borrow_mut();
        s.calling = Some((site, target & !1));
        s.frames.push(ExactFrame::Call { site });
    }

    fn ret(&mut self, _site: u32, target: u32) {
        self.0.borrow_mut().ret(target);
    }
}
