//! Undefined references are reported in output-section order and capped at 20, although
//! relocation builds the output sections on two threads (src/link/relocate.rs).

mod link_support;

use std::process::Command;

use link_support::{hotlink, output, run, toolchain_or_skip};

#[test]
fn undefined_references_in_section_order_and_capped() {
    if !toolchain_or_skip(&["arm-none-eabi-as"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // `.text` calls 15 missing functions; `.data` (a later output section, the other thread)
    // points at 15 more missing symbols: 30 references, of which the first 20 are reported.
    let mut src = String::from(".syntax unified\n.thumb\n.text\n.global _start\n_start:\n");
    for i in 0..15 {
        src.push_str(&format!("    bl code_{i:02}\n"));
    }
    src.push_str(".data\n");
    for i in 0..15 {
        src.push_str(&format!("    .word data_{i:02}\n"));
    }
    std::fs::write(dir.path().join("a.s"), src).unwrap();
    run(Command::new("arm-none-eabi-as")
        .args(["-mcpu=cortex-m7", "-mthumb", "a.s", "-o", "a.o"])
        .current_dir(dir.path()));
    let script = "MEMORY { flash (rx) : ORIGIN = 0x60000000, LENGTH = 1M\n\
                  ram (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }\n\
                  SECTIONS { .text : { *(.text*) } > flash\n\
                  .data : { *(.data*) } > ram AT> flash }\n";
    std::fs::write(dir.path().join("s.ld"), script).unwrap();
    let out = output(
        Command::new(hotlink())
            .args(["link", "-T", "s.ld", "a.o", "-o", "a.elf"])
            .current_dir(dir.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "linked with undefined symbols: {stderr}"
    );
    let named: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("undefined reference to"))
        .filter_map(|l| l.rsplit('`').nth(1))
        .collect();
    let expected: Vec<String> = (0..15)
        .map(|i| format!("code_{i:02}"))
        .chain((0..5).map(|i| format!("data_{i:02}")))
        .collect();
    assert_eq!(named, expected, "{stderr}");
}
