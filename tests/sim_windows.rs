//! Firmware that never exits (issue #11): `measure`, `check` and `capture` between two symbols,
//! stopping after N windows, on a variant of the SDK-style fixture whose `main` ends in an
//! endless loop (`-DSDK_FOREVER`: `loop_iteration(n); loop_idle();` forever); and `capture`
//! and `check` on the sdk and teensy fixtures as committed, on the virtual board.

mod common;
mod sim_support;
use common::{fails, ok};
use sim_support::toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::board::Board;
use hotlink::measure::{self, windows, Measurement};
use hotlink::profile::Profile;
use hotlink::sim::{Limits, Machine};
use hotlink::simrun::Window;

const LOOP: &str = "loop_iteration..loop_idle";

/// Builds the never-exiting sdk variant into `dir` with the fixtures' Makefile.
fn build_forever(dir: &Path) -> PathBuf {
    let fw = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/firmware");
    let out = Command::new("make")
        .arg("-C")
        .arg(&fw)
        .arg(format!("BUILD={}", dir.display()))
        .arg("SDK_EXTRA=-DSDK_FOREVER")
        .arg("sdk")
        .output()
        .expect("make runs");
    assert!(
        out.status.success(),
        "building the sdk variant:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("sdk/sdk.elf")
}

fn machine(elf: &Path) -> Machine {
    let board = Board::resolve("imxrt1062").unwrap();
    let bytes = std::fs::read(elf).unwrap();
    Machine::new(&board, &bytes, "sdk-forever").unwrap()
}

#[test]
fn a_main_loop_is_measured_window_by_window_and_the_run_stops_after_n() {
    if !toolchain() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let elf = build_forever(dir.path());
    let window = Window::parse(LOOP).unwrap();
    let limits = Limits {
        max_cycles: 2_000_000_000,
        ..Limits::default()
    };

    // N = 3 and N = 5 on fresh boards: the same first three windows (deterministic), and the
    // run with N = 3 stops within one stretch of its third window's end, long before the fifth.
    let mut m3 = machine(&elf);
    let three = windows::run_windows(&mut m3, &window, "sdk", 3, limits, None).unwrap();
    let mut m5 = machine(&elf);
    let five = windows::run_windows(&mut m5, &window, "sdk", 5, limits, None).unwrap();
    assert_eq!(three.cycles.len(), 3);
    assert_eq!(five.cycles.len(), 5);
    assert_eq!(three.cycles[..], five.cycles[..3]);
    assert!(three.cycles.iter().all(|&c| c > 1000), "{:?}", three.cycles);
    let last_two: u64 = five.cycles[3..].iter().sum();
    assert!(
        m5.cycles - m3.cycles >= last_two,
        "N=5 ran {} cycles more than N=3, but windows 4 and 5 took {last_two}",
        m5.cycles - m3.cycles
    );
    // One iteration's work varies with its seed, not by orders of magnitude.
    let (lo, hi) = (
        *five.cycles.iter().min().unwrap(),
        *five.cycles.iter().max().unwrap(),
    );
    assert!(hi < 3 * lo, "{:?}", five.cycles);

    // The whole run never ends: measured without --windows it hits the limit.
    let err = measure::on_sim(
        &elf,
        "imxrt1062",
        Some(&window),
        None,
        false,
        1,
        Limits {
            max_cycles: m5.cycles + 10_000_000,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("had not exited"), "{err:#}");

    // `hotlink measure --windows 4`: four per-window figures, the same as the library's.
    let text = ok(&[
        "measure",
        "--window",
        LOOP,
        "--windows",
        "4",
        elf.to_str().unwrap(),
    ]);
    let per_window: Vec<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("cycles per window: "))
        .unwrap_or_else(|| panic!("{text}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(per_window, five.cycles[..4]);
    let json = ok(&[
        "measure",
        "--window",
        LOOP,
        "--windows",
        "4",
        "--format",
        "json",
        elf.to_str().unwrap(),
    ]);
    let m: Measurement = serde_json::from_str(&json).unwrap();
    assert_eq!((m.windows, m.runs.len()), (Some(4), 4));
    // --windows without a window is refused with the reason.
    let err = fails(&["measure", "--windows", "4", elf.to_str().unwrap()]);
    assert!(err.contains("needs --window"), "{err}");

    // `hotlink capture --sim --window --windows 3`: the exact profile of three iterations only
    // (startup is not in it; `main` only for its call from loop_iteration's return to
    // loop_idle); its cycles are the three windows'.
    let profile_path = dir.path().join("loop.profile.json");
    ok(&[
        "capture",
        "--sim",
        "--window",
        LOOP,
        "--windows",
        "3",
        "-o",
        profile_path.to_str().unwrap(),
        elf.to_str().unwrap(),
    ]);
    let profile = Profile::load(&profile_path).unwrap();
    assert_eq!(profile.totals.cycles, Some(three.cycles.iter().sum()));
    let names: Vec<&str> = profile.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"coremark_like"), "{names:?}");
    assert!(
        !names.contains(&"BOARD_BootClockRUN") && !names.contains(&"SystemInit"),
        "startup leaked into the window profile: {names:?}"
    );
    let main = profile.functions.iter().find(|f| f.name == "main");
    assert!(main.is_none_or(|f| f.instructions <= 3 * 4), "{main:?}");
    let in_functions: u64 = profile.functions.iter().map(|f| f.cycles).sum();
    assert_eq!(in_functions, three.cycles.iter().sum::<u64>());

    // `hotlink check` with a windowed benchmark: the sum of its windows, pass and regression.
    let write_baseline = |cycles: u64| {
        let path = dir.path().join("baseline.json");
        let text = serde_json::json!({
            "format": "hotlink-baseline", "version": 1,
            "benchmarks": [{"name": "main-loop", "image": elf.to_str().unwrap(),
                            "window": LOOP, "windows": 3, "cycles": cycles}]
        });
        std::fs::write(&path, text.to_string()).unwrap();
        path
    };
    let sum: u64 = three.cycles.iter().sum();
    let baseline = write_baseline(sum);
    ok(&["check", "--baseline", baseline.to_str().unwrap()]);
    let baseline = write_baseline(sum * 9 / 10);
    let err = fails(&["check", "--baseline", baseline.to_str().unwrap()]);
    assert!(err.contains("1 regression"), "{err}");
}

#[test]
fn windows_of_a_program_that_exits_first_are_an_error_naming_how_many_ran() {
    // The committed sdk calls coremark_like once, then exits.
    let elf = common::fixture_elf("sdk");
    let window = Window::parse("coremark_like..workload_run").unwrap();
    let mut m = machine(&elf);
    let err = windows::run_windows(&mut m, &window, "sdk", 2, Limits::default(), None).unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("exited with status 0 after 1 of 2 windows"),
        "{err}"
    );
    let mut m = machine(&elf);
    let one = windows::run_windows(&mut m, &window, "sdk", 1, Limits::default(), None).unwrap();
    // The same window as `measure --window` counts for the one entry.
    let whole = measure::on_sim(
        &elf,
        "imxrt1062",
        Some(&window),
        None,
        false,
        1,
        Limits::default(),
    )
    .unwrap();
    assert_eq!(one.cycles, vec![whole.median]);
}

/// #11: `capture` (exact, and sampled through the probe-facing path) and `check` on the sdk and
/// teensy fixtures as committed.
#[test]
fn capture_and_check_on_the_sdk_and_teensy_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let mut benchmarks = Vec::new();
    for (name, hot) in [("sdk", "coremark_like"), ("teensy", "main")] {
        let elf = common::fixture_elf(name);
        let elf = elf.to_str().unwrap();
        let exact = dir.path().join(format!("{name}.exact.json"));
        ok(&["capture", "--sim", "-o", exact.to_str().unwrap(), elf]);
        let profile = Profile::load(&exact).unwrap();
        let cycles = profile.totals.cycles.unwrap();
        assert!(
            profile
                .functions
                .iter()
                .any(|f| f.name == hot && f.cycles > 0),
            "{name}: no cycles in {hot}"
        );
        let sampled = dir.path().join(format!("{name}.pcsr.json"));
        ok(&[
            "capture",
            "--sim",
            "--method",
            "pcsr",
            "-o",
            sampled.to_str().unwrap(),
            elf,
        ]);
        let sampled = Profile::load(&sampled).unwrap();
        assert!(
            sampled.totals.samples > 100,
            "{name}: {} samples",
            sampled.totals.samples
        );
        benchmarks.push(serde_json::json!({"name": name, "image": elf, "cycles": cycles}));
    }
    let baseline = dir.path().join("baseline.json");
    let text = serde_json::json!({
        "format": "hotlink-baseline", "version": 1, "benchmarks": benchmarks
    });
    std::fs::write(&baseline, text.to_string()).unwrap();
    let out = ok(&["check", "--baseline", baseline.to_str().unwrap()]);
    assert!(out.contains("sdk") && out.contains("teensy"), "{out}");
}
