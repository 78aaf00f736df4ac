//! Virtual-board speed: simulated instructions per second with the full timing model, on the
//! `vm` and `big` fixtures, side by side with QEMU's plain throughput (no plugin, no timing) on
//! the same ELF in the same run. `cargo bench --bench sim`; figures go to docs/PERFORMANCE.md.
//!
//! The machine is shared, so besides wall time the table reports CPU time (this thread's
//! run time from `/proc/thread-self/schedstat`; QEMU's user+system time from the children
//! fields of `/proc/self/stat`, 10 ms resolution): the ratio of CPU times is what other
//! processes on the cores disturb least.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hotlink::board::Board;
use hotlink::sim::{Limits, Machine, StopReason};

const RUNS: u32 = 5;

/// This thread's CPU time so far.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text.split_whitespace().next().and_then(|v| v.parse().ok());
    Duration::from_nanos(ns.unwrap_or(0))
}

/// CPU time (user + system) of the waited-for children so far.
fn children_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): cutime and cstime are 16, 17.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(13)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// (instructions, best wall time, best CPU time).
fn simulate(board: &Board, bytes: &[u8], name: &str) -> (u64, Duration, Duration) {
    let (mut best, mut best_cpu) = (Duration::MAX, Duration::MAX);
    let mut instructions = 0;
    for _ in 0..RUNS {
        let mut m = Machine::new(board, bytes, name).expect("load");
        let (start, cpu) = (Instant::now(), thread_cpu());
        let stop = m.run(Limits::default()).expect("run");
        let (t, c) = (start.elapsed(), thread_cpu() - cpu);
        assert!(
            matches!(stop, StopReason::Exit { status: 0 }),
            "{name}: {stop:?}"
        );
        best = best.min(t);
        best_cpu = best_cpu.min(c);
        instructions = m.instructions;
    }
    (instructions, best, best_cpu)
}

/// (best wall time, best CPU time) of whole QEMU runs.
fn qemu(elf: &PathBuf) -> Option<(Duration, Duration)> {
    let (mut best, mut best_cpu) = (Duration::MAX, Duration::MAX);
    for _ in 0..RUNS {
        let (start, cpu) = (Instant::now(), children_cpu());
        let out = Command::new("qemu-system-arm")
            .args([
                "-M",
                "mps2-an500",
                "-cpu",
                "cortex-m7",
                "-global",
                "armv7m.init-nsvtor=0x60000000",
            ])
            .args([
                "-semihosting-config",
                "enable=on,target=native",
                "-nographic",
                "-monitor",
                "none",
            ])
            .args(["-serial", "none", "-kernel"])
            .arg(elf)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        best = best.min(start.elapsed());
        best_cpu = best_cpu.min(children_cpu() - cpu);
    }
    Some((best, best_cpu))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let board = Board::resolve("imxrt1062").expect("board");
    println!(
        "{:<6} {:>12} {:>8} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8}",
        "fixture",
        "instr",
        "sim ms",
        "sim MIPS",
        "sim cpuM",
        "qemu ms",
        "qemu MIPS",
        "qemu cpuM",
        "wall x",
        "cpu x"
    );
    for name in ["vm", "big"] {
        let elf = root.join(format!("tests/firmware/build/{name}/{name}.elf"));
        let Ok(bytes) = std::fs::read(&elf) else {
            println!("{name}: {} not built, skipped", elf.display());
            continue;
        };
        let (n, t, c) = simulate(&board, &bytes, name);
        let mips = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9) / 1e6;
        match qemu(&elf) {
            Some((q, qc)) => println!(
                "{name:<6} {n:>12} {:>8.1} {:>9.1} {:>9.1} {:>8.1} {:>9.1} {:>9.1} {:>8.2} {:>8.2}",
                t.as_secs_f64() * 1e3,
                mips(t),
                mips(c),
                q.as_secs_f64() * 1e3,
                mips(q),
                mips(qc),
                mips(t) / mips(q),
                mips(c) / mips(qc),
            ),
            None => println!(
                "{name:<6} {n:>12} {:>8.1} {:>9.1} {:>9.1}   (qemu-system-arm not available)",
                t.as_secs_f64() * 1e3,
                mips(t),
                mips(c)
            ),
        }
    }
    println!("best of {RUNS} runs each; MIPS = simulated instructions per wall second, cpuM per CPU second;");
    println!("simulator: run time after loading; QEMU: whole process, start-up included.");
}
