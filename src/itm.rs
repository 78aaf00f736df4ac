//! A streaming decoder for the ITM/DWT trace packet protocol (ARMv7-M Architecture Reference
//! Manual, appendix D4), as it arrives over SWO.
//!
//! Written by hand: probe-rs delivers raw SWO bytes but has no packet decoder, and the `itm`
//! crate is unmaintained. The decoder is a byte-driven state machine that keeps partial packets
//! across [`Decoder::feed`] calls (SWO arrives in arbitrary chunks), hands each packet to a
//! callback without allocating, and after a corrupt header drops bytes until the next
//! synchronisation packet, counting what it dropped.

/// One decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// A synchronisation packet (at least 47 zero bits, then a one).
    Sync,
    /// The ITM or DWT dropped packets because the trace port could not keep up.
    Overflow,
    /// A local timestamp: cycles (prescaled) since the previous one. `tc` (the TC bits) says
    /// whether the timestamp or the packet it belongs to was delayed.
    LocalTimestamp { delta: u32, tc: u8 },
    /// Global timestamp packets (GTS1 low bits, GTS2 high bits).
    GlobalTimestamp { high: bool, value: u64 },
    /// A software write to an ITM stimulus port.
    Instrumentation { port: u8, value: u32, size: u8 },
    /// DWT periodic PC sample; `None` when the core was sleeping.
    PcSample(Option<u32>),
    /// DWT exception trace.
    Exception { number: u16, event: ExceptionEvent },
    /// DWT event counter wrap (the counters that wrapped, one bit each).
    EventCounter(u8),
    /// DWT data trace packets (comparator match: PC, address or value).
    DataTrace {
        discriminator: u8,
        value: u32,
        size: u8,
    },
    /// An extension packet (stimulus port page and similar).
    Extension { value: u32, source: bool },
}

/// What happened to an exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionEvent {
    Entered,
    Exited,
    Returned,
    /// The reserved function code 0.
    Reserved,
}

/// What the decoder saw besides packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub bytes: u64,
    pub packets: u64,
    /// Bytes dropped while resynchronising after a corrupt or reserved header.
    pub dropped_bytes: u64,
    /// How many times the decoder lost synchronisation.
    pub resyncs: u64,
    pub overflows: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting a packet header.
    Header,
    /// Collecting `remaining` payload bytes of a source packet.
    Source { header: u8, remaining: u8 },
    /// Collecting continuation bytes (bit 7 set = more follow) of a timestamp or extension.
    Continuation { kind: ContinuationKind, shift: u8 },
    /// Out of sync: skip bytes until a run of zeros and a 0x80.
    Hunting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContinuationKind {
    Local { tc: u8 },
    Global { high: bool },
    Extension { source: bool },
}

/// The streaming decoder.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    value: u64,
    size: u8,
    /// Consecutive zero bytes seen (sync detection).
    zeros: u32,
    stats: DecodeStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Payload bytes of a source packet, from the size field (bits 1:0) of its header.
const SOURCE_SIZES: [u8; 4] = [0, 1, 2, 4];

impl Decoder {
    /// A decoder that trusts the stream from its first byte (SWO capture starts at a packet
    /// boundary after the probe's setup); corruption makes it hunt for a sync packet.
    pub fn new() -> Decoder {
        Decoder {
            state: State::Header,
            value: 0,
            size: 0,
            zeros: 0,
            stats: DecodeStats::default(),
        }
    }

    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// Decodes `bytes`, calling `emit` for each complete packet. A packet split across calls is
    /// completed by the next call.
    pub fn feed(&mut self, bytes: &[u8], mut emit: impl FnMut(Packet)) {
        self.stats.bytes += bytes.len() as u64;
        let mut i = 0;
        while i < bytes.len() {
            // Fast path: a whole source packet in the buffer, the common case for PC samples.
            if self.state == State::Header && self.zeros == 0 {
                let header = bytes[i];
                let size = SOURCE_SIZES[usize::from(header & 3)];
                if size != 0 && i + usize::from(size) < bytes.len() {
                    let payload = &bytes[i + 1..i + 1 + usize::from(size)];
                    let mut value = 0u32;
                    for (k, b) in payload.iter().enumerate() {
                        value |= u32::from(*b) << (8 * k);
                    }
                    self.zeros = 0;
                    self.emit_source(header, value, size, &mut emit);
                    i += 1 + usize::from(size);
                    continue;
                }
            }
            self.step(bytes[i], &mut emit);
            i += 1;
        }
    }

    fn step(&mut self, byte: u8, emit: &mut impl FnMut(Packet)) {
        match self.state {
            State::Header => self.header(byte, emit),
            State::Source { header, remaining } => {
                self.value |= u64::from(byte) << (8 * (self.size - remaining));
                if remaining == 1 {
                    self.state = State::Header;
                    let (value, size) = (self.value as u32, self.size);
                    self.emit_source(header, value, size, emit);
                } else {
                    self.state = State::Source {
                        header,
                        remaining: remaining - 1,
                    };
                }
            }
            State::Continuation { kind, shift } => {
                self.value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 != 0 && shift < 56 {
                    self.state = State::Continuation {
                        kind,
                        shift: shift + 7,
                    };
                } else if byte & 0x80 != 0 {
                    self.lose_sync(1);
                } else {
                    self.state = State::Header;
                    self.stats.packets += 1;
                    emit(match kind {
                        ContinuationKind::Local { tc } => Packet::LocalTimestamp {
                            delta: self.value as u32,
                            tc,
                        },
                        ContinuationKind::Global { high } => Packet::GlobalTimestamp {
                            high,
                            value: self.value,
                        },
                        ContinuationKind::Extension { source } => Packet::Extension {
                            value: self.value as u32,
                            source,
                        },
                    });
                }
            }
            State::Hunting => {
                if byte == 0 {
                    self.zeros += 1;
                } else if byte == 0x80 && self.zeros >= 5 {
                    self.zeros = 0;
                    self.state = State::Header;
                    self.stats.packets += 1;
                    emit(Packet::Sync);
                } else {
                    self.stats.dropped_bytes += 1 + u64::from(self.zeros);
                    self.zeros = 0;
                }
            }
        }
    }

    fn header(&mut self, byte: u8, emit: &mut impl FnMut(Packet)) {
        if byte == 0 {
            self.zeros += 1;
            return;
        }
        if self.zeros > 0 {
            let zeros = self.zeros;
            self.zeros = 0;
            if byte == 0x80 && zeros >= 5 {
                self.stats.packets += 1;
                emit(Packet::Sync);
                return;
            }
            // Zero bytes that were not a sync: the stream is corrupt here.
            self.lose_sync(u64::from(zeros));
            self.step(byte, emit);
            return;
        }
        self.value = 0;
        let size = SOURCE_SIZES[usize::from(byte & 3)];
        if size != 0 {
            self.size = size;
            self.state = State::Source {
                header: byte,
                remaining: size,
            };
            return;
        }
        let more = byte & 0x80 != 0;
        match byte {
            0x70 => {
                self.stats.packets += 1;
                self.stats.overflows += 1;
                emit(Packet::Overflow);
            }
            // Local timestamp format 2: one byte, a small delta in bits 6:4.
            b if b & 0x8f == 0 => {
                self.stats.packets += 1;
                emit(Packet::LocalTimestamp {
                    delta: u32::from(b >> 4),
                    tc: 0,
                });
            }
            // Local timestamp format 1: 11 TC 0000 then continuation bytes.
            b if b & 0xcf == 0xc0 => {
                self.begin_continuation(ContinuationKind::Local { tc: (b >> 4) & 3 })
            }
            0x94 => self.begin_continuation(ContinuationKind::Global { high: false }),
            0xb4 => self.begin_continuation(ContinuationKind::Global { high: true }),
            // Extension: C EX[2:0] 1 SH 0 0.
            b if b & 0x0b == 0x08 => {
                let value = u64::from((b >> 4) & 7);
                let source = b & 0x04 != 0;
                if more {
                    self.value = value;
                    self.state = State::Continuation {
                        kind: ContinuationKind::Extension { source },
                        shift: 3,
                    };
                } else {
                    self.stats.packets += 1;
                    emit(Packet::Extension {
                        value: value as u32,
                        source,
                    });
                }
            }
            _ => self.lose_sync(1),
        }
    }

    fn begin_continuation(&mut self, kind: ContinuationKind) {
        self.value = 0;
        self.state = State::Continuation { kind, shift: 0 };
    }

    fn lose_sync(&mut self, dropped: u64) {
        self.stats.dropped_bytes += dropped;
        self.stats.resyncs += 1;
        self.zeros = 0;
        self.state = State::Hunting;
    }

    fn emit_source(&mut self, header: u8, value: u32, size: u8, emit: &mut impl FnMut(Packet)) {
        self.stats.packets += 1;
        let address = header >> 3;
        if header & 0x04 == 0 {
            emit(Packet::Instrumentation {
                port: address,
                value,
                size,
            });
            return;
        }
        emit(match address {
            0 => Packet::EventCounter(value as u8),
            1 => Packet::Exception {
                number: (value & 0x1ff) as u16,
                event: match (value >> 12) & 3 {
                    1 => ExceptionEvent::Entered,
                    2 => ExceptionEvent::Exited,
                    3 => ExceptionEvent::Returned,
                    _ => ExceptionEvent::Reserved,
                },
            },
            2 if size == 1 && value == 0 => Packet::PcSample(None),
            2 => Packet::PcSample(Some(value)),
            discriminator => Packet::DataTrace {
                discriminator,
                value,
                size,
            },
        });
    }
}

/// Encoders for the packets a target emits, so the virtual board can produce a real ITM byte
/// stream and tests can build streams.
pub mod encode {
    /// A synchronisation packet.
    pub const SYNC: [u8; 6] = [0, 0, 0, 0, 0, 0x80];
    /// An overflow packet.
    pub const OVERFLOW: u8 = 0x70;

    /// A DWT periodic PC sample (`None`: the core was sleeping).
    pub fn pc_sample(pc: Option<u32>, out: &mut Vec<u8>) {
        match pc {
            Some(pc) => {
                out.push(0x17);
                out.extend_from_slice(&pc.to_le_bytes());
            }
            None => out.extend_from_slice(&[0x15, 0x00]),
        }
    }

    /// A DWT exception trace packet: `function` 1 entered, 2 exited, 3 returned.
    pub fn exception(number: u16, function: u8, out: &mut Vec<u8>) {
        let payload = (number & 0x1ff) | (u16::from(function & 3) << 12);
        out.push(0x0e);
        out.extend_from_slice(&payload.to_le_bytes());
    }

    /// An ITM stimulus-port write of 1, 2 or 4 bytes.
    pub fn instrumentation(port: u8, value: u32, size: u8, out: &mut Vec<u8>) {
        let code = match size {
            1 => 1,
            2 => 2,
            _ => 3,
        };
        out.push((port << 3) | code);
        out.extend_from_slice(&value.to_le_bytes()[..usize::from(size.min(4))]);
    }

    /// A local timestamp (format 1, TC = 0) of `delta` cycles.
    pub fn local_timestamp(delta: u32, out: &mut Vec<u8>) {
        if (1..=6).contains(&delta) {
            out.push((delta as u8) << 4);
            return;
        }
        out.push(0xc0);
        let mut rest = delta;
        loop {
            let byte = (rest & 0x7f) as u8;
            rest >>= 7;
            if rest == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (Vec<Packet>, DecodeStats) {
        let mut decoder = Decoder::new();
        let mut packets = Vec::new();
        decoder.feed(bytes, |p| packets.push(p));
        (packets, decoder.stats())
    }

    #[test]
    fn decodes_every_packet_kind() {
        let mut s = encode::SYNC.to_vec();
        encode::pc_sample(Some(0x6000_1234), &mut s);
        encode::pc_sample(None, &mut s);
        encode::exception(15, 1, &mut s);
        encode::exception(15, 3, &mut s);
        encode::instrumentation(3, 0xabcd, 2, &mut s);
        encode::local_timestamp(3, &mut s);
        encode::local_timestamp(1000, &mut s);
        s.push(encode::OVERFLOW);
        s.extend_from_slice(&[0x94, 0x85, 0x01]);
        let (packets, stats) = decode(&s);
        assert_eq!(
            packets,
            vec![
                Packet::Sync,
                Packet::PcSample(Some(0x6000_1234)),
                Packet::PcSample(None),
                Packet::Exception {
                    number: 15,
                    event: ExceptionEvent::Entered
                },
                Packet::Exception {
                    number: 15,
                    event: ExceptionEvent::Returned
                },
                Packet::Instrumentation {
                    port: 3,
                    value: 0xabcd,
                    size: 2
                },
                Packet::LocalTimestamp { delta: 3, tc: 0 },
                Packet::LocalTimestamp { delta: 1000, tc: 0 },
                Packet::Overflow,
                Packet::GlobalTimestamp {
                    high: false,
                    value: 0x85 & 0x7f | (1 << 7)
                },
            ]
        );
        assert_eq!(stats.dropped_bytes, 0);
        assert_eq!(stats.overflows, 1);
    }

    #[test]
    fn packets_split_across_chunks_are_completed() {
        let mut s = Vec::new();
        for pc in 0..100u32 {
            encode::pc_sample(Some(0x100 + pc * 2), &mut s);
            encode::local_timestamp(200 + pc, &mut s);
        }
        let whole = decode(&s).0;
        for chunk in [1, 2, 3, 7] {
            let mut decoder = Decoder::new();
            let mut packets = Vec::new();
            for piece in s.chunks(chunk) {
                decoder.feed(piece, |p| packets.push(p));
            }
            assert_eq!(packets, whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn resynchronises_after_garbage_and_counts_the_loss() {
        let mut s = Vec::new();
        encode::pc_sample(Some(0x10), &mut s);
        s.extend_from_slice(&[0x04, 0xff, 0x33, 0x00, 0x12]); // reserved header, then junk
        s.extend_from_slice(&encode::SYNC);
        encode::pc_sample(Some(0x20), &mut s);
        let (packets, stats) = decode(&s);
        assert_eq!(
            packets,
            vec![
                Packet::PcSample(Some(0x10)),
                Packet::Sync,
                Packet::PcSample(Some(0x20))
            ]
        );
        assert_eq!(stats.resyncs, 1);
        assert!(stats.dropped_bytes >= 4, "{stats:?}");
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut state = 0x1234_5678u32;
        let bytes: Vec<u8> = (0..100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let (_, stats) = decode(&bytes);
        assert_eq!(stats.bytes, 100_000);
    }
}
