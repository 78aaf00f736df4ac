//! Placement plans end to end: `hotlink link --plan` moves hot functions, libc and libgcc members
//! included (memcpy, memset, `__aeabi_uidiv`, `__aeabi_uldivmod`…), into ITCM and OCRAM, and
//! every fixture still passes in QEMU; the `--emit-ld` fragment, INCLUDEd into a copy of the
//! fixture's script, gives GNU ld and LLD images that pass too. Also: the RAM-only check with its
//! chains, the veneer reserve, and the plan's error messages.
//!
//! Plans are built here from each fixture's JSON link map with `hotlink::plan` types, as
//! `hotlink plan` would write them.

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::board::RegionKind;
use hotlink::linkmap::{LinkMap, MapInputSection};
use hotlink::plan::{Placement, Plan, PlanRegion, Prediction};
use link_support::{
    assert_fixture_passes, fixtures, gcc_b_dir, hotlink, output, run, toolchain_or_skip, Fixture,
    CFLAGS,
};

fn region(name: &str, kind: RegionKind, base: u64, size: u64, veneer_bytes: u64) -> PlanRegion {
    PlanRegion {
        name: name.into(),
        kind,
        base,
        size,
        budget: size / 2,
        used: 0,
        veneer_bytes,
    }
}

fn placement(s: &MapInputSection, to: &str, reason: &str) -> Placement {
    Placement {
        object: s.object.clone(),
        member: s.member.clone(),
        section: s.section.clone(),
        size: s.size,
        from: "FLASH".into(),
        to: to.into(),
        reason: reason.into(),
        cycles_saved: 1.0,
    }
}

fn plan(placements: Vec<Placement>, veneer_bytes: u64) -> Plan {
    Plan {
        format: hotlink::plan::FORMAT.into(),
        version: hotlink::plan::VERSION,
        board: "imxrt1062".into(),
        strategy: "test".into(),
        regions: vec![
            region("ITCM", RegionKind::Itcm, 0, 128 << 10, veneer_bytes),
            region(
                "OCRAM2",
                RegionKind::Ocram,
                0x2020_0000,
                512 << 10,
                veneer_bytes,
            ),
            region("FLASH", RegionKind::Xip, 0x6000_0000, 8 << 20, veneer_bytes),
        ],
        placements,
        veneers: Vec::new(),
        prediction: Prediction {
            baseline_cycles: 2.0,
            planned_cycles: 1.0,
        },
        solver: None,
        forced: Vec::new(),
        estimate: None,
        flexram: None,
    }
}

/// Links `fixture` with hotlink plus `extra` arguments into `out`, writing a JSON map beside it.
fn hotlink_link(fixture: &Fixture, out: &Path, extra: &[String]) -> std::process::Output {
    output(
        Command::new(hotlink())
            .arg("link")
            .args(&fixture.args)
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg(format!(
                "--json-map={}",
                out.with_extension("json").display()
            ))
            .current_dir(&fixture.dir),
    )
}

/// The plan this test applies to a fixture: every libc/libgcc function the baseline puts in
/// flash goes to ITCM (these are the helpers flash-disabled code calls), and of the fixture's own
/// functions (not the startup code, which runs before the copy) the four largest go to OCRAM and
/// the next four to ITCM.
fn hot_plan(baseline: &LinkMap, veneer_bytes: u64) -> Plan {
    let code_in_flash = |s: &&MapInputSection| {
        s.kind == "code" && s.region.as_deref() == Some("m_flash") && s.size > 0
    };
    let mut placements: Vec<Placement> = baseline
        .input_sections
        .iter()
        .filter(code_in_flash)
        .filter(|s| s.member.is_some())
        .map(|s| placement(s, "ITCM", "hot"))
        .collect();
    let mut own: Vec<&MapInputSection> = baseline
        .input_sections
        .iter()
        .filter(code_in_flash)
        .filter(|s| s.member.is_none() && !s.object.contains("startup.o"))
        .collect();
    own.sort_by_key(|s| std::cmp::Reverse(s.size));
    for (i, s) in own.iter().take(8).enumerate() {
        placements.push(placement(s, if i < 4 { "OCRAM2" } else { "ITCM" }, "hot"));
    }
    plan(placements, veneer_bytes)
}

/// Where each planned section runs in a linked image, by its JSON map.
fn assert_placed(map: &LinkMap, plan: &Plan, name: &str) {
    for p in &plan.placements {
        let s = map
            .input_sections
            .iter()
            .find(|s| s.object == p.object && s.member == p.member && s.section == p.section)
            .unwrap_or_else(|| panic!("{name}: {} {:?} missing from the map", p.object, p.member));
        let (region, output) = match p.to.as_str() {
            "ITCM" => ("m_itcm", ".itcm"),
            _ => ("m_ocram", ".ocram"),
        };
        assert_eq!(s.region.as_deref(), Some(region), "{name}: {s:?}");
        assert_eq!(s.output_section, output, "{name}: {s:?}");
        assert!(
            s.load_region.as_deref() == Some("m_flash"),
            "{name}: loaded from flash: {s:?}"
        );
    }
}

/// A copy of the fixture's script for GNU ld and LLD with the plan's fragment INCLUDEd: both give
/// an input section to the first output section that matches it, so the RAM code sections move
/// ahead of `.text` (their load images go to a fixed place in flash, 4 MB in, clear of the rest).
/// The unwind entries of code moved to ITCM are discarded: from `.ARM.exidx` in flash they are
/// beyond R_ARM_PREL31's ±1 GB, which both linkers reject (hotlink leaves them out by itself).
fn script_with_fragment(fixture: &Fixture, plan: &Plan, dir: &Path) -> PathBuf {
    let fragment = plan.to_ld_fragment();
    let discard: String = plan
        .placements
        .iter()
        .filter(|p| p.to == "ITCM")
        .map(|p| {
            let exidx = Placement {
                section: ".ARM.exidx*".into(),
                ..p.clone()
            };
            format!("    {}\n", exidx.ld_pattern())
        })
        .collect();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in fragment.lines() {
        if let Some(rest) = line.strip_prefix("/* region ") {
            blocks.push((rest.split(' ').next().unwrap().to_string(), String::new()));
        } else if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    let include = |region: &str| -> String {
        let path = dir.join(format!("{region}.ld"));
        let text = blocks
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        std::fs::write(&path, text).unwrap();
        format!("    INCLUDE \"{}\"\n", path.display())
    };
    let original = std::fs::read_to_string(fixture.dir.join("imxrt1062.ld")).unwrap();
    let take = |text: &mut String, start: &str, end: &str| -> String {
        let i = text.find(start).unwrap();
        let j = text[i..].find(end).unwrap() + i + end.len();
        let block = text[i..j].to_string();
        text.replace_range(i..j, "");
        block
    };
    let mut script = original.clone();
    let itcm = take(&mut script, "  .itcm :", "__itcm_load__ = LOADADDR(.itcm);")
        .replace(
            "    *(.ramfunc*)\n",
            &format!("{}    *(.ramfunc*)\n", include("ITCM")),
        )
        .replace(".itcm :", ".itcm : AT(ORIGIN(m_flash) + 0x400000)")
        .replace("> m_itcm AT> m_flash", "> m_itcm");
    let ocram = take(
        &mut script,
        "  .ocram :",
        "__ocram_load__ = LOADADDR(.ocram);",
    )
    .replace(
        "    *(.ocram*)\n",
        &format!("{}    *(.ocram*)\n", include("OCRAM2")),
    )
    .replace(".ocram :", ".ocram : AT(LOADADDR(.itcm) + SIZEOF(.itcm))")
    .replace("> m_ocram AT> m_flash", "> m_ocram");
    let at = script.find("  .text ORIGIN(m_flash)").unwrap();
    script.insert_str(
        at,
        &format!("  /DISCARD/ : {{\n{discard}  }}\n\n{itcm}\n\n{ocram}\n\n"),
    );
    assert!(script.contains("INCLUDE") && script != original);
    let path = dir.join("imxrt1062-plan.ld");
    std::fs::write(&path, script).unwrap();
    path
}

/// The fixture's arguments with its script replaced.
fn args_with_script(fixture: &Fixture, script: &Path) -> Vec<String> {
    fixture
        .args
        .iter()
        .map(|a| {
            if a.ends_with(".ld") {
                script.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn qemu_fixtures() -> Vec<Fixture> {
    fixtures()
        .into_iter()
        .filter(|f| f.dir.join("imxrt1062.ld").is_file())
        .collect()
}

fn check_run(elf: &Path, name: &str, who: &str) {
    let text = assert_fixture_passes(elf, name, &format!("{who} with the plan"));
    if name == "flashwrite" {
        assert!(
            text.contains("helpers_in_flash=0"),
            "{name} ({who}): the flash helpers must run from RAM:\n{text}"
        );
    }
}

#[test]
fn planned_fixtures_pass_in_qemu_with_hotlink_gnu_ld_and_lld() {
    let all = qemu_fixtures();
    assert!(!all.is_empty(), "no fixtures under tests/firmware/build");
    if !toolchain_or_skip(&["arm-none-eabi-ld", "ld.lld", "qemu-system-arm"]) {
        return;
    }
    for fixture in &all {
        let name = &fixture.name;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.elf");
        let out = hotlink_link(fixture, &base, &[]);
        assert!(out.status.success(), "{name}: {out:?}");
        let baseline = LinkMap::load(&base.with_extension("json")).unwrap();
        let plan = hot_plan(&baseline, 4096);
        let members: Vec<&str> = plan
            .placements
            .iter()
            .filter_map(|p| p.member.as_deref())
            .collect();
        let links_members = baseline
            .input_sections
            .iter()
            .any(|s| s.member.is_some() && s.kind == "code" && s.size > 0);
        assert!(
            !links_members || !members.is_empty(),
            "{name}: libc/libgcc members in the plan"
        );
        if name == "flashwrite" {
            for m in ["_udivsi3.o", "_aeabi_uldivmod.o", "lib_a-memcpy.o"] {
                assert!(members.contains(&m), "{name}: {m} in the plan");
            }
        }
        let plan_path = dir.path().join("plan.json");
        plan.save(&plan_path).unwrap();
        let fragment_path = dir.path().join("plan.ld");
        let planned = dir.path().join("planned.elf");
        let out = hotlink_link(
            fixture,
            &planned,
            &[
                format!("--plan={}", plan_path.display()),
                "--emit-ld".into(),
                fragment_path.display().to_string(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(
            !stderr.contains("warning: plan:"),
            "{name}: veneers within the reserve: {stderr}"
        );
        assert!(stderr.contains("note: plan:"), "{name}: {stderr}");
        let map = LinkMap::load(&planned.with_extension("json")).unwrap();
        assert_placed(&map, &plan, name);
        check_run(&planned, name, "hotlink");
        // The same plan through the gcc driver, with hotlink standing in for ld.
        let driven = dir.path().join("driven.elf");
        let objects = fixture.args.iter().filter(|a| a.ends_with(".o"));
        run(Command::new("arm-none-eabi-gcc")
            .arg("-B")
            .arg(gcc_b_dir(dir.path()))
            .args(&CFLAGS[..4])
            .args(["-nostartfiles", "-T", "imxrt1062.ld"])
            .args(objects)
            .args(["-Wl,--gc-sections", "-lm"])
            .arg(format!("-Wl,--plan={}", plan_path.display()))
            .arg("-o")
            .arg(&driven)
            .current_dir(&fixture.dir));
        check_run(&driven, name, "gcc -B hotlink");

        let fragment = std::fs::read_to_string(&fragment_path).unwrap();
        assert_eq!(fragment, plan.to_ld_fragment());
        let script = script_with_fragment(fixture, &plan, dir.path());
        let args = args_with_script(fixture, &script);
        for (linker, tag) in [("arm-none-eabi-ld", "gnu"), ("ld.lld", "lld")] {
            let elf = dir.path().join(format!("{tag}.elf"));
            run(Command::new(linker)
                .args(&args)
                .arg("-o")
                .arg(&elf)
                .current_dir(&fixture.dir));
            check_run(&elf, name, linker);
        }
    }
}

fn vm() -> Fixture {
    qemu_fixtures()
        .into_iter()
        .find(|f| f.name == "vm")
        .expect("the vm fixture")
}

fn flashwrite() -> Option<Fixture> {
    qemu_fixtures().into_iter().find(|f| f.name == "flashwrite")
}

#[test]
fn ram_only_code_reaching_flash_is_reported_with_its_chain() {
    let Some(fixture) = flashwrite() else {
        panic!("the flashwrite fixture is missing");
    };
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("fw.elf");
    // A plain link warns (the baseline keeps the helpers in flash on purpose)...
    let out = hotlink_link(&fixture, &elf, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: RAM-only code reaches code in flash: flash_program_page \
             (.ramfunc.flash_program_page, flash.o) -> memcpy (.text, libc.a(lib_a-memcpy.o)) in m_flash"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("__aeabi_uidiv (.text, libgcc.a(_udivsi3.o)) in m_flash"));
    assert!(
        stderr.contains("`*libc.a:lib_a-memcpy.o(.text)`"),
        "{stderr}"
    );
    // ...an error when asked, and silent when turned off.
    let out = hotlink_link(&fixture, &elf, &["--ram-only-check=error".into()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-> memset (.text, libc.a(lib_a-memset.o))")
    );
    let out = hotlink_link(&fixture, &elf, &["--ram-only-check=off".into()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("RAM-only"));
    // --ram-only marks more roots: main is in flash itself, so it is reported alone.
    let out = hotlink_link(&fixture, &elf, &["--ram-only=.text.startup.m*".into()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reaches code in flash: main (.text.startup.main, main.o) in m_flash"),
        "{stderr}"
    );
    // --board takes the flash regions from the board description instead.
    let out = hotlink_link(&fixture, &elf, &["--board=imxrt1062".into()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("-> memcpy"));
}

#[test]
fn a_plan_that_leaves_flash_helpers_behind_is_an_error() {
    let Some(fixture) = flashwrite() else {
        panic!("the flashwrite fixture is missing");
    };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.elf");
    assert!(hotlink_link(&fixture, &base, &[]).status.success());
    let baseline = LinkMap::load(&base.with_extension("json")).unwrap();
    // Only memcpy moves: memset and the division helpers stay in flash.
    let memcpy = baseline
        .input_sections
        .iter()
        .find(|s| s.member.as_deref() == Some("lib_a-memcpy.o"))
        .unwrap();
    let p = plan(vec![placement(memcpy, "ITCM", "ram-only")], 64);
    let plan_path = dir.path().join("plan.json");
    p.save(&plan_path).unwrap();
    let elf = dir.path().join("planned.elf");
    let out = hotlink_link(&fixture, &elf, &[format!("--plan={}", plan_path.display())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("-> memset (.text, libc.a(lib_a-memset.o)) in m_flash"),
        "{stderr}"
    );
    assert!(!stderr.contains("-> memcpy"), "memcpy moved: {stderr}");
    assert!(!elf.exists(), "no image when the check fails");
}

#[test]
fn veneers_beyond_the_plans_reserve_are_reported() {
    let Some(fixture) = qemu_fixtures().into_iter().find(|f| f.name == "vm") else {
        panic!("the vm fixture is missing");
    };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.elf");
    assert!(hotlink_link(&fixture, &base, &[]).status.success());
    let baseline = LinkMap::load(&base.with_extension("json")).unwrap();
    let p = hot_plan(&baseline, 0);
    let plan_path = dir.path().join("plan.json");
    p.save(&plan_path).unwrap();
    let elf = dir.path().join("planned.elf");
    let out = hotlink_link(
        &fixture,
        &elf,
        &[
            format!("--plan={}", plan_path.display()),
            "--place-into".into(),
            "OCRAM2=.ocram".into(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: plan: the moves added")
            && stderr.contains("reserved (veneers to"),
        "{stderr}"
    );
    // The veneers the warning counts are in the map: calls between flash and the moved code.
    let map = LinkMap::load(&elf.with_extension("json")).unwrap();
    assert!(map
        .veneers
        .iter()
        .any(|v| v.region.as_deref() == Some("m_flash")));
    assert!(map
        .veneers
        .iter()
        .any(|v| v.region.as_deref() == Some("m_itcm")));
}

#[test]
fn plan_errors_name_what_is_wrong() {
    let Some(fixture) = qemu_fixtures().into_iter().find(|f| f.name == "vm") else {
        panic!("the vm fixture is missing");
    };
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("x.elf");
    let mut stale = plan(Vec::new(), 0);
    stale.placements.push(Placement {
        object: "../vm/interp.o".into(),
        member: None,
        section: ".text.no_such_function".into(),
        size: 4,
        from: "FLASH".into(),
        to: "ITCM".into(),
        reason: "hot".into(),
        cycles_saved: 0.0,
    });
    let plan_path = dir.path().join("plan.json");
    stale.save(&plan_path).unwrap();
    let plan_arg = format!("--plan={}", plan_path.display());
    let out = hotlink_link(&fixture, &elf, std::slice::from_ref(&plan_arg));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("`.text.no_such_function` of ../vm/interp.o")
            && stderr.contains("another build"),
        "{stderr}"
    );
    let out = hotlink_link(
        &fixture,
        &elf,
        &[plan_arg.clone(), "--place-into=ITCM=.nowhere".into()],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no output section `.nowhere`"));
    let out = hotlink_link(&fixture, &elf, &["--place-into=ITCM=.itcm".into()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only applies with --plan"));
    std::fs::write(&plan_path, "{\"format\": \"hotlink-plan\", \"version\": 1").unwrap();
    let out = hotlink_link(&fixture, &elf, &[plan_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plan.json") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(!elf.exists());
}

/// `hotlink plan --emit-ld DIR/` writes one INCLUDE file per receiving output section; INCLUDEd
/// where the old recipe said (inside `.itcm` and `.ocram`, after `.text` in the script) GNU ld
/// and LLD silently leave everything in flash, and `hotlink verify` says so, section by section.
/// With the receiving sections ahead of `.text`, and with hotlink's own `--plan`, it passes.
#[test]
fn verify_catches_a_plan_the_linker_did_not_honour() {
    if !toolchain_or_skip(&["arm-none-eabi-ld", "ld.lld"]) {
        return;
    }
    let fixture = vm();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plan_path = d.join("plan.json");
    let includes = d.join("ld");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/vm.imxrt1062.sim.json");
    let out = output(
        Command::new(hotlink())
            .args(["plan", "--budget", "ITCM=2K", "--budget", "OCRAM2=2K"])
            .arg("--profile")
            .arg(&profile)
            .arg("--map")
            .arg(fixture.dir.join("vm.map"))
            .arg("-o")
            .arg(&plan_path)
            .arg(format!("--emit-ld={}/", includes.display()))
            .arg(fixture.dir.join("vm.elf")),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("stay put for startup safety") && stdout.contains("Reset_Handler"),
        "plan says what stays and why:\n{stdout}"
    );
    let plan = Plan::load(&plan_path).unwrap();
    assert!(
        plan.placements.iter().any(|p| p.to == "ITCM")
            && plan.placements.iter().any(|p| p.to == "OCRAM2"),
        "{plan:?}"
    );
    for file in ["itcm.ld", "ocram.ld"] {
        let text = std::fs::read_to_string(includes.join(file)).unwrap();
        assert!(text.contains(".o(.text."), "{file}: {text}");
    }
    let verify = |map: &Path| {
        output(
            Command::new(hotlink())
                .arg("verify")
                .arg(format!("--plan={}", plan_path.display()))
                .arg(format!("--map={}", map.display())),
        )
    };

    // The old recipe: INCLUDE inside the receiving sections, which come after `.text`.
    let original = std::fs::read_to_string(fixture.dir.join("imxrt1062.ld")).unwrap();
    let wrong = original
        .replace(
            "    *(.ramfunc*)\n",
            &format!(
                "    INCLUDE \"{}\"\n    *(.ramfunc*)\n",
                includes.join("itcm.ld").display()
            ),
        )
        .replace(
            "    *(.ocram*)\n",
            &format!(
                "    INCLUDE \"{}\"\n    *(.ocram*)\n",
                includes.join("ocram.ld").display()
            ),
        );
    assert_ne!(wrong, original);
    let wrong_script = d.join("wrong.ld");
    std::fs::write(&wrong_script, wrong).unwrap();
    let right_script = script_with_fragment(&fixture, &plan, d);
    for (linker, tag) in [("arm-none-eabi-ld", "gnu"), ("ld.lld", "lld")] {
        for (script, honoured) in [(&wrong_script, false), (&right_script, true)] {
            let map = d.join(format!("{tag}-{honoured}.map"));
            run(Command::new(linker)
                .args(args_with_script(&fixture, script))
                .arg("-o")
                .arg(d.join(format!("{tag}-{honoured}.elf")))
                .arg(format!("-Map={}", map.display()))
                .current_dir(&fixture.dir));
            let out = verify(&map);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.success(),
                honoured,
                "{linker} {script:?}: {stderr}"
            );
            if !honoured {
                let first = &plan.placements[0];
                assert!(
                    stderr.contains(&format!(
                        "{} planned sections are not where",
                        plan.placements.len()
                    )) && stderr.contains(&first.section)
                        && stderr.contains("planned for"),
                    "{linker}: {stderr}"
                );
            }
        }
    }
    let planned = d.join("hotlink.elf");
    let out = hotlink_link(
        &fixture,
        &planned,
        &[format!("--plan={}", plan_path.display())],
    );
    assert!(out.status.success(), "{out:?}");
    let out = verify(&planned.with_extension("json"));
    assert!(out.status.success(), "{out:?}");
}

/// `hotlink link --plan` refuses to fill a RAM section that no startup code copies: here the
/// vm script's `.itcm` bounds are renamed, so nothing reads them (as with the SDK's
/// `.ram_function` built without `__STARTUP_INITIALIZE_RAMFUNCTION`).
#[test]
fn a_plan_into_a_section_nothing_copies_is_refused() {
    let fixture = vm();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = std::fs::read_to_string(fixture.dir.join("imxrt1062.ld")).unwrap();
    let uncopied = original.replace("__itcm_", "__itcm_unread_")
        + "\n__itcm_start__ = 0;\n__itcm_end__ = 0;\n__itcm_load__ = 0;\n";
    let script = d.join("uncopied.ld");
    std::fs::write(&script, uncopied).unwrap();
    let args = args_with_script(&fixture, &script);
    let baseline = d.join("base.elf");
    let out = output(
        Command::new(hotlink())
            .arg("link")
            .args(&args)
            .arg("-o")
            .arg(&baseline)
            .arg(format!("--json-map={}", d.join("base.json").display()))
            .current_dir(&fixture.dir),
    );
    assert!(
        out.status.success(),
        "the script links without a plan: {out:?}"
    );
    let map = LinkMap::load(&d.join("base.json")).unwrap();
    let plan = hot_plan(&map, 4096);
    let plan_path = d.join("plan.json");
    plan.save(&plan_path).unwrap();
    let out = output(
        Command::new(hotlink())
            .arg("link")
            .args(&args)
            .arg(format!("--plan={}", plan_path.display()))
            .arg("-o")
            .arg(d.join("planned.elf"))
            .current_dir(&fixture.dir),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("output section .itcm")
            && stderr.contains("__itcm_unread_start__")
            && stderr.contains("nothing copies it"),
        "{stderr}"
    );
    assert!(!d.join("planned.elf").exists());
}
