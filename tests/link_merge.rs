//! SHF_MERGE string and constant merging against GNU ld 2.40, byte for byte.
//!
//! Each case is a few hand-written assembly files that exercise one rule of GNU ld's merging:
//! duplicates across objects, tail (suffix) merging and its alignment condition, a string
//! moving to a later object that needs it better aligned, the empty string among padding
//! NULs, the output padding rule, symbols inside merged strings, section symbol + addend
//! references (`.word .LC0`, MOVW/MOVT), fixed-size constants (`.rodata.cst8`) and the
//! non-allocated `.comment`. A C case checks what GCC itself emits. Each is linked by GNU ld
//! and by hotlink with the same script; every loadable byte and symbol must agree (the same
//! comparison as `hotlink diff`), and `.comment` must have GNU ld's size.
//!
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing in CI.

mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::inventory::diff::{self, ImageView};
use link_support::{hotlink, run, toolchain_or_skip};
use object::{Object, ObjectSection};

const SCRIPT: &str = "SECTIONS {\n  . = 0x60000000;\n  .text : { *(.text*) }\n  \
                      .rodata : { *(.rodata.first) *(.rodata*) LONG(0xdeadbeef) }\n  \
                      .data : { *(.data*) }\n  \
                      .comment 0 : { *(.comment) }\n}\n";

/// Cross-object duplicates, a suffix inside another object's string, a global symbol in the
/// middle of a string, section symbol + addend references, a string section of alignment 4
/// whose size is not a multiple of 4 (so no output padding).
const DUPLICATES: &[&str] = &[
    " .section .rodata.str1.1,\"aMS\",%progbits,1
.LC0: .asciz \"hello world\"
.LC1: .asciz \"abc\"
 .section .rodata.a,\"a\"
 .word 0x11111111
 .section .comment,\"MS\",%progbits,1
 .asciz \"GCC: (hotlink test) 1.0\"
 .text
 .global _start
 .thumb
 .thumb_func
_start: ldr r0, =.LC1
 movw r1, #:lower16:.LC0+6
 movt r1, #:upper16:.LC0+6
 bx lr
 .word s1
 .word s2
 .word .LC0+3
",
    " .section .rodata.str1.1,\"aMS\",%progbits,1
s2: .asciz \"world\"
 .asciz \"xyz\"
.LCb: .asciz \"abc\"
 .global s2
 .global s1
 .section .rodata.b,\"a\"
 .word 0x22222222
 .word .LCb+1
 .section .comment,\"MS\",%progbits,1
 .asciz \"GCC: (hotlink test) 1.0\"
 .asciz \"other tool\"
 .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
s1: .asciz \"bc\"
 .p2align 2
 .asciz \"hello\"
",
];

/// Alignment-4 string sections whose sizes are all multiples of 4: the section owning the
/// last entry is padded; a suffix 4 bytes shorter merges, one 1 byte shorter does not; an
/// object whose strings are all duplicates is left out, with no alignment gap.
const PADDING: &[&str] = &[
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .asciz \"abcdefg\"
 .p2align 2
 .asciz \"zz\"
 .p2align 2
 .section .rodata.first,\"a\"
 .byte 1
 .text
 .global _start
_start: .word 0
",
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .asciz \"zz\"
 .p2align 2
",
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .asciz \"qq\"
 .p2align 2
 .asciz \"efg\"
 .p2align 2
 .asciz \"bcdefg\"
 .p2align 2
",
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .asciz \"zz\"
 .p2align 2
 .asciz \"rr\"
 .p2align 2
",
];

/// A string first seen at an offset of alignment 1 moves to the later object that has it at
/// an aligned offset; empty strings among padding NULs; a suffix of lower alignment;
/// fixed-size constants (`.rodata.cst8`).
const REALIGN: &[&str] = &[
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .ascii \"x\"
 .asciz \"abc\"
 .asciz \"abc\"
 .asciz \"q\"
 .p2align 2
 .asciz \"\"
 .asciz \"\"
 .asciz \"\"
 .asciz \"\"
 .asciz \"w\"
 .section .rodata.cst8,\"aM\",%progbits,8
 .p2align 3
 .word 1, 2
 .word 3, 4
 .text
 .global _start
_start: .word lab1
  .word lab2
  .word .rodata.cst8+8
",
    " .section .rodata.str1.4,\"aMS\",%progbits,1
 .p2align 2
 .asciz \"bc\"
 .p2align 2
lab1:  .asciz \"abc\"
 .p2align 2
 .asciz \"ab\"
lab2: .asciz \"c\"
 .global lab1
 .global lab2
 .section .rodata.cst8,\"aM\",%progbits,8
 .p2align 3
c8: .word 3, 4
 .word 5, 6
 .text
 .word c8
",
];

/// What GCC emits for string literals: `.rodata.str1.4` with `.LC` labels referenced from
/// literal pools (R_ARM_ABS32 against the section symbol) and, with `-mslow-flash-data`,
/// MOVW/MOVT pairs.
const C_SOURCES: &[&str] = &[
    "extern const char *pick(int);\n\
     const char *table[] = { \"alpha\", \"beta\", \"gamma ray\", \"ray\" };\n\
     int _start(void) { return pick(2)[0] + table[1][0]; }\n",
    "const char *pick(int i) {\n\
       switch (i) { case 0: return \"beta\"; case 1: return \"a ray\"; default: return \"ray\"; }\n\
     }\n\
     const char *other(void) { return \"alpha\" + 1; }\n",
];

fn assemble(dir: &Path, tag: &str, sources: &[&str]) -> Vec<PathBuf> {
    let mut objects = Vec::new();
    for (i, text) in sources.iter().enumerate() {
        let s = dir.join(format!("{tag}{i}.s"));
        std::fs::write(&s, text).unwrap();
        let o = dir.join(format!("{tag}{i}.o"));
        run(Command::new("arm-none-eabi-as")
            .args(["-mcpu=cortex-m7", "-mthumb"])
            .arg(&s)
            .arg("-o")
            .arg(&o));
        objects.push(o);
    }
    objects
}

fn compile(dir: &Path, tag: &str, sources: &[&str], flags: &[&str]) -> Vec<PathBuf> {
    let mut objects = Vec::new();
    for (i, text) in sources.iter().enumerate() {
        let c = dir.join(format!("{tag}{i}.c"));
        std::fs::write(&c, text).unwrap();
        let o = dir.join(format!("{tag}{i}.o"));
        run(Command::new("arm-none-eabi-gcc")
            .args(["-mcpu=cortex-m7", "-mthumb", "-O2", "-fdata-sections", "-c"])
            .args(flags)
            .arg(&c)
            .arg("-o")
            .arg(&o));
        objects.push(o);
    }
    objects
}

fn view(path: &Path) -> ImageView {
    ImageView::parse(&std::fs::read(path).unwrap(), &path.display().to_string()).unwrap()
}

fn section_size(path: &Path, name: &str) -> Option<u64> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let size = file.section_by_name(name).map(|s| s.size());
    size
}

/// Links `objects` with GNU ld and hotlink and returns the differences (empty when equal).
fn compare(dir: &Path, tag: &str, objects: &[PathBuf]) -> Vec<String> {
    let script = dir.join("merge.ld");
    std::fs::write(&script, SCRIPT).unwrap();
    let reference = dir.join(format!("{tag}-ld.elf"));
    let ours = dir.join(format!("{tag}-hotlink.elf"));
    run(Command::new("arm-none-eabi-ld")
        .arg("-T")
        .arg(&script)
        .args(objects)
        .arg("-o")
        .arg(&reference));
    run(Command::new(hotlink())
        .arg("link")
        .arg("-T")
        .arg(&script)
        .args(objects)
        .arg("-o")
        .arg(&ours));
    let (a, b) = (view(&reference), view(&ours));
    let mut diffs: Vec<String> = diff::differences(&a, &b)
        .iter()
        .map(ToString::to_string)
        .collect();
    let comment = (
        section_size(&reference, ".comment"),
        section_size(&ours, ".comment"),
    );
    if comment.0 != comment.1 {
        diffs.push(format!(
            ".comment size: GNU ld {:?}, hotlink {:?}",
            comment.0, comment.1
        ));
    }
    diffs
}

/// Sum of the sizes of every input section whose name starts with `.rodata`.
fn rodata_input_bytes(objects: &[PathBuf]) -> u64 {
    objects
        .iter()
        .map(|o| {
            let data = std::fs::read(o).unwrap();
            let file = object::File::parse(&*data).unwrap();
            let total: u64 = file
                .sections()
                .filter(|s| s.name().is_ok_and(|n| n.starts_with(".rodata")))
                .map(|s| s.size())
                .sum();
            total
        })
        .sum()
}

#[test]
fn merged_strings_and_constants_match_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-as", "arm-none-eabi-ld"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (tag, sources) in [("dup", DUPLICATES), ("pad", PADDING), ("realign", REALIGN)] {
        let objects = assemble(dir.path(), tag, sources);
        let diffs = compare(dir.path(), tag, &objects);
        assert!(diffs.is_empty(), "{tag}: {diffs:#?}");
        let rodata = view(&dir.path().join(format!("{tag}-hotlink.elf"))).section_size(".rodata");
        // Everything but the script's LONG comes from the inputs: merging must have removed
        // more than alignment added.
        let inputs = rodata_input_bytes(&objects);
        assert!(
            rodata < inputs + 4,
            "{tag}: .rodata is {rodata} bytes for {inputs} input bytes: nothing was merged"
        );
    }
}

#[test]
fn gcc_string_literals_match_gnu_ld() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (tag, flags) in [("pool", &[][..]), ("movw", &["-mslow-flash-data"][..])] {
        let objects = compile(dir.path(), tag, C_SOURCES, flags);
        let diffs = compare(dir.path(), tag, &objects);
        assert!(diffs.is_empty(), "{tag}: {diffs:#?}");
    }
}
