//! Shared by the virtual-board tests that build firmware.

// Each test crate compiles this module separately and uses a different subset.
#![allow(dead_code)]

use std::process::Command;

/// Whether arm-none-eabi-gcc is here: skips locally with a printed reason, fails in CI.
pub fn toolchain() -> bool {
    let ok = Command::new("arm-none-eabi-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but arm-none-eabi-gcc is missing"
        );
        eprintln!("skipping: arm-none-eabi-gcc not installed");
    }
    ok
}

/// Assembles and links `source` (a whole `.S` file) with `-nostdlib` at 0x6000_0000, the start
/// of the RT1062's XIP flash, with `extra` linker options (e.g. `-Wl,--defsym=MODE=1`), and
/// returns the ELF's bytes.
pub fn flash_image(source: &str, extra: &[String]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (src, elf) = (dir.path().join("t.S"), dir.path().join("t.elf"));
    std::fs::write(&src, source).unwrap();
    let out = Command::new("arm-none-eabi-gcc")
        .args(["-mcpu=cortex-m7", "-mthumb", "-nostdlib"])
        .args(extra)
        .args(["-Wl,-Ttext=0x60000000", "-Wl,-e,0x60000000", "-o"])
        .arg(&elf)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(elf).unwrap()
}
