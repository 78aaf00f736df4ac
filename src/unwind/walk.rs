//! The unwinding loop: from the halted core's registers, through the [`Table`]'s rules, to the
//! list of frames. Registers are read lazily: only the ones a rule needs, only when it needs them.

use super::{ReturnAddress, Table, END_OF_STACK, NOT_SAVED, SAVED_LR};

/// Register numbers for [`TargetMemory::read_register`] beyond r0-r15 (the DCRSR REGSEL
/// numbers of ARM DDI 0403, C1.6.3).
pub const MSP: u8 = 17;
pub const PSP: u8 = 18;

/// What unwinding needs from a halted target: its memory and its core registers. Implemented
/// over a debug probe and over the virtual board alike.
pub trait TargetMemory {
    /// The aligned word at `address`, or `None` when it cannot be read (unmapped memory, a bus
    /// error, a lost probe).
    fn read_word(&mut self, address: u32) -> Option<u32>;
    /// Core register `n` by its DCRSR REGSEL number: 0-15 are r0-r15 (15 the PC), [`MSP`] and
    /// [`PSP`] the banked stack pointers.
    fn read_register(&mut self, n: u8) -> Option<u32>;
}

/// Limits on one unwind.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Frames kept at most (deep recursion stops here, marked truncated).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_depth: 128 }
    }
}

/// Why an unwind stopped before the outermost frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Truncated {
    /// No source has a rule for this address.
    NoUnwindInfo(u32),
    /// A word of the stack (or a register) could not be read.
    Unreadable(u32),
    /// More frames than [`Limits::max_depth`].
    TooDeep(usize),
    /// A return address without the Thumb bit, or a stack pointer that moved the wrong way:
    /// the stack or the unwind information is corrupt.
    Corrupt(u32),
}

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Truncated::NoUnwindInfo(pc) => write!(f, "no unwind information at {pc:#010x}"),
            Truncated::Unreadable(a) => write!(f, "cannot read {a:#010x}"),
            Truncated::TooDeep(n) => write!(f, "deeper than {n} frames"),
            Truncated::Corrupt(a) => write!(f, "corrupt frame at {a:#010x}"),
        }
    }
}

/// An unwound call stack: `frames[0]` is the sampled PC, then one address per caller inside its
/// call instruction (return address - 2), or the interrupted PC for an exception frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unwound {
    pub frames: Vec<u32>,
    pub truncated: Option<Truncated>,
}

/// One register as the unwinder knows it in the frame being unwound.
#[derive(Clone, Copy)]
enum Value {
    /// Unchanged from the halted core: read it from the target when needed.
    Live,
    Known(u32),
    /// Saved in the stack at this address.
    At(u32),
}

struct Registers<'m, M: TargetMemory + ?Sized> {
    values: [Value; 19],
    memory: &'m mut M,
}

impl<M: TargetMemory + ?Sized> Registers<'_, M> {
    fn get(&mut self, n: u8) -> Result<u32, Truncated> {
        let value = match self.values[usize::from(n)] {
            Value::Known(v) => return Ok(v),
            Value::Live => self.memory.read_register(n),
            Value::At(address) => self.memory.read_word(address),
        };
        let v = value.ok_or(match self.values[usize::from(n)] {
            Value::At(address) => Truncated::Unreadable(address),
            _ => Truncated::Unreadable(0xE000_EDF8),
        })?;
        self.values[usize::from(n)] = Value::Known(v);
        Ok(v)
    }

    fn read(&mut self, address: u32) -> Result<u32, Truncated> {
        self.memory
            .read_word(address)
            .ok_or(Truncated::Unreadable(address))
    }
}

/// Unwinds the halted core's stack.
pub fn unwind<M: TargetMemory + ?Sized>(table: &Table, memory: &mut M, limits: Limits) -> Unwound {
    let mut out = Unwound::default();
    let mut regs = Registers {
        values: [Value::Live; 19],
        memory,
    };
    if let Err(t) = walk(table, &mut regs, limits, &mut out.frames) {
        out.truncated = Some(t);
    }
    out
}

fn walk<M: TargetMemory + ?Sized>(
    table: &Table,
    regs: &mut Registers<'_, M>,
    limits: Limits,
    frames: &mut Vec<u32>,
) -> Result<(), Truncated> {
    let pc = regs.get(15)? & !1;
    frames.push(pc);
    let mut lookup = pc;
    let mut sp = regs.get(13)?;
    // The previous frame's (CFA, return address): a frame that repeats it makes no progress.
    let mut previous = None;
    loop {
        if frames.len() >= limits.max_depth {
            return Err(Truncated::TooDeep(limits.max_depth));
        }
        if table.is_entry_function(lookup) {
            return Ok(());
        }
        let (_, rule) = table
            .lookup(lookup)
            .ok_or(Truncated::NoUnwindInfo(lookup))?;
        let rule = *rule;
        let cfa = regs
            .get(rule.cfa_register)?
            .wrapping_add(rule.cfa_offset as u32);
        let ra = match rule.saved[SAVED_LR] {
            END_OF_STACK => return Ok(()),
            NOT_SAVED => regs.get(14)?,
            offset => regs.read(cfa.wrapping_add(offset as i32 as u32))?,
        };
        for (k, &offset) in rule.saved[..SAVED_LR].iter().enumerate() {
            if offset != NOT_SAVED {
                regs.values[4 + k] = Value::At(cfa.wrapping_add(offset as i32 as u32));
            }
        }
        if cfa < sp {
            return Err(Truncated::Corrupt(cfa));
        }
        if ra == 0 || ra == 0xFFFF_FFFF {
            // The reset value of LR: the reset handler has no caller.
            return Ok(());
        }
        if ra & 0xFFFF_FFE0 == 0xFFFF_FFE0 {
            // EXC_RETURN: the caller is the interrupted code, whose state the core stacked.
            let frame = if ra & 4 != 0 { regs.get(PSP)? } else { cfa };
            let lr = regs.read(frame + 20)?;
            let interrupted = regs.read(frame + 24)? & !1;
            let xpsr = regs.read(frame + 28)?;
            let size = if ra & 0x10 == 0 { 0x68 } else { 0x20 };
            sp = frame + size + if xpsr & (1 << 9) != 0 { 4 } else { 0 };
            regs.values[13] = Value::Known(sp);
            regs.values[14] = Value::Known(lr);
            frames.push(interrupted);
            lookup = interrupted;
            continue;
        }
        if ra & 1 == 0 || previous == Some((cfa, ra)) {
            return Err(Truncated::Corrupt(ra));
        }
        match table.return_address(ra) {
            ReturnAddress::Call => {}
            // A made-up frame's return address (an RTOS task's bottom).
            ReturnAddress::MadeUp => return Ok(()),
            ReturnAddress::Corrupt => return Err(Truncated::Corrupt(ra)),
        }
        previous = Some((cfa, ra));
        sp = cfa;
        regs.values[13] = Value::Known(cfa);
        regs.values[14] = Value::Known(ra);
        lookup = (ra & !1).wrapping_sub(2);
        frames.push(lookup);
    }
}

#[cfg(test)]
mod tests {
    use rustc_hash::FxHashMap;

    use super::*;
    use crate::unwind::{Rows, Rule, Source};

    /// A halted core: registers and a sparse stack.
    struct Halted {
        registers: [u32; 19],
        stack: FxHashMap<u32, u32>,
    }

    impl TargetMemory for Halted {
        fn read_word(&mut self, address: u32) -> Option<u32> {
            self.stack.get(&address).copied()
        }
        fn read_register(&mut self, n: u8) -> Option<u32> {
            self.registers.get(usize::from(n)).copied()
        }
    }

    const SP: u32 = 0x2000_1000;
    /// `main` (0x2000..0x2020) calls `f` (0x1000..0x1014) by the BL at 0x2010; main's frame
    /// holds the reset value of LR, so it is the outermost.
    fn table() -> Table {
        let after_push = |size: i32| Rule {
            cfa_register: 13,
            cfa_offset: size,
            saved: {
                let mut saved = [crate::unwind::NOT_SAVED; 9];
                saved[0] = -(size as i16);
                saved[SAVED_LR] = -4;
                saved
            },
        };
        let rows = Rows::from_ranges(vec![
            // f: push {r4, lr} at 0x1000; body; pop {r4, pc} at 0x1010.
            (0x1000, 0x1002, Rule::ENTRY),
            (0x1002, 0x1012, after_push(8)),
            // main, after its own push {r4, lr}.
            (0x2000, 0x2020, after_push(8)),
        ]);
        Table {
            sources: vec![(Source::FramePointer, rows)],
            ..Table::default()
        }
    }

    /// Halted at `pc` with SP and LR as given; main's frame is at `SP`.
    fn halted(pc: u32, sp: u32, lr: u32, f_frame: bool) -> Vec<u32> {
        let mut registers = [0u32; 19];
        registers[13] = sp;
        registers[14] = lr;
        registers[15] = pc;
        let mut stack = FxHashMap::default();
        stack.insert(SP + 4, 0xFFFF_FFFF);
        if f_frame {
            stack.insert(SP - 4, 0x2015);
        }
        let mut core = Halted { registers, stack };
        let u = unwind(&table(), &mut core, Limits::default());
        assert_eq!(u.truncated, None, "at {pc:#x}");
        u.frames
    }

    /// Samples on the call, on the callee's first instruction (before its push), on its return
    /// instruction and just after it: the caller's frame is the address inside the BL
    /// (return address - 2) while the callee runs, and not there on either side of the call.
    #[test]
    fn samples_at_a_call_at_an_entry_at_a_return_and_after_it() {
        // On the BL itself: main only.
        assert_eq!(halted(0x2010, SP, 0x2001, false), [0x2010]);
        // f's first instruction: nothing pushed yet, the return address is in LR.
        assert_eq!(halted(0x1000, SP, 0x2015, false), [0x1000, 0x2012]);
        // After the push, and on the `pop {r4, pc}` that has not run yet: from the stack, with
        // a stale LR that must not be used.
        assert_eq!(halted(0x1002, SP - 8, 0x0BAD_0001, true), [0x1002, 0x2012]);
        assert_eq!(halted(0x1010, SP - 8, 0x0BAD_0001, true), [0x1010, 0x2012]);
        // Back in main, LR still holding f's return address: main only.
        assert_eq!(halted(0x2014, SP, 0x2015, false), [0x2014]);
    }
}
