//! The hardware unwinder against the virtual board's exact call stacks.
//!
//! Each fixture runs on the virtual board with a shadow stack following every call, return and
//! exception ([`ExactStacks`]); every `POLL` cycles the core is halted through the capture
//! [`Target`] interface (the path a probe takes), the unwinder rebuilds the stack from the core
//! registers and memory alone, and the two stacks must be identical frame for frame on at least
//! 99% of the samples. The committed fixtures are built without frame pointers and unwound with
//! `.debug_frame`; when the ARM toolchain is here, dsp and vm are rebuilt with
//! `-fno-omit-frame-pointer` and with `-funwind-tables` and unwound from the frame-pointer rows
//! (decoded from the code) and from the EHABI tables, DWARF left out. Disagreements and samples
//! without unwind information are printed, so the rest is reported.

mod common;
mod sim_support;

use std::path::Path;

use hotlink::board::Board;
use hotlink::capture::stacks;
use hotlink::capture::{SimTarget, Target};
use hotlink::profile::{ExactFrame, ExactStacks};
use hotlink::sim::Machine;
use hotlink::unwind::{self, Source, Table};

/// Core cycles between samples: prime, so that samples do not lock onto a loop's period.
const POLL: u64 = 10007;

struct Agreement {
    samples: usize,
    /// Samples whose PC itself has no unwind information (newlib's assembly routines carry no
    /// CFI): reported, and left out of the share.
    no_info_at_pc: usize,
    agreed: usize,
    truncated: usize,
    examples: Vec<String>,
}

/// A frame of the oracle before exception returns are known.
enum Pending {
    Address(u32),
    Exception(usize),
}

fn run(elf: &Path, board: &str, table: &Table, max_samples: usize) -> Agreement {
    let board = Board::resolve(board).unwrap();
    let bytes = std::fs::read(elf).unwrap();
    let mut machine = Machine::new(&board, &bytes, &elf.display().to_string()).unwrap();
    machine.mem.allow_flash_writes();
    let (observer, shadow) = ExactStacks::new(&machine);
    machine.set_observer(Some(Box::new(observer)));
    let mut target = SimTarget::new(machine, POLL);
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
        if unwound.frames == exact && unwound.truncated.is_none() {
            result.agreed += 1;
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
fn check(name: &str, elf: &Path, board: &str, sources: &[Source], uncovered: f64) {
    let bytes = std::fs::read(elf).unwrap();
    let table = Table::from_elf_with(&bytes, &elf.display().to_string(), sources).unwrap();
    assert!(
        table.sources().count() > 0,
        "{name}: no rows from {sources:?}: {:?}",
        table.warnings
    );
    let a = run(elf, board, &table, 3000);
    let share = a.agreed as f64 / a.samples.max(1) as f64;
    eprintln!(
        "{name} ({sources:?}): {}/{} samples agree ({:.2}%), {} truncated; {} more at a PC without unwind information",
        a.agreed,
        a.samples,
        100.0 * share,
        a.truncated,
        a.no_info_at_pc
    );
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

/// The committed fixtures (no frame pointers) from their DWARF CFI, and from the frame-pointer
/// rows decoded from the code alone: without r7 frames every CFA comes from SP arithmetic.
#[test]
fn dwarf_and_frame_pointer_unwinding_match_the_exact_stacks_on_every_fixture() {
    for (name, board) in [
        ("vm", "imxrt1062"),
        ("vm-rt1176", "imxrt1176"),
        ("dsp", "imxrt1062"),
        ("flashwrite", "imxrt1062"),
        ("big", "imxrt1062"),
    ] {
        for sources in [Source::Dwarf, Source::FramePointer] {
            check(name, &common::fixture_elf(name), board, &[sources], 0.02);
        }
    }
}

/// Checks dsp and vm rebuilt with `flags`, unwound from each of `configurations` (sources and
/// the share of samples allowed outside their coverage). Skips without the ARM toolchain.
fn check_variants(flags: &[&str], configurations: &[(&[Source], f64)]) {
    if !sim_support::toolchain() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["dsp", "vm"] {
        let elf =
            sim_support::build_variant(name, flags, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let label = format!("{name} {}", flags.join(" "));
        for (sources, uncovered) in configurations {
            check(&label, &elf, "imxrt1062", sources, *uncovered);
        }
    }
}

/// A build with frame pointers (`-fno-omit-frame-pointer` changes every prologue), unwound from
/// its DWARF CFI and then from the code alone (frame pointers, and SP arithmetic in the library
/// functions built without them), DWARF and EHABI left out.
#[test]
fn dwarf_and_frame_pointer_unwinding_match_the_exact_stacks_with_frame_pointers() {
    check_variants(
        &["-g", "-fno-omit-frame-pointer"],
        &[(&[Source::Dwarf], 0.02), (&[Source::FramePointer], 0.02)],
    );
}

/// A `-funwind-tables` build unwound from its EHABI tables (`.ARM.exidx`/`.ARM.extab`), DWARF
/// left out. The tables describe function bodies, not prologues and epilogues: samples there
/// are the disagreements. newlib's libm and libgcc are built without unwind tables: samples
/// there cannot be unwound from EHABI alone (over a quarter on dsp), and the frame-pointer rows
/// decoded from the code fill them in.
#[test]
fn ehabi_unwinding_matches_the_exact_stacks() {
    check_variants(
        &["-funwind-tables"],
        &[
            (&[Source::Ehabi], 0.5),
            (&[Source::Ehabi, Source::FramePointer], 0.02),
        ],
    );
}
