//! The Rust fixtures (`rust-imxrt` on imxrt-rt, `rust-teensy4` on teensy4-bsp) through hotlink's
//! loop, as a Rust user runs it: cargo builds with rustc calling hotlink as its linker (a small
//! script records the link line, which `optimize` replays), then `capture --sim`, `plan`, `link
//! --plan`, `verify`, `optimize` and `check` on the virtual board.
//!
//! imxrt-rt's scripts run all of `.text` from ITCM, copied by its `__pre_init`, and have no ITCM
//! section when `.text` is in flash. The route tested here is the Teensy direction: the plan
//! chooses which code goes back to flash (`plan --free ITCM=N`) into imxrt-rt's own `.xip`
//! section (`--place-into FLASH=.xip`, run in place, nothing to copy), with no hand-written
//! `--exclude`. The other test rebuilds `rust-imxrt` with other flags, which renames every object
//! and function section (new crate hashes), and checks that the old plan still links the same
//! functions to flash, boots and verifies, and that `plan` on the rebuilt link gives the same plan.
//! A third replays the baseline's recorded link line with GNU ld and with rust-lld, each with
//! `hotlink patch-script`'s copy of imxrt-rt's script: the user's own linker honours the plan.
//!
//! Each fixture's baseline is built once per test binary, in the cargo target directory that
//! tests/firmware_rust.rs uses (under the test temp dir: the crates.io dependencies are compiled
//! once; the rebuild with other flags compiles them again). Needs the ARM toolchain
//! and the `thumbv7em-none-eabihf` target: skipped locally with a message, failing in CI.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use common::{cargo_relink, firmware_dir, hotlink, ok, require_rust_fixture_tools};
use hotlink::plan::Plan;
use hotlink::rustnames::{unhashed_file, unhashed_symbol};

/// A Rust fixture and what this test expects of it.
struct Fixture {
    name: &'static str,
    /// The `rustflags` of its `.cargo/config.toml` (RUSTFLAGS replaces them).
    script_flags: &'static str,
    /// The line its program prints on success.
    expect: &'static str,
    /// Functions (unmangled name parts) its workload spends its time in.
    hot: &'static [&'static str],
}

const IMXRT: Fixture = Fixture {
    name: "rust-imxrt",
    script_flags: "-C link-arg=-Timxrt-link.x",
    expect: "rust-imxrt: digest=333f3c1c median=7d1f0f6a failures=0",
    hot: &["checksum", "heap_sort", "mat_mul"],
};

const TEENSY4: Fixture = Fixture {
    name: "rust-teensy4",
    script_flags: "-C link-arg=-Tt4link.x",
    expect: "rust-teensy4: digest=29aa3aee failures=0",
    hot: &["fib_iter"],
};

/// ITCM the plans give back, and where imxrt-rt's scripts run flash code in place.
const FREE: &str = "ITCM=4K";
const PLACE_INTO: &str = "FLASH=.xip";

fn hotlink_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hotlink")
}

fn work_dir(fixture: &Fixture) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("plan-rust")
        .join(fixture.name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fixture's cargo target directory, the one tests/firmware_rust.rs builds in (test binaries
/// run one after the other), so the crates.io dependencies are compiled once per `cargo test`.
fn cargo_target_dir(fixture: &Fixture) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rust-fixtures")
        .join(format!("{}-target", fixture.name))
}

/// One cargo target directory per fixture: its builds run one at a time.
fn cargo_lock(fixture: &Fixture) -> &'static Mutex<()> {
    static IMXRT_LOCK: Mutex<()> = Mutex::new(());
    static TEENSY_LOCK: Mutex<()> = Mutex::new(());
    if fixture.name == IMXRT.name {
        &IMXRT_LOCK
    } else {
        &TEENSY_LOCK
    }
}

/// A linker for rustc's `-C linker=`: records its command line (one argument a line, a response
/// file for `hotlink optimize`) and runs `hotlink link` with it.
fn recording_linker(dir: &Path) -> PathBuf {
    let script = dir.join("record-ld");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOTLINK_LINK_LINE\"\nexec \"$HOTLINK_BIN\" link \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// What one cargo build left: the image, its map and the recorded link line.
struct Built {
    elf: PathBuf,
    map: PathBuf,
    link_line: PathBuf,
}

/// Builds `fixture` under `label`: `rebuild` adds flags that change every crate hash, `link_args`
/// go to the linker (a plan).
fn build(fixture: &Fixture, label: &str, rebuild: bool, link_args: &[String]) -> Built {
    let _guard = cargo_lock(fixture)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = work_dir(fixture);
    let map = dir.join(format!("{label}.map"));
    let link_line = dir.join(format!("{label}.link"));
    let mut cmd = Command::new("cargo");
    cmd.current_dir(firmware_dir().join(fixture.name))
        .env("CARGO_TARGET_DIR", cargo_target_dir(fixture))
        .env("HOTLINK_LINK_LINE", &link_line)
        .env("HOTLINK_BIN", hotlink_bin())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["rustc", "--release", "--locked", "--quiet", "--"])
        .arg("-C")
        .arg(format!("linker={}", recording_linker(&dir).display()))
        // Keeps rustc's `symbols.o`, which the recorded link line names, for `optimize`.
        .args(["-C", "linker-flavor=ld", "-C", "save-temps", "-C"])
        .arg(format!("link-arg=-Map={}", map.display()));
    for arg in link_args {
        cmd.arg("-C").arg(format!("link-arg={arg}"));
    }
    if rebuild {
        // Another crate metadata and debug level: new hashes in every object name and symbol.
        cmd.env(
            "RUSTFLAGS",
            format!(
                "{} -C metadata=hotlink-rebuild -C debuginfo=1",
                fixture.script_flags
            ),
        );
    } else {
        cmd.env_remove("RUSTFLAGS");
    }
    cargo_relink(&mut cmd, fixture.name, label);
    // The recorded line is replayed by other links (`hotlink link @…`, `optimize`): without this
    // build's `-Map`, none of them writes over this build's map (tests run in parallel).
    let recorded = std::fs::read_to_string(&link_line).unwrap();
    let replay: String = recorded
        .lines()
        .filter(|a| !a.starts_with("-Map="))
        .map(|a| format!("{a}\n"))
        .collect();
    std::fs::write(&link_line, replay).unwrap();
    let elf = dir.join(format!("{label}.elf"));
    let built = cargo_target_dir(fixture)
        .join("thumbv7em-none-eabihf/release")
        .join(fixture.name);
    std::fs::copy(&built, &elf).unwrap();
    Built {
        elf,
        map,
        link_line,
    }
}

/// The baseline build of `fixture` and its exact profile, made once per test binary.
fn baseline(fixture: &'static Fixture) -> &'static (Built, PathBuf) {
    static IMXRT_BASE: OnceLock<(Built, PathBuf)> = OnceLock::new();
    static TEENSY_BASE: OnceLock<(Built, PathBuf)> = OnceLock::new();
    let cell = if fixture.name == IMXRT.name {
        &IMXRT_BASE
    } else {
        &TEENSY_BASE
    };
    cell.get_or_init(|| {
        let built = build(fixture, "baseline", false, &[]);
        let profile = work_dir(fixture).join("baseline.profile.json");
        ok(&[
            "capture",
            "--sim",
            "-o",
            profile.to_str().unwrap(),
            built.elf.to_str().unwrap(),
        ]);
        (built, profile)
    })
}

/// Runs `elf` on the virtual RT1062: it must print the fixture's line and exit 0.
fn boots(fixture: &Fixture, elf: &Path) {
    let (success, stdout, stderr) =
        hotlink(&["run", "--max-cycles", "200000000", elf.to_str().unwrap()]);
    assert!(
        success && stdout.contains(fixture.expect),
        "{} ({}) on the virtual board: expected `{}`\nstdout:\n{stdout}\nstderr:\n{stderr}",
        fixture.name,
        elf.display(),
        fixture.expect
    );
}

/// `plan --free` on a build, with no `--exclude`.
fn plan(fixture: &Fixture, built: &Built, profile: &Path, label: &str) -> (Plan, PathBuf, String) {
    let out = work_dir(fixture).join(format!("{label}.plan.json"));
    let text = ok(&[
        "plan",
        "--profile",
        profile.to_str().unwrap(),
        "--map",
        built.map.to_str().unwrap(),
        "--free",
        FREE,
        "-o",
        out.to_str().unwrap(),
        built.elf.to_str().unwrap(),
    ]);
    (Plan::load(&out).unwrap(), out, text)
}

/// The plan's sections by their build-independent names.
fn unhashed(plan: &Plan) -> BTreeSet<(String, Option<String>, String, String)> {
    plan.placements
        .iter()
        .map(|p| {
            let file = p.object.rsplit('/').next().unwrap_or(&p.object);
            (
                unhashed_file(file),
                p.member.as_deref().map(unhashed_file),
                unhashed_symbol(&p.section),
                p.to.clone(),
            )
        })
        .collect()
}

fn verify(plan: &Path, map: &Path) {
    let text = ok(&[
        "verify",
        "--plan",
        plan.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ]);
    assert!(text.contains("where the plan puts them"), "{text}");
}

/// The section names of a GNU-style map's input-section lines (` .text.foo`).
fn map_sections(map: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(map)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(' '))
        .filter(|l| l.starts_with(".text"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn an_imxrt_rt_plan_survives_a_rebuild_with_other_flags() {
    if !require_rust_fixture_tools() {
        return;
    }
    let f = &IMXRT;
    let (base, profile) = baseline(f);
    let (plan1, plan1_path, text) = plan(f, base, profile, "first");
    assert!(!plan1.placements.is_empty(), "{text}");
    assert!(
        plan1
            .placements
            .iter()
            .all(|p| p.from == "ITCM" && p.to == "FLASH"),
        "--free moves ITCM code to flash only: {:#?}",
        plan1.placements
    );
    for stays in [".Reset", ".__pre_init", ".fcb"] {
        assert!(
            plan1.placements.iter().all(|p| p.section != stays),
            "{stays} must stay put: {text}"
        );
    }
    let plan_args = vec![
        format!("--plan={}", plan1_path.display()),
        format!("--place-into={PLACE_INTO}"),
    ];

    let placed = build(f, "placed", false, &plan_args);
    boots(f, &placed.elf);
    verify(&plan1_path, &placed.map);
    sections_the_link_lacks_are_named(f, base, &plan1);

    // Rebuilt with other flags and linked with the old plan.
    let rebuilt = build(f, "rebuilt-placed", true, &plan_args);
    let old_names = map_sections(&base.map);
    let new_names = map_sections(&rebuilt.map);
    let renamed: Vec<&String> = plan1
        .placements
        .iter()
        .map(|p| &p.section)
        .filter(|s| !new_names.contains(*s))
        .collect();
    assert!(
        !renamed.is_empty() && old_names != new_names,
        "the rebuild must rename planned sections for this test to mean anything"
    );
    let base_map = std::fs::read_to_string(&base.map).unwrap();
    let first_object = plan1.placements[0].object.rsplit('/').next().unwrap();
    assert!(base_map.contains(first_object));
    assert!(
        !std::fs::read_to_string(&rebuilt.map)
            .unwrap()
            .contains(first_object),
        "the rebuild must rename {first_object}"
    );
    boots(f, &rebuilt.elf);
    verify(&plan1_path, &rebuilt.map);

    // `plan` on the rebuilt program's own link, with the first profile re-mapped: same plan.
    let rebuilt_base = build(f, "rebuilt", true, &[]);
    let (plan2, _, text2) = plan(f, &rebuilt_base, profile, "rebuilt");
    assert_eq!(
        unhashed(&plan1),
        unhashed(&plan2),
        "the same sections move after the rebuild:\n{text}\n---\n{text2}"
    );
}

/// A plan naming a section the link does not have: linked with a warning that names it; a plan
/// of which nothing is in the link: refused.
fn sections_the_link_lacks_are_named(f: &Fixture, base: &Built, plan: &Plan) {
    let dir = work_dir(f);
    let mut stale = plan.clone();
    let mut gone = stale.placements[0].clone();
    gone.section = ".text._ZN10rust_imxrt7removed17h0123456789abcdefE".into();
    stale.placements.push(gone);
    let stale_path = dir.join("stale.plan.json");
    stale.save(&stale_path).unwrap();
    let link = format!("@{}", base.link_line.display());
    let out = dir.join("stale.elf");
    let run = |plan: &Path| {
        hotlink(&[
            "link",
            &link,
            "-o",
            out.to_str().unwrap(),
            &format!("--plan={}", plan.display()),
            &format!("--place-into={PLACE_INTO}"),
        ])
    };
    let (linked, _, stderr) = run(&stale_path);
    let expected = format!(
        "1 of {} planned section(s) are not in this link",
        stale.placements.len()
    );
    assert!(
        linked && stderr.contains(&expected) && stderr.contains("7removed17h"),
        "{stderr}"
    );
    boots(f, &out);
    stale.placements.drain(..plan.placements.len());
    stale.save(&stale_path).unwrap();
    let (linked, _, stderr) = run(&stale_path);
    assert!(
        !linked && stderr.contains("none of the 1 planned section(s) is in this link"),
        "{stderr}"
    );
}

/// `capture --sim`, `plan`, `optimize` and `check` on one fixture.
fn through_the_loop(f: &'static Fixture) {
    let (base, profile) = baseline(f);
    let dir = work_dir(f);
    let profile_text = std::fs::read_to_string(profile).unwrap();
    for hot in f.hot {
        assert!(
            profile_text.contains(hot),
            "{}: the profile has no {hot}",
            f.name
        );
    }
    let (plan1, _, text) = plan(f, base, profile, "loop");
    assert!(
        !plan1.placements.is_empty() && text.contains("sections move"),
        "{}: {text}",
        f.name
    );
    let freed: u64 = plan1.placements.iter().map(|p| p.size).sum();
    assert!(freed >= 4096, "{}: frees {freed} bytes: {text}", f.name);

    let out = dir.join("optimize");
    let _ = std::fs::remove_dir_all(&out);
    let link = format!("@{}", base.link_line.display());
    let outcome: serde_json::Value = serde_json::from_str(&ok(&[
        "optimize",
        "--free",
        FREE,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "--",
        &link,
        "--place-into",
        PLACE_INTO,
    ]))
    .unwrap();
    // #12: most of the gain is the startup copy (imxrt-rt copies `.text` with the caches off, ~120
    // cycles a byte), priced at the rate the baseline run measures: within 10% of the gain.
    let baseline = outcome["baseline"]["cycles"].as_f64().unwrap();
    let measured = baseline - outcome["optimized"]["cycles"].as_f64().unwrap();
    let predicted = baseline - outcome["predicted_cycles"].as_f64().unwrap();
    assert!(
        measured > 0.0 && (predicted - measured).abs() <= 0.10 * measured,
        "{}: predicted gain {predicted:.0}, measured {measured:.0} of {baseline:.0} cycles",
        f.name
    );
    let optimized = out.join("optimized.elf");
    boots(f, &optimized);

    let measured: serde_json::Value = serde_json::from_str(&ok(&[
        "measure",
        "--format",
        "json",
        optimized.to_str().unwrap(),
    ]))
    .unwrap();
    let cycles = measured["min"]
        .as_u64()
        .or_else(|| measured["cycles"].as_u64())
        .unwrap_or_else(|| panic!("{}: {measured}", f.name));
    let check = |cycles: u64| {
        let file = dir.join("cycles.json");
        std::fs::write(
            &file,
            serde_json::json!({"format": "hotlink-baseline", "version": 1, "benchmarks": [
                {"name": f.name, "image": optimized, "board": "imxrt1062", "cycles": cycles}
            ]})
            .to_string(),
        )
        .unwrap();
        hotlink(&["check", "--baseline", file.to_str().unwrap()])
    };
    let (passed, stdout, stderr) = check(cycles);
    assert!(
        passed,
        "{}: against its own cycles: {stdout}{stderr}",
        f.name
    );
    let (passed, _, stderr) = check(cycles * 95 / 100);
    assert!(
        !passed && stderr.contains("1 regression(s)"),
        "{}: against a baseline 5% tighter: {stderr}",
        f.name
    );
}

#[test]
fn rust_imxrt_through_capture_plan_optimize_check() {
    if require_rust_fixture_tools() {
        through_the_loop(&IMXRT);
    }
}

#[test]
fn rust_teensy4_through_capture_plan_optimize_check() {
    if require_rust_fixture_tools() {
        through_the_loop(&TEENSY4);
    }
}

/// rust-lld, the LLD that ships with rustc (rustc's default linker for these targets), run as
/// `rust-lld -flavor gnu`.
fn rust_lld() -> PathBuf {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names its host");
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let lld = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/rust-lld");
    assert!(
        lld.is_file(),
        "rust-lld ships with rustc: {}",
        lld.display()
    );
    lld
}

/// The recorded link line of `built` (recorded without its map) without its output and `-T`
/// script, the script's path (found in the line's `-L` directories, as the linkers find it) and
/// those directories.
fn replayable(built: &Built) -> (Vec<String>, PathBuf, Vec<PathBuf>) {
    let lines: Vec<String> = std::fs::read_to_string(&built.link_line)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut args = Vec::new();
    let mut script = None;
    let mut dirs = Vec::new();
    let mut it = lines.into_iter();
    while let Some(a) = it.next() {
        if a == "-o" {
            it.next();
        } else if let Some(name) = a.strip_prefix("-T") {
            script = Some(name.to_string());
        } else {
            if a == "-L" {
                let dir = it.next().unwrap();
                dirs.push(PathBuf::from(&dir));
                args.push(a);
                args.push(dir);
                continue;
            }
            args.push(a);
        }
    }
    let name = script.expect("rustc passes the fixture's -T script");
    let path = dirs
        .iter()
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} in the -L directories {dirs:?}"));
    (args, path, dirs)
}

/// Links a replayable line (`args` and the `-T` option `script`) with `linker` and the arguments
/// that come first (`link` for hotlink, `-flavor gnu` for rust-lld), writing the image and its
/// `-Map`, and `extra` options; fails the test with the linker's message.
fn relink(
    f: &Fixture,
    (linker, first): (&Path, &[&str]),
    args: &[String],
    script: &str,
    (elf, map): (&Path, &Path),
    extra: &[String],
) {
    let out = Command::new(linker)
        .args(first)
        .args(args)
        .arg(script)
        .arg("-o")
        .arg(elf)
        .arg(format!("-Map={}", map.display()))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} ({}): {}",
        f.name,
        linker.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// #12, Rust: the plan applied through rustc's own linkers. The baseline's recorded link line
/// (rustc's objects, kept by `-C save-temps`) is replayed with GNU ld and with rust-lld, each with
/// `hotlink patch-script`'s copy of imxrt-rt's script (cold code into its `.xip`); both images
/// boot on the virtual board and `verify` accepts both maps (LLD's `-Map` form too). Replaying
/// the line links the same objects, so the plan's hashed names match without patterns; no cargo
/// build is added.
#[test]
fn imxrt_rt_plans_link_with_gnu_ld_and_rust_lld_through_the_patched_script() {
    if !require_rust_fixture_tools() {
        return;
    }
    let lld = rust_lld();
    for f in [&IMXRT, &TEENSY4] {
        let (base, profile) = baseline(f);
        let (plan, plan_path, text) = plan(f, base, profile, "routes");
        assert!(!plan.placements.is_empty(), "{}: {text}", f.name);
        let dir = work_dir(f);
        let (args, script, dirs) = replayable(base);
        let patched = dir.join("routes-patched.x");
        let plan_arg = format!("--plan={}", plan_path.display());
        let mut patch = vec![
            "patch-script".to_string(),
            plan_arg,
            "--place-into".into(),
            PLACE_INTO.into(),
            script.display().to_string(),
            "-o".into(),
            patched.display().to_string(),
        ];
        // teensy4-bsp's t4link.x INCLUDEs device.x from another crate's build directory.
        for d in &dirs {
            patch.push("-L".into());
            patch.push(d.display().to_string());
        }
        let patch: Vec<&str> = patch.iter().map(String::as_str).collect();
        let out = hotlink(&patch);
        assert!(out.0, "{}: patch-script: {}", f.name, out.2);
        // Another test of this binary may be rebuilding the fixture's objects.
        let _guard = cargo_lock(f).lock().unwrap_or_else(|e| e.into_inner());
        for (label, linker, flavor) in [
            ("gnu-ld", PathBuf::from("arm-none-eabi-ld"), None),
            ("rust-lld", lld.clone(), Some("gnu")),
        ] {
            let elf = dir.join(format!("routes-{label}.elf"));
            let map = dir.join(format!("routes-{label}.map"));
            let first: &[&str] = match flavor {
                Some(flavor) => &["-flavor", flavor],
                None => &[],
            };
            let script = format!("-T{}", patched.display());
            relink(f, (&linker, first), &args, &script, (&elf, &map), &[]);
            verify(&plan_path, &map);
            boots(f, &elf);
        }
    }
}

/// A planned move by build-independent names: (section, object, member, to region).
type Move = (String, String, Option<String>, String);

/// Moves only rust-lld's plan has, by design, with why: (fixture, a piece of the section's
/// name, why).
/// Both links hold these sections; what differs is the image rust-lld lays out. It merges the
/// string constants GNU ld keeps apart (`.rodata` 0x58c against 0x123c bytes in `rust-imxrt`),
/// and on the virtual board its startup copy of `.text` into ITCM measures 159 cycles a byte
/// against 119.5 in GNU ld's image, so moving code out of ITCM saves more at boot there: these
/// routines, hot enough to cost a little more than they save in GNU ld's image, pay to move in
/// rust-lld's. (Measured with the plan options of `plan_moves`.)
const RUST_LLD_ALSO_MOVES: &[(&str, &str, &str)] = &[
    (
        "rust-imxrt",
        "__aeabi_memcpy4",
        "156 B, saves 3629 cycles at 159 cycles/byte",
    ),
    (
        "rust-teensy4",
        "__aeabi_memcpy4",
        "the same memcpy4 as in rust-imxrt",
    ),
    (
        "rust-teensy4",
        "fib_doubling",
        "a small loss in GNU ld's image, a small gain in rust-lld's",
    ),
];

/// `plan --free` with the greedy strategy (whose choices follow each section's own saving, not
/// an optimum over all of them) of `elf` with `map`; its moves by build-independent names.
fn plan_moves(f: &Fixture, profile: &Path, elf: &Path, map: &Path) -> BTreeSet<Move> {
    let out = map.with_extension("plan.json");
    ok(&[
        "plan",
        "--strategy",
        "greedy",
        "--profile",
        profile.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--free",
        FREE,
        "-o",
        out.to_str().unwrap(),
        elf.to_str().unwrap(),
    ]);
    let plan = Plan::load(&out).unwrap();
    assert!(!plan.placements.is_empty(), "{}: {}", f.name, map.display());
    unhashed(&plan)
        .into_iter()
        .map(|(file, member, section, to)| (section, file, member, to))
        .collect()
}

/// The loaded input sections a map lists, by build-independent names, with sizes: what `plan`
/// chooses from. Left out: veneers and thunks (each linker makes its own), unwind tables and
/// read-only data (rust-lld merges its constants into sections of its own), and kinds (a JSON
/// map knows them, a text map guesses them from the names).
fn code_sections(map: &Path) -> BTreeSet<(String, String, Option<String>, u64)> {
    let map = hotlink::linkmap::LinkMap::load(map).unwrap();
    map.input_sections
        .iter()
        .filter(|s| s.size > 0 && !matches!(s.kind.as_str(), "debug" | "unwind" | "veneer"))
        .filter(|s| !s.section.starts_with(".ARM.ex") && !s.section.starts_with(".rodata"))
        .map(|s| {
            let file = s.object.rsplit('/').next().unwrap_or(&s.object);
            (
                unhashed_symbol(&s.section),
                unhashed_file(file),
                s.member.as_deref().map(unhashed_file),
                s.size,
            )
        })
        .collect()
}

/// #12's Done-when, "`plan` gives the same result from each map form", on the Rust fixtures.
/// The baseline's recorded link line (rustc's objects) is replayed, with imxrt-rt's own script,
/// by GNU ld (`-Map`), by hotlink (`-Map` and `--json-map`) and by rust-lld (`-Map`, LLD's
/// form); each map is read with its own image. All four list the same code sections, and the
/// plans from GNU ld's map, hotlink's `-Map` and hotlink's JSON map are the same; rust-lld's is
/// the same but for the listed `RUST_LLD_ALSO_MOVES`. No cargo build is added.
#[test]
fn plan_is_the_same_from_every_map_form_of_a_rust_link() {
    if !require_rust_fixture_tools() {
        return;
    }
    let lld = rust_lld();
    for f in [&IMXRT, &TEENSY4] {
        let (base, profile) = baseline(f);
        let dir = work_dir(f).join("map-forms");
        std::fs::create_dir_all(&dir).unwrap();
        let (args, script, _) = replayable(base);
        let script = format!("-T{}", script.display());
        let (gnu_elf, hotlink_elf, lld_elf) = (
            dir.join("gnu-ld.elf"),
            dir.join("hotlink.elf"),
            dir.join("rust-lld.elf"),
        );
        let (gnu_map, hotlink_map, json_map, lld_map) = (
            dir.join("gnu-ld.map"),
            dir.join("hotlink.map"),
            dir.join("hotlink.json"),
            dir.join("rust-lld.map"),
        );
        {
            // Another test of this binary may be rebuilding the fixture's objects.
            let _guard = cargo_lock(f).lock().unwrap_or_else(|e| e.into_inner());
            let links: [(PathBuf, &[&str], &PathBuf, Vec<String>); 3] = [
                ("arm-none-eabi-ld".into(), &[], &gnu_elf, vec![]),
                (
                    hotlink_bin().into(),
                    &["link"],
                    &hotlink_elf,
                    vec![format!("--json-map={}", json_map.display())],
                ),
                (lld.clone(), &["-flavor", "gnu"], &lld_elf, vec![]),
            ];
            for ((linker, first, elf, extra), map) in
                links.iter().zip([&gnu_map, &hotlink_map, &lld_map])
            {
                relink(f, (linker, first), &args, &script, (elf, map), extra);
            }
        }
        let forms = [
            ("GNU ld's -Map", &gnu_map, &gnu_elf),
            ("hotlink's -Map", &hotlink_map, &hotlink_elf),
            ("hotlink's JSON map", &json_map, &hotlink_elf),
            ("rust-lld's -Map", &lld_map, &lld_elf),
        ];
        let sections = code_sections(&gnu_map);
        assert!(sections.len() > 20, "{}: {sections:?}", f.name);
        let expected = plan_moves(f, profile, &gnu_elf, &gnu_map);
        for (form, map, elf) in &forms[1..] {
            let read = code_sections(map);
            assert!(
                read == sections,
                "{}: code sections of {form} against GNU ld's: only in {form}: {:?}; only in GNU ld's: {:?}",
                f.name,
                read.difference(&sections).collect::<Vec<_>>(),
                sections.difference(&read).collect::<Vec<_>>()
            );
            let moves = plan_moves(f, profile, elf, map);
            if form.starts_with("rust-lld") {
                let listed = |m: &Move| {
                    RUST_LLD_ALSO_MOVES
                        .iter()
                        .any(|(n, s, _)| *n == f.name && m.0.contains(s))
                };
                // Each listed move is still one: a stale entry would hide nothing, but mislead.
                for (_, piece, why) in RUST_LLD_ALSO_MOVES.iter().filter(|e| e.0 == f.name) {
                    assert!(
                        moves.iter().any(|m| m.0.contains(piece)),
                        "{}: {piece} ({why}) no longer moves in the plan from {form}",
                        f.name
                    );
                }
                assert!(
                    expected.is_subset(&moves) && moves.difference(&expected).all(listed),
                    "{}: the plan from {form} against GNU ld's: only in {form}: {:?}; only in GNU ld's: {:?}",
                    f.name,
                    moves.difference(&expected).collect::<Vec<_>>(),
                    expected.difference(&moves).collect::<Vec<_>>()
                );
            } else {
                assert_eq!(
                    moves, expected,
                    "{}: the plan from {form} against GNU ld's",
                    f.name
                );
            }
        }
    }
}
