//! Arm semihosting (BKPT 0xAB, operation in R0, parameter in R1): console output, clocks and
//! exit, as QEMU implements them for a bare-metal guest.

use std::io::Write;

use super::system::PPB_BASE;
use super::{Machine, SimError, Trap};

const SYS_WRITEC: u32 = 0x03;
const SYS_WRITE0: u32 = 0x04;
const SYS_WRITE: u32 = 0x05;
const SYS_CLOCK: u32 = 0x10;
const SYS_EXIT: u32 = 0x18;
const SYS_EXIT_EXTENDED: u32 = 0x20;
const SYS_ELAPSED: u32 = 0x30;
const SYS_TICKFREQ: u32 = 0x31;
/// ADP_Stopped_ApplicationExit: the "normal exit" reason code.
const APPLICATION_EXIT: u32 = 0x20026;
/// Longest SYS_WRITE0 string accepted before the call is treated as runaway.
const MAX_STRING: u32 = 1 << 20;

impl Machine {
    fn guest_word(&self, op: u32, addr: u32) -> Result<u32, Trap> {
        let mut b = [0u8; 4];
        if addr >= PPB_BASE || self.mem.peek(addr, &mut b).is_err() {
            return Err(Trap::stop(SimError::SemihostingMemory {
                pc: self.pc,
                op,
                addr,
            }));
        }
        Ok(u32::from_le_bytes(b))
    }

    fn guest_byte(&self, op: u32, addr: u32) -> Result<u8, Trap> {
        let mut b = [0u8; 1];
        if addr >= PPB_BASE || self.mem.peek(addr, &mut b).is_err() {
            return Err(Trap::stop(SimError::SemihostingMemory {
                pc: self.pc,
                op,
                addr,
            }));
        }
        Ok(b[0])
    }

    fn emit(&mut self, handle: u32, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
        if self.echo {
            // Host console errors (a closed pipe) do not change the simulated program.
            let _ = if handle == 2 {
                std::io::stderr().write_all(bytes)
            } else {
                std::io::stdout().write_all(bytes)
            };
        }
    }

    /// Performs the semihosting call at the current BKPT 0xAB.
    pub(crate) fn semihost(&mut self) -> Result<(), Trap> {
        let op = self.r[0];
        let arg = self.r[1];
        match op {
            SYS_WRITEC => {
                let c = self.guest_byte(op, arg)?;
                self.emit(1, &[c]);
            }
            SYS_WRITE0 => {
                let mut s = Vec::new();
                let mut a = arg;
                loop {
                    let c = self.guest_byte(op, a)?;
                    if c == 0 || s.len() as u32 >= MAX_STRING {
                        break;
                    }
                    s.push(c);
                    a = a.wrapping_add(1);
                }
                self.emit(1, &s);
            }
            SYS_WRITE => {
                let handle = self.guest_word(op, arg)?;
                let ptr = self.guest_word(op, arg.wrapping_add(4))?;
                let len = self.guest_word(op, arg.wrapping_add(8))?;
                let mut buf = vec![0u8; len.min(MAX_STRING) as usize];
                if self.mem.peek(ptr, &mut buf).is_err() {
                    return Err(Trap::stop(SimError::SemihostingMemory {
                        pc: self.pc,
                        op,
                        addr: ptr,
                    }));
                }
                self.emit(handle, &buf);
                // R0 = bytes not written.
                self.r[0] = 0;
            }
            SYS_CLOCK => {
                self.r[0] = (self.cycles / (self.sys.clock_hz / 100).max(1)) as u32;
            }
            SYS_ELAPSED => {
                let t = self.cycles;
                self.store::<4>(arg, t as u32)?;
                self.store::<4>(arg.wrapping_add(4), (t >> 32) as u32)?;
                self.r[0] = 0;
            }
            SYS_TICKFREQ => self.r[0] = self.sys.clock_hz as u32,
            SYS_EXIT => {
                return Err(Trap::Exit(if arg == APPLICATION_EXIT { 0 } else { 1 }));
            }
            SYS_EXIT_EXTENDED => {
                let reason = self.guest_word(op, arg)?;
                let code = self.guest_word(op, arg.wrapping_add(4))?;
                let status = if reason == APPLICATION_EXIT {
                    code as i32
                } else {
                    1
                };
                return Err(Trap::Exit(status));
            }
            _ => return Err(Trap::stop(SimError::Semihosting { pc: self.pc, op })),
        }
        Ok(())
    }
}
