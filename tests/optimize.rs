//! The closed loop: plans for every fixture with every strategy link and pass on the virtual
//! board, the ILP beats the size-driven baselines where placement matters, flash-disabled code
//! ends up out of flash, infeasible budgets are explained, and the demo runs.

mod common;

use std::path::{Path, PathBuf};

use common::{firmware_build_dir, hotlink};

/// The fixture's link needs Debian's newlib/libgcc; in CI they are installed.
fn libraries_present() -> bool {
    let present = Path::new("/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libc.a").exists();
    if !present {
        assert!(!common::in_ci(), "CI must install libnewlib-arm-none-eabi");
        eprintln!("skipping: libnewlib-arm-none-eabi is not installed");
    }
    present
}

/// `optimize` with `--budget <budget>`, or `--free <bytes>` when `budget` reads `free <bytes>`.
fn optimize(fixture: &str, strategy: &str, budget: &str, out: &Path) -> serde_json::Value {
    let dir: PathBuf = firmware_build_dir().join(fixture);
    let (limit, budget) = match budget.strip_prefix("free ") {
        Some(bytes) => ("--free", bytes),
        None => ("--budget", budget),
    };
    let mut args = vec![
        "optimize",
        "--format",
        "json",
        "--strategy",
        strategy,
        limit,
        budget,
        "-C",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    if fixture == "flashwrite" {
        args.push("--writable-flash");
    }
    let link = format!("@{fixture}.link");
    args.extend(["--", &link]);
    let (ok, json, err) = hotlink(&args);
    assert!(ok, "{fixture} with {strategy} at {budget}: {err}");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn every_strategy_makes_a_linkable_plan_for_every_fixture() {
    if !libraries_present() {
        return;
    }
    for fixture in ["vm", "dsp", "flashwrite", "rtos", "big"] {
        for strategy in ["xip", "gnu-fill", "any-best-fit", "greedy", "ilp"] {
            let dir = tempfile::tempdir().unwrap();
            // The optimised image passed its own checks on the virtual board, or this fails.
            let outcome = optimize(fixture, strategy, "ITCM=4K", dir.path());
            let plan: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join("plan.json")).unwrap(),
            )
            .unwrap();
            for region in plan["regions"].as_array().unwrap() {
                let used =
                    region["used"].as_u64().unwrap() + region["veneer_bytes"].as_u64().unwrap();
                assert!(
                    used <= region["budget"].as_u64().unwrap(),
                    "{fixture}/{strategy}: {region}"
                );
                if region["name"] == "ITCM" {
                    assert!(used <= 4096, "{fixture}/{strategy}: the ITCM budget holds");
                }
            }
            assert!(outcome["optimized"]["cycles"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn the_ilp_beats_the_baselines_on_big() {
    if !libraries_present() {
        return;
    }
    let mut cycles = Vec::new();
    for strategy in ["xip", "gnu-fill", "any-best-fit", "greedy", "ilp"] {
        let dir = tempfile::tempdir().unwrap();
        let outcome = optimize("big", strategy, "ITCM=32K", dir.path());
        cycles.push((strategy, outcome["optimized"]["cycles"].as_u64().unwrap()));
    }
    let ilp = cycles.last().unwrap().1;
    for (strategy, c) in &cycles[..cycles.len() - 1] {
        assert!(ilp <= *c, "ilp {ilp} cycles vs {strategy} {c}: {cycles:?}");
    }
    let xip = cycles[0].1;
    assert!(
        ilp * 2 < xip,
        "placing big's hot code out of XIP at least halves its cycles: {cycles:?}"
    );
}

#[test]
fn flash_disabled_helpers_leave_flash() {
    if !libraries_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    optimize("flashwrite", "xip", "ITCM=8K", dir.path());
    let plan = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    for helper in [
        "lib_a-memcpy.o",
        "lib_a-memset.o",
        "_udivsi3.o",
        "_aeabi_uldivmod.o",
    ] {
        assert!(
            plan.contains(helper),
            "{helper} must move out of flash: {plan}"
        );
    }
    assert!(plan.contains("ram-only"), "{plan}");
    // The firmware itself reports how many of its helpers still sit in flash.
    let (ok, out, err) = hotlink(&[
        "run",
        "--writable-flash",
        dir.path().join("optimized.elf").to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("helpers_in_flash=0"), "{out}");
}

#[test]
fn budgets_that_cannot_hold_the_flash_disabled_code_are_explained() {
    if !libraries_present() {
        return;
    }
    let dir = firmware_build_dir().join("flashwrite");
    let out = tempfile::tempdir().unwrap();
    let (ok, _, err) = hotlink(&[
        "optimize",
        "--writable-flash",
        "--budget",
        "ITCM=64",
        "--budget",
        "OCRAM2=64",
        "-C",
        dir.to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
        "--",
        "@flashwrite.link",
    ]);
    assert!(!ok);
    assert!(err.contains("bytes"), "the shortfall is in bytes: {err}");
    assert!(
        err.contains("ramfunc"),
        "the chain names the flash-disabled root: {err}"
    );
    assert!(
        out.path().join("baseline.elf").exists(),
        "the last good artefacts stay: {err}"
    );
}

/// The default demo is the cache-thrashing `sdk` fixture, re-linked with the archive members
/// bundled beside it (so it needs no Debian newlib): placement must matter there.
#[test]
fn demo_runs_and_reports_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let (ok, text, err) = hotlink(&["demo", "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("sdk"), "the default fixture is sdk: {err}");
    assert!(
        text.contains("baseline (as linked)") && text.contains("optimised, measured"),
        "{text}"
    );
    for file in [
        "baseline.elf",
        "baseline.profile.json",
        "plan.json",
        "optimized.elf",
        "summary.json",
        "report.html",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let cycles = |which: &str| summary[which]["cycles"].as_f64().unwrap();
    assert!(
        cycles("baseline") > 1.5 * cycles("optimized"),
        "16 KB of ITCM is worth at least 1.5x on sdk: {summary}"
    );
}

/// The recorded link line without the system's library directories, plus the fixture's own
/// archive members (`-Llib`): what the demo links on a machine without Debian's newlib.
#[test]
fn the_demo_relinks_vm_and_sdk_without_debians_newlib() {
    for fixture in ["vm", "sdk"] {
        let dir = firmware_build_dir().join(fixture);
        let line: String = std::fs::read_to_string(dir.join(format!("{fixture}.link")))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-L/"))
            .map(|l| format!("{l}\n"))
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("nosys.link");
        std::fs::write(&link, line).unwrap();
        let out = tmp.path().join("out");
        let at = format!("@{}", link.display());
        let (ok, _, err) = hotlink(&[
            "optimize",
            "--budget",
            "ITCM=8K",
            "-C",
            dir.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--",
            &at,
            "-Llib",
        ]);
        // The optimised image passed its own checks on the virtual board, or this fails.
        assert!(ok, "{fixture}: {err}");
        assert!(out.join("optimized.elf").exists(), "{fixture}");
    }
}

/// How close a plan's predicted gain must come to what the re-linked image measures.
#[derive(Clone, Copy, Debug)]
enum Goal {
    /// Within this share of the measured gain.
    OfGain(f64),
    /// Within this share of the whole run. For gains under 1% of the run: there, effects no
    /// per-section cost sees (the branch predictor aliasing differently once code sits at new
    /// addresses, a task switch more or less when an RTOS's timer interrupts land elsewhere in
    /// the work) are tens of percent of the gain (docs/PERFORMANCE.md has the breakdown).
    OfRun(f64),
}

/// Baseline cycles, predicted gain and measured gain of the `ilp` plan for `fixture` at
/// `budget`: `demo` for `sdk` (it re-links with the members bundled beside the fixture), else
/// `optimize`.
fn predicted_and_measured(fixture: &str, budget: &str) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let outcome = if fixture == "sdk" {
        let (ok, json, err) = hotlink(&[
            "demo",
            "--format",
            "json",
            "--budget",
            budget,
            "-o",
            dir.path().to_str().unwrap(),
        ]);
        assert!(ok, "{fixture} at {budget}: {err}");
        serde_json::from_str(&json).unwrap()
    } else {
        optimize(fixture, "ilp", budget, dir.path())
    };
    let baseline = outcome["baseline"]["cycles"].as_f64().unwrap();
    let measured = baseline - outcome["optimized"]["cycles"].as_f64().unwrap();
    let predicted = baseline - outcome["predicted_cycles"].as_f64().unwrap();
    (baseline, predicted, measured)
}

/// #12: the predicted gain is within 10% of the measured one on the cache-thrashing `sdk` at
/// every ITCM budget (including the small ones, where what stays in flash starts to fit the
/// I-cache: the cache what-if run), on `big`, on `vm` at 2 KB and `rtos`, whose gains are
/// under 1% of the run, and on the Teensy-style `teensy` (all code in ITCM, moved to flash at
/// `--free` and at a budget; its `main` spins on `millis()` until a deadline, which absorbs
/// what the plan changes before it: the timed-wait model). `vm` with all its code in ITCM, `dsp` and `flashwrite` miss 10% of their
/// gain (0.1–0.15% of the run: docs/PERFORMANCE.md says where); there the goal is 0.2% of the run.
#[test]
fn predictions_meet_their_goal_on_every_fixture() {
    let table: &[(&str, &str, Goal)] = &[
        ("sdk", "ITCM=8K", Goal::OfGain(0.10)),
        ("sdk", "ITCM=16K", Goal::OfGain(0.10)),
        ("sdk", "ITCM=32K", Goal::OfGain(0.10)),
        ("sdk", "ITCM=64K", Goal::OfGain(0.10)),
        ("big", "ITCM=8K", Goal::OfGain(0.10)),
        ("big", "ITCM=91274", Goal::OfGain(0.10)),
        ("vm", "ITCM=2K", Goal::OfGain(0.10)),
        ("rtos", "ITCM=2K", Goal::OfGain(0.10)),
        ("teensy", "ITCM=16K", Goal::OfGain(0.10)),
        ("teensy", "free ITCM=1K", Goal::OfGain(0.10)),
        ("vm", "ITCM=12892", Goal::OfRun(0.002)),
        ("dsp", "ITCM=2K", Goal::OfRun(0.002)),
        ("flashwrite", "ITCM=8K", Goal::OfRun(0.002)),
    ];
    let libraries = libraries_present();
    let mut misses = Vec::new();
    for &(fixture, budget, goal) in table {
        if fixture != "sdk" && !libraries {
            continue;
        }
        let (baseline, predicted, measured) = predicted_and_measured(fixture, budget);
        let off = (predicted - measured).abs();
        let met = match goal {
            Goal::OfGain(share) => off <= share * measured,
            Goal::OfRun(share) => measured < 0.01 * baseline && off <= share * baseline,
        };
        if !(measured > 0.0 && met) {
            misses.push(format!(
                "{fixture} at {budget} ({goal:?}): predicted gain {predicted:.0}, measured \
                 {measured:.0} of {baseline:.0} cycles"
            ));
        }
    }
    assert!(misses.is_empty(), "{misses:#?}");
}

/// A budget larger than all the code lets the fills move everything they may: the startup code
/// (which runs before the copy) and the vector table (data the hardware reads at reset, kept in
/// `.text`) must stay in flash, and the image must still pass. `-C` is given relative to the
/// working directory, as a user types it, so the planner must find the objects through the map.
/// The ILP's predicted gain must be near what the virtual board then measures.
#[test]
fn moving_everything_keeps_startup_code_and_data_in_flash() {
    if !libraries_present() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = firmware_build_dir().join("vm");
    let relative = relative.strip_prefix(root).unwrap_or(&relative);
    for strategy in ["gnu-fill", "any-best-fit", "ilp"] {
        let out = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hotlink"))
            .current_dir(root)
            .args(["optimize", "--format", "json", "--strategy", strategy])
            .args(["--budget", "ITCM=64K", "-C"])
            .arg(relative)
            .arg("-o")
            .arg(out.path())
            .args(["--", "@vm.link"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{strategy}: {err}");
        assert!(
            !err.contains("not found in their objects"),
            "{strategy}: {err}"
        );
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join("plan.json")).unwrap())
                .unwrap();
        let moved: Vec<&str> = plan["placements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["section"].as_str().unwrap())
            .collect();
        assert!(moved.len() > 20, "{strategy} moved only {moved:?}");
        for fixed in [".isr_vector", ".text.Reset_Handler", ".text.reset_c"] {
            assert!(!moved.contains(&fixed), "{strategy} moved {fixed}");
        }
        if strategy == "ilp" {
            let outcome: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let baseline = outcome["baseline"]["cycles"].as_f64().unwrap();
            let measured = baseline - outcome["optimized"]["cycles"].as_f64().unwrap();
            let predicted = baseline - outcome["predicted_cycles"].as_f64().unwrap();
            // Per-section costs cannot see alignment and branch-predictor aliasing, worth a few
            // thousand cycles on `vm` (docs/PERFORMANCE.md); a stall model that failed to
            // match the profile's functions was off by 58% and more.
            assert!(
                measured > 0.0 && (predicted - measured).abs() <= 0.4 * measured,
                "predicted gain {predicted}, measured {measured}"
            );
        }
    }
}

#[test]
fn iterating_keeps_the_best_measured_plan() {
    if !libraries_present() {
        return;
    }
    let dir = firmware_build_dir().join("big");
    let out = tempfile::tempdir().unwrap();
    let (ok, json, err) = hotlink(&[
        "optimize",
        "--format",
        "json",
        "--iterate",
        "2",
        "--budget",
        "ITCM=8K",
        "-C",
        dir.to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
        "--",
        "@big.link",
    ]);
    assert!(ok, "{err}");
    let outcome: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rounds: Vec<u64> = outcome["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(rounds.len(), 2);
    assert_eq!(
        outcome["optimized"]["cycles"].as_u64(),
        rounds.iter().min().copied()
    );
    for round in [1, 2] {
        assert!(out.path().join(format!("plan-{round}.json")).exists());
    }
    // The kept image is the best one and still passes its own checks.
    let (ok, _, err) = hotlink(&["run", out.path().join("optimized.elf").to_str().unwrap()]);
    assert!(ok, "{err}");
}

#[test]
fn measure_check_and_compare_work_on_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = [
        ("vm", "imxrt1062", false),
        ("dsp", "imxrt1062", false),
        ("flashwrite", "imxrt1062", true),
        ("rtos", "imxrt1062", false),
        ("big", "imxrt1062", false),
        ("vm-rt1176", "imxrt1176", false),
    ];
    let mut benchmarks = Vec::new();
    for (fixture, board, writable) in fixtures {
        let elf = common::fixture_elf(fixture);
        let mut args = vec!["measure", "--format", "json", "--board", board];
        if writable {
            args.push("--writable-flash");
        }
        args.push(elf.to_str().unwrap());
        let (ok, json, err) = hotlink(&args);
        assert!(ok, "{fixture}: {err}");
        let m: serde_json::Value = serde_json::from_str(&json).unwrap();
        let cycles = m["min"].as_u64().or_else(|| m["cycles"].as_u64());
        assert!(cycles.is_some_and(|c| c > 0), "{fixture}: {m}");
        // A baseline claiming 5% fewer cycles than each fixture takes.
        benchmarks.push(serde_json::json!({
            "name": fixture,
            "image": elf,
            "board": board,
            "writable_flash": writable,
            "cycles": cycles.unwrap() * 95 / 100,
        }));
        // Each fixture's report compares with itself: no cycles change.
        let report = dir.path().join(format!("{fixture}.json"));
        let mut args = vec![
            "report",
            "--format",
            "json",
            "--board",
            board,
            "-o",
            report.to_str().unwrap(),
        ];
        if writable {
            args.push("--writable-flash");
        }
        args.push(elf.to_str().unwrap());
        let (ok, _, err) = hotlink(&args);
        assert!(ok, "{fixture}: {err}");
        let (ok, text, err) = hotlink(&[
            "compare",
            report.to_str().unwrap(),
            report.to_str().unwrap(),
        ]);
        assert!(ok, "{fixture}: {err}");
        assert!(text.contains("speedup 1.000x"), "{fixture}: {text}");
    }
    let baseline = dir.path().join("cycles.json");
    std::fs::write(
        &baseline,
        serde_json::json!({"format": "hotlink-baseline", "version": 1, "benchmarks": benchmarks})
            .to_string(),
    )
    .unwrap();
    let (ok, _, err) = hotlink(&["check", "--baseline", baseline.to_str().unwrap()]);
    assert!(!ok, "every fixture regressed by 5.3% against this baseline");
    assert!(err.contains("6 regression(s)"), "{err}");
    let (ok, _, err) = hotlink(&[
        "check",
        "--baseline",
        baseline.to_str().unwrap(),
        "--update",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = hotlink(&["check", "--baseline", baseline.to_str().unwrap()]);
    assert!(ok, "after --update every fixture passes: {err}");
    assert_eq!(out.matches("ok ").count(), 6, "{out}");
}

/// `optimize --free ITCM=1K` on teensy, plus `extra` flags; returns the work directory.
fn free_teensy_itcm(extra: &[String]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let dir = firmware_build_dir().join("teensy");
    let mut args: Vec<String> = ["optimize", "--free", "ITCM=1K", "-C"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.to_str().unwrap().into());
    args.extend(["-o".into(), out.path().to_str().unwrap().into()]);
    args.extend(extra.iter().cloned());
    args.extend(["--".into(), "@teensy.link".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // optimize links with the plan (`link --plan`) and fails unless the image passes on the board.
    let (ok, _, err) = hotlink(&args);
    assert!(ok, "teensy --free ITCM=1K {extra:?}: {err}");
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Size of `.text.itcm` in a hotlink JSON link map.
fn itcm_code(map: &serde_json::Value) -> u64 {
    map["output_sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == ".text.itcm")
        .and_then(|s| s["size"].as_u64())
        .unwrap()
}

/// Cycles from entering `main` to its first `millis()` call: the fixture's work. Its total
/// cycles are no measure of placement: main spins on `millis()` for 2 ms, and the startup copy
/// shrinks with the code left in ITCM.
fn work_cycles(elf: &Path) -> u64 {
    let (ok, out, err) = hotlink(&["run", "--window", "main..millis", elf.to_str().unwrap()]);
    assert!(ok && out.contains("teensy: ok"), "{out}{err}");
    let line = out.lines().find(|l| l.starts_with("window")).unwrap();
    let cycles = line.split(": ").nth(1).unwrap().split(' ').next().unwrap();
    cycles.parse().unwrap()
}

/// #12 Teensy direction: everything runs from ITCM, and `--free` chooses the code that goes back
/// to flash. It frees what was asked, keeps the reset path (entered through the IVT) in flash,
/// and costs the work fewer cycles than moving the largest sections first.
#[test]
fn freeing_teensy_itcm_costs_less_than_moving_the_largest_sections() {
    if !libraries_present() {
        return;
    }
    let ilp = free_teensy_itcm(&[]);
    let baseline_map = json(&ilp.path().join("baseline.map.json"));
    let freed =
        itcm_code(&baseline_map) - itcm_code(&json(&ilp.path().join("optimized-1.map.json")));
    assert!(freed >= 1024, "freed {freed} bytes of ITCM");
    let plan = std::fs::read_to_string(ilp.path().join("plan-1.json")).unwrap();
    assert!(
        !plan.contains("\".startup\""),
        "the reset function runs from flash before the ITCM copy: {plan}"
    );

    // The size-only choice: the largest movable ITCM sections until 1 KB is freed (crt* pieces
    // are linker-assembled and stay), pinned to flash by their first symbol.
    let mut sections: Vec<&serde_json::Value> = baseline_map["input_sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["output_section"] == ".text.itcm" && s["kind"] == "code")
        .filter(|s| {
            !s["object"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .starts_with("crt")
        })
        .collect();
    sections.sort_by_key(|s| std::cmp::Reverse(s["size"].as_u64().unwrap()));
    let (mut pins, mut moved) = (Vec::new(), 0);
    for s in sections {
        if moved >= 1024 {
            break;
        }
        moved += s["size"].as_u64().unwrap();
        let symbol = s["symbols"].as_array().unwrap().iter().find_map(|y| {
            let name = y["name"].as_str().unwrap();
            (!name.starts_with('$')).then_some(name)
        });
        pins.extend(["--pin".to_string(), format!("{}=FLASH", symbol.unwrap())]);
    }
    let largest = free_teensy_itcm(&pins);

    let base = work_cycles(&ilp.path().join("baseline.elf"));
    let by_cost = work_cycles(&ilp.path().join("optimized.elf"));
    let by_size = work_cycles(&largest.path().join("optimized.elf"));
    assert!(
        by_cost < by_size,
        "main's work: baseline {base}, --free by cost {by_cost}, largest first {by_size} cycles"
    );
}
