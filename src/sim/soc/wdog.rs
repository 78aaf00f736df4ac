//! WDOG1/2 and RTWDOG (the "WDOG3" of the manual).
//!
//! WDOG: WCR.WDE, once set, cannot be cleared (write-once), as on the chip; the SDK only clears
//! it when set, which the ROM never does for a FlexSPI boot. RTWDOG: configuration registers
//! (CS, TOVAL, WIN) are writable only after the unlock key (0xD928C520 as one 32-bit write with
//! CS.CMD32EN, or 0xC520 then 0xD928 as 16-bit writes) sets CS.ULK; writing CS ends the
//! unlocked window and sets CS.RCS (reconfiguration done). Timeouts are not modelled: a
//! watchdog left running never resets the virtual board.

use super::regs::RegFile;
use super::{Ctx, State};

const WCR_WDE: u32 = 1 << 2;
const CS_ULK: u32 = 1 << 11;
const CS_RCS: u32 = 1 << 10;
const UNLOCK: u32 = 0xD928_C520;
const REFRESH: u32 = 0xB480_A602;

pub fn wdog_write(regs: &mut RegFile, r: usize, old: u32) {
    if regs.table[r].name == "WCR" && old & WCR_WDE != 0 {
        regs.values[r] |= WCR_WDE;
    }
}

pub fn rtwdog_write(regs: &mut RegFile, st: &mut State, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let cs = regs.index("CS");
    let unlocked = regs.values[cs] & CS_ULK != 0;
    match regs.table[r].name {
        "CNT" => {
            regs.values[r] = old;
            let key = match (ctx.size, ctx.raw & 0xFFFF) {
                (4, _) => ctx.raw,
                (2, 0xC520) => {
                    st.unlock_half = true;
                    return;
                }
                (2, 0xD928) if st.unlock_half => UNLOCK,
                (2, 0xA602) => {
                    st.unlock_half = true;
                    return;
                }
                (2, 0xB480) if st.unlock_half => REFRESH,
                _ => 0,
            };
            st.unlock_half = false;
            if key == UNLOCK {
                regs.values[cs] |= CS_ULK;
            }
        }
        "CS" if unlocked => {
            // Reconfigured: the window closes, RCS reports the new configuration in effect.
            regs.values[r] = (regs.values[r] & !CS_ULK) | CS_RCS;
        }
        "TOVAL" | "WIN" if unlocked => {}
        // Locked: configuration writes are ignored.
        _ => regs.values[r] = old,
    }
}
