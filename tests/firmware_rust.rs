//! The Rust firmware fixtures (`tests/firmware/rust-imxrt` on imxrt-rt, `tests/firmware/rust-teensy4`
//! on teensy4-bsp), built by cargo for `thumbv7em-none-eabihf` exactly as their users build them and
//! linked by rustc with `-C linker=`: GNU ld, rust-lld and hotlink. Each image must boot on the
//! virtual board as flashed (boot ROM, imxrt-rt's `__pre_init`, the BSP's clock bring-up), print its
//! result over the LPUART and exit 0, whichever linker made it.
//!
//! hotlink's image must also equal GNU ld's from the same objects: every loadable byte and every
//! symbol (the comparison of `hotlink diff`, which names the section and symbol of a difference),
//! the merged `.ARM.attributes` bytes (LLVM's objects keep Tag_conformance and name no CPU, and
//! rustc's `symbols.o` has no attributes) and the veneers' symbols.
//!
//! Needs the ARM toolchain and the `thumbv7em-none-eabihf` Rust target: skipped locally with a
//! message when either is missing, failing when `CI` is set. The cargo builds share one target
//! directory under cargo's test temp dir, so only the first run compiles the crates.io dependencies.

mod common;
mod link_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cargo_relink, firmware_dir, require_rust_fixture_tools};
use link_support::{arm_attributes_difference, veneer_symbols_difference};

/// A Rust fixture: its directory under tests/firmware and the line its program prints on success.
struct RustFixture {
    name: &'static str,
    expect: &'static str,
}

const FIXTURES: &[RustFixture] = &[
    RustFixture {
        name: "rust-imxrt",
        expect: "rust-imxrt: digest=333f3c1c median=7d1f0f6a failures=0",
    },
    RustFixture {
        name: "rust-teensy4",
        expect: "rust-teensy4: digest=29aa3aee failures=0",
    },
];

/// Which linker rustc calls.
#[derive(Clone, Copy, Debug)]
enum Linker {
    Gnu,
    RustLld,
    Hotlink,
}

fn hotlink() -> &'static str {
    env!("CARGO_BIN_EXE_hotlink")
}

/// A directory holding `ld`, a link to the hotlink binary: rustc's `-C linker=` then runs
/// hotlink as a linker, as a user who swaps GNU ld for it would.
fn hotlink_as_ld(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let ld = dir.join("ld");
    let _ = std::fs::remove_file(&ld);
    std::os::unix::fs::symlink(hotlink(), &ld).unwrap();
    ld
}

/// Builds `fixture` with `linker` and returns the linked ELF (copied out of cargo's target dir,
/// which the next build with another linker overwrites).
fn build(fixture: &RustFixture, linker: Linker) -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rust-fixtures");
    let target_dir = tmp.join(format!("{}-target", fixture.name));
    let mut cmd = Command::new("cargo");
    cmd.current_dir(firmware_dir().join(fixture.name))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .args(["rustc", "--release", "--locked", "--quiet", "--"]);
    match linker {
        Linker::Gnu => {
            cmd.args(["-C", "linker=arm-none-eabi-ld", "-C", "linker-flavor=ld"]);
        }
        Linker::RustLld => {}
        Linker::Hotlink => {
            let ld = hotlink_as_ld(&tmp.join("hotlink-bin"));
            cmd.arg("-C")
                .arg(format!("linker={}", ld.display()))
                .args(["-C", "linker-flavor=ld"]);
        }
    }
    cargo_relink(&mut cmd, fixture.name, &format!("with {linker:?}"));
    let built = target_dir
        .join("thumbv7em-none-eabihf/release")
        .join(fixture.name);
    let copy = tmp.join(format!("{}-{linker:?}.elf", fixture.name).to_lowercase());
    std::fs::copy(&built, &copy).unwrap();
    copy
}

/// Runs `elf` on the virtual RT1062 and checks its output and exit status.
fn boots(fixture: &RustFixture, elf: &Path) {
    let out = Command::new(hotlink())
        .args(["run", "--board", "imxrt1062", "--max-cycles", "200000000"])
        .arg(elf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(fixture.expect),
        "{} ({}) on the virtual board: status {:?}, expected `{}`\nstdout:\n{stdout}\nstderr:\n{stderr}",
        fixture.name,
        elf.display(),
        out.status.code(),
        fixture.expect
    );
}

/// One test, so that the builds of a fixture (one cargo target directory) run in sequence.
#[test]
fn rust_fixtures_boot_as_flashed_whichever_linker_made_them() {
    if !require_rust_fixture_tools() {
        return;
    }
    for fixture in FIXTURES {
        let mut images = Vec::new();
        for linker in [Linker::Gnu, Linker::RustLld, Linker::Hotlink] {
            let elf = build(fixture, linker);
            boots(fixture, &elf);
            images.push(elf);
        }
        let diffs = differences(&images[0], &images[2]);
        assert!(
            diffs.is_empty(),
            "{}: hotlink's image differs from GNU ld's: {diffs:#?}",
            fixture.name
        );
        let (gnu, ours) = (&images[0], &images[2]);
        assert_eq!(
            arm_attributes_difference(gnu, ours),
            None,
            "{}",
            fixture.name
        );
        assert_eq!(
            veneer_symbols_difference(gnu, ours),
            None,
            "{}",
            fixture.name
        );
    }
}

/// Every loadable section and global symbol of `reference` must be identical in `ours`.
fn differences(reference: &Path, ours: &Path) -> Vec<String> {
    let view = |p: &Path| {
        let data = std::fs::read(p).unwrap();
        hotlink::inventory::diff::ImageView::parse(&data, &p.display().to_string()).unwrap()
    };
    hotlink::inventory::diff::differences(&view(reference), &view(ours))
        .iter()
        .map(ToString::to_string)
        .collect()
}
