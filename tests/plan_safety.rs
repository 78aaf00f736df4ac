//! `hotlink plan` never breaks boot, on the SDK-style fixture (tests/firmware/sdk): its
//! `Reset_Handler` calls `SystemInit` through a register (`ldr r0, =SystemInit; blx r0`) before it
//! copies `.ram_function`, and its boot header sits at a fixed address. With every function hot,
//! the plan keeps exactly those put and says why; if the image cannot run on the virtual board,
//! the plan fails unless `--static-estimate` is given, and then says it is a guess.
//!
//! With every function hot and no `--exclude`, plans of the SDK-style and the Teensy-style
//! fixtures link with hotlink and boot on the virtual board: what the baseline run executed
//! before the startup copied the receiving section stays in flash, and `plan` says so.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::plan::Plan;
use object::{Object, ObjectSection};

fn plan(sdk: &Path, profile: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("plan")
        .arg("--profile")
        .arg(profile)
        .arg("--map")
        .arg(sdk.join("sdk.map"))
        .arg("-o")
        .arg(out)
        .args(extra)
        .arg(sdk.join("sdk.elf"))
        .output()
        .unwrap()
}

#[test]
fn sdk_startup_code_stays_and_the_estimate_is_never_silent() {
    let sdk = common::firmware_build_dir().join("sdk");
    assert!(
        sdk.join("sdk.elf").is_file(),
        "the sdk fixture is committed"
    );
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("hot.json");
    common::every_function_hot(&sdk.join("sdk.elf"), &profile);
    let out_path = dir.path().join("plan.json");

    let out = plan(&sdk, &profile, &out_path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains("virtual board") && stderr.contains("--static-estimate"),
            "the run's error and the way out: {stderr}"
        );
        assert!(!out_path.exists(), "no plan from a failed run");
    }
    let out = plan(&sdk, &profile, &out_path, &["--static-estimate"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let plan = Plan::load(&out_path).unwrap();
    for expected in [
        // Reset_Handler and its copy_words share startup_sdk.o's .text.
        "startup_sdk.o:.text: the entry point, which also does the startup copy (reads __ram_function",
        "system.o:.text.SystemInit: runs before the startup copy: Reset_Handler -> SystemInit",
        "boot_header.o:.boot_hdr.ivt: found by address",
    ] {
        assert!(stdout.contains(expected), "`{expected}` in:\n{stdout}");
    }
    let moved: Vec<String> = plan
        .placements
        .iter()
        .map(|p| format!("{}:{}", p.object, p.section))
        .collect();
    for kept in [
        "SystemInit",
        "startup_sdk.o:.text",
        "boot_hdr",
        ".isr_vector",
    ] {
        assert!(
            !moved.iter().any(|m| m.contains(kept)),
            "{kept} must stay put: {moved:?}"
        );
    }
    assert!(
        moved.iter().any(|m| m.ends_with(":.text.startup.main")),
        "main runs after the copy and may move: {moved:?}"
    );
    assert!(
        plan.placements.iter().all(|p| p.to == "ITCM"),
        "the SDK script copies only .ram_function, in ITCM: {moved:?}"
    );
    if let Some(estimate) = &plan.estimate {
        assert!(stdout.contains("static estimate"), "{stdout}");
        assert!(estimate.contains("guess"), "{estimate}");
    }
}

/// Plans fixture `name` with every function hot and no `--exclude`; returns the plan's path
/// and what `plan` printed.
fn plan_every_function_hot(name: &str, dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let fixture = common::firmware_build_dir().join(name);
    let elf = fixture.join(format!("{name}.elf"));
    let profile = dir.join("hot.json");
    common::every_function_hot(&elf, &profile);
    let plan_path = dir.join("plan.json");
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("plan")
        .arg("--profile")
        .arg(&profile)
        .arg("--map")
        .arg(fixture.join(format!("{name}.map")))
        .arg("-o")
        .arg(&plan_path)
        .args(extra)
        .arg(&elf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {out:?}");
    let plan = Plan::load(&plan_path).unwrap();
    assert!(!plan.placements.is_empty(), "{name}: nothing moved");
    (plan_path, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `elf` on the virtual board: it must exit with status 0.
fn assert_boots_and_passes(elf: &Path, who: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("run")
        .arg(elf)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("exit status    0"),
        "{who}: the planned image boots and passes: {out:?}"
    );
}

/// Every function hot, no `--exclude`: plan, link the plan with hotlink, boot the result.
fn every_function_hot_links_and_boots(name: &str) {
    if !common::require_tool("arm-none-eabi-gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (plan_path, stdout) = plan_every_function_hot(name, dir.path(), &[]);
    assert!(
        stdout.contains("ran before the startup copy into")
            && stdout.contains("of the baseline run on the virtual board"),
        "{name}: the run's reason is printed:\n{stdout}"
    );
    links_with_the_plan_and_boots(name, &plan_path, dir.path());
}

/// `hotlink link --plan` of fixture `name`, then a run on the virtual board that must pass.
fn links_with_the_plan_and_boots(name: &str, plan_path: &Path, dir: &Path) {
    let fixture = common::firmware_build_dir().join(name);
    let planned = dir.join("planned.elf");
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("link")
        .args(common::fixture_link_args(&fixture, name))
        .arg(format!("--plan={}", plan_path.display()))
        .arg("-o")
        .arg(&planned)
        .current_dir(&fixture)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: link --plan: {out:?}");
    assert_boots_and_passes(&planned, name);
}

#[test]
fn sdk_with_every_function_hot_links_and_boots() {
    every_function_hot_links_and_boots("sdk");
}

#[test]
fn teensy_with_every_function_hot_links_and_boots() {
    every_function_hot_links_and_boots("teensy");
}

/// `plan --flexram auto` on the Teensy-style fixture: the split is the cheapest of those tried, a
/// split without ITCM costs more (every function is hot), the GPR values decode to it, the image's
/// data fits its DTCM and the plan's ITCM use its ITCM; the output says the script computes its
/// own split; the plan links and boots (under the split the script computes).
#[test]
fn teensy_flexram_auto_split_fits_the_image_and_the_plan_boots() {
    let fixture = common::firmware_build_dir().join("teensy");
    let dir = tempfile::tempdir().unwrap();
    let (plan_path, stdout) = plan_every_function_hot("teensy", dir.path(), &["--flexram", "auto"]);
    let plan = Plan::load(&plan_path).unwrap();
    let f = plan.flexram.as_ref().expect("plan.json records the split");
    let best = f
        .candidates
        .iter()
        .filter_map(|c| c.cycles)
        .fold(f64::INFINITY, f64::min);
    let chosen = f.candidates.iter().find(|c| c.split == f.split).unwrap();
    assert_eq!(chosen.cycles, Some(best), "{:#?}", f.candidates);
    // Code the startup-safety rules keep in ITCM (crtbegin's .text) rules out splits without it.
    let no_itcm: Vec<_> = f
        .candidates
        .iter()
        .filter(|c| c.split.itcm_banks == 0)
        .collect();
    assert!(!no_itcm.is_empty() && f.split.itcm_banks > 0);
    for c in no_itcm {
        assert!(
            c.cycles.is_none() && c.error.as_deref().is_some_and(|e| e.contains("ITCM")),
            "{c:?}"
        );
    }
    let s = f.split;
    assert_eq!(s.itcm_banks + s.dtcm_banks + s.ocram_banks, 16);
    let decoded = hotlink::planner::flexram::decode_gpr17(f.registers.gpr17, 16);
    assert_eq!(decoded, s, "GPR17 {:#010x}", f.registers.gpr17);
    let size_kb = |field: u32| if field == 0 { 0 } else { 1u64 << (field - 1) };
    assert_eq!(
        size_kb((f.registers.gpr14 >> 16) & 0xF) * 1024,
        s.itcm_bytes()
    );
    assert_eq!(
        size_kb((f.registers.gpr14 >> 20) & 0xF) * 1024,
        s.dtcm_bytes()
    );
    assert_eq!(f.registers.gpr16_set, 1 << 2);

    // The image's data (.data and .bss at the start of DTCM) fits the chosen DTCM.
    let bytes = std::fs::read(fixture.join("teensy.elf")).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    let data_end = elf
        .sections()
        .filter(|x| matches!(x.name(), Ok(".data" | ".bss")))
        .map(|x| x.address() + x.size())
        .max()
        .unwrap();
    assert!(
        data_end - 0x2000_0000 <= f.needs.dtcm_bytes,
        "{:?}",
        f.needs
    );
    assert!(f.needs.dtcm_bytes <= s.dtcm_bytes());
    let itcm = plan.regions.iter().find(|r| r.name == "ITCM").unwrap();
    assert!(itcm.budget + 64 <= s.itcm_bytes() && itcm.used + itcm.veneer_bytes <= itcm.budget);

    assert!(
        stdout.contains(&format!("IOMUXC_GPR17 = {:#010x}", f.registers.gpr17))
            && stdout.contains(&format!(
                "IOMUXC_GPR14 TCM size fields = {:#010x}",
                f.registers.gpr14
            ))
            && stdout.contains("script MEMORY lengths"),
        "{stdout}"
    );
    let note = f
        .script
        .as_deref()
        .expect("the script's _flexram_bank_config is read");
    assert!(note.contains("_flexram_bank_config = 0xaaaaaaab"), "{note}");
    assert!(stdout.contains(note), "{stdout}");

    links_with_the_plan_and_boots("teensy", &plan_path, dir.path());
}
