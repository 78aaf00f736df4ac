//! Linker speed: `hotlink link` against `arm-none-eabi-ld` and `ld.lld`, in the same run, on the
//! `big` fixture at scale 1 and ×10 (generated and compiled on demand by the fixtures' Makefile
//! into `target/bench-firmware/`). Each linker gets the fixture's own link line (`big.link`) and
//! runs as a separate process, so start-up costs count for all three; the figure is the median
//! wall time of several runs after one warm-up.
//!
//!     cargo bench --bench link
//!
//! `HOTLINK_FIRMWARE_DIR` points at another `tests/firmware` checkout (one with `big/gen.py`);
//! `HOTLINK_BENCH_RUNS` sets the runs per linker (default 7).

#[path = "../tests/link_support/mod.rs"]
mod link_support;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

fn firmware_dir() -> PathBuf {
    std::env::var_os("HOTLINK_FIRMWARE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/firmware"))
}

/// Builds `big` at `scale` and returns its build directory and link arguments.
fn build_big(scale: u32) -> Result<(PathBuf, Vec<String>), String> {
    let fw = firmware_dir();
    if !fw.join("big/gen.py").is_file() {
        return Err(format!(
            "{} has no big/gen.py (the `big` fixture generator); set HOTLINK_FIRMWARE_DIR",
            fw.display()
        ));
    }
    let build = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-firmware")
        .join(format!("scale{scale}"));
    let status = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&fw)
        .arg(format!("BUILD={}", build.display()))
        .arg(format!("BIG_SCALE={scale}"))
        .arg("big")
        .status()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if !status.success() {
        return Err(format!("building big at scale {scale} failed"));
    }
    let dir = build.join("big");
    let text = std::fs::read_to_string(dir.join("big.link")).map_err(|e| e.to_string())?;
    let args = link_support::link_file_args(&text);
    Ok((dir, args))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall time of `runs` links (after a warm-up), or why the linker could not run.
fn time_link(
    program: &str,
    prefix: &[&str],
    dir: &Path,
    args: &[String],
    runs: usize,
) -> Result<Duration, String> {
    let out = std::env::temp_dir().join(format!("hotlink-bench-{}.elf", std::process::id()));
    let mut times = Vec::new();
    for i in 0..=runs {
        let start = Instant::now();
        let result = Command::new(program)
            .args(prefix)
            .args(args)
            .arg("-o")
            .arg(&out)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        let elapsed = start.elapsed();
        if !result.status.success() {
            return Err(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&result.stderr)
            ));
        }
        if i > 0 {
            times.push(elapsed);
        }
    }
    let _ = std::fs::remove_file(&out);
    Ok(median(times))
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter or other flags are not used here.
    let runs: usize = std::env::var("HOTLINK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(1);
    let hotlink = env!("CARGO_BIN_EXE_hotlink");
    let linkers: [(&str, &str, &[&str]); 3] = [
        ("hotlink", hotlink, &["link"]),
        ("arm-none-eabi-ld", "arm-none-eabi-ld", &[]),
        ("ld.lld", "ld.lld", &[]),
    ];
    println!("Linker benchmark: median of {runs} runs after a warm-up, wall time per link");
    println!(
        "{:<10} {:>12} {:>12} {:>16} {:>10} {:>10}",
        "input", "objects", "hotlink", "arm-none-eabi-ld", "ld.lld", ""
    );
    for scale in [1u32, 10] {
        let (dir, args) = match build_big(scale) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let objects = args.iter().filter(|a| a.ends_with(".o")).count();
        let mut times = Vec::new();
        for (name, program, prefix) in &linkers {
            match time_link(program, prefix, &dir, &args, runs) {
                Ok(t) => times.push(Some(t)),
                Err(e) => {
                    eprintln!("{name}: not measured ({e})");
                    times.push(None);
                }
            }
        }
        let ms = |t: Option<Duration>| {
            t.map_or("-".to_string(), |t| {
                format!("{:.1} ms", t.as_secs_f64() * 1e3)
            })
        };
        let ratio = |t: Option<Duration>| match (t, times[0]) {
            (Some(t), Some(h)) => format!("{:.2}x", t.as_secs_f64() / h.as_secs_f64()),
            _ => "-".to_string(),
        };
        println!(
            "{:<10} {:>12} {:>12} {:>16} {:>10}",
            format!("big x{scale}"),
            objects,
            ms(times[0]),
            ms(times[1]),
            ms(times[2]),
        );
        println!(
            "{:<10} {:>12} {:>12} {:>16} {:>10}   (time of the other linker / hotlink's)",
            "",
            "",
            "1.00x",
            ratio(times[1]),
            ratio(times[2])
        );
    }
    ExitCode::SUCCESS
}
