//! GPIO1..9: DR_SET/DR_CLEAR/DR_TOGGLE act on DR; PSR reads the pins, which follow DR for
//! outputs (nothing drives the inputs).

use super::regs::RegFile;

pub fn read(regs: &mut RegFile, r: usize) -> u32 {
    match regs.table[r].name {
        "PSR" => regs.get("DR") & regs.get("GDIR"),
        "DR_SET" | "DR_CLEAR" | "DR_TOGGLE" => 0,
        _ => regs.values[r],
    }
}

pub fn write(regs: &mut RegFile, r: usize, old: u32) {
    let v = regs.values[r];
    let dr = regs.get("DR");
    let new = match regs.table[r].name {
        "DR_SET" => dr | v,
        "DR_CLEAR" => dr & !v,
        "DR_TOGGLE" => dr ^ v,
        "ISR" => {
            // Write 1 to clear.
            regs.values[r] = old & !v;
            return;
        }
        _ => return,
    };
    regs.set("DR", new);
    regs.values[r] = 0;
}
