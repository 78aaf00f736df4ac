//! GNU ld rules that real projects rely on, each on a minimal program: overlapping load
//! addresses are refused, `-z muldefs` keeps the first definition (and without it the error
//! names both files), and hotlink links when called as `ld.lld` (rustc's `-fuse-ld=lld`).
//! Orphan placement is compared with GNU ld's addresses: a byte-aligned NOBITS orphan after
//! 2-byte code, and an orphan after a non-allocated `.comment 0` section. Veneers: one per
//! target symbol (two names for one address get two), with GNU ld's symbols. Output sections
//! made only of data statements or assignments get GNU ld's type and flags.
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing in CI.

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::inventory::diff::{self, ImageView};
use link_support::{hotlink, output, run, toolchain_or_skip, veneer_symbols};
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

/// Links `obj` with `script` by GNU ld and by hotlink into `dir`: (GNU ld's image, hotlink's).
fn link_both(dir: &Path, obj: &Path, script: &str) -> (PathBuf, PathBuf) {
    let ld = dir.join("s.ld");
    std::fs::write(&ld, script).unwrap();
    let images = [Path::new("arm-none-eabi-ld").to_path_buf(), hotlink()].map(|linker| {
        let elf = dir.join(if linker == hotlink() {
            "hl.elf"
        } else {
            "ld.elf"
        });
        let mut cmd = Command::new(&linker);
        if linker == hotlink() {
            cmd.arg("link");
        }
        run(cmd.arg("-T").arg(&ld).arg(obj).arg("-o").arg(&elf));
        elf
    });
    let [gnu, ours] = images;
    (gnu, ours)
}

#[test]
fn one_veneer_per_target_symbol_named_as_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-as", "arm-none-eabi-ld"]) {
        return;
    }
    // `foo` and `bar` name one address, and so do the local `lfar` and its global alias `gfar`:
    // GNU ld keys its stubs by symbol, so each name gets its own veneer (and `__<name>_veneer`
    // with `$t`/`$d`); the tail call to `bar` shares the call's veneer.
    let dir = tempfile::tempdir().unwrap();
    let obj = assemble(
        dir.path(),
        ".syntax unified\n.section .text.far,\"ax\",%progbits\n.global foo, bar\n\
         .type foo, %function\n.type bar, %function\n.thumb_func\nfoo:\nbar:\n bx lr\n\
         .type lfar, %function\n.thumb_func\nlfar:\n bx lr\n\
         .global gfar\n.type gfar, %function\n.set gfar, lfar\n\
         .section .text.near,\"ax\",%progbits\n.global _start\n.type _start, %function\n\
         .thumb_func\n_start:\n bl foo\n bl bar\n bl foo\n bl lfar\n bl gfar\n b.w bar\n",
    );
    let (gnu, ours) = link_both(
        dir.path(),
        &obj,
        "MEMORY { ITCM : ORIGIN = 0, LENGTH = 64K  FLASH : ORIGIN = 0x60000000, LENGTH = 64K }\n\
         SECTIONS { .itcm : { *(.text.far) } > ITCM  .text : { *(.text.near) } > FLASH }\n",
    );
    let want = veneer_symbols(&gnu);
    for name in ["foo", "bar", "lfar", "gfar"] {
        let veneer = format!("__{name}_veneer ");
        assert!(want.iter().any(|s| s.starts_with(&veneer)), "{want:#?}");
    }
    assert_eq!(want.len(), 12, "{want:#?}");
    assert_eq!(veneer_symbols(&ours), want);
    let view = |p: &Path| ImageView::parse(&std::fs::read(p).unwrap(), "elf").unwrap();
    let diffs = diff::differences(&view(&gnu), &view(&ours));
    assert!(diffs.is_empty(), "{diffs:#?}");
}

/// Type, flags, address and size of every section of an image but the attributes.
fn section_headers(elf: &Path) -> Vec<(String, u32, u64, u64, u64)> {
    use object::read::elf::{ElfFile32, SectionHeader as _};
    let data = std::fs::read(elf).unwrap();
    let file = ElfFile32::<object::LittleEndian>::parse(&*data).unwrap();
    let e = file.endian();
    file.sections()
        .filter(|s| s.index().0 != 0 && !s.name().unwrap().starts_with(".ARM.attr"))
        .filter(|s| s.elf_section_header().sh_type(e) != object::elf::SHT_SYMTAB)
        .filter(|s| s.elf_section_header().sh_type(e) != object::elf::SHT_STRTAB)
        .map(|s| {
            let h = s.elf_section_header();
            (
                s.name().unwrap().to_string(),
                h.sh_type(e).0,
                h.sh_flags(e).0,
                u64::from(h.sh_addr(e)),
                u64::from(h.sh_size(e)),
            )
        })
        .collect()
}

#[test]
fn sections_of_data_statements_or_assignments_flagged_as_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-as", "arm-none-eabi-ld"]) {
        return;
    }
    // A section created by a data statement is read-only (`A`), one created by an assignment
    // has no flags until `.` moves in it (then NOBITS `WA`); one that never moves `.` stays
    // PROGBITS `W` without SHF_ALLOC, at the address it would have; input sections decide
    // the rest whatever came before them.
    let dir = tempfile::tempdir().unwrap();
    let obj = assemble(
        dir.path(),
        ".text\n.globl _start\n_start: bx lr\n.section .data.w,\"aw\"\n.word 7\n\
         .section .rodata.r,\"a\"\n.word 8\n.section .bss.b,\"aw\",%nobits\n.space 8\n",
    );
    let (gnu, ours) = link_both(
        dir.path(),
        &obj,
        "MEMORY { FLASH : ORIGIN = 0x60000000, LENGTH = 1M  RAM : ORIGIN = 0x20000000, \
         LENGTH = 1M  ITCM : ORIGIN = 0, LENGTH = 64K }\n\
         SECTIONS {\n  .text : { *(.text) } > FLASH\n  \
         .data_only : { LONG(3) BYTE(4) } > FLASH\n  \
         .dot_only : { . = . + 16; } > RAM\n  \
         .dot_only_at : { . = . + 8; } > ITCM AT> FLASH\n  \
         .align_only : { . = ALIGN(8); } > RAM\n  \
         .data_in_ram : { LONG(1) } > RAM AT> FLASH\n  \
         .dot_then_data : { . = . + 4; LONG(1) } > RAM AT> FLASH\n  \
         .data_then_dot : { LONG(1) . = . + 4; } > RAM AT> FLASH\n  \
         .data_then_input : { LONG(1) *(.data.w) } > RAM AT> FLASH\n  \
         .input_then_data : { *(.rodata.r) LONG(1) } > FLASH\n  \
         .bss_then_data : { *(.bss.b) LONG(1) } > RAM AT> FLASH\n  \
         .noload_data (NOLOAD) : { LONG(1) } > RAM\n}\n",
    );
    let want = section_headers(&gnu);
    let align_only = want.iter().find(|s| s.0 == ".align_only").unwrap();
    assert_eq!(
        (align_only.1, align_only.2),
        (object::elf::SHT_PROGBITS.0, object::elf::SHF_WRITE.0),
        "{want:#x?}"
    );
    assert_eq!(section_headers(&ours), want);
}
