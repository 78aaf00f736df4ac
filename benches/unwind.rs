//! Unwinding speed on the host: unwinds per second from DWARF (`.debug_frame`), EHABI
//! (`.ARM.exidx`) and frame-pointer rows (decoded from the code), on sampled states of the `dsp`
//! fixture.
//! `cargo bench --bench unwind`; figures go to docs/PERFORMANCE.md.
//!
//! The states are snapshots (core registers and the stack words) taken every 1009 cycles on the
//! virtual board, so the loop measures the unwinder alone: row lookups and the reads an unwind
//! makes, which it also counts (on hardware each read is a probe round trip). The EHABI and
//! frame-pointer images are `dsp` rebuilt with `-funwind-tables` / `-fno-omit-frame-pointer`
//! (needs arm-none-eabi-gcc; without it only the DWARF row is printed).
//!
//! Then the sample rate a probe allows: halting samples taken through the capture code path
//! (`capture::stacks::sample`, the one `capture --stacks` runs on hardware) on the virtual board,
//! whose probe model charges one round trip per read and per flush of queued writes. The round
//! trips per sample (halt, DHCSR, each register and stack word the unwind reads, resume) times a
//! probe's round-trip time is the time one sample holds the probe.

#[path = "../tests/sim_support/mod.rs"]
mod sim_support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::time::Duration;

use hotlink::board::Board;
use hotlink::capture::{stacks, ProbeModel, SimTarget, Target};
use hotlink::sim::{Limits, Machine, StopReason};
use hotlink::unwind::{unwind, Source, Table, TargetMemory};

const SNAPSHOTS: usize = 500;

/// A halted core frozen: its registers and its stack.
struct Snapshot {
    registers: [u32; 19],
    base: u32,
    words: Vec<u32>,
    reads: u64,
}

impl TargetMemory for Snapshot {
    fn read_word(&mut self, address: u32) -> Option<u32> {
        self.reads += 1;
        let i = address.checked_sub(self.base)? / 4;
        self.words.get(i as usize).copied()
    }
    fn read_register(&mut self, n: u8) -> Option<u32> {
        self.reads += 1;
        self.registers.get(usize::from(n)).copied()
    }
}

fn snapshots(elf: &Path) -> Vec<Snapshot> {
    let board = Board::resolve("imxrt1062").unwrap();
    let bytes = std::fs::read(elf).unwrap();
    let mut machine = Machine::new(&board, &bytes, "dsp").unwrap();
    let top = machine.r[13];
    let mut out = Vec::new();
    while out.len() < SNAPSHOTS {
        let limits = Limits {
            max_cycles: machine.cycles + 1009,
            ..Limits::default()
        };
        if matches!(machine.run(limits), Ok(StopReason::Exit { .. }) | Err(_)) {
            break;
        }
        let mut registers = [0u32; 19];
        registers[..16].copy_from_slice(&machine.r);
        registers[15] = machine.pc;
        registers[17] = machine.r[13];
        let base = machine.r[13] & !3;
        let mut words = Vec::new();
        let mut a = base;
        while a < top {
            words.push(machine.read_word_32(a).unwrap_or(0));
            a += 4;
        }
        out.push(Snapshot {
            registers,
            base,
            words,
            reads: 0,
        });
    }
    out
}

fn measure(label: &str, elf: &Path, sources: &[Source]) {
    let bytes = std::fs::read(elf).unwrap();
    let table = Table::from_elf_with(&bytes, label, sources).unwrap();
    let names: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
    let names = names.join("+");
    let mut states = snapshots(elf);
    let limits = hotlink::unwind::Limits::default();
    // Warm up, and count frames and reads once.
    let (mut frames, mut truncated) = (0usize, 0usize);
    for s in &mut states {
        let u = unwind(&table, s, limits);
        frames += u.frames.len();
        truncated += usize::from(u.truncated.is_some());
    }
    let reads: u64 = states.iter().map(|s| s.reads).sum();
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for s in &mut states {
            std::hint::black_box(unwind(&table, s, limits));
        }
    }
    let n = (rounds * states.len()) as f64;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{label:<34} {names:<20} {:>6} rows {:>10.0} unwinds/s {:>7.0} ns/unwind {:>5.2} frames {:>5.2} reads/unwind, {truncated} truncated",
        table.sources().map(|s| s.1).sum::<usize>(),
        n / seconds,
        1e9 * seconds / n,
        frames as f64 / states.len() as f64,
        reads as f64 / states.len() as f64,
    );
}

/// Round trips per halting sample on fixture `name`, unwound from its DWARF CFI, and what that
/// allows per probe.
fn probe_rates(name: &str) {
    let elf = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/firmware/build/{name}/{name}.elf"));
    let bytes = std::fs::read(&elf).unwrap();
    let table = Table::from_elf_with(&bytes, name, &[Source::Dwarf]).unwrap();
    let board = Board::resolve("imxrt1062").unwrap();
    let machine = Machine::new(&board, &bytes, name).unwrap();
    // A unit round trip (short, so that the core runs little while the probe works): the host
    // time a sample takes, in round trips.
    let unit = Duration::from_micros(1);
    let probe = ProbeModel {
        name: "unit",
        round_trip: unit,
        ..ProbeModel::ideal()
    };
    let mut target = SimTarget::new(machine, 2003).with_probe(probe);
    let (mut samples, mut round_trips, mut frames, mut reads) = (0u64, 0f64, 0usize, 0u64);
    while samples < 300 && target.wait_for_next_poll().is_ok() {
        let before = target.now();
        let Ok((unwound, n)) = stacks::sample(&mut target, &table, Default::default()) else {
            break;
        };
        round_trips += (target.now() - before).as_secs_f64() / unit.as_secs_f64();
        frames += unwound.frames.len();
        reads += n;
        samples += 1;
    }
    let per_sample = round_trips / samples as f64;
    println!(
        "{name:<6} {samples} halting samples: {:.2} frames, {:.2} register/stack reads, {per_sample:.2} round trips per sample",
        frames as f64 / samples as f64,
        reads as f64 / samples as f64,
    );
    for (probe, round_trip_us) in [
        ("CMSIS-DAP v1 (HID, 1 ms frames)", 1000.0),
        ("CMSIS-DAP v2 / J-Link (USB HS, 2 x 125 us)", 250.0),
    ] {
        println!(
            "       {probe:<44} {round_trip_us:>6.0} us/round trip -> {:>6.0} samples/s",
            1e6 / (per_sample * round_trip_us)
        );
    }
}

fn main() {
    probe_rates("dsp");
    probe_rates("vm");
    let committed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/firmware/build/dsp/dsp.elf");
    measure("dsp (committed, -O2 -g)", &committed, &[Source::Dwarf]);
    measure(
        "dsp (committed, -O2 -g)",
        &committed,
        &[Source::FramePointer],
    );
    let dir = tempfile::tempdir().unwrap();
    let fp_dir = dir.path().join("fp");
    let eh_dir = dir.path().join("eh");
    std::fs::create_dir_all(&fp_dir).unwrap();
    std::fs::create_dir_all(&eh_dir).unwrap();
    match (
        sim_support::build_variant("dsp", &["-g", "-fno-omit-frame-pointer"], &fp_dir).ok(),
        sim_support::build_variant("dsp", &["-funwind-tables"], &eh_dir).ok(),
    ) {
        (Some(fp), Some(eh)) => {
            measure("dsp -fno-omit-frame-pointer -g", &fp, &[Source::Dwarf]);
            measure(
                "dsp -fno-omit-frame-pointer -g",
                &fp,
                &[Source::FramePointer],
            );
            measure("dsp -funwind-tables", &eh, &[Source::Ehabi]);
            // libm and libgcc have no EHABI tables: the code's rows fill them in.
            measure(
                "dsp -funwind-tables",
                &eh,
                &[Source::Ehabi, Source::FramePointer],
            );
        }
        _ => println!("arm-none-eabi-gcc missing: EHABI and frame-pointer rows not measured"),
    }
}
