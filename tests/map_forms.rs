//! Every form of link map reads the same: GNU ld's `-Map`, hotlink's `-Map` (GNU-style) and
//! JSON map, and LLD's `-Map`, of the same inputs and script, list the same sections, and each
//! gives the same plan of its image as GNU ld's map does, on every fixture that has a profile
//! and on the realistic SDK-, PX4-, Zephyr- and Teensy-style ones (profiled here).
//! (Images from different linkers differ in their merged data and LLD orders archive members its
//! own way, so plans are compared per image, and LLD's only by the sections it lists; on teensy,
//! whose code all runs from ITCM so that the plan's moves do not hang on archive order, LLD's
//! plan of its own image must also equal GNU ld's on the code both links have, but for the
//! listed exceptions of `LLD_DIFFERS`.)

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
    // Everything runs from ITCM: the plan gives 1 KB of it back (of the 2 KB it can move).
    ("teensy", &["--free", "ITCM=1K"]),
];

/// Where LLD's link of a fixture differs from GNU ld's, by design, and so its map and plan:
/// (fixture, section, why). A listed `name` covers the sections whose names start with it, an
/// `object:name` only that object's; those are in LLD's map only, or, for a move, may be in one
/// plan only.
const LLD_DIFFERS: &[(&str, &str, &str)] = &[
    // docs/linker.md, GNU ld against LLD, "GC roots": LLD keeps every `.init_array*` and
    // `.fini_array*` input; teensy's script KEEPs only `.init_array`, so GNU ld collects
    // crtbegin's `.fini_array`, startup.o's prioritised `.init_array.00101`, the constructor
    // that one names, `early_ctor`, and the flag it sets.
    (
        "teensy",
        ".init_array.",
        "LLD keeps prioritised constructors",
    ),
    (
        "teensy",
        ".fini_array",
        "LLD keeps crtbegin's destructor list",
    ),
    (
        "teensy",
        ".text.startup.early_ctor",
        "named by `.init_array.00101` only, which LLD keeps",
    ),
    ("teensy", ".bss.early_ctor_ran", "set by `early_ctor` only"),
    // LLD keeps every input section named `.fini`; GNU ld keeps crti's (`_fini` is a root)
    // and collects crtn's epilogue.
    ("teensy", "crtn.o:.fini", "LLD keeps every `.fini` input"),
    // In LLD's image `early_ctor` sits in ITCM just before it, 12 bytes on: the cache what-if
    // run prices its move to flash at a 170-cycle gain there, at a small loss in GNU ld's image.
    (
        "teensy",
        ".text._ZNK4Rect4areaEv",
        "its move is a cache-layout close call that LLD's layout tips",
    ),
];

/// Whether `section` of `object` (a base name) in `fixture` is one of LLD's listed differences.
fn lld_differs(fixture: &str, object: &str, section: &str) -> bool {
    LLD_DIFFERS.iter().any(|(f, s, _)| {
        *f == fixture
            && match s.split_once(':') {
                Some((o, s)) => o == object && section == s,
                None => section.starts_with(s),
            }
    })
}

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
            let mut read = code_sections(&map_read, elf, same_layout);
            read.retain(|s| same_layout || !lld_differs(name, &s.0, &s.2));
            let lld_sections: Vec<Section>;
            let sections = if same_layout {
                &sections
            } else {
                lld_sections = unplaced
                    .iter()
                    .filter(|s| !lld_differs(name, &s.0, &s.2))
                    .cloned()
                    .collect();
                &lld_sections
            };
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
                let mut moves = plan_moves(&how, fixture, elf, map, d);
                assert!(!moves.is_empty(), "{name}: the plan from the {form} map");
                if LLD_DIFFERS.iter().any(|(f, _, _)| f == name) {
                    let mut expected = plan_moves(&how, fixture, &gnu_elf, &gnu_map, d);
                    moves.retain(|m| !lld_differs(name, &m.0, &m.2));
                    expected.retain(|m| !lld_differs(name, &m.0, &m.2));
                    assert_eq!(
                        moves, expected,
                        "{name}: LLD's plan of its image against GNU ld's of its own"
                    );
                }
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
