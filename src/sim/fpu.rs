//! FPv5 (single and double precision) semantics. Arithmetic rounds to nearest-even (the FPSCR
//! default and what GCC code assumes); conversions and VRINT honour the rounding their encoding
//! names, or FPSCR.RMode. NaN results follow the Arm rules (signalling NaNs first, operands in
//! order, quietened; otherwise the default NaN). Cumulative exception flags are not modelled.

use super::decode::{flag, round, varith, Insn, Op};
use super::system::Fault;
use super::{Machine, Trap};

/// What the generic FP code needs of `f32` and `f64`.
trait Fp: Copy + PartialOrd + std::ops::Neg<Output = Self> {
    const QUIET: u64;
    const DEFAULT_NAN: u64;
    const ZERO: Self;
    fn bits(self) -> u64;
    fn from_bits(b: u64) -> Self;
    fn is_nan(self) -> bool;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn fma(self, a: Self, b: Self) -> Self;
    fn to_f64(self) -> f64;
    fn round_mode(self, mode: u8) -> Self;
}

macro_rules! impl_fp {
    ($t:ty, $bits:ty, $quiet:expr, $dnan:expr) => {
        impl Fp for $t {
            const QUIET: u64 = $quiet;
            const DEFAULT_NAN: u64 = $dnan;
            const ZERO: Self = 0.0;
            fn bits(self) -> u64 {
                u64::from(self.to_bits())
            }
            fn from_bits(b: u64) -> Self {
                <$t>::from_bits(b as $bits)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn fma(self, a: Self, b: Self) -> Self {
                self.mul_add(a, b)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn round_mode(self, mode: u8) -> Self {
                match mode {
                    round::AWAY => self.round(),
                    round::EVEN => self.round_ties_even(),
                    round::PLUS => self.ceil(),
                    round::MINUS => self.floor(),
                    _ => self.trunc(),
                }
            }
        }
    };
}

impl_fp!(f32, u32, 1 << 22, 0x7FC0_0000);
impl_fp!(f64, u64, 1 << 51, 0x7FF8_0000_0000_0000);

fn is_snan<T: Fp>(x: T) -> bool {
    x.is_nan() && x.bits() & T::QUIET == 0
}

fn quiet<T: Fp>(x: T) -> T {
    T::from_bits(x.bits() | T::QUIET)
}

/// The Arm NaN result for operands in order (FPProcessNaNs), or `result` if it is not a NaN.
fn nan_result<T: Fp>(result: T, operands: &[T]) -> T {
    if !result.is_nan() {
        return result;
    }
    if let Some(&s) = operands.iter().find(|x| is_snan(**x)) {
        return quiet(s);
    }
    if let Some(&q) = operands.iter().find(|x| x.is_nan()) {
        return q;
    }
    T::from_bits(T::DEFAULT_NAN)
}

fn arith<T: Fp>(kind: u8, d: T, n: T, m: T) -> T {
    match kind {
        varith::MLA | varith::MLS | varith::NMLA | varith::NMLS => {
            let p = nan_result(n.mul(m), &[n, m]);
            let p = if matches!(kind, varith::MLS | varith::NMLA) {
                -p
            } else {
                p
            };
            let acc = if matches!(kind, varith::NMLA | varith::NMLS) {
                -d
            } else {
                d
            };
            nan_result(acc.add(p), &[acc, p])
        }
        varith::MUL => nan_result(n.mul(m), &[n, m]),
        varith::NMUL => -nan_result(n.mul(m), &[n, m]),
        varith::ADD => nan_result(n.add(m), &[n, m]),
        varith::SUB => nan_result(n.sub(m), &[n, m]),
        varith::DIV => nan_result(n.div(m), &[n, m]),
        _ => {
            let n2 = if matches!(kind, varith::FMS | varith::FNMA) {
                -n
            } else {
                n
            };
            let d2 = if matches!(kind, varith::FNMA | varith::FNMS) {
                -d
            } else {
                d
            };
            nan_result(n2.fma(m, d2), &[d2, n2, m])
        }
    }
}

/// FPSCR.NZCV of a comparison.
fn compare<T: Fp>(a: T, b: T) -> u32 {
    if a.is_nan() || b.is_nan() {
        0b0011
    } else if a == b {
        0b0110
    } else if a < b {
        0b1000
    } else {
        0b0010
    }
}

fn max_min_nm<T: Fp>(a: T, b: T, min: bool) -> T {
    match (a.is_nan() && !is_snan(a), b.is_nan() && !is_snan(b)) {
        (true, false) if !b.is_nan() => return b,
        (false, true) if !a.is_nan() => return a,
        _ => {}
    }
    if a.is_nan() || b.is_nan() {
        return nan_result(a.add(b), &[a, b]);
    }
    if a == b {
        // +0 and -0 compare equal: max is +0, min is -0.
        if a.bits() != b.bits() {
            return if min { -T::ZERO } else { T::ZERO };
        }
        return a;
    }
    if (a < b) == min {
        a
    } else {
        b
    }
}

/// Float to 32-bit integer with rounding and saturation (NaN -> 0).
fn to_int<T: Fp>(x: T, mode: u8, signed: bool) -> u32 {
    if x.is_nan() {
        return 0;
    }
    let r = x.round_mode(mode).to_f64();
    if signed {
        r.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32 as u32
    } else {
        r.clamp(0.0, f64::from(u32::MAX)) as u32
    }
}

fn half_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1F);
    let frac = u32::from(h & 0x3FF);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal half: normalise.
            let v = f as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (31, 0) => sign | 0x7F80_0000,
        (31, f) => sign | 0x7FC0_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

fn f32_to_half(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    if x.is_nan() {
        return sign | 0x7E00 | ((b >> 13) & 0x1FF) as u16;
    }
    let a = x.abs();
    if a >= 65520.0 {
        return sign | 0x7C00;
    }
    if a < 6.103_515_6e-5 {
        // Subnormal (or zero): units of 2^-24, ties to even.
        let v = (a * 16_777_216.0).round_ties_even() as u16;
        return sign | v;
    }
    let exp = ((b >> 23) & 0xFF) as i32 - 127 + 15;
    let mant = b & 0x7F_FFFF;
    let mut h = ((exp as u32) << 10) | (mant >> 13);
    let rest = mant & 0x1FFF;
    if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) {
        h += 1;
    }
    sign | h as u16
}

impl Machine {
    #[inline]
    fn sreg(&self, n: u8) -> f32 {
        f32::from_bits(self.s[usize::from(n)])
    }

    #[inline]
    fn set_sreg(&mut self, n: u8, v: f32) {
        self.s[usize::from(n)] = v.to_bits();
    }

    #[inline]
    fn dbits(&self, n: u8) -> u64 {
        let k = usize::from(n) * 2;
        u64::from(self.s[k]) | (u64::from(self.s[k + 1]) << 32)
    }

    #[inline]
    fn set_dbits(&mut self, n: u8, v: u64) {
        let k = usize::from(n) * 2;
        self.s[k] = v as u32;
        self.s[k + 1] = (v >> 32) as u32;
    }

    fn dreg(&self, n: u8) -> f64 {
        f64::from_bits(self.dbits(n))
    }

    fn set_dreg(&mut self, n: u8, v: f64) {
        self.set_dbits(n, v.to_bits());
    }

    fn fpscr_mode(&self, mode: u8) -> u8 {
        if mode != round::FPSCR {
            return mode;
        }
        match (self.fpscr >> 22) & 3 {
            0 => round::EVEN,
            1 => round::PLUS,
            2 => round::MINUS,
            _ => round::ZERO,
        }
    }

    /// Executes a floating-point instruction (CPACR and lazy stacking checked first).
    pub(crate) fn exec_fp(&mut self, i: &Insn) -> Result<(), Trap> {
        if !self.fp_enabled() {
            return Err(Trap::Fault(Fault::no_coprocessor()));
        }
        self.preserve_fp_state()?;
        let dbl = i.flags & flag::DBL != 0;
        match i.op {
            Op::Vldr | Op::Vstr => {
                let base = if i.rn == 15 {
                    self.r[15] & !3
                } else {
                    self.r[usize::from(i.rn)]
                };
                let addr = if i.flags & flag::U != 0 {
                    base.wrapping_add(i.imm)
                } else {
                    base.wrapping_sub(i.imm)
                };
                let first = if dbl { 2 * i.rd } else { i.rd };
                let words = if dbl { 2 } else { 1 };
                self.transfer_fp(i.op == Op::Vldr, addr, first, words)?;
            }
            Op::Vldm | Op::Vstm => {
                let base = self.r[usize::from(i.rn)];
                let bytes = 4 * i.imm;
                let start = if i.flags & flag::DB != 0 {
                    base.wrapping_sub(bytes)
                } else {
                    base
                };
                let first = if dbl { 2 * i.rd } else { i.rd };
                self.transfer_fp(i.op == Op::Vldm, start, first, i.imm as u8)?;
                if i.flags & flag::W != 0 {
                    self.r[usize::from(i.rn)] = if i.flags & flag::DB != 0 {
                        start
                    } else {
                        base.wrapping_add(bytes)
                    };
                }
                self.cycles += u64::from(self.timing.multiple(i.imm));
            }
            Op::VmovCoreS => {
                if i.flags & flag::TOCORE != 0 {
                    self.r[usize::from(i.rd)] = self.s[usize::from(i.rn)];
                } else {
                    self.s[usize::from(i.rn)] = self.r[usize::from(i.rd)];
                }
            }
            Op::VmovCore2 => {
                let first = if dbl {
                    2 * usize::from(i.rm)
                } else {
                    usize::from(i.rm)
                };
                if first + 1 >= 32 {
                    return Err(self.undefined(i));
                }
                if i.flags & flag::TOCORE != 0 {
                    self.r[usize::from(i.rd)] = self.s[first];
                    self.r[usize::from(i.ra)] = self.s[first + 1];
                } else {
                    self.s[first] = self.r[usize::from(i.rd)];
                    self.s[first + 1] = self.r[usize::from(i.ra)];
                }
            }
            Op::VmovScalar => {
                let k = 2 * usize::from(i.rn) + usize::from(i.amount);
                if i.flags & flag::TOCORE != 0 {
                    self.r[usize::from(i.rd)] = self.s[k];
                } else {
                    self.s[k] = self.r[usize::from(i.rd)];
                }
            }
            Op::Vmrs => {
                if i.rd == 15 {
                    let f = self.fpscr;
                    self.n = f & (1 << 31) != 0;
                    self.z = f & (1 << 30) != 0;
                    self.c = f & (1 << 29) != 0;
                    self.v = f & (1 << 28) != 0;
                } else {
                    self.r[usize::from(i.rd)] = self.fpscr;
                }
            }
            Op::Vmsr => self.fpscr = self.r[usize::from(i.rd)] & 0xF7C0_009F,
            Op::VmovImm => {
                if dbl {
                    self.set_dbits(i.rd, u64::from(i.imm) << 32);
                } else {
                    self.s[usize::from(i.rd)] = i.imm;
                }
            }
            Op::VArith => {
                if dbl {
                    let v = arith(i.cond, self.dreg(i.rd), self.dreg(i.rn), self.dreg(i.rm));
                    self.set_dreg(i.rd, v);
                } else {
                    let v = arith(i.cond, self.sreg(i.rd), self.sreg(i.rn), self.sreg(i.rm));
                    self.set_sreg(i.rd, v);
                }
            }
            Op::VUnary => {
                if dbl {
                    let m = self.dbits(i.rm);
                    let v = match i.cond {
                        0 => m,
                        1 => m & !(1 << 63),
                        2 => m ^ (1 << 63),
                        _ => {
                            let x = f64::from_bits(m);
                            nan_result(x.sqrt(), &[x]).to_bits()
                        }
                    };
                    self.set_dbits(i.rd, v);
                } else {
                    let m = self.s[usize::from(i.rm)];
                    let v = match i.cond {
                        0 => m,
                        1 => m & !(1 << 31),
                        2 => m ^ (1 << 31),
                        _ => {
                            let x = f32::from_bits(m);
                            nan_result(x.sqrt(), &[x]).to_bits()
                        }
                    };
                    self.s[usize::from(i.rd)] = v;
                }
            }
            Op::Vcmp => {
                let nzcv = if dbl {
                    let b = if i.flags & flag::IMM != 0 {
                        0.0
                    } else {
                        self.dreg(i.rm)
                    };
                    compare(self.dreg(i.rd), b)
                } else {
                    let b = if i.flags & flag::IMM != 0 {
                        0.0
                    } else {
                        self.sreg(i.rm)
                    };
                    compare(self.sreg(i.rd), b)
                };
                self.fpscr = (self.fpscr & 0x0FFF_FFFF) | (nzcv << 28);
            }
            Op::VcvtFF => {
                if dbl {
                    let x = self.dreg(i.rm);
                    let v = if x.is_nan() {
                        // Keep the top payload bits, quietened.
                        f32::from_bits(
                            ((x.to_bits() >> 32) as u32 & 0x8000_0000)
                                | 0x7FC0_0000
                                | ((x.to_bits() >> 29) as u32 & 0x3F_FFFF),
                        )
                    } else {
                        x as f32
                    };
                    self.set_sreg(i.rd, v);
                } else {
                    let x = self.sreg(i.rm);
                    let v = if x.is_nan() {
                        quiet(f64::from(x))
                    } else {
                        f64::from(x)
                    };
                    self.set_dreg(i.rd, v);
                }
            }
            Op::VcvtIF => {
                let raw = self.s[usize::from(i.rm)];
                let signed = i.flags & flag::SIGNED != 0;
                if dbl {
                    let v = if signed {
                        f64::from(raw as i32)
                    } else {
                        f64::from(raw)
                    };
                    self.set_dreg(i.rd, v);
                } else {
                    let v = if signed {
                        raw as i32 as f32
                    } else {
                        raw as f32
                    };
                    self.set_sreg(i.rd, v);
                }
            }
            Op::VcvtFI => {
                let mode = self.fpscr_mode(i.cond);
                let signed = i.flags & flag::SIGNED != 0;
                let v = if dbl {
                    to_int(self.dreg(i.rm), mode, signed)
                } else {
                    to_int(self.sreg(i.rm), mode, signed)
                };
                self.s[usize::from(i.rd)] = v;
            }
            Op::VcvtFixed => self.convert_fixed(i, dbl),
            Op::VcvtHalf => {
                let shift = if i.flags & flag::TOP != 0 { 16 } else { 0 };
                if i.flags & flag::TOHALF != 0 {
                    let h = u32::from(f32_to_half(self.sreg(i.rm)));
                    let d = &mut self.s[usize::from(i.rd)];
                    *d = (*d & !(0xFFFF << shift)) | (h << shift);
                } else {
                    let h = (self.s[usize::from(i.rm)] >> shift) as u16;
                    self.set_sreg(i.rd, half_to_f32(h));
                }
            }
            Op::Vrint => {
                let mode = self.fpscr_mode(i.cond);
                if dbl {
                    let x = self.dreg(i.rm);
                    self.set_dreg(i.rd, nan_result(x.round_mode(mode), &[x]));
                } else {
                    let x = self.sreg(i.rm);
                    self.set_sreg(i.rd, nan_result(x.round_mode(mode), &[x]));
                }
            }
            Op::Vsel => {
                let src = if self.condition(i.cond) { i.rn } else { i.rm };
                if dbl {
                    self.set_dbits(i.rd, self.dbits(src));
                } else {
                    self.s[usize::from(i.rd)] = self.s[usize::from(src)];
                }
            }
            Op::VMaxMinNm => {
                let min = i.flags & flag::MIN != 0;
                if dbl {
                    let v = max_min_nm(self.dreg(i.rn), self.dreg(i.rm), min);
                    self.set_dreg(i.rd, v);
                } else {
                    let v = max_min_nm(self.sreg(i.rn), self.sreg(i.rm), min);
                    self.set_sreg(i.rd, v);
                }
            }
            _ => return Err(self.undefined(i)),
        }
        Ok(())
    }

    fn transfer_fp(&mut self, load: bool, addr: u32, first: u8, words: u8) -> Result<(), Trap> {
        if usize::from(first) + usize::from(words) > 32 {
            return Err(Trap::Fault(Fault::undefined(self.pc, 0, 4)));
        }
        for k in 0..words {
            let a = addr.wrapping_add(4 * u32::from(k));
            let slot = usize::from(first + k);
            if load {
                self.s[slot] = self.load::<4>(a)?;
            } else {
                self.store::<4>(a, self.s[slot])?;
            }
        }
        Ok(())
    }

    fn convert_fixed(&mut self, i: &Insn, dbl: bool) {
        let frac = i.imm as i32;
        let size = u32::from(i.amount);
        let signed = i.flags & flag::SIGNED != 0;
        let scale = 2f64.powi(frac);
        if i.flags & flag::TOFIXED != 0 {
            let x = if dbl {
                self.dreg(i.rd)
            } else {
                f64::from(self.sreg(i.rd))
            };
            let v = if x.is_nan() {
                0
            } else {
                let t = (x * scale).trunc();
                let (lo, hi) = if signed {
                    (
                        -(2f64.powi(size as i32 - 1)),
                        2f64.powi(size as i32 - 1) - 1.0,
                    )
                } else {
                    (0.0, 2f64.powi(size as i32) - 1.0)
                };
                let c = t.clamp(lo, hi);
                if signed {
                    c as i64 as u32
                } else {
                    c as u64 as u32
                }
            };
            let v = if size == 16 && signed {
                v as u16 as i16 as u32
            } else if size == 16 {
                v & 0xFFFF
            } else {
                v
            };
            if dbl {
                self.set_dbits(
                    i.rd,
                    if signed {
                        v as i32 as i64 as u64
                    } else {
                        u64::from(v)
                    },
                );
            } else {
                self.s[usize::from(i.rd)] = v;
            }
        } else {
            let raw = if dbl {
                self.dbits(i.rd) as u32
            } else {
                self.s[usize::from(i.rd)]
            };
            let int = match (size, signed) {
                (16, true) => f64::from(raw as u16 as i16),
                (16, false) => f64::from(raw as u16),
                (_, true) => f64::from(raw as i32),
                _ => f64::from(raw),
            };
            if dbl {
                self.set_dreg(i.rd, int / scale);
            } else {
                self.set_sreg(i.rd, (int / scale) as f32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_round_trips() {
        for x in [0.0f32, 1.0, -2.5, 65504.0, 6.1035156e-5, 1.0e-7] {
            let h = f32_to_half(x);
            let back = half_to_f32(h);
            assert!(
                (back - x).abs() <= x.abs() * 1e-3 + 6e-8,
                "{x} -> {h:#x} -> {back}"
            );
        }
        assert_eq!(f32_to_half(1.0e6), 0x7C00);
    }

    #[test]
    fn nan_rules_follow_arm() {
        let snan = f32::from_bits(0x7F80_0001);
        let qnan = f32::from_bits(0x7FC0_0002);
        assert_eq!(arith(varith::ADD, 0.0, qnan, snan).to_bits(), 0x7FC0_0001);
        assert_eq!(arith(varith::ADD, 0.0, qnan, 1.0).to_bits(), 0x7FC0_0002);
        assert_eq!(
            arith(varith::SUB, 0.0, f32::INFINITY, f32::INFINITY).to_bits(),
            0x7FC0_0000
        );
        assert_eq!(to_int(f32::NAN, round::ZERO, true), 0);
        assert_eq!(to_int(3.0e9f32, round::ZERO, true), i32::MAX as u32);
        assert_eq!(to_int(-2.5f32, round::EVEN, true), (-2i32) as u32);
        assert_eq!(to_int(-2.5f32, round::AWAY, true), (-3i32) as u32);
    }
}
