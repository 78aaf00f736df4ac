//! Virtual-board speed: simulated instructions per second with the full timing model, on the
//! `vm` and `big` fixtures, side by side with QEMU's plain throughput (no plugin, no timing) on
//! the same ELF in the same run. `cargo bench --bench sim`; figures go to docs/PERFORMANCE.md.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hotlink::board::Board;
use hotlink::sim::{Limits, Machine, StopReason};

const RUNS: u32 = 5;

fn simulate(board: &Board, bytes: &[u8], name: &str) -> (u64, Duration) {
    let mut best = Duration::MAX;
    let mut instructions = 0;
    for _ in 0..RUNS {
        let mut m = Machine::new(board, bytes, name).expect("load");
        let start = Instant::now();
        let stop = m.run(Limits::default()).expect("run");
        let t = start.elapsed();
        assert!(
            matches!(stop, StopReason::Exit { status: 0 }),
            "{name}: {stop:?}"
        );
        best = best.min(t);
        instructions = m.instructions;
    }
    (instructions, best)
}

fn qemu(elf: &PathBuf) -> Option<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
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
    }
    Some(best)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let board = Board::resolve("imxrt1062").expect("board");
    println!(
        "{:<6} {:>12} {:>10} {:>10} {:>12} {:>10} {:>8}",
        "fixture", "instructions", "sim ms", "sim MIPS", "qemu ms", "qemu MIPS", "sim/qemu"
    );
    for name in ["vm", "big"] {
        let elf = root.join(format!("tests/firmware/build/{name}/{name}.elf"));
        let Ok(bytes) = std::fs::read(&elf) else {
            println!("{name}: {} not built, skipped", elf.display());
            continue;
        };
        let (n, t) = simulate(&board, &bytes, name);
        let mips = n as f64 / t.as_secs_f64() / 1e6;
        match qemu(&elf) {
            Some(q) => {
                let qmips = n as f64 / q.as_secs_f64() / 1e6;
                println!(
                    "{name:<6} {n:>12} {:>10.2} {mips:>10.1} {:>12.2} {qmips:>10.1} {:>8.2}",
                    t.as_secs_f64() * 1e3,
                    q.as_secs_f64() * 1e3,
                    mips / qmips
                );
            }
            None => println!(
                "{name:<6} {n:>12} {:>10.2} {mips:>10.1}   (qemu-system-arm not available)",
                t.as_secs_f64() * 1e3
            ),
        }
    }
    println!("best of {RUNS} runs each; simulator: run time after loading; QEMU: whole process, start-up included.");
}
