//! `hotlink plan --timings` on the committed `vm` fixture and its committed profile: every step
//! is reported, in the JSON form (`--format json`, one line on stderr) and in the text table,
//! with non-negative times that add up to at most the total, and the peak RSS.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const STEPS: [&str; 8] = [
    "read",
    "profile",
    "startup-run",
    "stall-runs",
    "model",
    "solve",
    "cache-run",
    "write",
];

fn plan(out: &Path, format: &str) -> Output {
    let root = common::repo_root();
    let vm = common::firmware_build_dir().join("vm");
    Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .args([
            "plan",
            "--timings",
            "--budget",
            "ITCM=4K",
            "--format",
            format,
        ])
        .arg("--profile")
        .arg(root.join("profiles/vm.imxrt1062.sim.json"))
        .arg("--map")
        .arg(vm.join("vm.map"))
        .arg("-o")
        .arg(out)
        .arg(vm.join("vm.elf"))
        .output()
        .unwrap()
}

fn number(value: &serde_json::Value, what: &str) -> f64 {
    let n = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!(n >= 0.0, "{what} is negative: {n}");
    n
}

#[test]
fn plan_timings_report_every_step_within_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let out = plan(&dir.path().join("plan.json"), "json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The plan itself is still the whole of stdout.
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("plan JSON on stdout");
    assert!(printed.get("placements").is_some(), "{printed}");

    let line = stderr
        .lines()
        .find(|l| l.starts_with("{\"timings\""))
        .unwrap_or_else(|| panic!("no timings line on stderr: {stderr}"));
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    let timings = &report["timings"];
    let steps = timings["steps"].as_array().expect("steps");
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, STEPS, "{line}");
    for clock in ["wall_us", "cpu_us"] {
        let sum: f64 = steps
            .iter()
            .map(|s| number(&s[clock], &format!("{} {clock}", s["step"])))
            .sum();
        let total = number(&timings["total"][clock], &format!("total {clock}"));
        assert!(sum <= total, "{clock}: steps {sum} > total {total}: {line}");
        assert!(total > 0.0, "{line}");
    }
    // Runs on the virtual board and the solve happened on this image, so took time.
    for step in ["startup-run", "stall-runs", "solve", "cache-run"] {
        let s = steps.iter().find(|s| s["step"] == step).unwrap();
        assert!(
            number(&s["wall_us"], step) > 0.0,
            "{step} took no time: {line}"
        );
    }
    if cfg!(target_os = "linux") {
        assert!(
            number(&timings["peak_rss_kib"], "peak RSS") > 1024.0,
            "{line}"
        );
    }

    // The text form: a row per step after the plan, and the total.
    let out = plan(&dir.path().join("plan2.json"), "text");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let table = &stderr[stderr.find("wall ms").expect("the table's header")..];
    for row in [
        "read board, map, objects",
        "read ELF and profile",
        "startup run",
        "stall runs",
        "model build",
        "solve",
        "cache run",
        "write plan",
        "total",
        "peak RSS",
    ] {
        assert!(table.contains(row), "no `{row}` row: {stderr}");
    }
}
