//! DWT (cycle counter, PC sampling register) and ITM stimulus ports: what the firmware and a
//! host-side capture read to measure time and sample the PC.

/// DWT_CTRL: 4 comparators, cycle counter present, CYCCNTENA in bit 0.
const CTRL_RESET: u32 = 0x4000_0000;

pub struct Dwt {
    pub ctrl: u32,
    /// CYCCNT = core cycles - `base` (mod 2^32) while counting.
    base: u64,
    /// The value CYCCNT froze at while disabled.
    frozen: u32,
    /// ITM trace enable and stimulus-port enables (ITM_TCR, ITM_TER0).
    pub itm_tcr: u32,
    pub itm_ter: u32,
    /// Bytes an SWO trace port would carry: ITM software-source packets.
    pub itm_stream: Vec<u8>,
}

impl Dwt {
    pub fn new() -> Dwt {
        Dwt {
            ctrl: CTRL_RESET,
            base: 0,
            frozen: 0,
            itm_tcr: 0,
            itm_ter: 0,
            itm_stream: Vec::new(),
        }
    }

    fn counting(&self) -> bool {
        self.ctrl & 1 != 0
    }

    pub fn cyccnt(&self, cycles: u64) -> u32 {
        if self.counting() {
            cycles.wrapping_sub(self.base) as u32
        } else {
            self.frozen
        }
    }

    pub fn set_cyccnt(&mut self, cycles: u64, value: u32) {
        self.frozen = value;
        self.base = cycles.wrapping_sub(u64::from(value));
    }

    pub fn set_ctrl(&mut self, cycles: u64, value: u32) {
        let now = self.cyccnt(cycles);
        self.ctrl = (self.ctrl & 0xF000_0000) | (value & 0x0FFF_FFFF);
        self.set_cyccnt(cycles, now);
    }

    /// A write to ITM stimulus port `port` of `size` bytes becomes a software-source packet.
    pub fn stimulus(&mut self, port: u32, value: u32, size: u32) {
        if self.itm_tcr & 1 == 0 || self.itm_ter & (1 << port) == 0 {
            return;
        }
        let code = match size {
            1 => 1,
            2 => 2,
            _ => 3,
        };
        self.itm_stream.push(((port as u8) << 3) | code);
        let n = if code == 3 { 4 } else { code as usize };
        self.itm_stream.extend_from_slice(&value.to_le_bytes()[..n]);
    }
}
