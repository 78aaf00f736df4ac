//! Shared by the virtual-board tests that build firmware.

// Each test crate compiles this module separately and uses a different subset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
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
    flash_image_at(source, extra, 0x6000_0000)
}

/// [`flash_image`] linked at `base` (0x3000_0000 for the RT1170's FlexSPI1).
pub fn flash_image_at(source: &str, extra: &[String], base: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (src, elf) = (dir.path().join("t.S"), dir.path().join("t.elf"));
    std::fs::write(&src, source).unwrap();
    let out = Command::new("arm-none-eabi-gcc")
        .args(["-mcpu=cortex-m7", "-mthumb", "-nostdlib"])
        .args(extra)
        .arg(format!("-Wl,-Ttext={base:#x}"))
        .arg(format!("-Wl,-e,{base:#x}"))
        .arg("-o")
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

/// Whether the `thumbv7em-none-eabihf` Rust target is installed: skips locally with a printed
/// reason, fails in CI.
pub fn thumb_target() -> bool {
    let libdir = Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "thumbv7em-none-eabihf",
        ])
        .output()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let ok = libdir.is_ok_and(|dir| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
    });
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the thumbv7em-none-eabihf Rust target is missing"
        );
        eprintln!("skipping: `rustup target add thumbv7em-none-eabihf` to run this test");
    }
    ok
}

/// Builds the Rust fixture `name` (tests/firmware/<name>) with cargo as its users do (release,
/// rustc's default linker) in the target directory tests/firmware_rust.rs uses, so the crates.io
/// dependencies compile once per test run, and returns the image, written by rustc to a path of
/// this caller's own (`--emit link=`) so that another test relinking there cannot change it.
pub fn build_rust_fixture(name: &str) -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rust-fixtures");
    let elf = tmp.join(format!("{name}-emitted-{}.elf", std::process::id()));
    let out = Command::new("cargo")
        .current_dir(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/firmware")
                .join(name),
        )
        .env("CARGO_TARGET_DIR", tmp.join(format!("{name}-target")))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["rustc", "--release", "--locked", "--quiet", "--"])
        .arg(format!("--emit=link={}", elf.display()))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "{name}: cargo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elf
}
/// Builds fixture `name` (tests/firmware/<name>/*.c with the common startup) with extra compiler
/// `flags` into `dir`, as the Makefile does: variants such as `-fno-omit-frame-pointer` or
/// `-funwind-tables` builds for the unwinder. `Err` says why it did not build.
pub fn build_variant(name: &str, flags: &[&str], dir: &Path) -> Result<PathBuf, String> {
    let fw = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/firmware");
    let mut sources: Vec<PathBuf> = vec![fw.join("common/startup.c"), fw.join("common/semihost.c")];
    let mut own: Vec<PathBuf> = std::fs::read_dir(fw.join(name))
        .map_err(|e| format!("{}: {e}", fw.join(name).display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    own.sort();
    sources.extend(own);
    let elf = dir.join(format!("{name}.elf"));
    let status = Command::new("arm-none-eabi-gcc")
        .args([
            "-mcpu=cortex-m7",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-d16",
            "-O2",
            "-ffunction-sections",
            "-fdata-sections",
            "-nostartfiles",
            "-Wl,--gc-sections",
        ])
        .args(flags)
        .arg(format!("-I{}", fw.join("common").display()))
        .arg(format!("-I{}", fw.join(name).display()))
        .arg("-T")
        .arg(fw.join("common/imxrt1062.ld"))
        .args(&sources)
        .arg("-lm")
        .arg("-o")
        .arg(&elf)
        .status()
        .map_err(|e| format!("arm-none-eabi-gcc: {e}"))?;
    if !status.success() {
        return Err(format!("building the {name} variant with {flags:?} failed"));
    }
    Ok(elf)
}
