//! Bad input and faults on the virtual board: clear errors, never a panic or a hang.

mod sim_support;
use sim_support::toolchain;

use hotlink::board::Board;
use hotlink::sim::{Limits, Machine, SimError, StopReason};

fn board() -> Board {
    Board::resolve("imxrt1062").unwrap()
}

fn load_error(bytes: &[u8]) -> String {
    match Machine::new(&board(), bytes, "fw.elf") {
        Ok(_) => panic!("loaded a bad image"),
        Err(e) => e.to_string(),
    }
}

/// A 32-bit little-endian ELF header with no program headers, for machine `machine`.
fn elf32_header(machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 52];
    h[..7].copy_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1]);
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..42].copy_from_slice(&52u16.to_le_bytes());
    h
}

#[test]
fn rejects_files_that_are_not_arm_elf() {
    assert!(load_error(b"hello").contains("not a 32-bit little-endian ELF"));
    let host = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert!(load_error(&host).contains("fw.elf"));
    assert!(load_error(&elf32_header(3)).contains("not ARM"));
    assert!(load_error(&elf32_header(40)).contains("no loadable segments"));
}

/// Builds a flash image from assembly: vector table at 0x6000_0000, code after it.
fn build(asm: &str) -> Vec<u8> {
    let fpu = ["-mfloat-abi=hard".to_string(), "-mfpu=fpv5-d16".to_string()];
    sim_support::flash_image(&format!(".syntax unified\n.thumb\n{asm}\n"), &fpu)
}

const VECTORS: &str = ".text\n.word 0x20010000\n.word reset + 1\n.word nmi + 1\n.word hard + 1\n.word 0\n.word 0\n.word 0\n.thumb_func\nnmi:\nhard:\n b .\n";

fn run(bytes: &[u8]) -> Result<StopReason, SimError> {
    let mut m = Machine::new(&board(), bytes, "t.elf").unwrap();
    m.run(Limits {
        max_instructions: 1_000_000,
        max_cycles: u64::MAX,
    })
}

#[test]
fn undefined_instruction_is_reported_not_hung() {
    if !toolchain() {
        return;
    }
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n movs r0, #1\n udf #3\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("stuck") && e.contains("UNDEFINSTR") && e.contains("de03"),
        "{e}"
    );
}

#[test]
fn pc_outside_memory_and_fp_without_cpacr_fault_clearly() {
    if !toolchain() {
        return;
    }
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n ldr r0, =0x40000001\n bx r0\n.ltorg\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("instruction fetch from 0x40000000") && e.contains("no memory is mapped"),
        "{e}"
    );
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n vadd.f32 s0, s1, s2\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(e.contains("NOCP"), "{e}");
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n ldr r0, =0x60000000\n str r1, [r0]\n.ltorg\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("not writable") && e.contains("--writable-flash"),
        "{e}"
    );
}

#[test]
fn missing_vector_table_and_limits() {
    if !toolchain() {
        return;
    }
    let e = Machine::new(
        &board(),
        &build(".text\n.word 0x20010000\n.word 0x60000010\n"),
        "t.elf",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("no vector table") && e.contains("Thumb bit"),
        "{e}"
    );
    let bytes = build(&format!(
        "{VECTORS}.thumb_func\nreset:\n cpsie i\n1: adds r0, #1\n b 1b\n"
    ));
    assert_eq!(
        run(&bytes).unwrap(),
        StopReason::InstructionLimit { limit: 1_000_000 }
    );
    let e = run(&build(&format!("{VECTORS}.thumb_func\nreset:\n bkpt #1\n")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("BKPT #0x1") && e.contains("reset"), "{e}");
}
