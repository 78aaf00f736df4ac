//! Linker speed and memory: `hotlink link` against `arm-none-eabi-ld` and `ld.lld`, in the same
//! run, on the `big` fixture at scale 1 and ×10 (generated and compiled on demand by the fixtures'
//! Makefile into `target/bench-firmware/`) and on the bundled `sdk` and `teensy` fixtures. Each
//! linker gets the fixture's own link line (`<name>.link`) and runs as a separate process, so
//! start-up costs count for all three; the figures are the median wall time of several runs
//! after one warm-up and the largest peak resident set size (`wait4`'s `ru_maxrss`) of them.
//!
//!     cargo bench --bench link
//!
//! `HOTLINK_FIRMWARE_DIR` points at another `tests/firmware` checkout (one with `big/gen.py`);
//! `HOTLINK_BENCH_RUNS` sets the runs per linker (default 7).

#[path = "../tests/link_support/mod.rs"]
mod link_support;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
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

/// Wall time and peak resident set size (KiB) of one link, waited for with `wait4` so the
/// kernel reports the memory of that process alone. The output and the map (`-Map` given last
/// wins) go to temporary files, so the bundled fixtures' checked-in maps stay as they are.
fn one_link(
    program: &str,
    prefix: &[&str],
    dir: &Path,
    args: &[String],
    out: &Path,
) -> Result<(Duration, u64), String> {
    let map = format!("-Map={}", out.with_extension("map").display());
    let start = Instant::now();
    let child = Command::new(program)
        .args(prefix)
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(&map)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child just spawned (its pid), with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let again = Command::new(program)
            .args(prefix)
            .args(args)
            .arg("-o")
            .arg(out)
            .arg(&map)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&again.stderr)
        ));
    }
    Ok((elapsed, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// Median wall time and largest peak RSS (KiB) of `runs` links (after a warm-up), or why the
/// linker could not run.
fn time_link(
    program: &str,
    prefix: &[&str],
    dir: &Path,
    args: &[String],
    runs: usize,
) -> Result<(Duration, u64), String> {
    let out = std::env::temp_dir().join(format!("hotlink-bench-{}.elf", std::process::id()));
    let mut times = Vec::new();
    let mut peak = 0;
    for i in 0..=runs {
        let (elapsed, rss) = one_link(program, prefix, dir, args, &out)?;
        if i > 0 {
            times.push(elapsed);
            peak = peak.max(rss);
        }
    }
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("map"));
    Ok((median(times), peak))
}

/// The bundled fixture `name` (tests/firmware/build/NAME) and its link arguments.
fn bundled(name: &str) -> Result<(PathBuf, Vec<String>), String> {
    let dir = link_support::firmware_build_dir().join(name);
    let text = std::fs::read_to_string(dir.join(format!("{name}.link")))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((dir, link_support::link_file_args(&text)))
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
    println!("Linker benchmark: median wall time of {runs} runs after a warm-up, and peak RSS");
    println!(
        "{:<10} {:>8} {:>22} {:>22} {:>22}",
        "input", "objects", "hotlink", "arm-none-eabi-ld", "ld.lld"
    );
    let prepare = |label: &str| match label {
        "big x1" => build_big(1),
        "big x10" => build_big(10),
        name => bundled(name),
    };
    for label in ["big x1", "big x10", "sdk", "teensy"] {
        let (dir, args) = match prepare(label) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let objects = args.iter().filter(|a| a.ends_with(".o")).count();
        let mut results = Vec::new();
        for (name, program, prefix) in &linkers {
            match time_link(program, prefix, &dir, &args, runs) {
                Ok(t) => results.push(Some(t)),
                Err(e) => {
                    eprintln!("{name}: not measured ({e})");
                    results.push(None);
                }
            }
        }
        let cell = |r: Option<(Duration, u64)>| {
            r.map_or("-".to_string(), |(t, kib)| {
                format!(
                    "{:.1} ms {:.1} MiB",
                    t.as_secs_f64() * 1e3,
                    kib as f64 / 1024.0
                )
            })
        };
        let ratio = |r: Option<(Duration, u64)>| match (r, results[0]) {
            (Some((t, m)), Some((h, hm))) => format!(
                "{:.2}x {:.2}x",
                t.as_secs_f64() / h.as_secs_f64(),
                m as f64 / hm.max(1) as f64
            ),
            _ => "-".to_string(),
        };
        println!(
            "{:<10} {:>8} {:>22} {:>22} {:>22}",
            label,
            objects,
            cell(results[0]),
            cell(results[1]),
            cell(results[2]),
        );
        println!(
            "{:<10} {:>8} {:>22} {:>22} {:>22}   (other linker / hotlink: time, memory)",
            "",
            "",
            "1.00x 1.00x",
            ratio(results[1]),
            ratio(results[2])
        );
    }
    ExitCode::SUCCESS
}
