//! GNU ld rules that real projects rely on, each on a minimal program: overlapping load
//! addresses are refused, `-z muldefs` keeps the first definition (and without it the error
//! names both files), and hotlink links when called as `ld.lld` (rustc's `-fuse-ld=lld`).
//! Orphan placement is compared with GNU ld's addresses: a byte-aligned NOBITS orphan after
//! 2-byte code, and an orphan after a non-allocated `.comment 0` section.
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing in CI.

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use link_support::{hotlink, output, run, toolchain_or_skip};
use object::{Object, ObjectSection, ObjectSymbol};

const SCRIPT: &str = "MEMORY { FLASH : ORIGIN = 0x60000000, LENGTH = 64K \
                      RAM : ORIGIN = 0x20000000, LENGTH = 64K }\n\
                      SECTIONS {\n  .text : { *(.text*) *(.rodata*) } > FLASH\n  \
                      .data : { *(.data*) } > RAM AT> FLASH\n}\n";

fn compile(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let o = dir.join(format!("{name}.o"));
    run(Command::new("arm-none-eabi-gcc")
        .args(["-mcpu=cortex-m7", "-mthumb", "-O2", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o));
    o
}

/// The value of `symbol` and the 4 bytes at it.
fn word_at(elf: &Path, symbol: &str) -> (u64, u32) {
    let data = std::fs::read(elf).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(symbol))
        .unwrap_or_else(|| panic!("{symbol} not in {}", elf.display()));
    let section = file.section_by_index(sym.section_index().unwrap()).unwrap();
    let off = (sym.address() - section.address()) as usize;
    let bytes = &section.data().unwrap()[off..off + 4];
    (sym.address(), u32::from_le_bytes(bytes.try_into().unwrap()))
}

#[test]
fn overlapping_load_addresses_are_refused() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = compile(
        dir.path(),
        "a",
        "int x = 5; const int y = 7; int f(void) { return x + y; }\n",
    );
    let script = dir.path().join("overlap.ld");
    // .data is loaded at the address .text is loaded at.
    let text = SCRIPT.replace(
        ".data : { *(.data*) } > RAM AT> FLASH",
        ".data : AT(ADDR(.text)) { *(.data*) } > RAM",
    );
    assert_ne!(text, SCRIPT);
    std::fs::write(&script, &text).unwrap();
    let out_elf = dir.path().join("out.elf");
    let out = output(
        Command::new(hotlink())
            .arg("link")
            .arg("-T")
            .arg(&script)
            .arg(&obj)
            .arg("-o")
            .arg(&out_elf),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}\n{err}");
    assert!(
        err.contains("section `.text` LMA") && err.contains("overlaps section `.data`"),
        "{err}"
    );
    assert!(!out_elf.exists(), "no image may be written");
}

#[test]
fn muldefs_keeps_the_first_definition_as_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = compile(
        dir.path(),
        "first",
        "int dup = 1; int f(void) { return dup; }\n",
    );
    let second = compile(
        dir.path(),
        "second",
        "int dup = 2; int g(void) { return dup; }\n",
    );
    let script = dir.path().join("s.ld");
    std::fs::write(&script, SCRIPT).unwrap();
    let link = |linker: &Path, extra: &[&str], out: &Path| {
        let mut cmd = Command::new(linker);
        if linker == hotlink() {
            cmd.arg("link");
        }
        output(
            cmd.args(extra)
                .arg("-T")
                .arg(&script)
                .arg(&first)
                .arg(&second)
                .arg("-o")
                .arg(out),
        )
    };
    let ours = dir.path().join("hotlink.elf");
    let out = link(&hotlink(), &[], &ours);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("multiple definition of `dup`")
            && err.contains("first.o")
            && err.contains("second.o")
            && err.contains("-z muldefs"),
        "{err}"
    );
    let reference = dir.path().join("ld.elf");
    let gnu = Path::new("arm-none-eabi-ld");
    for flags in [&["-z", "muldefs"][..], &["--allow-multiple-definition"][..]] {
        assert!(link(gnu, flags, &reference).status.success());
        let out = link(&hotlink(), flags, &ours);
        assert!(out.status.success(), "{flags:?}: {out:?}");
        let (addr, value) = word_at(&ours, "dup");
        assert_eq!(value, 1, "{flags:?}: the first definition wins");
        assert_eq!((addr, value), word_at(&reference, "dup"), "{flags:?}");
    }
}

#[test]
fn links_when_called_as_ld_lld() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj = compile(dir.path(), "a", "int x = 5; int f(void) { return x; }\n");
    let script = dir.path().join("s.ld");
    std::fs::write(&script, SCRIPT).unwrap();
    let as_lld = dir.path().join("ld.lld");
    std::os::unix::fs::symlink(hotlink(), &as_lld).unwrap();
    let elf = dir.path().join("out.elf");
    run(Command::new(&as_lld)
        .args(["-z", "noexecstack", "--eh-frame-hdr", "-Bdynamic", "-T"])
        .arg(&script)
        .arg(&obj)
        .arg("-o")
        .arg(&elf));
    assert_eq!(word_at(&elf, "x").1, 5);
}

#[test]
fn inspect_reads_cpp_objects_with_comdat_groups() {
    // Committed objects: no toolchain needed. main.o and shapes.o both hold the groups of the
    // inline classes in shapes.h (`_ZN6SquareD5Ev` and friends).
    let dir = link_support::firmware_build_dir().join("teensy");
    let out = output(
        Command::new(hotlink())
            .args(["inspect", "--format", "json", "main.o", "shapes.o"])
            .current_dir(&dir),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(
        json.contains("_ZN6SquareD2Ev"),
        "the destructors are inventoried"
    );
    assert!(
        !json.contains("_ZN6SquareD5Ev"),
        "group signatures are not code"
    );
}

/// Assembles `source` (Thumb, Cortex-M7) into `dir/a.o`.
fn assemble(dir: &Path, source: &str) -> PathBuf {
    let s = dir.join("a.s");
    std::fs::write(&s, source).unwrap();
    let obj = dir.join("a.o");
    run(Command::new("arm-none-eabi-as")
        .args(["-mcpu=cortex-m7", "-mthumb"])
        .arg(&s)
        .arg("-o")
        .arg(&obj));
    obj
}

/// Assembles `source`, links it with `script` by GNU ld and by hotlink (each under a time
/// limit, since a hang is one of the bugs checked) and returns (name, address) of every
/// allocated section of both images.
fn alloc_addresses_both(source: &str, script: &str) -> [Vec<(String, u64)>; 2] {
    let dir = tempfile::tempdir().unwrap();
    let obj = assemble(dir.path(), source);
    let ld = dir.path().join("s.ld");
    std::fs::write(&ld, script).unwrap();
    [Path::new("arm-none-eabi-ld").to_path_buf(), hotlink()].map(|linker| {
        let elf = dir.path().join("out.elf");
        let mut cmd = Command::new("timeout");
        cmd.arg("60").arg(&linker);
        if linker == hotlink() {
            cmd.arg("link");
        }
        run(cmd.arg("-T").arg(&ld).arg(&obj).arg("-o").arg(&elf));
        let data = std::fs::read(&elf).unwrap();
        let file = object::File::parse(&*data).unwrap();
        file.sections()
            .filter(|s| {
                use object::SectionKind::{Data, ReadOnlyData, Text, UninitializedData};
                matches!(s.kind(), Text | Data | ReadOnlyData | UninitializedData)
            })
            .map(|s| (s.name().unwrap().to_string(), s.address()))
            .collect()
    })
}

#[test]
fn orphan_nobits_after_odd_end_links_as_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-as", "arm-none-eabi-ld", "timeout"]) {
        return;
    }
    // A byte-aligned NOBITS orphan right after 2 bytes of code: its address is not 4-aligned,
    // which once sent the ELF writer's offset search into an endless loop.
    let [gnu, ours] = alloc_addresses_both(
        ".text\n.globl _start\n_start: bx lr\n\
         .section .bss.x,\"aw\",%nobits\n.space 16\n",
        "SECTIONS { . = 0x1000; .text : { *(.text) } }\n",
    );
    assert!(gnu.contains(&(".bss.x".into(), 0x1002)), "{gnu:?}");
    assert_eq!(gnu, ours);
}

#[test]
fn orphan_after_non_allocated_section_follows_allocated_ones() {
    if !toolchain_or_skip(&["arm-none-eabi-as", "arm-none-eabi-ld", "timeout"]) {
        return;
    }
    // `.comment 0` ends at a small address; the orphan must not follow it there.
    let [gnu, ours] = alloc_addresses_both(
        ".text\n.globl _start\n_start: bx lr\n\
         .section .data.x,\"aw\"\n.word 1\n\
         .section .comment,\"MS\",%progbits,1\n.asciz \"some compiler 1.0\"\n",
        "SECTIONS { . = 0x1000; .text : { *(.text) }\n  .comment 0 : { *(.comment) } }\n",
    );
    assert!(gnu.contains(&(".data.x".into(), 0x1002)), "{gnu:?}");
    assert_eq!(gnu, ours);
}

#[test]
fn load_addresses_and_data_only_sections_as_gnu_ld() {
    if !toolchain_or_skip(&[
        "arm-none-eabi-as",
        "arm-none-eabi-ld",
        "arm-none-eabi-objcopy",
    ]) {
        return;
    }
    // `.t` has only data statements (it once came out NOBITS: its bytes lost, and `.b` loaded
    // over it); in another region than its VMA's, a load address is aligned to the statement's
    // own ALIGN(4) (imxrt-rt asserts that `.data`'s is), not to the input sections'.
    let dir = tempfile::tempdir().unwrap();
    let obj = assemble(
        dir.path(),
        ".text\n.globl _start\n_start: bx lr\n.section .odd,\"ax\"\n.byte 1\n\
         .section .data.w,\"aw\"\n.p2align 3\n.word 7\n",
    );
    let ld = dir.path().join("s.ld");
    std::fs::write(
        &ld,
        "MEMORY { FLASH : ORIGIN = 0x60000000, LENGTH = 1M  RAM : ORIGIN = 0x20000000, \
         LENGTH = 1M  ITCM : ORIGIN = 0, LENGTH = 64K }\n\
         SECTIONS {\n  .text : { *(.text) *(.odd) } > FLASH\n  \
         .t : ALIGN(4) { LONG(3) BYTE(4) } > ITCM AT> FLASH\n  \
         .u : { BYTE(5) } > ITCM AT> FLASH\n  \
         .b : ALIGN(4) { *(.data*) } > RAM AT> FLASH\n}\n",
    )
    .unwrap();
    let images = [Path::new("arm-none-eabi-ld").to_path_buf(), hotlink()].map(|linker| {
        let elf = dir.path().join("out.elf");
        let mut cmd = Command::new(&linker);
        if linker == hotlink() {
            cmd.arg("link");
        }
        run(cmd.arg("-T").arg(&ld).arg(&obj).arg("-o").arg(&elf));
        let bin = dir.path().join("out.bin");
        run(Command::new("arm-none-eabi-objcopy")
            .args(["-O", "binary"])
            .arg(&elf)
            .arg(&bin));
        std::fs::read(&bin).unwrap()
    });
    assert!(images[0].len() >= 16, "GNU ld's image: {:?}", images[0]);
    assert_eq!(images[0], images[1], "load images differ (GNU ld first)");
}
