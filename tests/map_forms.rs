//! Every form of link map reads the same: GNU ld's `-Map`, hotlink's `-Map` (GNU-style) and
//! JSON map, and LLD's `-Map`, of the same inputs and script, list the same sections, and each
//! gives the same plan of its image as GNU ld's map does, on every fixture that has a profile
//! and on the realistic SDK-, PX4- and Zephyr-style ones (profiled here). Not the Teensy-style
//! one: its plans
//! free ITCM (`--free`), and LLD keeps crtbegin's `.init_array`/`.fini_array` that GNU ld
//! collects (docs/linker.md), so LLD's map lists other sections.
//! (Images from different linkers differ in their merged data and LLD orders archive members its
//! own way, so plans are compared per image, and LLD's only by the sections it lists.)

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::linkmap::LinkMap;
use hotlink::plan::Plan;
use link_support::{fixtures, hotlink, output, run, toolchain_or_skip, Fixture};

/// An input section by file base name: (object, member, section, address, size, symbols in it).
type Section = (String, Option<String>, String, u64, u64, usize);
/// A planned move: (object base name, member, section, to region).
type Move = (String, Option<String>, String, String);

/// The loaded input sections of a map but veneers, unwind tables and merged strings (which LLD
/// turns into linker-made sections); kinds are left out, as a JSON map knows them and a text map guesses.
/// With `same_layout`, code sections carry their addresses (GNU ld and hotlink lay the inputs out
/// alike); LLD takes archive members in another order, so for it the symbols found in each
/// section by address in its own image are what shows its addresses were read right.
fn code_sections(map: &LinkMap, elf: &Path, same_layout: bool) -> Vec<Section> {
    let elf = std::fs::read(elf).unwrap();
    let map = map.with_image_symbols(&elf);
    let mut out: Vec<_> = map
        .input_sections
        .iter()
        .filter(|s| s.size > 0 && !matches!(s.kind.as_str(), "debug" | "unwind" | "veneer"))
        .filter(|s| !s.section.starts_with(".ARM.ex") && !s.section.contains(".str"))
        .map(|s| {
            // An archive member by its own name: the same member (scalbn) is in libc.a and libm.a,
            // and GNU ld and LLD take it from different ones.
            let file = s.object.rsplit('/').next().unwrap().to_string();
            (
                if s.member.is_some() && !same_layout {
                    String::new()
                } else {
                    file
                },
                s.member.clone(),
                s.section.clone(),
                // Code lands at the same addresses; merged data (strings) may shift the rest.
                if same_layout && s.section.starts_with(".text") {
                    s.address
                } else {
                    0
                },
                s.size,
                s.symbols.len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The realistic fixtures, whose scripts are their projects' own (no committed profile: one is
/// captured on the virtual board), with the plan options of their recipes: ITCM is the only
/// code region their scripts copy.
const REALISTIC: &[(&str, &[&str])] = &[
    ("sdk", &["--budget", "ITCM=4K"]),
    ("px4-style", &["--budget", "ITCM=4K", "--ignore-boot-copy"]),
    (
        "zephyr-style",
        &["--budget", "ITCM=4K", "--ignore-boot-copy"],
    ),
];

/// The profile and plan options for `fixture`: its committed profile, or one captured now.
fn profile_and_options(fixture: &Fixture, dir: &Path) -> (PathBuf, Vec<&'static str>) {
    if let Some((_, options)) = REALISTIC.iter().find(|(n, _)| *n == fixture.name) {
        let profile = dir.join("captured.profile.json");
        let elf = fixture.dir.join(format!("{}.elf", fixture.name));
        run(Command::new(hotlink())
            .args(["capture", "--sim", "-o"])
            .arg(&profile)
            .arg(elf));
        return (profile, options.to_vec());
    }
    let profile = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("profiles/{}.imxrt1062.sim.json", fixture.name));
    (
        profile,
        vec!["--budget", "ITCM=4K", "--budget", "OCRAM2=4K"],
    )
}

/// `hotlink plan` of `elf` with `map`; the plan's moves by (object base name, member, section, to).
fn plan_moves(
    (profile, options): &(PathBuf, Vec<&str>),
    fixture: &Fixture,
    elf: &Path,
    map: &Path,
    dir: &Path,
) -> Vec<Move> {
    let out = dir.join(format!(
        "{}.plan.json",
        map.file_name().unwrap().to_string_lossy()
    ));
    run(Command::new(hotlink())
        .args(["plan", "--strategy", "greedy"])
        .args(options)
        .arg("--profile")
        .arg(profile)
        .arg("--map")
        .arg(map)
        .arg("--link-dir")
        .arg(&fixture.dir)
        .arg("-o")
        .arg(&out)
        .arg(elf));
    let plan = Plan::load(&out).unwrap();
    let mut moves: Vec<_> = plan
        .placements
        .iter()
        .map(|p| {
            let file = p.object.rsplit('/').next().unwrap().to_string();
            (file, p.member.clone(), p.section.clone(), p.to.clone())
        })
        .collect();
    moves.sort();
    moves
}

#[test]
fn every_map_form_gives_the_same_sections_and_plan() {
    if !toolchain_or_skip(&["ld.lld"]) {
        return;
    }
    let profiled: Vec<Fixture> = fixtures()
        .into_iter()
        .filter(|f| {
            REALISTIC.iter().any(|(n, _)| *n == f.name)
                || f.dir.join("imxrt1062.ld").is_file()
                    && Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join(format!("profiles/{}.imxrt1062.sim.json", f.name))
                        .is_file()
        })
        .collect();
    assert!(
        profiled.len() >= 4 + REALISTIC.len(),
        "fixtures with profiles"
    );
    for fixture in &profiled {
        let name = &fixture.name;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let how = profile_and_options(fixture, d);
        let hotlink_elf = d.join("hotlink.elf");
        let out = output(
            Command::new(hotlink())
                .arg("link")
                .args(&fixture.args)
                .arg("-o")
                .arg(&hotlink_elf)
                .arg(format!("-Map={}", d.join("hotlink.map").display()))
                .arg(format!("--json-map={}", d.join("hotlink.json").display()))
                .current_dir(&fixture.dir),
        );
        assert!(out.status.success(), "{name}: {out:?}");
        let lld_elf = d.join("lld.elf");
        run(Command::new("ld.lld")
            .args(&fixture.args)
            .arg("-o")
            .arg(&lld_elf)
            .arg(format!("-Map={}", d.join("lld.map").display()))
            .current_dir(&fixture.dir));
        let gnu_map = fixture.dir.join(format!("{name}.map"));
        let gnu_elf = fixture.dir.join(format!("{name}.elf"));
        let forms: [(&str, PathBuf, &PathBuf); 3] = [
            ("hotlink -Map", d.join("hotlink.map"), &hotlink_elf),
            ("hotlink JSON", d.join("hotlink.json"), &hotlink_elf),
            ("LLD", d.join("lld.map"), &lld_elf),
        ];
        let gnu = LinkMap::load(&gnu_map).unwrap();
        let sections = code_sections(&gnu, &gnu_elf, true);
        let unplaced = code_sections(&gnu, &gnu_elf, false);
        assert!(sections.len() > 5, "{name}: {sections:?}");
        // GNU ld and hotlink lay the sections out at the same addresses, so GNU ld's map
        // describes hotlink's image too: each form's plan of it must equal the plan from GNU
        // ld's map.
        let mut gnu_plans: Vec<(&PathBuf, Vec<Move>)> = Vec::new();
        for (form, map, elf) in &forms {
            let map_read = LinkMap::load(map).unwrap_or_else(|e| panic!("{name} {form}: {e:#}"));
            let same_layout = *form != "LLD";
            let read = code_sections(&map_read, elf, same_layout);
            let sections = if same_layout { &sections } else { &unplaced };
            let only = |a: &[Section], b: &[Section]| -> Vec<Section> {
                a.iter()
                    .filter(|s| !b.contains(s))
                    .take(5)
                    .cloned()
                    .collect()
            };
            assert!(
                &read == sections,
                "{name}: the {form} map differs from GNU ld's: only in {form} (first 5): {:?}; only in GNU ld's: {:?}",
                only(&read, sections),
                only(sections, &read)
            );
            if !same_layout {
                let moves = plan_moves(&how, fixture, elf, map, d);
                assert!(!moves.is_empty(), "{name}: the plan from the {form} map");
                continue;
            }
            let expected = match gnu_plans.iter().find(|(e, _)| e == elf) {
                Some((_, moves)) => moves.clone(),
                None => {
                    let moves = plan_moves(&how, fixture, elf, &gnu_map, d);
                    gnu_plans.push((elf, moves.clone()));
                    moves
                }
            };
            assert!(!expected.is_empty(), "{name}: the plan moves something");
            assert_eq!(
                plan_moves(&how, fixture, elf, map, d),
                expected,
                "{name}: plan from the {form} map against GNU ld's"
            );
        }
    }
}
