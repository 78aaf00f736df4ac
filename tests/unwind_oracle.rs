//! The hardware unwinder against the virtual board's exact call stacks.
//!
//! Each fixture runs on the virtual board with a shadow stack following every call, return and
//! exception ([`ExactStacks`]); every `POLL` cycles the core is halted through the capture
//! [`Target`] interface (the path a probe takes), the unwinder rebuilds the stack from the core
//! registers and memory alone, and the two stacks must be identical frame for frame on at least
//! 99% of the samples. Every fixture takes part: the committed C fixtures (built without frame
//! pointers), the Rust ones (built by cargo as tests/firmware_rust.rs builds them) and, when the
//! ARM toolchain is here, every C fixture rebuilt with `-fno-omit-frame-pointer` (the Makefile's
//! `VARIANT_CFLAGS`) and dsp and vm with `-funwind-tables`. Each is unwound from its DWARF CFI,
//! from the frame-pointer rows decoded from the code alone, and the `-funwind-tables` builds from
//! their EHABI tables. `rtos` switches tasks: the oracle's shadow stack follows the running
//! task's process stack, and the unwinder continues through the exception frame PendSV returns
//! through. Disagreements and samples without unwind information are printed, so the rest is
//! reported.

mod common;
mod sim_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::board::Board;
use hotlink::capture::stacks;
use hotlink::capture::{SimTarget, Target};
use hotlink::profile::{ExactFrame, ExactStacks};
use hotlink::sim::Machine;
use hotlink::unwind::{self, Source, Table};

/// A fixture of the oracle: its name, its board, and the core cycles between samples (prime, so
/// that samples do not lock onto a loop's period; about 2,000 samples over a run).
struct Fixture {
    name: &'static str,
    board: &'static str,
    poll: u64,
    /// The fixture switches threads: its PendSV saves LR (the EXC_RETURN) through r0 onto the
    /// task's stack and calls the scheduler, as FreeRTOS's port does; no unwind information
    /// says where LR went, so a sample in the scheduler or in PendSV after that call stops at
    /// PendSV, marked truncated, with the frames above it right. Those count as stopping
    /// correctly (the issue asks the unwinder to stop or continue correctly there).
    stops_at_context_switch: bool,
    /// The share of samples allowed at PCs without unwind information, when unwinding from
    /// DWARF alone.
    uncovered: f64,
}

const fn fixture(name: &'static str, board: &'static str, poll: u64) -> Fixture {
    Fixture {
        name,
        board,
        poll,
        stops_at_context_switch: false,
        uncovered: 0.02,
    }
}

/// The C fixtures, committed in tests/firmware/build.
const C_FIXTURES: &[Fixture] = &[
    fixture("vm", "imxrt1062", 1999),
    fixture("vm-rt1176", "imxrt1176", 1999),
    fixture("dsp", "imxrt1062", 1499),
    fixture("flashwrite", "imxrt1062", 1999),
    fixture("big", "imxrt1062", 15823),
    Fixture {
        stops_at_context_switch: true,
        ..fixture("rtos", "imxrt1062", 467)
    },
    fixture("sdk", "imxrt1062", 3691),
    fixture("teensy", "imxrt1062", 863),
    // A short run, mostly startup and exit code: crtbegin's `frame_dummy`, crti's `_init` and
    // newlib's assembly `memset` carry no CFI (about 5% of its samples; the frame-pointer rows
    // decoded from the code cover them), and its stacks end in crt0's `_start`, which the reset
    // handler reaches by a tail branch.
    Fixture {
        uncovered: 0.07,
        ..fixture("newlib-exit", "imxrt1062", 61)
    },
];

/// The Rust fixtures, built by cargo.
const RUST_FIXTURES: &[Fixture] = &[
    fixture("rust-imxrt", "imxrt1062", 997),
    fixture("rust-teensy4", "imxrt1062", 997),
];

struct Agreement {
    samples: usize,
    /// Samples whose PC itself has no unwind information (newlib's assembly routines carry no
    /// CFI): reported, and left out of the share.
    no_info_at_pc: usize,
    agreed: usize,
    /// Truncated as corrupt, the frames found being the exact stack's innermost ones.
    stopped: usize,
    truncated: usize,
    examples: Vec<String>,
}

/// A frame of the oracle before exception returns are known.
enum Pending {
    Address(u32),
    Exception(usize),
}

fn run(elf: &Path, board: &str, poll: u64, table: &Table, max_samples: usize) -> Agreement {
    let board = Board::resolve(board).unwrap();
    let bytes = std::fs::read(elf).unwrap();
    let mut machine = Machine::new(&board, &bytes, &elf.display().to_string()).unwrap();
    machine.mem.allow_flash_writes();
    let (observer, shadow) = ExactStacks::new(&machine);
    machine.set_observer(Some(Box::new(observer)));
    let mut target = SimTarget::new(machine, poll);
    let mut taken = Vec::new();
    while taken.len() < max_samples {
        if target.wait_for_next_poll().is_err() {
            break;
        }
        let (unwound, _) = stacks::sample(&mut target, table, unwind::Limits::default()).unwrap();
        let machine = target.machine();
        let mut exact = vec![Pending::Address(machine.pc)];
        for frame in shadow.borrow().frames() {
            exact.push(match frame {
                ExactFrame::Call { site } => {
                    // Frames name an address inside the call: BL (4 bytes) + 2, BLX Rm (2) + 0.
                    let mut hw = [0u8; 2];
                    machine.mem.peek(site, &mut hw).unwrap();
                    let blx = u16::from_le_bytes(hw) & 0xFF87 == 0x4780;
                    Pending::Address(if blx { site } else { site + 2 })
                }
                ExactFrame::Exception { id } => Pending::Exception(id),
            });
        }
        taken.push((unwound, exact));
    }
    let shadow = shadow.borrow();
    let mut result = Agreement {
        samples: 0,
        no_info_at_pc: 0,
        agreed: 0,
        stopped: 0,
        truncated: 0,
        examples: Vec::new(),
    };
    for (unwound, exact) in taken {
        // A sample inside a handler that had not returned when the run ended cannot be checked.
        let Some(exact): Option<Vec<u32>> = exact
            .iter()
            .map(|f| match f {
                Pending::Address(a) => Some(*a),
                Pending::Exception(id) => shadow.resumed(*id),
            })
            .collect()
        else {
            continue;
        };
        if unwound.truncated == Some(unwind::Truncated::NoUnwindInfo(exact[0])) {
            result.no_info_at_pc += 1;
            if result.no_info_at_pc <= 3 {
                result
                    .examples
                    .push(format!("no unwind information at {:#x}", exact[0]));
            }
            continue;
        }
        result.samples += 1;
        result.truncated += usize::from(unwound.truncated.is_some());
        let stopped = matches!(unwound.truncated, Some(unwind::Truncated::Corrupt(_)))
            && exact.starts_with(&unwound.frames);
        if unwound.frames == exact && unwound.truncated.is_none() {
            result.agreed += 1;
        } else if stopped {
            result.stopped += 1;
        } else if result.examples.len() < 8 {
            result.examples.push(format!(
                "exact {:x?}\n      unwound {:x?} ({})",
                exact,
                unwound.frames,
                unwound
                    .truncated
                    .map_or("complete".to_string(), |t| t.to_string())
            ));
        }
    }
    result
}

/// Checks `elf` unwound from `sources` against the exact stacks: at least 99% agree, and at most
/// `uncovered` of the samples (a share) fall at PCs without unwind information.
fn check(name: &str, elf: &Path, f: &Fixture, sources: &[Source], uncovered: f64) {
    let (board, poll) = (f.board, f.poll);
    let bytes = std::fs::read(elf).unwrap();
    let table = Table::from_elf_with(&bytes, &elf.display().to_string(), sources).unwrap();
    assert!(
        table.sources().count() > 0,
        "{name}: no rows from {sources:?}: {:?}",
        table.warnings
    );
    let a = run(elf, board, poll, &table, 3000);
    let share = a.agreed as f64 / a.samples.max(1) as f64;
    eprintln!(
        "{name} ({sources:?}): {}/{} samples agree ({:.2}%), {} stopped correctly, {} truncated; {} more at a PC without unwind information",
        a.agreed,
        a.samples,
        100.0 * share,
        a.stopped,
        a.truncated,
        a.no_info_at_pc
    );
    let right = if f.stops_at_context_switch {
        a.agreed + a.stopped
    } else {
        a.agreed
    };
    let share = right as f64 / a.samples.max(1) as f64;
    for e in &a.examples {
        eprintln!("  disagreement: {e}");
    }
    assert!(a.samples >= 200, "{name}: only {} samples", a.samples);
    assert!(
        a.no_info_at_pc as f64 <= uncovered * (a.samples + a.no_info_at_pc) as f64,
        "{name}: {} samples at PCs without unwind information (more than {:.0}%)",
        a.no_info_at_pc,
        100.0 * uncovered
    );
    assert!(
        share >= 0.99,
        "{name}: the unwinder agrees with the exact stack on {:.2}% of samples (< 99%)",
        100.0 * share
    );
}

/// Each fixture unwound from its DWARF CFI and from the frame-pointer rows decoded from its code
/// alone (built without frame pointers, every CFA comes from SP arithmetic there).
fn check_both(label: &str, elf: &Path, f: &Fixture) {
    check(label, elf, f, &[Source::Dwarf], f.uncovered);
    check(label, elf, f, &[Source::FramePointer], 0.02);
}

/// The committed C fixtures, as built (no frame pointers).
#[test]
fn dwarf_and_frame_pointer_unwinding_match_the_exact_stacks_on_every_fixture() {
    for f in C_FIXTURES {
        check_both(f.name, &common::fixture_elf(f.name), f);
    }
}

/// Builds `fixtures` with the Makefile into `dir` with `VARIANT_CFLAGS=flags` (one make run, two
/// jobs) and returns their ELFs. Skips (`None`) without the ARM toolchain.
fn build_variants(fixtures: &[&Fixture], flags: &str, dir: &Path) -> Option<Vec<PathBuf>> {
    if !sim_support::toolchain() {
        return None;
    }
    let build = dir.join("build");
    let elfs: Vec<PathBuf> = fixtures
        .iter()
        .map(|f| build.join(f.name).join(format!("{}.elf", f.name)))
        .collect();
    let out = Command::new("make")
        .arg("-C")
        .arg(common::firmware_dir())
        .args(["-s", "-j2"])
        .arg(format!("BUILD={}", build.display()))
        .arg(format!("VARIANT_CFLAGS={flags}"))
        .args(&elfs)
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "building the {flags} variants failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(elfs)
}

/// Every C fixture rebuilt with frame pointers (`-fno-omit-frame-pointer` changes every
/// prologue): unwound from its DWARF CFI and from the code alone (r7 frames, and SP arithmetic
/// in the library functions built without them), DWARF and EHABI left out. teensy's ITCM code
/// at address 0 shares it with the FDEs of the functions `--gc-sections` removed.
#[test]
fn dwarf_and_frame_pointer_unwinding_match_the_exact_stacks_with_frame_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures: Vec<&Fixture> = C_FIXTURES.iter().collect();
    let Some(elfs) = build_variants(&fixtures, "-fno-omit-frame-pointer", dir.path()) else {
        return;
    };
    for (f, elf) in fixtures.iter().zip(&elfs) {
        check_both(&format!("{} -fno-omit-frame-pointer", f.name), elf, f);
    }
}

/// A `-funwind-tables` build unwound from its EHABI tables (`.ARM.exidx`/`.ARM.extab`), DWARF
/// left out. The tables describe function bodies, not prologues and epilogues: samples there
/// are the disagreements. newlib's libm and libgcc are built without unwind tables: samples
/// there cannot be unwound from EHABI alone (over a quarter on dsp), and the frame-pointer rows
/// decoded from the code fill them in.
#[test]
fn ehabi_unwinding_matches_the_exact_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures: Vec<&Fixture> = C_FIXTURES
        .iter()
        .filter(|f| matches!(f.name, "dsp" | "vm"))
        .collect();
    let Some(elfs) = build_variants(&fixtures, "-funwind-tables", dir.path()) else {
        return;
    };
    for (f, elf) in fixtures.iter().zip(&elfs) {
        let label = format!("{} -funwind-tables", f.name);
        for (sources, uncovered) in [
            (&[Source::Ehabi][..], 0.5),
            (&[Source::Ehabi, Source::FramePointer][..], 0.02),
        ] {
            check(&label, elf, f, sources, uncovered);
        }
    }
}

/// The Rust fixtures as their users build them (cargo, release profile with debug info, linked
/// by rust-lld), in the target directories tests/firmware_rust.rs uses, so that the crates.io
/// dependencies are compiled once. Skips without the Rust target or the ARM toolchain.
#[test]
fn dwarf_and_frame_pointer_unwinding_match_the_exact_stacks_on_the_rust_fixtures() {
    if !common::require_tool("arm-none-eabi-ld") || !sim_support::thumb_target() {
        return;
    }
    for f in RUST_FIXTURES {
        let elf = sim_support::build_rust_fixture(f.name);
        check_both(f.name, &elf, f);
        std::fs::remove_file(elf).unwrap();
    }
}
