//! DWT (cycle counter, PC sampling, exception trace) and ITM (stimulus ports, the trace port):
//! what the firmware and a host-side capture read to measure time and sample the PC.
//!
//! Periodic PC sampling follows the ARMv7-M Architecture Reference Manual (C1.8): the POSTCNT
//! down-counter is clocked by a tap on CYCCNT (bit 6, or bit 10 with CYCTAP), so one tap event
//! happens every 64 or 1024 cycles; when a tap event finds POSTCNT at zero it is reloaded from
//! POSTPRESET and a PC sample packet is generated. Sampling starts with POSTCNT = POSTINIT.
//! Packets leave through a [`TracePort`] that models the SWO line's bandwidth.

use crate::itm::encode;

/// DWT_CTRL: 4 comparators, cycle counter present, CYCCNTENA in bit 0.
const CTRL_RESET: u32 = 0x4000_0000;
const CTRL_CYCCNTENA: u32 = 1;
const CTRL_CYCTAP: u32 = 1 << 9;
const CTRL_PCSAMPLENA: u32 = 1 << 12;
const CTRL_EXCTRCENA: u32 = 1 << 16;
const DEMCR_TRCENA: u32 = 1 << 24;
const TCR_ITMENA: u32 = 1;
const TCR_SYNCENA: u32 = 1 << 2;
/// ITM_TCR.TXENA: forward the DWT's hardware-source packets to the trace port.
const TCR_TXENA: u32 = 1 << 3;

/// Bytes the trace path can hold before the SWO line drains them. Arm does not publish the
/// Cortex-M7 ITM/TPIU FIFO depth; 16 bytes (three PC-sample packets) is an assumption, stated
/// in `docs/sim-model.md`. What matters for a capture is that a rate above the line's bandwidth
/// loses packets and says so with overflow packets, as the hardware does.
pub const TRACE_FIFO_BYTES: u64 = 16;

/// How the trace port's line is clocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// No SWO set up by a host: every byte is delivered at once.
    Unlimited,
    /// A fixed line rate, in core cycles per byte (a host that set the line rate directly).
    Fixed(u64),
    /// The TPIU drives the line from the trace clock: rate = trace clock / (ACPR + 1), NRZ only.
    Tpiu,
}

/// The TPIU's registers (CoreSight TPIU; ARM DDI 0314) and the trace clock that feeds it.
#[derive(Clone, Copy, Debug)]
pub struct Tpiu {
    pub acpr: u32,
    pub sppr: u32,
    pub ffcr: u32,
    /// The trace clock reaching the TPIU, `None` when it is gated or its PLL is off.
    pub trace_clock_hz: Option<u64>,
    /// Whether the SWO pin is muxed to the trace port (an i.MX RT pad must be set to ARM_TRACE_SWO).
    pub pin_muxed: bool,
}

impl Tpiu {
    fn new() -> Tpiu {
        // Reset values: ACPR 0, SPPR 1 (Manchester), FFCR 0x102. Without a SoC model the trace
        // clock is the SDK's default (132 MHz) and the pin is assumed muxed.
        Tpiu {
            acpr: 0,
            sppr: 1,
            ffcr: 0x102,
            trace_clock_hz: Some(132_000_000),
            pin_muxed: true,
        }
    }

    /// The NRZ line rate the TPIU produces, `None` when no NRZ bit leaves the pin (gated clock,
    /// Manchester selected, pin not muxed).
    pub fn line_baud(&self) -> Option<u64> {
        let clock = self.trace_clock_hz?;
        (self.sppr == 2 && self.pin_muxed && clock > 0)
            .then(|| clock / (u64::from(self.acpr & 0x1FFF) + 1))
    }
}

/// The SWO output: bytes waiting for the host, and (once a line is set up) a FIFO draining at
/// the line rate (NRZ/UART framing: 10 bit times per byte).
pub struct TracePort {
    /// Bytes the host has not read yet.
    pub bytes: Vec<u8>,
    line: Line,
    /// Core cycles one byte takes on the line (`Fixed` or `Tpiu`); `None` = the line is silent
    /// (nothing drains: the FIFO fills and every further packet is dropped).
    cycles_per_byte: Option<u64>,
    /// The cycle at which the line finishes sending what is queued.
    busy_until: u64,
    /// A packet was dropped: the next packet that fits is preceded by an overflow packet.
    overflow_pending: bool,
    /// Packets dropped because the FIFO was full.
    pub dropped_packets: u64,
    /// Bytes queued on a silent line (they never leave).
    stuck: u64,
}

impl TracePort {
    fn new() -> TracePort {
        TracePort {
            bytes: Vec::new(),
            line: Line::Unlimited,
            cycles_per_byte: None,
            busy_until: 0,
            overflow_pending: false,
            dropped_packets: 0,
            stuck: 0,
        }
    }

    /// Queues a packet generated at cycle `now`, or drops it if the FIFO has no room.
    fn push(&mut self, now: u64, packet: &[u8]) {
        if self.line == Line::Unlimited {
            self.bytes.extend_from_slice(packet);
            return;
        }
        let Some(per_byte) = self.cycles_per_byte else {
            if self.stuck + packet.len() as u64 > TRACE_FIFO_BYTES {
                self.dropped_packets += 1;
            } else {
                self.stuck += packet.len() as u64;
            }
            return;
        };
        let extra = u64::from(self.overflow_pending);
        if self.backlog(now) + packet.len() as u64 + extra > TRACE_FIFO_BYTES {
            self.dropped_packets += 1;
            self.overflow_pending = true;
            return;
        }
        if self.overflow_pending {
            self.bytes.push(encode::OVERFLOW);
            self.overflow_pending = false;
        }
        self.bytes.extend_from_slice(packet);
        self.busy_until = self.busy_until.max(now) + (packet.len() as u64 + extra) * per_byte;
    }

    /// Bytes still in the FIFO at cycle `now`.
    fn backlog(&self, now: u64) -> u64 {
        match self.cycles_per_byte {
            _ if self.line == Line::Unlimited => 0,
            Some(per_byte) => self
                .busy_until
                .saturating_sub(now)
                .div_ceil(per_byte.max(1)),
            None => self.stuck,
        }
    }
}

pub struct Dwt {
    pub ctrl: u32,
    /// CYCCNT = core cycles - `base` (mod 2^32) while counting.
    base: u64,
    /// The value CYCCNT froze at while disabled.
    frozen: u32,
    /// DEMCR (TRCENA powers the DWT and ITM).
    pub demcr: u32,
    /// ITM trace enable and stimulus-port enables (ITM_TCR, ITM_TER0).
    pub itm_tcr: u32,
    pub itm_ter: u32,
    pub port: TracePort,
    pub tpiu: Tpiu,
    /// The cycle of the next PC sample (u64::MAX while sampling is off).
    pub next_sample: u64,
    /// Cycles between PC samples: (POSTPRESET + 1) tap periods.
    sample_period: u64,
}

impl Default for Dwt {
    fn default() -> Self {
        Self::new()
    }
}

impl Dwt {
    pub fn new() -> Dwt {
        Dwt {
            ctrl: CTRL_RESET,
            base: 0,
            frozen: 0,
            demcr: 0,
            itm_tcr: 0,
            itm_ter: 0,
            port: TracePort::new(),
            tpiu: Tpiu::new(),
            next_sample: u64::MAX,
            sample_period: 0,
        }
    }

    fn counting(&self) -> bool {
        self.ctrl & CTRL_CYCCNTENA != 0
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
        self.schedule_sampling(cycles);
    }

    pub fn set_ctrl(&mut self, cycles: u64, value: u32) {
        let now = self.cyccnt(cycles);
        self.ctrl = (self.ctrl & 0xF000_0000) | (value & 0x0FFF_FFFF);
        self.set_cyccnt(cycles, now);
    }

    pub fn set_demcr(&mut self, cycles: u64, value: u32) {
        self.demcr = value;
        self.schedule_sampling(cycles);
    }

    pub fn set_itm_tcr(&mut self, cycles: u64, value: u32) {
        let enabling = self.itm_tcr & TCR_ITMENA == 0 && value & TCR_ITMENA != 0;
        self.itm_tcr = value;
        // A decoder aligns on a synchronisation packet; send one as the ITM starts.
        if enabling && value & TCR_SYNCENA != 0 && self.trcena() {
            self.port.push(cycles, &encode::SYNC);
        }
    }

    /// Sets the SWO line rate the trace port drains at, whatever the TPIU says.
    pub fn set_swo_baud(&mut self, core_clock_hz: u64, baud: u32) {
        let per_byte = (core_clock_hz * 10).div_ceil(u64::from(baud.max(1))).max(1);
        self.port.line = Line::Fixed(per_byte);
        self.port.cycles_per_byte = Some(per_byte);
    }

    /// A debugger's read of a TPIU register (0xE004_0000..0xE004_0FFF).
    pub fn tpiu_read(&self, addr: u32) -> u32 {
        match addr & 0xFFF {
            0x000 => 0xF, // SSPSR: port sizes 1..4
            0x004 => 1,   // CSPSR: 1-bit port
            0x010 => self.tpiu.acpr,
            0x0F0 => self.tpiu.sppr,
            0x300 => 0x8, // FFSR: TCPresent
            0x304 => self.tpiu.ffcr,
            0xFC8 => 0xCA1, // DEVID: SWO NRZ and Manchester, no trace port FIFO size stated
            _ => 0,
        }
    }

    /// A debugger's write of a TPIU register: from the first one on, the line follows the TPIU.
    pub fn tpiu_write(&mut self, now: u64, core_clock_hz: u64, addr: u32, value: u32) {
        match addr & 0xFFF {
            0x010 => self.tpiu.acpr = value & 0x1FFF,
            0x0F0 => self.tpiu.sppr = value & 3,
            0x304 => self.tpiu.ffcr = value,
            _ => return,
        }
        self.port.line = Line::Tpiu;
        self.retime_line(now, core_clock_hz);
    }

    /// The trace clock changed (CCM gate, divider or source): the line rate follows it.
    pub fn set_trace_clock(&mut self, now: u64, core_clock_hz: u64, hz: Option<u64>, muxed: bool) {
        self.tpiu.trace_clock_hz = hz;
        self.tpiu.pin_muxed = muxed;
        if self.port.line == Line::Tpiu {
            self.retime_line(now, core_clock_hz);
        }
    }

    fn retime_line(&mut self, now: u64, core_clock_hz: u64) {
        let queued = self.port.backlog(now);
        self.port.cycles_per_byte = self
            .tpiu
            .line_baud()
            .map(|baud| (core_clock_hz * 10).div_ceil(baud.max(1)).max(1));
        self.port.stuck = 0;
        self.port.busy_until = now + queued * self.port.cycles_per_byte.unwrap_or(0);
    }

    fn trcena(&self) -> bool {
        self.demcr & DEMCR_TRCENA != 0
    }

    /// Whether DWT packets reach the trace port.
    fn forwarding(&self) -> bool {
        self.trcena() && self.itm_tcr & (TCR_ITMENA | TCR_TXENA) == TCR_ITMENA | TCR_TXENA
    }

    /// Recomputes the next PC sample after a change of DWT_CTRL, CYCCNT or DEMCR: the first
    /// sample comes POSTINIT + 1 tap events from now.
    fn schedule_sampling(&mut self, cycles: u64) {
        if !(self.trcena() && self.counting() && self.ctrl & CTRL_PCSAMPLENA != 0) {
            self.next_sample = u64::MAX;
            return;
        }
        let tap = if self.ctrl & CTRL_CYCTAP != 0 {
            1u64 << 10
        } else {
            1 << 6
        };
        let preset = u64::from((self.ctrl >> 1) & 0xF);
        let init = u64::from((self.ctrl >> 5) & 0xF);
        // The next cycle at which CYCCNT crosses a multiple of the tap.
        let into = cycles.wrapping_sub(self.base) % tap;
        let first_tap = cycles + (tap - into);
        self.sample_period = (preset + 1) * tap;
        self.next_sample = first_tap + init * tap;
    }

    /// Emits the PC samples due by cycle `now`: `pc` is the instruction that was executing,
    /// `None` when the core was sleeping (a sleep packet).
    pub fn sample_due(&mut self, now: u64, pc: Option<u32>) {
        let mut packet = Vec::with_capacity(5);
        encode::pc_sample(pc, &mut packet);
        while self.next_sample <= now {
            if self.forwarding() {
                self.port.push(self.next_sample, &packet);
            }
            self.next_sample += self.sample_period;
        }
    }

    /// Exception trace: `function` 1 entered, 2 exited, 3 returned to.
    pub fn exception(&mut self, now: u64, number: u32, function: u8) {
        if self.ctrl & CTRL_EXCTRCENA != 0 && self.forwarding() {
            let mut packet = Vec::with_capacity(3);
            encode::exception(number as u16, function, &mut packet);
            self.port.push(now, &packet);
        }
    }

    /// Whether stimulus port writes are accepted now (the port's FIFOREADY bit).
    pub fn stimulus_ready(&self, now: u64) -> bool {
        self.port.backlog(now) + 5 <= TRACE_FIFO_BYTES
    }

    /// A write to ITM stimulus port `port` of `size` bytes becomes a software-source packet.
    pub fn stimulus(&mut self, now: u64, port: u32, value: u32, size: u32) {
        if self.itm_tcr & TCR_ITMENA == 0 || self.itm_ter & (1 << port) == 0 {
            return;
        }
        let mut packet = Vec::with_capacity(5);
        encode::instrumentation(port as u8, value, size as u8, &mut packet);
        self.port.push(now, &packet);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::itm::{Decoder, Packet};

    fn sampling_dwt(ctrl: u32) -> Dwt {
        let mut d = Dwt::new();
        d.set_demcr(0, DEMCR_TRCENA);
        d.set_itm_tcr(0, TCR_ITMENA | TCR_TXENA);
        d.set_ctrl(0, ctrl | CTRL_CYCCNTENA | CTRL_PCSAMPLENA);
        d
    }

    fn packets(bytes: &[u8]) -> Vec<Packet> {
        let mut out = Vec::new();
        Decoder::new().feed(bytes, |p| out.push(p));
        out
    }

    #[test]
    fn pc_samples_follow_cyctap_postinit_and_postpreset() {
        // CYCTAP = 0 (bit 6), POSTPRESET = 3, POSTINIT = 1: first sample after 2 taps, then
        // every 4 taps of 64 cycles.
        let mut d = sampling_dwt((3 << 1) | (1 << 5));
        assert_eq!(d.next_sample, 128);
        d.sample_due(127, Some(0x100));
        assert!(d.port.bytes.is_empty());
        d.sample_due(128 + 256, Some(0x100));
        assert_eq!(packets(&d.port.bytes).len(), 2);
        let d = sampling_dwt(CTRL_CYCTAP);
        assert_eq!(d.next_sample, 1024);
    }

    #[test]
    fn a_slow_line_drops_packets_and_reports_an_overflow() {
        let mut d = sampling_dwt(0);
        // 600 MHz core, 1 Mbaud: 6000 cycles a byte, samples every 64 cycles.
        d.set_swo_baud(600_000_000, 1_000_000);
        d.sample_due(64 * 100, Some(0x200));
        assert!(d.port.dropped_packets > 90);
        d.sample_due(64 * 100 + 6000 * 20, Some(0x200));
        let p = packets(&d.port.bytes);
        assert!(p.contains(&Packet::Overflow));
        assert_eq!(p[0], Packet::PcSample(Some(0x200)));
    }
}
