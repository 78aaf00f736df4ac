//! A model of a debug probe for the virtual board: USB round-trip latency, the SWO baud rates its
//! UART can receive at, its SWO buffer and how fast the host can empty it.
//!
//! The figures are stated per model below; they come from the probes' public descriptions
//! (CMSIS-DAP v1 moves one 64-byte HID report per 1 ms USB frame; v2 uses bulk endpoints at
//! high speed, 125 µs microframes) and are what make the capture code's pacing, baud and
//! overrun handling testable without hardware.

use std::time::Duration;

/// A debug probe as the capture code experiences it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeModel {
    pub name: &'static str,
    /// One command and its response.
    pub round_trip: Duration,
    /// The SWO UART's clock: it receives at `swo_clock_hz / n` for a whole `n` (0 = any baud
    /// exactly).
    pub swo_clock_hz: u64,
    pub max_swo_baud: u32,
    /// SWO bytes the probe holds between two host reads.
    pub swo_buffer_bytes: usize,
    /// SWO bytes one host read returns at most (`None`: all that is buffered).
    pub swo_bytes_per_read: Option<usize>,
    /// Whether the host learns of a buffer overrun. CMSIS-DAP reports it in DAP_SWO_Status,
    /// but probe-rs 0.32 does not pass it on: `false` is a real probe as hotlink sees it.
    pub reports_overrun: bool,
}

impl ProbeModel {
    /// No latency, any baud, no loss: the virtual board's exact view.
    pub fn ideal() -> ProbeModel {
        ProbeModel {
            name: "ideal",
            round_trip: Duration::ZERO,
            swo_clock_hz: 0,
            max_swo_baud: u32::MAX,
            swo_buffer_bytes: usize::MAX,
            swo_bytes_per_read: None,
            reports_overrun: true,
        }
    }

    /// A CMSIS-DAP v1 (HID) probe: 1 ms per round trip, 60 SWO bytes per 64-byte report, a 4 KB
    /// buffer, a 48 MHz UART clock.
    pub fn cmsis_dap_v1() -> ProbeModel {
        ProbeModel {
            name: "CMSIS-DAP v1 (HID)",
            round_trip: Duration::from_millis(1),
            swo_clock_hz: 48_000_000,
            max_swo_baud: 6_000_000,
            swo_buffer_bytes: 4096,
            swo_bytes_per_read: Some(60),
            reports_overrun: true,
        }
    }

    /// A CMSIS-DAP v2 probe on high-speed USB (MCU-Link class): 250 µs round trips, a 96 MHz
    /// UART clock, 512-byte bulk reads, an 8 KB buffer.
    pub fn cmsis_dap_v2() -> ProbeModel {
        ProbeModel {
            name: "CMSIS-DAP v2 (bulk)",
            round_trip: Duration::from_micros(250),
            swo_clock_hz: 96_000_000,
            max_swo_baud: 24_000_000,
            swo_buffer_bytes: 8192,
            swo_bytes_per_read: Some(8192),
            reports_overrun: true,
        }
    }

    /// The baud the probe grants for a request: the nearest rate its UART divider reaches, not
    /// above its maximum.
    pub fn grant_baud(&self, requested: u32) -> u32 {
        let requested = requested.min(self.max_swo_baud).max(1);
        if self.swo_clock_hz == 0 {
            return requested;
        }
        let divider = (self.swo_clock_hz as f64 / f64::from(requested))
            .round()
            .max(1.0) as u64;
        (self.swo_clock_hz / divider) as u32
    }

    /// The most SWO bytes per second the host can take from the probe.
    pub fn byte_rate_limit(&self) -> Option<u64> {
        let per_read = self.swo_bytes_per_read? as f64;
        let seconds = self.round_trip.as_secs_f64();
        (seconds > 0.0).then(|| (per_read / seconds) as u64)
    }
}

/// A UART receiving at `receiver` baud a line sent at `line` baud: within 3% the bytes arrive;
/// beyond, every byte is framed wrong and what arrives is garbage (the count scales with the
/// ratio of the rates, the values are scrambled deterministically).
pub fn receive(line: u64, receiver: u64, bytes: &[u8], out: &mut Vec<u8>) {
    let mismatch = (line as f64 - receiver as f64).abs() / receiver.max(1) as f64;
    if mismatch <= 0.03 {
        out.extend_from_slice(bytes);
        return;
    }
    let count = (bytes.len() as f64 * receiver as f64 / line.max(1) as f64).round() as usize;
    let mut state = 0x9E37_79B9u32 ^ line as u32;
    for i in 0..count {
        let source = bytes
            .get(i * bytes.len() / count.max(1))
            .copied()
            .unwrap_or(0);
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out.push((state as u8) ^ source.rotate_left(3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_grant_what_their_divider_reaches() {
        let v1 = ProbeModel::cmsis_dap_v1();
        assert_eq!(v1.grant_baud(4_000_000), 4_000_000);
        assert_eq!(v1.grant_baud(5_000_000), 4_800_000);
        assert_eq!(v1.grant_baud(30_000_000), 6_000_000);
        assert_eq!(v1.byte_rate_limit(), Some(60_000));
        assert_eq!(ProbeModel::ideal().grant_baud(5_500_000), 5_500_000);
    }

    #[test]
    fn a_wrong_rate_gives_garbage() {
        let mut out = Vec::new();
        receive(4_000_000, 4_100_000, &[1, 2, 3], &mut out);
        assert_eq!(out, [1, 2, 3]);
        out.clear();
        receive(6_000_000, 4_000_000, &[0x17; 30], &mut out);
        assert_eq!(out.len(), 20);
        assert!(out.iter().any(|&b| b != 0x17));
    }
}
