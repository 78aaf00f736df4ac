//! `hotlink inspect` end to end: good inputs are described, bad inputs get a clear error naming the
//! file (and member) and a non-zero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, RelocationFlags, SymbolFlags, SymbolKind,
    SymbolScope,
};

fn hotlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hotlink"))
}

mod common;

use common::hotlink as run;

/// A small but real ARM relocatable object: `caller` calls `callee` (defined here) and `memcpy`
/// (undefined), and reads `counter`.
fn arm_object() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Arm, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    // bl callee; bl memcpy; bx lr (BL immediates left for the relocations, REL style)
    let code = [0xf7ff, 0xfffe, 0xf7ff, 0xfffe, 0x4770u16];
    let bytes: Vec<u8> = code.iter().flat_map(|h| h.to_le_bytes()).collect();
    let caller_off = obj.append_section_data(text, &bytes, 4);
    let callee_off = obj.append_section_data(text, &0x4770u16.to_le_bytes(), 2);
    let data = obj.section_id(StandardSection::Data);
    let counter_off = obj.append_section_data(data, &[0; 4], 4);
    let func = |name: &str, value: u64, size: u64| Symbol {
        name: name.as_bytes().to_vec(),
        value: value | 1,
        size,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    };
    obj.add_symbol(func("caller", caller_off, 10));
    let callee = obj.add_symbol(func("callee", callee_off, 2));
    let memcpy = obj.add_symbol(Symbol {
        name: b"memcpy".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    obj.add_symbol(Symbol {
        name: b"counter".to_vec(),
        value: counter_off,
        size: 4,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(data),
        flags: SymbolFlags::None,
    });
    for (offset, symbol) in [(0, callee), (4, memcpy)] {
        obj.add_relocation(
            text,
            Relocation {
                offset: caller_off + offset,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf {
                    r_type: elf::R_ARM_THM_PC22,
                },
            },
        )
        .unwrap();
    }
    obj.write().unwrap()
}

fn scratch(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// A GNU archive with the given members (no symbol index: inspect does not need one).
fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            format!("{name}/"),
            0,
            0,
            0,
            644,
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn describes_sections_symbols_and_calls_of_an_object() {
    let (_dir, path) = scratch("a.o", &arm_object());
    let (ok, out, err) = run(&["inspect", "--symbols", "--refs", path_str(&path)]);
    assert!(ok, "{err}");
    assert!(out.contains("(object)"), "{out}");
    assert!(out.contains("-> callee call R_ARM_THM_CALL"), "{out}");
    assert!(out.contains("-> memcpy call R_ARM_THM_CALL"), "{out}");
    assert!(out.contains("memcpy") && out.contains("undefined"), "{out}");

    let (ok, json, err) = run(&["inspect", "--format", "json", path_str(&path)]);
    assert!(ok, "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let symbols = value["symbols"].as_array().unwrap();
    let caller = symbols.iter().find(|s| s["name"] == "caller").unwrap();
    assert_eq!(caller["thumb"], true);
    assert_eq!(caller["value"], 0, "Thumb bit must be cleared");
    assert_eq!(value["references"].as_array().unwrap().len(), 2);
}

#[test]
fn reads_archive_members() {
    let object = arm_object();
    let (_dir, path) = scratch(
        "libx.a",
        &archive(&[("one.o", &object), ("two.o", &object)]),
    );
    let (ok, out, err) = run(&["inspect", path_str(&path)]);
    assert!(ok, "{err}");
    assert!(out.contains("(archive, 2 members)"), "{out}");
    assert!(out.contains("libx.a(two.o)"), "{out}");
}

#[test]
fn bad_inputs_fail_cleanly_with_the_file_named() {
    let object = arm_object();
    let mut truncated = object.clone();
    truncated.truncate(object.len() / 2);
    let mut bad_shoff = object.clone();
    bad_shoff[32..36].copy_from_slice(&0x00ff_ff00u32.to_le_bytes());
    let mut x86 = object.clone();
    x86[18] = 62;
    let mut bad_strtab = object.clone();
    // Point e_shstrndx past the section table.
    bad_strtab[50..52].copy_from_slice(&0x7fffu16.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.o", Vec::new(), "empty.o: the file is empty"),
        (
            "text.o",
            b"hello world".to_vec(),
            "not an ELF file or archive",
        ),
        ("short.o", object[..20].to_vec(), "truncated"),
        ("half.o", truncated, "truncated or corrupt"),
        (
            "shoff.o",
            bad_shoff,
            "section header table at offset 0xffff00",
        ),
        ("x86.o", x86, "machine 62 (x86-64), not ARM"),
        ("strtab.o", bad_strtab, "strtab.o: malformed ELF object"),
        (
            "broken.a",
            archive(&[("good.o", &object), ("bad.o", b"garbage!")]),
            "broken.a(bad.o): at archive offset",
        ),
        (
            "header.a",
            b"!<arch>\nnot a header at all".to_vec(),
            "header.a: malformed archive",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (_dir, path) = scratch(name, &bytes);
        let out = hotlink()
            .args(["inspect", path_str(&path)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected `{expected}` in: {stderr}"
        );
        assert!(
            stderr.contains(name),
            "{name}: the file is not named: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn missing_file_is_named() {
    let (ok, _, err) = run(&["inspect", "/nonexistent/fw.elf"]);
    assert!(!ok);
    assert!(err.contains("cannot read /nonexistent/fw.elf"), "{err}");
}

/// The Debian toolchain's libraries, when installed (CI installs them; see .ci/run).
fn toolchain_libraries() -> Option<Vec<&'static str>> {
    let libs = vec![
        "/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libc.a",
        "/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libm.a",
        "/usr/lib/gcc/arm-none-eabi/12.2.1/thumb/v7e-m+dp/hard/libgcc.a",
    ];
    if libs.iter().all(|l| Path::new(l).exists()) {
        return Some(libs);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have libnewlib-arm-none-eabi and gcc-arm-none-eabi installed"
    );
    eprintln!("skipping: newlib/libgcc for thumb/v7e-m+dp/hard not installed (apt-get install libnewlib-arm-none-eabi gcc-arm-none-eabi)");
    None
}

#[test]
fn inspects_newlib_and_libgcc() {
    let Some(libs) = toolchain_libraries() else {
        return;
    };
    let (ok, out, err) = run(&[&["inspect", "--summary"][..], &libs].concat());
    assert!(ok, "{err}");
    assert!(out.contains("libc.a (archive, 642 members)"), "{out}");
    assert!(out.contains("libm.a (archive"), "{out}");
    assert!(out.contains("libgcc.a (archive"), "{out}");

    let (ok, json, err) = run(&["inspect", "--format", "json", libs[0]]);
    assert!(ok, "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sections = value["sections"].as_array().unwrap();
    let memcpy = value["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "memcpy" && s["definition"]["where"] == "section")
        .expect("libc.a defines memcpy");
    assert_eq!(memcpy["type"], "function");
    assert_eq!(memcpy["origin"]["member"], "lib_a-memcpy.o");
    let section = &sections[memcpy["definition"]["section"].as_u64().unwrap() as usize];
    assert_eq!(section["kind"], "code");
    assert!(section["size"].as_u64().unwrap() >= memcpy["size"].as_u64().unwrap());
}

#[test]
fn inspects_every_fixture_image_and_its_objects() {
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/firmware/build");
    for (fixture, board) in [
        ("vm", "imxrt1062"),
        ("dsp", "imxrt1062"),
        ("flashwrite", "imxrt1062"),
        ("rtos", "imxrt1062"),
        ("big", "imxrt1062"),
        ("vm-rt1176", "imxrt1176"),
    ] {
        let elf = build.join(fixture).join(format!("{fixture}.elf"));
        let (ok, out, err) = run(&["inspect", "--board", board, elf.to_str().unwrap()]);
        assert!(ok, "{fixture}: {err}");
        assert!(out.contains("Region use on"), "{fixture}: {out}");
        assert!(
            !out.contains("outside every"),
            "{fixture} fits {board}: {out}"
        );
        let objects: Vec<String> = std::fs::read_dir(build.join(fixture))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "o"))
            .map(|p| p.display().to_string())
            .collect();
        if objects.is_empty() {
            continue; // vm-rt1176 reuses vm's objects
        }
        let mut args = vec!["inspect", "--format", "json"];
        args.extend(objects.iter().map(String::as_str));
        let (ok, json, err) = run(&args);
        assert!(ok, "{fixture}: {err}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let calls = value["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "call")
            .count();
        assert!(calls > 0, "{fixture}: its objects call each other");
    }
}
