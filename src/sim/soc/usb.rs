//! USB OTG controller and USB PHY registers that start-up code waits on: USBCMD.RST and the PHY's
//! CTRL.SFTRST complete at once (the bits read back clear); ENDPTFLUSH/ENDPTPRIME complete at
//! once; FlexSPI MCR0.SWRESET completes at once. Everything else keeps its value.

use super::regs::RegFile;

const USBCMD_RST: u32 = 1 << 1;
const PHY_CTRL_SFTRST: u32 = 1 << 31;

pub fn write(regs: &mut RegFile, r: usize, _old: u32) {
    match regs.table[r].name {
        "USBCMD" => regs.values[r] &= !USBCMD_RST,
        "CTRL" => regs.values[r] &= !PHY_CTRL_SFTRST,
        "ENDPTFLUSH" | "ENDPTPRIME" => regs.values[r] = 0,
        _ => {}
    }
}

/// A register whose `bits` clear by themselves once written (reset requests).
pub fn self_clearing(regs: &mut RegFile, r: usize, name: &str, bits: u32) {
    if regs.table[r].name == name {
        regs.values[r] &= !bits;
    }
}
