//! DCDC: a new target voltage (REG3 TRG) clears REG0 STS_DC_OK until the converter settles.

use super::regs::RegFile;
use super::{Ctx, State};

/// Core cycles for the DCDC output to settle after a target change.
pub const SETTLE_CYCLES: u64 = 3_000;
const STS_DC_OK: u32 = 1 << 31;

pub fn read(regs: &mut RegFile, st: &mut State, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let v = regs.values[r];
    if regs.table[r].name != "REG0" {
        return v;
    }
    let ok = st.ready_at.get(&r).is_none_or(|&t| ctx.now >= t);
    (v & !STS_DC_OK) | if ok { STS_DC_OK } else { 0 }
}

pub fn write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    if regs.table[r].name == "REG3" && (old ^ regs.values[r]) & 0x1F != 0 {
        let reg0 = regs.index("REG0");
        st.ready_at.insert(reg0, ctx.now + SETTLE_CYCLES);
    }
}
