//! Profiles end to end: an exact capture on the virtual board, the heat map over it (from the GNU
//! map and from ELF symbols), profile show/merge/diff, and the hardware path's clean failures when
//! there is no probe.

mod common;

use common::{fixture_elf, hotlink};

fn capture_sim(fixture: &str, dir: &std::path::Path) -> (std::path::PathBuf, serde_json::Value) {
    let elf = fixture_elf(fixture);
    let out = dir.join(format!("{fixture}.json"));
    let mut args = vec![
        "capture",
        "--sim",
        "-o",
        out.to_str().unwrap(),
        elf.to_str().unwrap(),
    ];
    if fixture == "flashwrite" {
        args.push("--writable-flash");
    }
    let (ok, _, err) = hotlink(&args);
    assert!(ok, "{fixture}: {err}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (out, value)
}

#[test]
fn exact_capture_counts_every_instruction_and_call() {
    let dir = tempfile::tempdir().unwrap();
    let (_, profile) = capture_sim("vm", dir.path());
    assert_eq!(profile["capture"]["method"], "sim");
    let functions = profile["functions"].as_array().unwrap();
    let instructions: u64 = functions
        .iter()
        .map(|f| f["instructions"].as_u64().unwrap())
        .sum();
    assert_eq!(
        Some(instructions),
        profile["totals"]["instructions"].as_u64()
    );
    let cycles: u64 = functions
        .iter()
        .map(|f| f["cycles"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(cycles), profile["totals"]["cycles"].as_u64());
    let hottest = functions
        .iter()
        .max_by_key(|f| f["cycles"].as_u64().unwrap())
        .unwrap();
    assert_eq!(
        hottest["name"], "vm_call",
        "the interpreter loop dominates vm"
    );
    // The samples every 1024 cycles agree with the exact counts on the hottest function.
    let samples = profile["totals"]["samples"].as_u64().unwrap();
    assert_eq!(samples, cycles / 1024);
    let addr = hottest["address"].as_u64().unwrap();
    let size = hottest["size"].as_u64().unwrap();
    let in_hottest: u64 = profile["pc_histogram"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| (addr..addr + size).contains(&h["pc"].as_u64().unwrap()))
        .map(|h| h["count"].as_u64().unwrap())
        .sum();
    let exact_share = hottest["cycles"].as_f64().unwrap() / cycles as f64;
    let sampled_share = in_hottest as f64 / samples as f64;
    assert!(
        (exact_share - sampled_share).abs() < 0.02,
        "{exact_share} vs {sampled_share}"
    );
    let calls = profile["call_edges"].as_array().unwrap();
    assert!(
        calls.iter().any(|e| e["count"].as_u64().unwrap() >= 4000),
        "list_append is called 4000 times"
    );
}

#[test]
fn heat_map_from_map_file_and_from_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, _) = capture_sim("vm", dir.path());
    let elf = fixture_elf("vm");
    let map = elf.with_extension("map");
    let (ok, text, err) = hotlink(&[
        "heat",
        "--profile",
        profile.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        elf.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let first = text.lines().nth(2).unwrap();
    assert!(first.contains("interp.o:.text.vm_call"), "{text}");
    assert!(
        first.contains("m_flash"),
        "regions come from the map's MEMORY: {text}"
    );
    assert!(text.contains("exact cycles"), "{text}");

    let (ok, json, err) = hotlink(&[
        "heat",
        "--profile",
        profile.to_str().unwrap(),
        "--format",
        "json",
        elf.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let heat: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(heat["sections"][0]["section"]["section"], ".text.vm_call");
    assert_eq!(heat["unattributed_cycles"], 0.0);
}

#[test]
fn a_profile_of_another_build_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, _) = capture_sim("vm", dir.path());
    let other = fixture_elf("dsp");
    let (ok, _, err) = hotlink(&[
        "heat",
        "--profile",
        profile.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("a different program"), "{err}");
    let (ok, _, err) = hotlink(&[
        "heat",
        "--force",
        "--profile",
        profile.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
}

#[test]
fn merge_show_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = capture_sim("dsp", dir.path());
    let merged = dir.path().join("merged.json");
    let (ok, _, err) = hotlink(&[
        "profile",
        "merge",
        "-o",
        merged.to_str().unwrap(),
        a.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (ok, text, err) = hotlink(&["profile", "show", merged.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(text.contains("2 run(s)"), "{text}");
    let (ok, text, err) = hotlink(&[
        "profile",
        "diff",
        a.to_str().unwrap(),
        merged.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(text.contains("+100.00%"), "cycles double: {text}");

    let (vm, _) = capture_sim("vm", dir.path());
    let (ok, _, err) = hotlink(&[
        "profile",
        "merge",
        "-o",
        merged.to_str().unwrap(),
        a.to_str().unwrap(),
        vm.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("different program"), "{err}");
}

#[test]
fn corrupt_profiles_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, _) = capture_sim("dsp", dir.path());
    let text = std::fs::read_to_string(&profile).unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 3]).unwrap();
    let (ok, _, err) = hotlink(&["profile", "show", truncated.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("truncated.json") && err.contains("not valid JSON at line"),
        "{err}"
    );
}

#[test]
fn hardware_capture_without_a_probe_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let elf = fixture_elf("vm");
    let (ok, _, err) = hotlink(&[
        "capture",
        "--chip",
        "MIMXRT1062",
        "-o",
        out.to_str().unwrap(),
        elf.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("probe-rs does not know the chip `MIMXRT1062`"),
        "{err}"
    );
    assert!(err.contains("MIMXRT1060"), "close names are listed: {err}");
    let (ok, _, err) = hotlink(&[
        "capture",
        "-o",
        out.to_str().unwrap(),
        elf.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("no debug probe found") || err.contains("probe"),
        "{err}"
    );
    assert!(!out.exists(), "no output file on failure");
}

#[test]
fn bundled_profiles_belong_to_the_committed_fixtures() {
    let dir = common::repo_root().join("profiles");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let fixture = name.split('.').next().unwrap();
        let elf = fixture_elf(fixture);
        let (ok, text, err) = hotlink(&["profile", "show", path.to_str().unwrap()]);
        assert!(ok, "{name}: {err}");
        assert!(text.contains("samples"), "{text}");
        // `heat` refuses a profile of another build: a rebuilt fixture needs its profile renewed
        // (`hotlink capture --sim -o profiles/<name> <elf>`).
        let board = name.split('.').nth(1).unwrap();
        let (ok, _, err) = hotlink(&[
            "heat",
            "--board",
            board,
            "--profile",
            path.to_str().unwrap(),
            elf.to_str().unwrap(),
        ]);
        assert!(ok, "{name} does not match {}: {err}", elf.display());
        seen += 1;
    }
    assert!(seen >= 6, "profiles/ holds the fixtures' example profiles");
}

#[test]
fn a_profile_of_an_older_build_is_re_mapped_onto_a_rebuilt_image() {
    if !std::path::Path::new("/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libc.a").exists() {
        assert!(!common::in_ci(), "CI must install libnewlib-arm-none-eabi");
        eprintln!("skipping: libnewlib-arm-none-eabi is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (old_profile, old) = capture_sim("vm", dir.path());
    // Rebuild vm with a change: its objects linked in the opposite order, and the hottest
    // function moved to ITCM by a plan, so every function sits at a new address.
    let build = common::firmware_build_dir().join("vm");
    let mut lines: Vec<String> = std::fs::read_to_string(build.join("vm.link"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let objects: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].ends_with(".o"))
        .collect();
    let reversed: Vec<String> = objects.iter().rev().map(|&i| lines[i].clone()).collect();
    for (slot, object) in objects.iter().zip(reversed) {
        lines[*slot] = object;
    }
    let link = dir.path().join("changed.link");
    std::fs::write(&link, lines.join("\n")).unwrap();
    let new_elf = dir.path().join("changed.elf");
    let at = format!("@{}", link.display());
    let map = format!("-Map={}", dir.path().join("changed.map").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .current_dir(&build)
        .args(["link", &at, "-o", new_elf.to_str().unwrap(), &map])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        std::fs::read(&new_elf).unwrap(),
        std::fs::read(fixture_elf("vm")).unwrap()
    );

    let (ok, json, err) = hotlink(&[
        "heat",
        "--format",
        "json",
        "--profile",
        old_profile.to_str().unwrap(),
        new_elf.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("re-mapped: 100.0% of"), "{err}");
    let heat: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(heat["sections"][0]["section"]["section"], ".text.vm_call");
    let old_cycles: u64 = old["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "vm_call")
        .unwrap()["cycles"]
        .as_u64()
        .unwrap();
    assert_eq!(
        heat["sections"][0]["cycles"].as_f64().unwrap() as u64,
        old_cycles
    );
    // The new image's vm_call is somewhere else, and the heat map found it there.
    let old_address = old["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "vm_call")
        .unwrap()["address"]
        .as_u64()
        .unwrap();
    assert_ne!(
        heat["sections"][0]["section"]["address"].as_u64().unwrap(),
        old_address
    );
}

#[test]
fn heat_renders_table_json_and_plots_for_every_fixture() {
    let profiles = common::repo_root().join("profiles");
    for (fixture, board) in [
        ("vm", "imxrt1062"),
        ("dsp", "imxrt1062"),
        ("flashwrite", "imxrt1062"),
        ("rtos", "imxrt1062"),
        ("big", "imxrt1062"),
        ("vm-rt1176", "imxrt1176"),
    ] {
        let elf = fixture_elf(fixture);
        let map = elf.with_extension("map");
        let profile = profiles.join(format!("{fixture}.{board}.sim.json"));
        let plots = tempfile::tempdir().unwrap();
        let common = [
            "heat",
            "--board",
            board,
            "--profile",
            profile.to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
        ];
        let (ok, text, err) = hotlink(
            &[
                &common[..],
                &[
                    "--plot",
                    plots.path().to_str().unwrap(),
                    elf.to_str().unwrap(),
                ],
            ]
            .concat(),
        );
        assert!(ok, "{fixture}: {err}");
        assert!(text.contains("rank section"), "{fixture}: {text}");
        let (ok, json, err) =
            hotlink(&[&common[..], &["--format", "json", elf.to_str().unwrap()]].concat());
        assert!(ok, "{fixture}: {err}");
        let heat: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(
            !heat["sections"].as_array().unwrap().is_empty(),
            "{fixture}"
        );
        for file in ["ranked.svg", "ranked.png"] {
            let bytes = std::fs::read(plots.path().join(file)).unwrap();
            assert!(bytes.len() > 1000, "{fixture}: {file} is empty");
        }
        let strips = std::fs::read_dir(plots.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("strip-")
            })
            .count();
        assert!(
            strips >= 2,
            "{fixture}: a heat strip per region, as SVG and PNG"
        );
    }
}
