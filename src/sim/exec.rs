//! Integer instruction semantics (ARMv7-M Architecture Reference Manual, chapter A7), plus the
//! data-side bus accesses that loads and stores make (with their timing).

use super::decode::{flag, Insn, Op};
use super::system::{Fault, PPB_BASE};
use super::{Machine, SimError, Trap};

type Exec = Result<(), Trap>;

/// Shift with carry out (Shift_C). `shift`: 0 LSL, 1 LSR, 2 ASR, 3 ROR, 4 RRX.
#[inline]
pub(crate) fn shift_c(value: u32, shift: u8, amount: u32, carry_in: bool) -> (u32, bool) {
    if amount == 0 && shift != 4 {
        return (value, carry_in);
    }
    match shift {
        0 => match amount {
            1..=31 => (value << amount, (value >> (32 - amount)) & 1 != 0),
            32 => (0, value & 1 != 0),
            _ => (0, false),
        },
        1 => match amount {
            1..=31 => (value >> amount, (value >> (amount - 1)) & 1 != 0),
            32 => (0, value >> 31 != 0),
            _ => (0, false),
        },
        2 => {
            let a = amount.min(32);
            if a == 32 {
                let s = ((value as i32) >> 31) as u32;
                (s, s & 1 != 0)
            } else {
                (((value as i32) >> a) as u32, (value >> (a - 1)) & 1 != 0)
            }
        }
        3 => {
            let r = value.rotate_right(amount % 32);
            (r, r >> 31 != 0)
        }
        _ => ((u32::from(carry_in) << 31) | (value >> 1), value & 1 != 0),
    }
}

#[inline]
fn add_with_carry(x: u32, y: u32, carry: bool) -> (u32, bool, bool) {
    let wide = u64::from(x) + u64::from(y) + u64::from(carry);
    let result = wide as u32;
    let signed = i64::from(x as i32) + i64::from(y as i32) + i64::from(carry);
    (result, wide >> 32 != 0, i64::from(result as i32) != signed)
}

fn signed_sat(v: i64, bits: u32) -> (u32, bool) {
    let max = (1i64 << (bits - 1)) - 1;
    let min = -(1i64 << (bits - 1));
    if v > max {
        (max as u32, true)
    } else if v < min {
        (min as u32, true)
    } else {
        (v as u32, false)
    }
}

fn unsigned_sat(v: i64, bits: u32) -> (u32, bool) {
    let max = (1i64 << bits) - 1;
    if v > max {
        (max as u32, true)
    } else if v < 0 {
        (0, true)
    } else {
        (v as u32, false)
    }
}

#[inline]
fn sext16(v: u32) -> i64 {
    i64::from(v as u16 as i16)
}

#[inline]
fn hi16(v: u32) -> i64 {
    i64::from((v >> 16) as u16 as i16)
}

impl Machine {
    #[inline]
    fn sets_flags(&self, i: &Insn) -> bool {
        i.flags & flag::S != 0 || (i.flags & flag::S_OUT_IT != 0 && self.it == 0)
    }

    /// The second operand and the shifter's carry out.
    #[inline]
    fn operand2(&self, i: &Insn) -> (u32, bool) {
        if i.flags & flag::IMM != 0 {
            let c = if i.flags & flag::IMM_C != 0 {
                i.flags & flag::CARRY != 0
            } else {
                self.c
            };
            (i.imm, c)
        } else {
            shift_c(
                self.r[usize::from(i.rm)],
                i.shift,
                u32::from(i.amount),
                self.c,
            )
        }
    }

    #[inline]
    fn set_nz(&mut self, v: u32) {
        self.n = v >> 31 != 0;
        self.z = v == 0;
    }

    /// Writes a data-processing result; a write to PC branches (ALUWritePC).
    #[inline]
    fn write_alu(&mut self, rd: u8, v: u32) {
        if rd == 15 {
            self.next_pc = v & !1;
            self.timing.branch(self.pc, self.next_pc, true);
        } else {
            self.r[usize::from(rd)] = v;
        }
    }

    /// BXWritePC / LoadWritePC: interworking branch, or exception return from handler mode.
    pub(crate) fn bx_write(&mut self, v: u32) -> Exec {
        if self.ipsr != 0 && v >> 28 == 0xF {
            return self.exception_return(v);
        }
        if v & 1 == 0 {
            return Err(Trap::Fault(Fault::invalid_state(self.pc, v)));
        }
        self.next_pc = v & !1;
        Ok(())
    }

    // ---- data bus -------------------------------------------------------------------------

    /// Loads `N` (1, 2 or 4) bytes, zero-extended. Only the zero-wait TCM fast path is inlined
    /// into the caller (the run loop for single loads); everything else is one call away.
    #[inline(always)]
    pub(crate) fn load<const N: usize>(&mut self, addr: u32) -> Result<u32, Trap> {
        if let Some((b, region)) = self.mem.read_fast::<N>(addr) {
            // Zero-wait TCM: no stall, only the region's counter.
            self.timing.stats[region].data_reads += 1;
            let mut w = [0u8; 4];
            w[..N].copy_from_slice(&b);
            return Ok(u32::from_le_bytes(w));
        }
        self.load_bus::<N>(addr)
    }

    /// A load outside the fast region: system registers, or the bus with its timing.
    #[inline(never)]
    fn load_bus<const N: usize>(&mut self, addr: u32) -> Result<u32, Trap> {
        if addr >= PPB_BASE {
            let word = self.system_read(addr & !3);
            return Ok(match N {
                4 => word,
                2 => (word >> ((addr & 2) * 8)) & 0xFFFF,
                _ => (word >> ((addr & 3) * 8)) & 0xFF,
            });
        }
        match self.mem.read::<N>(addr) {
            Ok((b, region)) => {
                self.cycles += u64::from(self.timing.data(addr, region, false));
                let mut w = [0u8; 4];
                w[..N].copy_from_slice(&b);
                Ok(u32::from_le_bytes(w))
            }
            Err(e) => self.load_slow::<N>(addr, e),
        }
    }

    /// Stores the low `N` bytes of `value`; like [`Machine::load`], only the TCM fast path
    /// inlined (the fast region is never the system space, so it may be tested first).
    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, addr: u32, value: u32) -> Exec {
        let bytes = value.to_le_bytes();
        if let Some(region) = self.mem.write_fast(addr, &bytes[..N]) {
            // Zero-wait, non-executable TCM: no stall, no code to invalidate.
            self.timing.stats[region].data_writes += 1;
            return Ok(());
        }
        self.store_bus::<N>(addr, value)
    }

    /// A store outside the fast region: system registers, or the bus with its timing.
    #[inline(never)]
    fn store_bus<const N: usize>(&mut self, addr: u32, value: u32) -> Exec {
        if addr >= PPB_BASE {
            self.system_store(addr, value, N as u32);
            return Ok(());
        }
        let bytes = value.to_le_bytes();
        match self.mem.write(addr, &bytes[..N]) {
            Ok(region) => {
                self.cycles += u64::from(self.timing.data(addr, region, true));
                if self.mem.regions[region].executable {
                    self.invalidate_code(addr, N as u32);
                }
                Ok(())
            }
            Err(e) => self.store_slow::<N>(addr, value, e),
        }
    }

    /// The address of a single load/store and the write-back value, if any.
    #[inline]
    fn address(&self, i: &Insn) -> (u32, Option<u32>) {
        let base = if i.rn == 15 {
            self.r[15] & !3
        } else {
            self.r[usize::from(i.rn)]
        };
        let offset = if i.flags & flag::IMM != 0 {
            i.imm
        } else {
            self.r[usize::from(i.rm)] << i.amount
        };
        let offset_addr = if i.flags & flag::U != 0 {
            base.wrapping_add(offset)
        } else {
            base.wrapping_sub(offset)
        };
        let addr = if i.flags & flag::P != 0 {
            offset_addr
        } else {
            base
        };
        (addr, (i.flags & flag::W != 0).then_some(offset_addr))
    }

    #[inline(always)]
    fn load_single(&mut self, i: &Insn) -> Exec {
        let (addr, wb) = self.address(i);
        let v = match i.op {
            Op::Ldr => self.load::<4>(addr)?,
            Op::Ldrh => self.load::<2>(addr)?,
            Op::Ldrsh => self.load::<2>(addr)? as u16 as i16 as u32,
            Op::Ldrb => self.load::<1>(addr)?,
            _ => self.load::<1>(addr)? as u8 as i8 as u32,
        };
        if let Some(w) = wb {
            self.r[usize::from(i.rn)] = w;
        }
        if i.rd == 15 {
            let r = self.bx_write(v);
            self.note_return(v);
            r
        } else {
            self.r[usize::from(i.rd)] = v;
            Ok(())
        }
    }

    #[inline(always)]
    fn store_single(&mut self, i: &Insn) -> Exec {
        let (addr, wb) = self.address(i);
        let v = self.r[usize::from(i.rd)];
        match i.op {
            Op::Str => self.store::<4>(addr, v)?,
            Op::Strh => self.store::<2>(addr, v)?,
            _ => self.store::<1>(addr, v)?,
        }
        if let Some(w) = wb {
            self.r[usize::from(i.rn)] = w;
        }
        Ok(())
    }

    fn load_multiple(&mut self, i: &Insn) -> Exec {
        let list = i.imm;
        let count = list.count_ones();
        let base = self.r[usize::from(i.rn)];
        let start = if i.flags & flag::DB != 0 {
            base.wrapping_sub(4 * count)
        } else {
            base
        };
        let mut addr = start;
        let mut pc_value = None;
        for r in 0..16u32 {
            if list & (1 << r) == 0 {
                continue;
            }
            let v = self.load::<4>(addr)?;
            if r == 15 {
                pc_value = Some(v);
            } else {
                self.r[r as usize] = v;
            }
            addr = addr.wrapping_add(4);
        }
        if i.flags & flag::W != 0 && list & (1 << i.rn) == 0 {
            self.r[usize::from(i.rn)] = if i.flags & flag::DB != 0 {
                start
            } else {
                base.wrapping_add(4 * count)
            };
        }
        self.cycles += u64::from(self.timing.multiple(count));
        if let Some(v) = pc_value {
            let r = self.bx_write(v);
            self.note_return(v);
            return r;
        }
        Ok(())
    }

    fn store_multiple(&mut self, i: &Insn) -> Exec {
        let list = i.imm;
        let count = list.count_ones();
        let base = self.r[usize::from(i.rn)];
        let start = if i.flags & flag::DB != 0 {
            base.wrapping_sub(4 * count)
        } else {
            base
        };
        let mut addr = start;
        for r in 0..15u32 {
            if list & (1 << r) != 0 {
                self.store::<4>(addr, self.r[r as usize])?;
                addr = addr.wrapping_add(4);
            }
        }
        if i.flags & flag::W != 0 {
            self.r[usize::from(i.rn)] = if i.flags & flag::DB != 0 {
                start
            } else {
                base.wrapping_add(4 * count)
            };
        }
        self.cycles += u64::from(self.timing.multiple(count));
        Ok(())
    }

    /// Tells the observer about a return to `target` (if the write was to PC from a return).
    #[inline]
    fn note_return(&mut self, target: u32) {
        if let Some(obs) = self.observer.as_mut() {
            obs.ret(self.pc, target & !1);
        }
    }

    fn branch_to(&mut self, target: u32, taken: bool) {
        let c = self.timing.branch(self.pc, target, taken);
        self.cycles += u64::from(c);
        if taken {
            self.next_pc = target;
        }
    }

    // ---- execution ------------------------------------------------------------------------

    /// Executes one instruction whose condition passed. The most frequent operations (data
    /// processing, single loads and stores, direct branches) are dispatched here, inlined into
    /// the run loop: `exec_rest`, the big `match`, needs a large stack frame whose set-up and
    /// tear-down cost more than most instructions' work.
    #[inline(always)]
    pub(crate) fn exec(&mut self, i: &Insn) -> Exec {
        match i.op {
            Op::And
            | Op::Bic
            | Op::Orr
            | Op::Orn
            | Op::Eor
            | Op::Mov
            | Op::Mvn
            | Op::Tst
            | Op::Teq => self.logical(i, self.r[usize::from(i.rn & 15)]),
            Op::Add | Op::Adc | Op::Sub | Op::Sbc | Op::Rsb | Op::Cmp | Op::Cmn => {
                self.arith(i, self.r[usize::from(i.rn & 15)])
            }
            Op::Ldr | Op::Ldrb | Op::Ldrh | Op::Ldrsb | Op::Ldrsh => return self.load_single(i),
            Op::Str | Op::Strb | Op::Strh => return self.store_single(i),
            Op::B => return self.branch_imm(i),
            Op::Cbz | Op::Cbnz => {
                let taken = (self.r[usize::from(i.rn)] == 0) == (i.op == Op::Cbz);
                self.branch_to(self.r[15].wrapping_add(i.imm), taken);
            }
            _ => return self.exec_rest(i),
        }
        Ok(())
    }

    /// AND, BIC, ORR, ORN, EOR, MOV, MVN, TST, TEQ.
    #[inline(always)]
    fn logical(&mut self, i: &Insn, rn: u32) {
        let (b, carry) = self.operand2(i);
        let v = match i.op {
            Op::And | Op::Tst => rn & b,
            Op::Bic => rn & !b,
            Op::Orr => rn | b,
            Op::Orn => rn | !b,
            Op::Eor | Op::Teq => rn ^ b,
            Op::Mov => b,
            _ => !b,
        };
        if self.sets_flags(i) {
            self.set_nz(v);
            self.c = carry;
        }
        if !matches!(i.op, Op::Tst | Op::Teq) {
            if i.rd == 15 && i.op == Op::Mov && i.flags & flag::IMM == 0 {
                // MOV PC, Rm is a branch (ALUWritePC).
                self.note_return(b);
            }
            self.write_alu(i.rd, v);
        }
    }

    /// ADD, ADC, SUB, SBC, RSB, CMP, CMN.
    #[inline(always)]
    fn arith(&mut self, i: &Insn, rn: u32) {
        let (b, _) = self.operand2(i);
        let a = if i.rn == 15 && i.flags & flag::IMM != 0 {
            rn & !3
        } else {
            rn
        };
        let (v, c, o) = match i.op {
            Op::Add | Op::Cmn => add_with_carry(a, b, false),
            Op::Adc => add_with_carry(a, b, self.c),
            Op::Sub | Op::Cmp => add_with_carry(a, !b, true),
            Op::Sbc => add_with_carry(a, !b, self.c),
            _ => add_with_carry(!a, b, true),
        };
        if self.sets_flags(i) {
            self.set_nz(v);
            self.c = c;
            self.v = o;
        }
        if !matches!(i.op, Op::Cmp | Op::Cmn) {
            self.write_alu(i.rd, v);
        }
    }

    /// B (conditional or not); a branch to itself is checked for an idle loop.
    #[inline(always)]
    fn branch_imm(&mut self, i: &Insn) -> Exec {
        let taken = i.cond == 14 || self.condition(i.cond);
        let target = self.r[15].wrapping_add(i.imm);
        if taken && target == self.pc {
            self.check_idle_loop()?;
        }
        self.branch_to(target, taken);
        Ok(())
    }

    /// Every operation [`Machine::exec`] does not dispatch itself (only called from there: the
    /// operations it handles would reach the floating-point decoder here).
    #[inline(never)]
    fn exec_rest(&mut self, i: &Insn) -> Exec {
        // FP operations keep S/D register numbers (up to 31) in `rn`; they do not use this value.
        let rn = self.r[usize::from(i.rn & 15)];
        match i.op {
            Op::ShiftReg => {
                let amount = self.r[usize::from(i.rm)] & 0xFF;
                let (v, c) = shift_c(rn, i.shift, amount, self.c);
                if self.sets_flags(i) {
                    self.set_nz(v);
                    self.c = c;
                }
                self.r[usize::from(i.rd)] = v;
            }
            Op::Mul => {
                let v = rn.wrapping_mul(self.r[usize::from(i.rm)]);
                if self.sets_flags(i) {
                    self.set_nz(v);
                }
                self.r[usize::from(i.rd)] = v;
            }
            Op::Mla | Op::Mls => {
                let p = rn.wrapping_mul(self.r[usize::from(i.rm)]);
                let a = self.r[usize::from(i.ra)];
                self.r[usize::from(i.rd)] = if i.op == Op::Mla {
                    a.wrapping_add(p)
                } else {
                    a.wrapping_sub(p)
                };
            }
            Op::Movt => {
                let d = &mut self.r[usize::from(i.rd)];
                *d = (*d & 0xFFFF) | (i.imm << 16);
            }
            Op::Sbfx | Op::Ubfx => {
                let width = i.imm;
                let lsb = u32::from(i.amount);
                if lsb + width > 32 {
                    return Err(self.undefined(i));
                }
                let field = (rn >> lsb) & (u32::MAX >> (32 - width));
                self.r[usize::from(i.rd)] = if i.op == Op::Sbfx {
                    (((field << (32 - width)) as i32) >> (32 - width)) as u32
                } else {
                    field
                };
            }
            Op::Bfi | Op::Bfc => {
                let mask = (u32::MAX >> (32 - i.imm)) << i.amount;
                let src = if i.op == Op::Bfi { rn << i.amount } else { 0 };
                let d = &mut self.r[usize::from(i.rd)];
                *d = (*d & !mask) | (src & mask);
            }
            Op::Ssat | Op::Usat => {
                let (operand, _) = shift_c(rn, i.shift, u32::from(i.amount), self.c);
                let (v, sat) = if i.op == Op::Ssat {
                    signed_sat(i64::from(operand as i32), i.imm)
                } else {
                    unsigned_sat(i64::from(operand as i32), i.imm)
                };
                self.q |= sat;
                self.r[usize::from(i.rd)] = v;
            }
            Op::Ssat16 | Op::Usat16 => {
                let mut out = 0;
                for lane in 0..2 {
                    let x = i64::from((rn >> (16 * lane)) as u16 as i16);
                    let (v, sat) = if i.op == Op::Ssat16 {
                        signed_sat(x, i.imm)
                    } else {
                        unsigned_sat(x, i.imm)
                    };
                    self.q |= sat;
                    out |= (v & 0xFFFF) << (16 * lane);
                }
                self.r[usize::from(i.rd)] = out;
            }
            Op::Extend => {
                let rot = self.r[usize::from(i.rm)].rotate_right(u32::from(i.amount));
                let add = if i.rn == 15 { 0 } else { rn };
                let v = match i.cond {
                    0 => add.wrapping_add(rot as u16 as i16 as u32),
                    1 => add.wrapping_add(rot & 0xFFFF),
                    4 => add.wrapping_add(rot as u8 as i8 as u32),
                    5 => add.wrapping_add(rot & 0xFF),
                    k => {
                        let (lo, hi) = if k == 2 {
                            (rot as u8 as i8 as u32, (rot >> 16) as u8 as i8 as u32)
                        } else {
                            (rot & 0xFF, (rot >> 16) & 0xFF)
                        };
                        let l = add.wrapping_add(lo) & 0xFFFF;
                        let h = (add >> 16).wrapping_add(hi) & 0xFFFF;
                        l | (h << 16)
                    }
                };
                self.r[usize::from(i.rd)] = v;
            }
            Op::Parallel => {
                let v = self.parallel(i, rn, self.r[usize::from(i.rm)]);
                self.r[usize::from(i.rd)] = v;
            }
            Op::Qadd | Op::Qsub | Op::Qdadd | Op::Qdsub => {
                let m = i64::from(self.r[usize::from(i.rm)] as i32);
                let mut n = i64::from(rn as i32);
                if matches!(i.op, Op::Qdadd | Op::Qdsub) {
                    let (d, sat) = signed_sat(2 * n, 32);
                    self.q |= sat;
                    n = i64::from(d as i32);
                }
                let (v, sat) = if matches!(i.op, Op::Qadd | Op::Qdadd) {
                    signed_sat(m + n, 32)
                } else {
                    signed_sat(m - n, 32)
                };
                self.q |= sat;
                self.r[usize::from(i.rd)] = v;
            }
            Op::Rev => self.r[usize::from(i.rd)] = self.r[usize::from(i.rm)].swap_bytes(),
            Op::Rev16 => {
                let m = self.r[usize::from(i.rm)];
                self.r[usize::from(i.rd)] = ((m & 0x00FF_00FF) << 8) | ((m >> 8) & 0x00FF_00FF);
            }
            Op::Revsh => {
                let m = self.r[usize::from(i.rm)];
                self.r[usize::from(i.rd)] = (m as u16).swap_bytes() as i16 as u32;
            }
            Op::Rbit => self.r[usize::from(i.rd)] = self.r[usize::from(i.rm)].reverse_bits(),
            Op::Clz => self.r[usize::from(i.rd)] = self.r[usize::from(i.rm)].leading_zeros(),
            Op::Sel => {
                let m = self.r[usize::from(i.rm)];
                let mut v = 0;
                for b in 0..4 {
                    let src = if self.ge & (1 << b) != 0 { rn } else { m };
                    v |= src & (0xFF << (8 * b));
                }
                self.r[usize::from(i.rd)] = v;
            }
            Op::Pkh => {
                let (m, _) = shift_c(
                    self.r[usize::from(i.rm)],
                    i.shift,
                    u32::from(i.amount),
                    self.c,
                );
                self.r[usize::from(i.rd)] = if i.shift == 0 {
                    (rn & 0xFFFF) | (m & 0xFFFF_0000)
                } else {
                    (rn & 0xFFFF_0000) | (m & 0xFFFF)
                };
            }
            Op::Smlaxy => {
                let m = self.r[usize::from(i.rm)];
                let a = if i.flags & flag::NHI != 0 {
                    hi16(rn)
                } else {
                    sext16(rn)
                };
                let b = if i.flags & flag::MHI != 0 {
                    hi16(m)
                } else {
                    sext16(m)
                };
                self.mac32(i, a * b);
            }
            Op::Smlad | Op::Smlsd => {
                let mut m = self.r[usize::from(i.rm)];
                if i.flags & flag::X != 0 {
                    m = m.rotate_right(16);
                }
                let p1 = sext16(rn) * sext16(m);
                let p2 = hi16(rn) * hi16(m);
                self.mac32(i, if i.op == Op::Smlad { p1 + p2 } else { p1 - p2 });
            }
            Op::Smlaw => {
                let m = self.r[usize::from(i.rm)];
                let b = if i.flags & flag::MHI != 0 {
                    hi16(m)
                } else {
                    sext16(m)
                };
                self.mac32(i, (i64::from(rn as i32) * b) >> 16);
            }
            Op::Smmla | Op::Smmls => {
                let p = i64::from(rn as i32) * i64::from(self.r[usize::from(i.rm)] as i32);
                let a = if i.ra == 15 {
                    0
                } else {
                    i64::from(self.r[usize::from(i.ra)] as i32) << 32
                };
                let mut v = if i.op == Op::Smmla {
                    a.wrapping_add(p)
                } else {
                    a.wrapping_sub(p)
                };
                if i.flags & flag::ROUND != 0 {
                    v = v.wrapping_add(0x8000_0000);
                }
                self.r[usize::from(i.rd)] = (v >> 32) as u32;
            }
            Op::Usada8 => {
                let m = self.r[usize::from(i.rm)];
                let mut sum = if i.ra == 15 {
                    0
                } else {
                    self.r[usize::from(i.ra)]
                };
                for b in 0..4 {
                    let x = (rn >> (8 * b)) & 0xFF;
                    let y = (m >> (8 * b)) & 0xFF;
                    sum = sum.wrapping_add(x.abs_diff(y));
                }
                self.r[usize::from(i.rd)] = sum;
            }
            Op::Smull
            | Op::Umull
            | Op::Smlal
            | Op::Umlal
            | Op::Umaal
            | Op::Smlalxy
            | Op::Smlald
            | Op::Smlsld => {
                self.long_multiply(i, rn);
            }
            Op::Sdiv | Op::Udiv => {
                let m = self.r[usize::from(i.rm)];
                if m == 0 {
                    if self.sys.div0_trap() {
                        return Err(Trap::Fault(Fault::divide_by_zero(self.pc)));
                    }
                    self.r[usize::from(i.rd)] = 0;
                } else {
                    let q = if i.op == Op::Sdiv {
                        (rn as i32).wrapping_div(m as i32) as u32
                    } else {
                        rn / m
                    };
                    self.cycles += u64::from(self.timing.divide(q));
                    self.r[usize::from(i.rd)] = q;
                }
            }
            Op::Ldrd | Op::Strd => {
                let (addr, wb) = self.address(i);
                if i.op == Op::Ldrd {
                    let lo = self.load::<4>(addr)?;
                    let hi = self.load::<4>(addr.wrapping_add(4))?;
                    self.r[usize::from(i.rd)] = lo;
                    self.r[usize::from(i.ra)] = hi;
                } else {
                    self.store::<4>(addr, self.r[usize::from(i.rd)])?;
                    self.store::<4>(addr.wrapping_add(4), self.r[usize::from(i.ra)])?;
                }
                if let Some(w) = wb {
                    self.r[usize::from(i.rn)] = w;
                }
            }
            Op::Ldrex | Op::Ldrexb | Op::Ldrexh => {
                let addr = rn.wrapping_add(i.imm);
                let v = match i.op {
                    Op::Ldrex => self.load::<4>(addr)?,
                    Op::Ldrexh => self.load::<2>(addr)?,
                    _ => self.load::<1>(addr)?,
                };
                self.exclusive = Some(addr);
                self.r[usize::from(i.rd)] = v;
            }
            Op::Strex | Op::Strexb | Op::Strexh => {
                let addr = rn.wrapping_add(i.imm);
                if self.exclusive == Some(addr) {
                    let v = self.r[usize::from(i.rm)];
                    match i.op {
                        Op::Strex => self.store::<4>(addr, v)?,
                        Op::Strexh => self.store::<2>(addr, v)?,
                        _ => self.store::<1>(addr, v)?,
                    }
                    self.r[usize::from(i.rd)] = 0;
                } else {
                    self.r[usize::from(i.rd)] = 1;
                }
                self.exclusive = None;
            }
            Op::Clrex => self.exclusive = None,
            Op::Ldm => self.load_multiple(i)?,
            Op::Stm => self.store_multiple(i)?,
            Op::Tbb | Op::Tbh => {
                let m = self.r[usize::from(i.rm)];
                let half = if i.op == Op::Tbb {
                    self.load::<1>(rn.wrapping_add(m))?
                } else {
                    self.load::<2>(rn.wrapping_add(m << 1))?
                };
                self.branch_to(self.r[15].wrapping_add(half * 2), true);
            }
            Op::Bl => {
                let target = self.r[15].wrapping_add(i.imm);
                self.r[14] = self.next_pc | 1;
                if let Some(obs) = self.observer.as_mut() {
                    obs.call(self.pc, target);
                }
                self.branch_to(target, true);
            }
            Op::Bx => {
                let target = self.r[usize::from(i.rm)];
                // `ldr r0, =handler; bx r0`: the SDK's fault and default handlers spin this way.
                let back = self.pc.wrapping_sub(target & !1);
                if target & 1 == 1 && back <= 8 && target >> 28 != 0xF {
                    self.check_idle_loop()?;
                }
                self.bx_write(target)?;
                if i.rm == 14 {
                    self.note_return(target);
                }
                let c = self.timing.branch(self.pc, self.next_pc, true);
                self.cycles += u64::from(c);
            }
            Op::Blx => {
                let target = self.r[usize::from(i.rm)];
                self.r[14] = self.next_pc | 1;
                self.bx_write(target)?;
                if let Some(obs) = self.observer.as_mut() {
                    obs.call(self.pc, target & !1);
                }
                let c = self.timing.branch(self.pc, self.next_pc, true);
                self.cycles += u64::from(c);
            }
            Op::It => self.it = i.imm as u8,
            Op::Nop | Op::Barrier => {}
            Op::Wfi => self.wait_for_interrupt()?,
            Op::Svc => self.pend(super::system::SVCALL),
            Op::Bkpt => {
                if i.imm == 0xAB {
                    return self.semihost();
                }
                return Err(Trap::stop(SimError::Breakpoint {
                    pc: self.pc,
                    imm: i.imm,
                    function: self.describe(self.pc),
                }));
            }
            Op::Mrs => self.r[usize::from(i.rd)] = self.read_special(i.imm),
            Op::Msr => self.write_special(i.imm, u32::from(i.amount), rn),
            Op::Cps => {
                if self.privileged() {
                    let disable = i.imm & 1 != 0;
                    if i.imm & 2 != 0 {
                        self.primask = disable;
                    }
                    if i.imm & 4 != 0 {
                        self.faultmask = disable;
                    }
                    self.next_event = 0;
                }
            }
            Op::Undecoded | Op::Undefined => return Err(self.undefined(i)),
            _ => self.exec_fp(i)?,
        }
        Ok(())
    }

    /// A 32-bit accumulate of the DSP multiplies (sets Q on overflow; `ra` = 15: no accumulate).
    fn mac32(&mut self, i: &Insn, product: i64) {
        let acc = if i.ra == 15 {
            0
        } else {
            i64::from(self.r[usize::from(i.ra)] as i32)
        };
        let sum = product + acc;
        if sum != i64::from(sum as i32) {
            self.q = true;
        }
        self.r[usize::from(i.rd)] = sum as u32;
    }

    fn long_multiply(&mut self, i: &Insn, rn: u32) {
        let m = self.r[usize::from(i.rm)];
        let (lo_r, hi_r) = (usize::from(i.ra), usize::from(i.rd));
        let acc = (u64::from(self.r[hi_r]) << 32) | u64::from(self.r[lo_r]);
        let v: u64 = match i.op {
            Op::Smull => (i64::from(rn as i32) * i64::from(m as i32)) as u64,
            Op::Umull => u64::from(rn) * u64::from(m),
            Op::Smlal => acc.wrapping_add((i64::from(rn as i32) * i64::from(m as i32)) as u64),
            Op::Umlal => acc.wrapping_add(u64::from(rn) * u64::from(m)),
            Op::Umaal => {
                u64::from(rn) * u64::from(m) + u64::from(self.r[hi_r]) + u64::from(self.r[lo_r])
            }
            Op::Smlalxy => {
                let a = if i.flags & flag::NHI != 0 {
                    hi16(rn)
                } else {
                    sext16(rn)
                };
                let b = if i.flags & flag::MHI != 0 {
                    hi16(m)
                } else {
                    sext16(m)
                };
                acc.wrapping_add((a * b) as u64)
            }
            _ => {
                let m = if i.flags & flag::X != 0 {
                    m.rotate_right(16)
                } else {
                    m
                };
                let p1 = sext16(rn) * sext16(m);
                let p2 = hi16(rn) * hi16(m);
                let p = if i.op == Op::Smlald { p1 + p2 } else { p1 - p2 };
                acc.wrapping_add(p as u64)
            }
        };
        self.r[lo_r] = v as u32;
        self.r[hi_r] = (v >> 32) as u32;
    }

    /// Parallel add/subtract (SADD16, UQSUB8, SHASX, ...).
    fn parallel(&mut self, i: &Insn, a: u32, b: u32) -> u32 {
        let unsigned = i.flags & flag::UNSIGNED != 0;
        let bytes = matches!(i.cond, 0 | 4);
        let width = if bytes { 8 } else { 16 };
        let lanes = 32 / width;
        let mask = (1u32 << width) - 1;
        let lane = |v: u32, k: u32| -> i64 {
            let x = (v >> (k * width)) & mask;
            if unsigned {
                i64::from(x)
            } else {
                let s = 32 - width;
                i64::from(((x << s) as i32) >> s)
            }
        };
        let mut out = 0u32;
        let mut ge = 0u8;
        for k in 0..lanes {
            let (x, y, add) = match i.cond {
                0 | 1 => (lane(a, k), lane(b, k), true),
                4 | 5 => (lane(a, k), lane(b, k), false),
                // ASX: low = a.lo - b.hi, high = a.hi + b.lo; SAX the reverse.
                2 => (lane(a, k), lane(b, 1 - k), k == 1),
                _ => (lane(a, k), lane(b, 1 - k), k == 0),
            };
            let r = if add { x + y } else { x - y };
            let v = match i.shift {
                1 => {
                    if unsigned {
                        unsigned_sat(r, width).0
                    } else {
                        signed_sat(r, width).0
                    }
                }
                2 => (r >> 1) as u32,
                _ => {
                    let set = if unsigned {
                        if add {
                            r >= i64::from(1u32 << width)
                        } else {
                            r >= 0
                        }
                    } else {
                        r >= 0
                    };
                    if set {
                        ge |= if bytes { 1 << k } else { 3 << (2 * k) };
                    }
                    r as u32
                }
            };
            out |= (v & mask) << (k * width);
        }
        if i.shift == 0 {
            self.ge = ge;
        }
        out
    }

    /// The UsageFault (or simulation stop) for an instruction this core cannot execute.
    pub(crate) fn undefined(&self, i: &Insn) -> Trap {
        Trap::Fault(Fault::undefined(self.pc, i.imm, i.len))
    }

    /// `b .`: stop with a clear message when nothing can ever interrupt the loop.
    fn check_idle_loop(&mut self) -> Exec {
        if self.sys.can_interrupt(self) {
            // A timer will fire: skip the idle time to it.
            self.skip_to_next_event();
            return Ok(());
        }
        let why = match &self.first_fault {
            Some(f) if self.ipsr != 0 => format!("after a fault, in an endless loop ({f})"),
            _ => "an endless loop (`b .`) that no enabled interrupt can leave".into(),
        };
        Err(Trap::stop(SimError::Stuck {
            pc: self.pc,
            function: self.describe(self.pc),
            why,
        }))
    }

    fn wait_for_interrupt(&mut self) -> Exec {
        if self.sys.can_interrupt(self) {
            self.sleeping = true;
            self.skip_to_next_event();
            return Ok(());
        }
        Err(Trap::stop(SimError::Stuck {
            pc: self.pc,
            function: self.describe(self.pc),
            why: "WFI with no enabled interrupt that could wake the core".into(),
        }))
    }
}
