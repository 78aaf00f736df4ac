//! IOMUXC_GPR: GPR14 (CM7 ITCM/DTCM sizes), GPR16 (FlexRAM bank configuration from fuses or from
//! GPR17) and GPR17 (the bank assignment) reconfigure FlexRAM as soon as they are written, as the
//! hardware does; the machine re-maps ITCM, DTCM and OCRAM when it sees the effect.

use super::regs::RegFile;
use super::Ctx;

pub fn gpr_write(regs: &mut RegFile, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let name = regs.table[r].name;
    if matches!(name, "GPR14" | "GPR16" | "GPR17" | "GPR18") && old != regs.values[r] {
        ctx.effects.flexram = true;
    }
}
