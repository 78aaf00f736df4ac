//! Veneers in GNU ld's order: programs whose flash code calls 40 ITCM functions (40 veneers in
//! one stub section, so only the right stub group id gives GNU ld's order), linked by GNU ld and
//! by hotlink with different files and archives ahead of the stub group's section, must be
//! byte-identical. Each input layout moves the BFD section ids GNU ld's order depends on
//! (src/link/stub_order.rs): objects before, an archive opened through `-l` whose first member
//! is read for the architecture check (extracted or not), the same archive named by path, and
//! under `-Bstatic`. Calls to static (local) ITCM functions name their stubs by section id.
//!
//! Needs the ARM toolchain: skipped locally with a message when it is missing, failing when `CI`
//! is set.

mod link_support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use hotlink::inventory::diff::{self, ImageView};
use link_support::{hotlink, run, toolchain_or_skip, veneer_symbols_difference};

const FUNCTIONS: usize = 40;

const SCRIPT: &str = "MEMORY { itcm : ORIGIN = 0, LENGTH = 512K
  flash : ORIGIN = 0x60000000, LENGTH = 1M }
ENTRY(_start)
SECTIONS {
  .text : { *(.text*) } > flash
  .itcm : { *(.itcm*) } > itcm
}
";

/// caller.c (flash: calls every ITCM function, and two static ITCM functions of its own),
/// itcm.c (the ITCM functions) and filler.c (an object that only moves section ids).
fn sources(functions: usize) -> [(&'static str, String); 3] {
    let mut caller = String::new();
    for i in 0..functions {
        writeln!(caller, "void f{i}(void);").unwrap();
    }
    for s in ["s0", "s1"] {
        writeln!(
            caller,
            "__attribute__((section(\".itcm.{s}\"), noinline)) static void {s}(void) \
             {{ __asm volatile(\"nop\"); }}"
        )
        .unwrap();
    }
    caller.push_str("void caller(void) {\n  s0();\n  s1();\n");
    for i in 0..functions {
        writeln!(caller, "  f{i}();").unwrap();
    }
    caller.push_str("}\nvoid _start(void) { caller(); }\n");
    let mut itcm = String::new();
    for i in 0..functions {
        writeln!(
            itcm,
            "__attribute__((section(\".itcm.f{i}\"), noinline)) void f{i}(void) \
             {{ __asm volatile(\"nop\"); }}"
        )
        .unwrap();
    }
    [
        ("caller", caller),
        ("itcm", itcm),
        (
            "filler",
            "int filler_data;\nint filler(void) { return 1; }\n".into(),
        ),
    ]
}

fn build(dir: &Path, functions: usize) {
    for (name, text) in sources(functions) {
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, text).unwrap();
        run(Command::new("arm-none-eabi-gcc")
            .args(["-mcpu=cortex-m7", "-mthumb", "-O2", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(dir.join(format!("{name}.o")))
            .current_dir(dir));
    }
    std::fs::write(dir.join("veneers.ld"), SCRIPT).unwrap();
    // The archive check reads the first member: `filler.o` (never extracted) in one archive,
    // `itcm.o` (extracted) in the other.
    for (lib, members) in [
        ("libfirst_unused.a", ["filler.o", "itcm.o"]),
        ("libfirst_used.a", ["itcm.o", "filler.o"]),
    ] {
        run(Command::new("arm-none-eabi-ar")
            .arg("rcs")
            .arg(lib)
            .args(members)
            .current_dir(dir));
    }
}

fn view(path: &Path) -> ImageView {
    ImageView::parse(&std::fs::read(path).unwrap(), &path.display().to_string()).unwrap()
}

/// Links `inputs` with both linkers; returns GNU ld's veneer count and the differences.
fn link_both(dir: &Path, inputs: &str) -> (usize, Vec<String>) {
    let args: Vec<&str> = ["-T", "veneers.ld", "-L", "."]
        .into_iter()
        .chain(inputs.split_whitespace())
        .collect();
    run(Command::new("arm-none-eabi-ld")
        .args(&args)
        .args(["-o", "ld.elf"])
        .current_dir(dir));
    run(Command::new(hotlink())
        .arg("link")
        .args(&args)
        .args(["-o", "hotlink.elf"])
        .current_dir(dir));
    let symbols = run(Command::new("arm-none-eabi-nm")
        .arg("ld.elf")
        .current_dir(dir));
    let veneers = symbols.lines().filter(|l| l.ends_with("_veneer")).count();
    let mut diffs: Vec<String> =
        diff::differences(&view(&dir.join("ld.elf")), &view(&dir.join("hotlink.elf")))
            .iter()
            .map(ToString::to_string)
            .collect();
    diffs.extend(veneer_symbols_difference(
        &dir.join("ld.elf"),
        &dir.join("hotlink.elf"),
    ));
    (veneers, diffs)
}

#[test]
fn veneer_order_matches_gnu_ld_whatever_comes_before() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld", "arm-none-eabi-ar"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), FUNCTIONS);
    for inputs in [
        "caller.o itcm.o",
        "filler.o caller.o itcm.o",
        "caller.o filler.o itcm.o",
        "itcm.o caller.o",
        "caller.o -lfirst_unused",
        "caller.o -lfirst_used",
        "caller.o -l:libfirst_unused.a",
        "caller.o libfirst_unused.a",
        "-Bstatic caller.o libfirst_unused.a",
        "-Bstatic caller.o -Bdynamic libfirst_unused.a",
        "caller.o --whole-archive -lfirst_unused --no-whole-archive",
    ] {
        let (veneers, diffs) = link_both(dir.path(), inputs);
        assert_eq!(veneers, FUNCTIONS + 2, "{inputs}: GNU ld's veneers");
        assert!(diffs.is_empty(), "{inputs}: {diffs:#?}");
    }
}

/// More than 3038 stubs grow GNU ld's stub table past its 4051 buckets, which reorders it.
#[test]
fn veneer_order_matches_gnu_ld_past_the_table_growth() {
    if !toolchain_or_skip(&["arm-none-eabi-gcc", "arm-none-eabi-ld", "arm-none-eabi-ar"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 3100);
    let (veneers, diffs) = link_both(dir.path(), "caller.o itcm.o");
    assert_eq!(veneers, 3102);
    assert!(diffs.is_empty(), "{diffs:#?}");
}
