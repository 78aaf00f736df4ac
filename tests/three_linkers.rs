//! #12's first "Done when" clause on every C fixture that has a RAM section its startup copies:
//! plan with every function hot and no `--exclude`, then link the plan three ways: with
//! `hotlink link --plan`, with GNU ld through `hotlink patch-script`'s copy of the fixture's own
//! script, and with ld.lld through the same copy. Each image must run on the virtual board, exit
//! 0 and print the fixture's result, and `hotlink verify` must accept each link's map (hotlink's
//! GNU-style `-Map`, GNU ld's and LLD's).
//!
//! Left out, with the reason: `newlib-exit` (its script copies no code into RAM: `plan` refuses,
//! which this test checks) and `vm-rt1176` (the `vm` objects under the RT1170's script, which
//! the RT1062 fixtures already cover; it runs only on the RT1170 board). The Rust fixtures'
//! route through rustc's linkers is in tests/plan_rust.rs.

mod common;

use std::path::Path;
use std::process::Command;

use hotlink::plan::Plan;

/// A fixture and what its run prints when it passes.
struct Fixture {
    name: &'static str,
    /// A piece of the line the program prints on success (its checksum).
    expect: &'static str,
    /// `plan` options beyond the profile (none is an `--exclude`).
    plan: &'static [&'static str],
    /// `patch-script` options: the receiving section for flash, when the plan sends code there.
    patch: &'static [&'static str],
    /// `run` options.
    run: &'static [&'static str],
    /// What the patched script must hold: how the receiving section was made to take the plan.
    patched: &'static [&'static str],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "sdk",
        expect: "crc=0xc0a1 ring=0x553f096b OK",
        plan: &[],
        patch: &[],
        run: &[],
        patched: &[".ram_function : AT(__ram_function_flash_start)"],
    },
    Fixture {
        name: "teensy",
        expect: "checksum=0x5a0a9c6c",
        plan: &[],
        // Everything runs from ITCM by default: code the plan sends to flash goes to the
        // script's `.text.progmem`.
        patch: &["--place-into", "FLASH=.text.progmem"],
        run: &[],
        patched: &["/* hotlink plan: "],
    },
    Fixture {
        name: "big",
        expect: "checksum=0x308d3385",
        // Every function hot fills ITCM to the byte for GNU ld's 8-byte veneers; LLD's thunks
        // take about 1 KB more there (docs/linker.md), so the plan leaves 2 KB free.
        plan: &["--reserve", "2048"],
        patch: &[],
        run: &[],
        patched: &[
            ".itcm : AT(__hotlink_itcm_load)",
            "__hotlink_itcm_load = ALIGN(LOADADDR(",
        ],
    },
    Fixture {
        name: "vm",
        expect: "checksum=0x7b2b0f53",
        plan: &[],
        patch: &[],
        run: &[],
        patched: &[".itcm : AT(__hotlink_itcm_load)"],
    },
    Fixture {
        name: "dsp",
        expect: "checksum=0x64d24a4c",
        plan: &[],
        patch: &[],
        run: &[],
        patched: &[".itcm : AT(__hotlink_itcm_load)"],
    },
    Fixture {
        name: "rtos",
        expect: "checksum=0x823fbbfe",
        plan: &[],
        patch: &[],
        run: &[],
        patched: &["/* hotlink plan: "],
    },
    Fixture {
        name: "flashwrite",
        expect: "crc=0x93a421fe",
        plan: &[],
        patch: &[],
        // It programs its flash data store with plain stores.
        run: &["--writable-flash"],
        patched: &["/DISCARD/ :", "(.ARM.exidx)"],
    },
    Fixture {
        name: "px4-style",
        expect: "crc=0x031b67c7",
        plan: &["--ignore-boot-copy"],
        patch: &[],
        run: &[],
        patched: &["/* hotlink plan: "],
    },
    Fixture {
        name: "zephyr-style",
        expect: "checksum=0x2cd1af4e",
        plan: &["--ignore-boot-copy"],
        patch: &[],
        run: &[],
        patched: &["/* hotlink plan: "],
    },
];

/// The linker script the `.link` file names after `-T`.
fn script_of(args: &[String]) -> String {
    let i = args.iter().position(|a| a == "-T").expect("a -T script");
    args[i + 1].clone()
}

fn run_hotlink(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Plans `f`, links the plan three ways, runs and verifies each image.
fn three_routes(f: &Fixture, tmp: &Path) {
    let name = f.name;
    let fixture = common::firmware_build_dir().join(name);
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let elf = fixture.join(format!("{name}.elf"));
    let profile = dir.join("hot.json");
    common::every_function_hot(&elf, &profile);
    let plan_path = dir.join("plan.json");
    let (profile_s, plan_s) = (
        profile.display().to_string(),
        plan_path.display().to_string(),
    );
    let map = format!("{name}.map");
    let mut args = vec![
        "plan",
        "--profile",
        &profile_s,
        "--map",
        &map,
        "-o",
        &plan_s,
    ];
    args.extend(f.plan);
    let elf_s = elf.display().to_string();
    args.push(&elf_s);
    let out = run_hotlink(&args, &fixture);
    assert!(out.status.success(), "{name}: plan: {}", text(&out));
    let plan = Plan::load(&plan_path).unwrap();
    assert!(!plan.placements.is_empty(), "{name}: nothing moved");

    let link = common::fixture_link_args(&fixture, name);
    let script = script_of(&link);
    let patched = dir.join("patched.ld");
    let patched_s = patched.display().to_string();
    let plan_arg = format!("--plan={plan_s}");
    let mut args = vec!["patch-script", &plan_arg, &script, "-o", &patched_s];
    args.extend(f.patch);
    let out = run_hotlink(&args, &fixture);
    assert!(out.status.success(), "{name}: patch-script: {}", text(&out));
    let script_text = std::fs::read_to_string(&patched).unwrap();
    for piece in f.patched {
        assert!(
            script_text.contains(piece),
            "{name}: `{piece}` in the patched script:\n{script_text}"
        );
    }

    let mut images = Vec::new();
    let (hl_elf, hl_map) = (dir.join("hotlink.elf"), dir.join("hotlink.map"));
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("link")
        .args(&link)
        .arg(&plan_arg)
        .arg("-o")
        .arg(&hl_elf)
        .arg(format!("-Map={}", hl_map.display()))
        .current_dir(&fixture)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: link --plan: {}", text(&out));
    images.push(("hotlink", hl_elf, hl_map));
    let with_patched: Vec<String> = link
        .iter()
        .map(|a| {
            if *a == script {
                patched_s.clone()
            } else {
                a.clone()
            }
        })
        .collect();
    for linker in ["arm-none-eabi-ld", "ld.lld"] {
        let (elf, map) = (
            dir.join(format!("{linker}.elf")),
            dir.join(format!("{linker}.map")),
        );
        let out = Command::new(linker)
            .args(&with_patched)
            .arg("-o")
            .arg(&elf)
            .arg(format!("-Map={}", map.display()))
            .current_dir(&fixture)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {linker} with the patched script {}: {}",
            patched.display(),
            text(&out)
        );
        images.push((linker, elf, map));
    }
    for (linker, elf, map) in &images {
        let map_arg = format!("--map={}", map.display());
        let out = run_hotlink(&["verify", &plan_arg, &map_arg], &fixture);
        assert!(
            out.status.success(),
            "{name} ({linker}): verify: {}",
            text(&out)
        );
        let mut args = vec!["run"];
        args.extend(f.run);
        let elf_s = elf.display().to_string();
        args.push(&elf_s);
        let out = run_hotlink(&args, &fixture);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success()
                && stdout.contains("exit status    0")
                && stdout.contains(f.expect),
            "{name} ({linker}): the planned image runs, exits 0 and prints `{}`: {}",
            f.expect,
            text(&out)
        );
    }
}

/// Every listed fixture, three linkers each (one test: the boots take well under a second).
#[test]
fn every_fixture_planned_links_with_hotlink_gnu_ld_and_lld_and_passes() {
    if !common::require_tools(&["arm-none-eabi-ld", "ld.lld"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for f in FIXTURES {
        three_routes(f, tmp.path());
    }
}

/// `newlib-exit`'s script has no RAM code section its startup copies: `plan` says so and fails,
/// rather than planning code into a section nothing copies.
#[test]
fn a_script_without_a_copied_ram_section_is_refused_by_plan() {
    let fixture = common::firmware_build_dir().join("newlib-exit");
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("hot.json");
    common::every_function_hot(&fixture.join("newlib-exit.elf"), &profile);
    let out = run_hotlink(
        &[
            "plan",
            "--profile",
            profile.to_str().unwrap(),
            "--map",
            "newlib-exit.map",
            "-o",
            tmp.path().join("plan.json").to_str().unwrap(),
            "newlib-exit.elf",
        ],
        &fixture,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no output section in ITCM or OCRAM that the startup code copies"),
        "{err}"
    );
}
