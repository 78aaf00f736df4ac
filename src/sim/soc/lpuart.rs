//! LPUART1..8: bytes written to DATA with the transmitter enabled go to the run's output (beside
//! semihosting output); the transmitter is always ready (STAT.TDRE, STAT.TC, FIFO.TXEMPT).
//! Received bytes come from `--uart-input` while the receiver is enabled. The interrupt line
//! follows CTRL.TIE/TCIE/RIE and the flags they enable ([`irq`]).

use std::io::Write;

use super::regs::RegFile;
use super::Ctx;

const CTRL_TIE: u32 = 1 << 23;
const CTRL_TCIE: u32 = 1 << 22;
const CTRL_RIE: u32 = 1 << 21;
const CTRL_TE: u32 = 1 << 19;
const CTRL_RE: u32 = 1 << 18;
const STAT_TDRE: u32 = 1 << 23;
const STAT_TC: u32 = 1 << 22;
const STAT_RDRF: u32 = 1 << 21;
const FIFO_TXEMPT: u32 = 1 << 23;
const FIFO_RXEMPT: u32 = 1 << 22;
const DATA_RXEMPT: u32 = 1 << 12;

fn receiving(regs: &RegFile, ctx: &Ctx<'_>) -> bool {
    regs.get("CTRL") & CTRL_RE != 0 && !ctx.input.is_empty()
}

/// Whether the LPUART's interrupt line is asserted: the transmitter is always ready (TDRE and
/// TC), the receiver when it is enabled and input waits.
pub fn irq(regs: &RegFile, input_waiting: bool) -> bool {
    let ctrl = regs.get("CTRL");
    let rx = ctrl & CTRL_RE != 0 && input_waiting;
    ctrl & (CTRL_TIE | CTRL_TCIE) != 0 || (ctrl & CTRL_RIE != 0 && rx)
}

pub fn read(regs: &mut RegFile, r: usize, ctx: &mut Ctx<'_>) -> u32 {
    let v = regs.values[r];
    match regs.table[r].name {
        "STAT" => {
            let rx = if receiving(regs, ctx) { STAT_RDRF } else { 0 };
            (v & !STAT_RDRF) | STAT_TDRE | STAT_TC | rx
        }
        "FIFO" => {
            let rx = if receiving(regs, ctx) { 0 } else { FIFO_RXEMPT };
            (v & !FIFO_RXEMPT) | FIFO_TXEMPT | rx
        }
        "DATA" => {
            if receiving(regs, ctx) {
                ctx.input.pop_front().map_or(DATA_RXEMPT, u32::from)
            } else {
                DATA_RXEMPT
            }
        }
        _ => v,
    }
}

pub fn write(regs: &mut RegFile, r: usize, old: u32, ctx: &mut Ctx<'_>) {
    let transmitting = regs.get("CTRL") & CTRL_TE != 0;
    match regs.table[r].name {
        "DATA" if transmitting => {
            let byte = ctx.raw as u8;
            ctx.output.push(byte);
            if ctx.echo {
                // Host console errors (a closed pipe) do not change the simulated program.
                let _ = std::io::stdout().write_all(&[byte]);
            }
        }
        // Flags are write-1-to-clear or read-only; nothing here is stored.
        "STAT" => regs.values[r] = old,
        // Software reset: every register but GLOBAL back to its reset value.
        "GLOBAL" if regs.values[r] & 2 != 0 => {
            for (i, reg) in regs.table.iter().enumerate() {
                if i != r {
                    regs.values[i] = reg.reset;
                }
            }
        }
        _ => {}
    }
}
