//! Differential test: `hotlink link` against `arm-none-eabi-ld` with the same inputs must give
//! identical symbol values and identical bytes in every loadable section, on every fixture
//! (veneers included: they are in GNU ld's order, see `src/link/stub_order.rs`), the same
//! veneer symbols (`__<name>_veneer` and their `$t`/`$d` mapping symbols) and the same merged
//! `.ARM.attributes` bytes.
//!
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing when `CI`
//! is set. Inputs: the small programs in `tests/link/` (built here), and every firmware fixture
//! under `tests/firmware/build/<name>/` with a `<name>.link` file (the exact ld arguments).

mod link_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::inventory::diff::{self, ImageView};
use link_support::{
    arm_attributes_difference, firmware_build_dir, fixtures, hotlink, run, toolchain_or_skip,
    veneer_symbols_difference, CFLAGS, LIBGCC, NEWLIB,
};

fn view(path: &Path) -> ImageView {
    ImageView::parse(&std::fs::read(path).unwrap(), &path.display().to_string()).unwrap()
}

/// Every loadable section and global symbol of `reference` must be identical in `ours`
/// (`hotlink diff`'s comparison).
fn differences(reference: &Path, ours: &Path) -> Vec<String> {
    diff::differences(&view(reference), &view(ours))
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Per section name: the SHF_MERGE, SHF_STRINGS and SHF_LINK_ORDER flags and the entry size.
fn merge_headers(path: &Path) -> BTreeMap<String, (u64, u64)> {
    use object::read::elf::{ElfFile32, SectionHeader as _};
    use object::{Object as _, ObjectSection as _};
    let data = std::fs::read(path).unwrap();
    let file = ElfFile32::<object::LittleEndian>::parse(&*data).unwrap();
    let mask =
        object::elf::SHF_MERGE.0 | object::elf::SHF_STRINGS.0 | object::elf::SHF_LINK_ORDER.0;
    file.sections()
        .map(|s| {
            let h = s.elf_section_header();
            let e = file.endian();
            (
                s.name().unwrap().to_string(),
                (h.sh_flags(e).0 & mask, u64::from(h.sh_entsize(e))),
            )
        })
        .collect()
}

/// Sections of both images whose merge flags or entry size differ.
fn header_differences(reference: &Path, ours: &Path) -> Vec<String> {
    let ours = merge_headers(ours);
    merge_headers(reference)
        .into_iter()
        .filter_map(|(name, want)| {
            let got = *ours.get(&name)?;
            (got != want).then(|| format!("{name}: flags/entsize {got:x?}, GNU ld {want:x?}"))
        })
        .collect()
}

fn build_own_program(dir: &Path) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/link");
    let mut objects = Vec::new();
    for name in ["startup", "main", "itcm", "util"] {
        let obj = dir.join(format!("{name}.o"));
        let mut cmd = Command::new("arm-none-eabi-gcc");
        cmd.args(CFLAGS);
        if name == "main" {
            cmd.arg("-fcommon");
        }
        run(cmd
            .arg("-c")
            .arg(src.join(format!("{name}.c")))
            .arg("-o")
            .arg(&obj));
        objects.push(obj);
    }
    objects
}

fn link_both(dir: &Path, args: &[String], tag: &str) -> (PathBuf, PathBuf) {
    let reference = dir.join(format!("{tag}-ld.elf"));
    let ours = dir.join(format!("{tag}-hotlink.elf"));
    run(Command::new("arm-none-eabi-ld")
        .args(args)
        .arg("-o")
        .arg(&reference)
        .current_dir(dir));
    run(Command::new(hotlink())
        .arg("link")
        .args(args)
        .arg("-o")
        .arg(&ours)
        .arg(format!(
            "--json-map={}",
            dir.join(format!("{tag}.json")).display()
        ))
        .current_dir(dir));
    (reference, ours)
}

#[test]
fn own_program_links_identically_with_and_without_gc() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let objects = build_own_program(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/link/imxrt.ld");
    for gc in [true, false] {
        let mut args: Vec<String> = vec!["-T".into(), script.display().to_string()];
        if gc {
            args.push("--gc-sections".into());
        }
        args.extend(objects.iter().map(|o| o.display().to_string()));
        args.extend(
            [
                "-L",
                NEWLIB,
                "-L",
                LIBGCC,
                "--start-group",
                "-lc",
                "-lgcc",
                "--end-group",
            ]
            .map(String::from),
        );
        let tag = if gc { "gc" } else { "nogc" };
        let (reference, ours) = link_both(dir.path(), &args, tag);
        let diffs = differences(&reference, &ours);
        assert!(diffs.is_empty(), "{tag}: {diffs:#?}");
        assert_eq!(arm_attributes_difference(&reference, &ours), None, "{tag}");
        assert_eq!(veneer_symbols_difference(&reference, &ours), None, "{tag}");
        // The program calls ITCM code from flash and back, so veneers must be in the map.
        let map: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(format!("{tag}.json"))).unwrap())
                .unwrap();
        let veneers = map["veneers"].as_array().unwrap();
        assert!(
            veneers.len() >= 2,
            "{tag}: expected veneers, map has {veneers:?}"
        );
        assert!(veneers
            .iter()
            .all(|v| !v["callers"].as_array().unwrap().is_empty()));
        let sections = map["input_sections"].as_array().unwrap();
        assert!(sections.iter().any(|s| s["member"] == "lib_a-memcpy.o"
            && s["output_section"] == ".text"
            && s["region"] == "m_flash"));
    }
}

#[test]
fn firmware_fixtures_link_identically() {
    let all = fixtures();
    if all.is_empty() {
        eprintln!(
            "no firmware fixtures at {} yet; nothing to compare",
            firmware_build_dir().display()
        );
        return;
    }
    if !toolchain_or_skip(&["arm-none-eabi-ld"]) {
        return;
    }
    for fixture in &all {
        let (name, args) = (&fixture.name, &fixture.args);
        let out = tempfile::tempdir().unwrap();
        let reference = out.path().join("ld.elf");
        let ours = out.path().join("hotlink.elf");
        run(Command::new("arm-none-eabi-ld")
            .args(args)
            .arg("-o")
            .arg(&reference)
            .current_dir(&fixture.dir));
        run(Command::new(hotlink())
            .arg("link")
            .args(args)
            .arg("-o")
            .arg(&ours)
            .current_dir(&fixture.dir));
        let diffs = differences(&reference, &ours);
        assert!(diffs.is_empty(), "{name}: {diffs:#?}");
        let headers = header_differences(&reference, &ours);
        assert!(headers.is_empty(), "{name}: {headers:#?}");
        assert_eq!(arm_attributes_difference(&reference, &ours), None, "{name}");
        assert_eq!(veneer_symbols_difference(&reference, &ours), None, "{name}");
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bad.ld");
    std::fs::write(
        &script,
        "MEMORY { m : ORIGIN = 0, LENGTH = 4 }\nSECTIONS { .t : { *(.text) } > }\n",
    )
    .unwrap();
    let junk = dir.path().join("junk.o");
    std::fs::write(&junk, b"not an object").unwrap();
    let out = Command::new(hotlink())
        .arg("link")
        .arg("-T")
        .arg(&script)
        .arg(&junk)
        .arg("-o")
        .arg(dir.path().join("x.elf"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.ld:2:32: expected a region name (at `}`)"),
        "{err}"
    );
    std::fs::write(&script, "SECTIONS { .t : { *(.text) } }\n").unwrap();
    let out = Command::new(hotlink())
        .arg("link")
        .arg("-T")
        .arg(&script)
        .arg(&junk)
        .arg("-o")
        .arg(dir.path().join("x.elf"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("junk.o: not a 32-bit little-endian ELF file"),
        "{err}"
    );
    assert!(!dir.path().join("x.elf").exists(), "no output on failure");
}

/// A script whose section sizes feed each other (`.a` grows when `.b` is small and `.b` follows
/// `.a`) never settles: the error must name the sections still moving and point at the script,
/// and no image may be written.
#[test]
fn oscillating_layout_names_the_moving_sections() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("oscillates.ld");
    std::fs::write(
        &script,
        "MEMORY { m : ORIGIN = 0x20000000, LENGTH = 64K }\n\
         SECTIONS {\n\
           .steady : { . = . + 16; } > m\n\
           .a : { . = . + (SIZEOF(.b) == 4 ? 8 : 4); } > m\n\
           .b : { . = . + (SIZEOF(.a) == 4 ? 4 : 8); } > m\n\
         }\n",
    )
    .unwrap();
    let image = dir.path().join("x.elf");
    let out = Command::new(hotlink())
        .arg("link")
        .arg("-T")
        .arg(&script)
        .arg("-o")
        .arg(&image)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("layout did not converge"), "{err}");
    assert!(
        err.contains("section `.a`") && err.contains("section `.b`"),
        "{err}"
    );
    assert!(
        !err.contains("`.steady`"),
        "a settled section is not named: {err}"
    );
    assert!(err.contains("depends on itself"), "{err}");
    assert!(!image.exists(), "no output on failure");
}

/// `hotlink diff` says "same" for one image against itself (exit 0); for an image with one
/// flipped code byte it exits 1 naming the section, the address and the function it is in; for
/// two different programs it lists moved sections and changed symbols.
#[test]
fn hotlink_diff_reports_by_section_and_symbol() {
    let vm = firmware_build_dir().join("vm/vm.elf");
    let diff = |a: &Path, b: &Path| {
        Command::new(hotlink())
            .arg("diff")
            .arg(a)
            .arg(b)
            .output()
            .unwrap()
    };
    let same = diff(&vm, &vm);
    assert!(same.status.success(), "{same:?}");

    let data = std::fs::read(&vm).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let main = object::Object::symbol_by_name(&file, "main").expect("vm has main");
    let address = object::ObjectSymbol::address(&main) & !1;
    let text = object::Object::section_by_name(&file, ".text").unwrap();
    let (offset, _) = object::ObjectSection::file_range(&text).unwrap();
    let at = (offset + address - object::ObjectSection::address(&text)) as usize;
    let mut patched = data.clone();
    patched[at + 2] ^= 0xFF;
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("patched.elf");
    std::fs::write(&other, patched).unwrap();
    let out = diff(&vm, &other);
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text_out}");
    assert!(
        text_out.contains(&format!(
            "section .text: bytes differ at {:#x} (in main+0x2), 1 bytes in all",
            address + 2
        )),
        "{text_out}"
    );

    let out = diff(&vm, &firmware_build_dir().join("dsp/dsp.elf"));
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text_out.contains("section .text: 0x"), "{text_out}");
    assert!(text_out.contains("symbol main: 0x"), "{text_out}");
}
