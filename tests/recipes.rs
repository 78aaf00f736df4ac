//! The recipes of docs/guide.md §6 for projects that keep their own build, each run as a user
//! would on a fixture written in that project's style:
//! - PX4 (tests/firmware/px4-style): `hotlink emit --format px4` writes
//!   `itcm_functions_includes.ld` from a plan, GNU ld links the fixture's own script with it, the
//!   image boots on the virtual board, `hotlink verify` and `hotlink check-list` pass; the same
//!   list after a rebuild that renamed one of its functions fails `check-list`, naming it.
//! - Zephyr (tests/firmware/zephyr-style): `hotlink emit --format zephyr` writes the
//!   `zephyr_code_relocate()` calls, the fixture's generator (in the role of Zephyr's
//!   gen_relocate_app.py) turns them into `linker_relocate.ld`, GNU ld links, the image boots
//!   and `verify` passes; with `--whole-files` the calls move whole files, and the output says
//!   what that costs against the plan.
//! - FlexRAM chosen with the plan (`plan --flexram auto`): on the SDK-style fixture the image
//!   linked with the printed MEMORY lengths boots on a board in that split; the Teensy-style
//!   script, edited as `plan` says, boots under a split other than the one it computes itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::plan::Plan;

/// Runs hotlink; returns (success, stdout, stderr).
fn hotlink(args: &[&str]) -> (bool, String, String) {
    common::hotlink(args)
}

fn ok(args: &[&str]) -> (String, String) {
    let (success, stdout, stderr) = hotlink(args);
    assert!(success, "hotlink {args:?}:\n{stdout}{stderr}");
    (stdout, stderr)
}

/// Profile (exact, on the virtual board) and plan of fixture `name` with `extra` options;
/// returns the plan's path and what `plan` printed.
fn plan(name: &str, dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let fixture = common::firmware_build_dir().join(name);
    let elf = fixture.join(format!("{name}.elf"));
    let (elf, map) = (elf.to_str().unwrap(), fixture.join(format!("{name}.map")));
    let profile = dir.join("profile.json");
    let plan = dir.join("plan.json");
    ok(&["capture", "--sim", "-o", profile.to_str().unwrap(), elf]);
    let (stdout, _) = ok(&[
        &[
            "plan",
            "--profile",
            profile.to_str().unwrap(),
            "--map",
            map.to_str().unwrap(),
            "-o",
            plan.to_str().unwrap(),
        ],
        extra,
        &[elf],
    ]
    .concat());
    (plan, stdout)
}

/// The fixture's link arguments (its `.link` file) without its output, map and script.
fn link_args(name: &str) -> Vec<String> {
    let fixture = common::firmware_build_dir().join(name);
    let text = std::fs::read_to_string(fixture.join(format!("{name}.link"))).unwrap();
    let mut args = Vec::new();
    let mut lines = text.lines();
    while let Some(a) = lines.next() {
        match a {
            "-o" | "-T" => {
                lines.next();
            }
            _ if a.starts_with("-Map=") => {}
            _ => args.push(a.to_string()),
        }
    }
    args
}

/// The fixture's GNU ld arguments (its `.link` file) with object paths made absolute, its own
/// script replaced by `script` and output/map in `dir`; objects come from `objects` when given
/// (a rebuild), else from the committed build.
fn gnu_ld(name: &str, script: &Path, dir: &Path, objects: Option<&Path>) -> (PathBuf, PathBuf) {
    let fixture = common::firmware_build_dir().join(name);
    let args: Vec<String> = link_args(name)
        .into_iter()
        .map(|a| {
            if !(a.ends_with(".o") || a.ends_with(".obj") || a.ends_with(".a")) {
                return a;
            }
            let rebuilt = objects
                .map(|o| o.join(Path::new(&a).file_name().unwrap()))
                .filter(|p| p.is_file());
            rebuilt
                .unwrap_or_else(|| fixture.join(&a))
                .display()
                .to_string()
        })
        .collect();
    let (elf, map) = (
        dir.join(format!("{name}.elf")),
        dir.join(format!("{name}.map")),
    );
    let out = Command::new("arm-none-eabi-ld")
        .args(&args)
        .arg("-T")
        .arg(script)
        .arg("-o")
        .arg(&elf)
        .arg(format!("-Map={}", map.display()))
        // INCLUDE files are searched in the current directory first: the generated ones.
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: GNU ld: {out:?}");
    (elf, map)
}

/// Runs `elf` on the virtual board: it must exit with status 0 and print `expected`.
fn boots(elf: &Path, expected: &str) {
    let (success, stdout, stderr) = hotlink(&["run", elf.to_str().unwrap()]);
    assert!(
        success && stdout.contains("exit status    0") && stdout.contains(expected),
        "{}: boots and passes:\n{stdout}{stderr}",
        elf.display()
    );
}

fn verify(plan: &Path, map: &Path) -> (bool, String, String) {
    hotlink(&[
        "verify",
        "--plan",
        plan.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ])
}

#[test]
fn px4_include_list_from_a_plan_links_boots_and_catches_a_renamed_function() {
    if !common::require_tools(&["arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let fixture = common::firmware_build_dir().join("px4-style");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A flight controller runs for hours: its boot copy is not what the short profiled run
    // says it is (measured at ~120 cycles a byte with the caches off, it would send the hot
    // functions back to flash).
    let (plan_path, _) = plan(
        "px4-style",
        dir,
        &["--budget", "ITCM=1K", "--ignore-boot-copy"],
    );
    let plan = Plan::load(&plan_path).unwrap();
    let list = dir.join("itcm_functions_includes.ld");
    ok(&[
        "emit",
        "--format",
        "px4",
        "--plan",
        plan_path.to_str().unwrap(),
        "--map",
        fixture.join("px4-style.map").to_str().unwrap(),
        "-o",
        list.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&list).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("*(")).collect();
    // What the plan moves into ITCM is listed, what it moves out is not, and what the project's
    // own list holds and the plan leaves there stays listed.
    for p in &plan.placements {
        let line = format!("*({})", p.section);
        assert_eq!(
            lines.contains(&line.as_str()),
            p.to == "ITCM",
            "{line} ({} -> {}) in:\n{text}",
            p.from,
            p.to
        );
    }
    assert!(plan.placements.iter().any(|p| p.to == "ITCM"), "{plan:?}");
    for kept in ["*(.text.rate_control_run)", "*(.text.mixer_mix)"] {
        let moved_out = plan
            .placements
            .iter()
            .any(|p| kept.contains(&p.section) && p.to != "ITCM");
        assert_eq!(lines.contains(&kept), !moved_out, "{kept}:\n{text}");
    }

    // The fixture's own script with the generated list: GNU ld honours it, the image boots.
    std::fs::copy(fixture.join("px4.ld"), dir.join("px4.ld")).unwrap();
    let (elf, map) = gnu_ld("px4-style", &dir.join("px4.ld"), dir, None);
    boots(&elf, "px4-style crc=0x031b67c7");
    let (success, stdout, stderr) = verify(&plan_path, &map);
    assert!(success, "verify:\n{stdout}{stderr}");
    for build in [
        ["--elf", elf.to_str().unwrap()],
        ["--map", map.to_str().unwrap()],
    ] {
        let (stdout, _) = ok(&[&["check-list"], &build[..], &[list.to_str().unwrap()]].concat());
        assert!(
            stdout.contains(&format!("all {} listed sections exist", lines.len())),
            "{stdout}"
        );
    }

    // Rebuild with one listed function renamed (as a refactoring would): the old list names a
    // function that no longer exists. GNU ld links it without a word; check-list fails.
    let renamed = [
        "imu_sample",
        "logger_crc32",
        "orb_publish",
        "attitude_update",
        "lowpass_update",
    ]
    .into_iter()
    .find(|f| lines.contains(&format!("*(.text.{f})").as_str()))
    .expect("a flight.c function in the list");
    let objects = dir.join("rebuilt");
    std::fs::create_dir(&objects).unwrap();
    let firmware = common::firmware_dir();
    let out = Command::new("arm-none-eabi-gcc")
        .args([
            "-mcpu=cortex-m7",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-d16",
            "-O2",
            "-ffunction-sections",
            "-fdata-sections",
            "-c",
        ])
        .arg(format!("-D{renamed}={renamed}_v2"))
        .arg("-I")
        .arg(firmware.join("common"))
        .arg(firmware.join("px4-style/flight.c"))
        .arg("-o")
        .arg(objects.join("flight.o"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stale = dir.join("stale");
    std::fs::create_dir(&stale).unwrap();
    std::fs::copy(&list, stale.join("itcm_functions_includes.ld")).unwrap();
    let (stale_elf, stale_map) = gnu_ld("px4-style", &dir.join("px4.ld"), &stale, Some(&objects));
    boots(&stale_elf, "px4-style crc=0x031b67c7");
    let (success, _, stderr) = hotlink(&[
        "check-list",
        "--elf",
        stale_elf.to_str().unwrap(),
        list.to_str().unwrap(),
    ]);
    assert!(!success, "a renamed function fails the check");
    assert!(
        stderr.contains(&format!("1 of {} listed sections", lines.len()))
            && stderr.contains(&format!("*(.text.{renamed})"))
            && !stderr.contains("panicked"),
        "{stderr}"
    );
    let (success, _, stderr) = verify(&plan_path, &stale_map);
    assert!(!success && stderr.contains(renamed), "{stderr}");
}

/// Emits the Zephyr calls (with `extra` flags), generates the fragment with the fixture's
/// generator, links with GNU ld in `dir`; returns (calls, notes, map).
fn zephyr_link(plan: &Path, dir: &Path, extra: &[&str]) -> (String, String, PathBuf) {
    let fixture = common::firmware_build_dir().join("zephyr-style");
    let calls = dir.join("relocate.cmake");
    let (_, notes) = ok(&[
        &[
            "emit",
            "--format",
            "zephyr",
            "--plan",
            plan.to_str().unwrap(),
            "--map",
            fixture.join("zephyr-style.map").to_str().unwrap(),
            "-o",
            calls.to_str().unwrap(),
        ],
        extra,
    ]
    .concat());
    let out = Command::new("python3")
        .arg(common::firmware_dir().join("zephyr-style/gen_relocate.py"))
        .arg("--build")
        .arg(&fixture)
        .arg("-o")
        .arg(dir.join("linker_relocate.ld"))
        .arg(&calls)
        .output()
        .unwrap();
    assert!(out.status.success(), "gen_relocate.py: {out:?}");
    std::fs::copy(fixture.join("zephyr.ld"), dir.join("zephyr.ld")).unwrap();
    let (elf, map) = gnu_ld("zephyr-style", &dir.join("zephyr.ld"), dir, None);
    boots(&elf, "zephyr-style checksum=0x2cd1af4e");
    (std::fs::read_to_string(&calls).unwrap(), notes, map)
}

#[test]
fn zephyr_relocate_calls_from_a_plan_link_and_boot() {
    if !common::require_tools(&["arm-none-eabi-ld", "python3"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (plan_path, _) = plan(
        "zephyr-style",
        tmp.path(),
        &["--budget", "ITCM=1K", "--ignore-boot-copy"],
    );
    let plan = Plan::load(&plan_path).unwrap();
    assert!(plan.placements.iter().any(|p| p.to == "ITCM"), "{plan:?}");
    // main runs after z_prep_c's copy (data_copy_xip_relocation): it may move.
    assert!(
        plan.placements
            .iter()
            .any(|p| p.section == ".text.startup.main" && p.to == "ITCM"),
        "{plan:?}"
    );

    let exact = tmp.path().join("filter");
    std::fs::create_dir(&exact).unwrap();
    let (calls, notes, map) = zephyr_link(&plan_path, &exact, &[]);
    assert!(
        calls.contains("zephyr_code_relocate(FILES src/main.c LOCATION ITCM_TEXT FILTER \"^(")
            && calls.contains("zephyr_code_relocate(LIBRARY kernel LOCATION ITCM_TEXT FILTER"),
        "{calls}"
    );
    assert!(
        notes.contains("ITCM_TEXT: whole files would move"),
        "{notes}"
    );
    let (success, stdout, stderr) = verify(&plan_path, &map);
    assert!(success, "verify:\n{calls}{stdout}{stderr}");

    // Without FILTER every function of each named file moves, those the plan leaves in flash
    // too; files that no longer fit the budget stay out, and the output says so.
    let whole = tmp.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    let (calls, notes, whole_map) = zephyr_link(&plan_path, &whole, &["--whole-files"]);
    assert!(
        !calls.contains("FILTER")
            && calls.contains("zephyr_code_relocate(FILES src/main.c LOCATION ITCM_TEXT)"),
        "{calls}"
    );
    let whole_map = hotlink::linkmap::LinkMap::load(&whole_map).unwrap();
    let main_text: Vec<_> = whole_map
        .input_sections
        .iter()
        .filter(|s| {
            (s.object.ends_with("main.c.obj") || s.object.ends_with("libkernel.a"))
                && s.section.contains(".text.")
                && s.size > 0
        })
        .collect();
    assert!(
        main_text
            .iter()
            .all(|s| s.output_section == ".itcm_text_reloc"),
        "{main_text:#?}"
    );
    assert!(
        main_text.iter().any(|s| !plan
            .placements
            .iter()
            .any(|p| p.section == s.section && p.to == "ITCM")),
        "whole files move functions the plan leaves in flash: {main_text:#?}"
    );
    assert!(
        notes.contains("ITCM_TEXT: whole files would move"),
        "{notes}"
    );
}

/// `plan --flexram auto` on the SDK-style fixture: the split it prints (GPR values, MEMORY
/// lengths) decodes to the one it records; the image linked by hotlink with the plan and the
/// script's MEMORY set to those lengths boots on a board whose FlexRAM has that split (as its
/// fuses or DCD would set it), and, when the split's DTCM is larger than the fuse default's,
/// fails on the default board (its stack lies beyond the default DTCM).
#[test]
fn sdk_flexram_auto_split_links_and_boots_with_that_split() {
    // The link uses the toolchain's newlib, as the fixture's link line says.
    if !common::require_tool("arm-none-eabi-gcc") {
        return;
    }
    let fixture = common::firmware_build_dir().join("sdk");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (plan_path, stdout) = plan("sdk", dir, &["--flexram", "auto"]);
    let plan = Plan::load(&plan_path).unwrap();
    let f = plan.flexram.as_ref().expect("plan.json records the split");
    let s = f.split;
    assert_eq!(s.itcm_banks + s.dtcm_banks + s.ocram_banks, 16);
    assert_eq!(
        hotlink::planner::flexram::decode_gpr17(f.registers.gpr17, 16),
        s
    );
    assert_eq!(f.registers.gpr16_set, 1 << 2);
    let kb = |bytes: u64| bytes / 1024;
    for line in [
        format!("IOMUXC_GPR17 = {:#010x}", f.registers.gpr17),
        format!("IOMUXC_GPR14 TCM size fields = {:#010x}", f.registers.gpr14),
        format!(
            "script MEMORY lengths: ITCM {}K, DTCM {}K, FlexRAM OCRAM {}K",
            kb(s.itcm_bytes()),
            kb(s.dtcm_bytes()),
            kb(s.ocram_bytes())
        ),
    ] {
        assert!(stdout.contains(&line), "`{line}` in:\n{stdout}");
    }
    assert!(f.needs.dtcm_bytes <= s.dtcm_bytes(), "{:?}", f.needs);

    // The SDK script with the printed lengths (OCRAM2's 512K plus the FlexRAM OCRAM).
    let script = std::fs::read_to_string(fixture.join("rt1062_flexspi_nor.ld")).unwrap();
    let set_length = |text: String, region: &str, bytes: u64| {
        let start = text.find(&format!("  {region} ")).expect(region);
        let end = start + text[start..].find('\n').unwrap();
        let line = &text[start..end];
        let length = line.find("LENGTH = ").unwrap();
        text.replace(line, &format!("{}LENGTH = {}K", &line[..length], kb(bytes)))
    };
    let script = set_length(script, "m_qacode", s.itcm_bytes());
    let script = set_length(script, "m_data", s.dtcm_bytes());
    let script = set_length(script, "m_data2", 512 * 1024 + s.ocram_bytes());
    std::fs::write(dir.join("split.ld"), script).unwrap();

    // A board whose FlexRAM comes up in that split.
    let board = std::fs::read_to_string(common::repo_root().join("boards/imxrt1062.toml")).unwrap();
    let layout: String = [
        "I".repeat(s.itcm_banks as usize),
        "D".repeat(s.dtcm_banks as usize),
        "O".repeat(s.ocram_banks as usize),
    ]
    .concat();
    let mut board = board.replace(
        "default_layout = \"OOOODDIIIIDDOOOO\"",
        &format!("default_layout = \"{layout}\""),
    );
    for (name, bytes) in [
        ("ITCM", s.itcm_bytes()),
        ("DTCM", s.dtcm_bytes()),
        ("OCRAM", s.ocram_bytes()),
    ] {
        let at = board.find(&format!("name = \"{name}\"\n")).expect(name);
        let size = at + board[at..].find("size = ").unwrap();
        let end = size + board[size..].find('\n').unwrap();
        if bytes == 0 {
            // No banks of that kind: the region is gone.
            let start = board[..at].rfind("[[region]]").unwrap();
            let next = at + board[at..].find("[[region]]").unwrap();
            board.replace_range(start..next, "");
        } else {
            board.replace_range(size..end, &format!("size = \"{}K\"", kb(bytes)));
        }
    }
    let board_path = dir.join("split.toml");
    std::fs::write(&board_path, board).unwrap();

    let planned = link_with_script("sdk", &dir.join("split.ld"), &plan_path, dir);
    let (success, stdout, stderr) = hotlink(&[
        "run",
        "--board",
        board_path.to_str().unwrap(),
        planned.to_str().unwrap(),
    ]);
    assert!(
        success && stdout.contains("exit status    0") && stdout.contains("OK"),
        "boots under the split:\n{stdout}{stderr}"
    );
    if s.dtcm_bytes() > 128 * 1024 {
        let (success, _, stderr) = hotlink(&["run", planned.to_str().unwrap()]);
        assert!(
            !success && stderr.contains("stack"),
            "the split matters: the fuse default's DTCM cannot hold the stack:\n{stderr}"
        );
    }
}

/// `hotlink link --plan` of fixture `name` (its link line, run in its build directory) with
/// `script` in place of its own; returns the image.
fn link_with_script(name: &str, script: &Path, plan: &Path, dir: &Path) -> PathBuf {
    let fixture = common::firmware_build_dir().join(name);
    let args = link_args(name);
    let elf = dir.join(format!("{name}-planned.elf"));
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .arg("link")
        .args(&args)
        .arg("-T")
        .arg(script)
        .arg(format!("--plan={}", plan.display()))
        .arg("-o")
        .arg(&elf)
        .current_dir(&fixture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: link --plan with {}: {out:?}",
        script.display()
    );
    elf
}

/// The value of symbol `name` in the ELF image at `elf`.
fn symbol_value(elf: &Path, name: &str) -> Option<u64> {
    use object::{Object, ObjectSymbol};
    let bytes = std::fs::read(elf).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let value = file
        .symbols()
        .find(|x| x.name() == Ok(name))
        .map(|x| x.address());
    value
}

/// Replaces the line of `text` that starts (after indentation) with `start` by `line`.
fn edit_line(text: &str, start: &str, line: &str) -> String {
    let at = text.find(start).expect(start);
    let end = at + text[at..].find('\n').unwrap();
    format!("{}{line}{}", &text[..at], &text[end..])
}

/// The Teensy-style script computes its own split from the ITCM code size (1 ITCM bank here);
/// `plan --flexram auto` chooses another and says which symbols to edit. Edited as it says
/// (`_flexram_bank_config`, the stack top, MEMORY lengths), the image linked with the plan
/// programs that split in its reset handler and boots.
#[test]
fn teensy_boots_under_the_split_flexram_auto_chose_not_the_scripts() {
    if !common::require_tool("arm-none-eabi-gcc") {
        return;
    }
    let fixture = common::firmware_build_dir().join("teensy");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let elf = fixture.join("teensy.elf");
    let (plan_path, stdout) = plan("teensy", dir, &["--flexram", "auto"]);
    let plan = Plan::load(&plan_path).unwrap();
    let f = plan.flexram.as_ref().unwrap();
    let s = f.split;
    let scripts = symbol_value(&elf, "_flexram_bank_config").unwrap() as u32;
    assert_ne!(
        scripts, f.registers.gpr17,
        "a split other than the script's:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("_flexram_bank_config = {scripts:#010x}"))
            && stdout.contains("set _flexram_bank_config to the GPR17 value above"),
        "{stdout}"
    );

    let kb = |b: u64| b / 1024;
    let script = std::fs::read_to_string(fixture.join("teensy.ld")).unwrap();
    let script = edit_line(
        &script,
        "_flexram_bank_config =",
        &format!("_flexram_bank_config = {:#010x};", f.registers.gpr17),
    );
    let script = edit_line(
        &script,
        "_estack =",
        &format!("_estack = ORIGIN(DTCM) + {}K;", kb(s.dtcm_bytes())),
    );
    let script = edit_line(
        &script,
        "ITCM  (rwx)",
        &format!(
            "ITCM  (rwx) : ORIGIN = 0x00000000, LENGTH = {}K",
            kb(s.itcm_bytes())
        ),
    );
    let script = edit_line(
        &script,
        "DTCM  (rwx)",
        &format!(
            "DTCM  (rwx) : ORIGIN = 0x20000000, LENGTH = {}K",
            kb(s.dtcm_bytes())
        ),
    );
    std::fs::write(dir.join("split.ld"), script).unwrap();
    let planned = link_with_script("teensy", &dir.join("split.ld"), &plan_path, dir);
    assert_eq!(
        symbol_value(&planned, "_flexram_bank_config"),
        Some(u64::from(f.registers.gpr17))
    );
    let (success, stdout, stderr) = hotlink(&["run", planned.to_str().unwrap()]);
    assert!(
        success && stdout.contains("exit status    0"),
        "boots under the chosen split:\n{stdout}{stderr}"
    );
}
