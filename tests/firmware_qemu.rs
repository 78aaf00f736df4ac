//! Runs every QEMU-runnable firmware fixture in `tests/firmware/build/` on
//! `qemu-system-arm -M mps2-an500` and checks its exit status and output line.
//!
//! The fixtures check their own results; the expected lines here also pin the
//! values they computed, so a fixture that silently changes is noticed.

mod common;

use std::time::Duration;

const QEMU_LIMIT: Duration = Duration::from_secs(60);

/// Fixture name and the exact line it prints when correct.
const EXPECTED: &[(&str, &str)] = &[
    (
        "vm",
        "vm: ok fib=1597 dsum=1520255 churn=20991 primes=168 gc=2 freed=890 ops=166165 checksum=0x7b2b0f53",
    ),
    ("dsp", "dsp: ok fft=256 fir_taps=63 samples=1024 checksum=0x64d24a4c"),
    (
        "flashwrite",
        "flashwrite: ok erased=65536 programmed=65540 irqs=257 crc=0x93a421fe busy_us=782794 helpers_in_flash=4",
    ),
    ("rtos", "rtos: ok tasks=5 counter=15000 checksum=0x823fbbfe"),
    (
        "big",
        "big: ok functions=3328 rounds=3000 calls=70941 checksum=0x308d3385",
    ),
    ("newlib-exit", "newlib-exit: ok checksum=0x7f0149f5"),
];

/// Fixtures QEMU's mps2-an500 cannot run: linked for another memory map (no RAM at 0x3000_0000),
/// or programming i.MX RT peripherals that QEMU does not model (`sdk`: the virtual board runs it).
/// `teensy` has no vector table in flash (its IVT enters the reset function; tests/sim_boot.rs).
/// `px4-style` and `zephyr-style` execute from FlexSPI flash at 0x6000_0000, which mps2-an500
/// does not have (tests/recipes.rs boots them on the virtual board).
const NOT_QEMU_RUNNABLE: &[&str] = &["vm-rt1176", "sdk", "teensy", "px4-style", "zephyr-style"];

fn run_fixture(name: &str) {
    if !common::require_tool("qemu-system-arm") {
        return;
    }
    let expected = EXPECTED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, line)| *line)
        .expect("fixture listed in EXPECTED");
    let elf = common::fixture_elf(name);
    assert!(
        elf.is_file(),
        "{} is missing: build it with `make -C tests/firmware`",
        elf.display()
    );
    let out = common::run_with_timeout(&mut common::qemu_command(&elf), QEMU_LIMIT)
        .unwrap_or_else(|e| panic!("cannot start qemu-system-arm for {name}: {e}"));
    assert!(
        !out.timed_out(),
        "{name}: QEMU did not exit within {QEMU_LIMIT:?}; output so far:\n{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        out.code(),
        Some(0),
        "{name}: exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    // Without a semihosting chardev, QEMU writes the guest's console output to stderr.
    let console = format!("{}{}", out.stdout, out.stderr);
    assert!(
        console.lines().any(|l| l.trim_end() == expected),
        "{name}: expected the line\n  {expected}\ngot:\n{console}"
    );
}

#[test]
fn vm_runs_in_qemu() {
    run_fixture("vm");
}

#[test]
fn dsp_runs_in_qemu() {
    run_fixture("dsp");
}

#[test]
fn flashwrite_runs_in_qemu() {
    run_fixture("flashwrite");
}

#[test]
fn rtos_runs_in_qemu() {
    run_fixture("rtos");
}

#[test]
fn big_runs_in_qemu() {
    run_fixture("big");
}

#[test]
fn newlib_exit_runs_in_qemu() {
    run_fixture("newlib-exit");
}

/// Every fixture directory with an ELF is either run above or known not to run in QEMU.
#[test]
fn every_built_fixture_is_covered() {
    let dir = common::firmware_build_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut seen = Vec::new();
    for entry in entries {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy().into_owned();
        if !common::fixture_elf(&name).is_file() {
            continue;
        }
        assert!(
            EXPECTED.iter().any(|(n, _)| *n == name) || NOT_QEMU_RUNNABLE.contains(&name.as_str()),
            "fixture `{name}` has an ELF but no expected QEMU output in tests/firmware_qemu.rs"
        );
        seen.push(name);
    }
    for (name, _) in EXPECTED {
        assert!(
            seen.iter().any(|s| s == name),
            "fixture `{name}` has no ELF in {}",
            dir.display()
        );
    }
}
