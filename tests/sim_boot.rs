//! The virtual board boots images as flashed: the boot ROM (FCB, IVT, boot data, DCD), the SoC
//! peripherals boot code waits on, FlexRAM reconfigured at run time, and runs that cannot end
//! stopped with the register or fault that holds them.

mod sim_support;
use sim_support::toolchain;

use std::path::PathBuf;
use std::process::Command;

use hotlink::board::Board;
use hotlink::sim::{with_run_setup, Limits, Machine, RunSetup, SimError, StopReason};

fn board() -> Board {
    Board::resolve("imxrt1062").unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/firmware/build")
        .join(name)
        .join(format!("{name}.elf"))
}

const LIMITS: Limits = Limits {
    max_instructions: 50_000_000,
    max_cycles: u64::MAX,
};

fn run_fixture(name: &str) -> Machine {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let mut m = Machine::new(&board(), &bytes, name).unwrap();
    let stop = m.run(LIMITS).unwrap();
    let output = String::from_utf8_lossy(&m.output).into_owned();
    assert_eq!(stop, StopReason::Exit { status: 0 }, "{name}: {output}");
    m
}

#[test]
fn sdk_image_boots_through_the_rom_and_prints_over_lpuart() {
    let m = run_fixture("sdk");
    let boot = m.boot.as_ref().expect("the ROM booted it");
    assert_eq!(boot.ivt, 0x6000_1000);
    assert_eq!(boot.entry, 0x6000_2000);
    assert!(boot.entry_is_vector_table);
    assert_eq!(boot.dcd_commands, 4, "write, two checks, NOP");
    let out = String::from_utf8_lossy(&m.output);
    // newlib-nano's printf through LPUART1, with the SDK's CR-LF.
    assert!(
        out.contains("hello from the sdk fixture: core 600 MHz\r\n"),
        "{out}"
    );
    assert!(out.contains("crc=0xc0a1 ring=0x553f096b OK"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    // The clock registers decide the core clock: the ROM's 396 MHz, then 600 MHz.
    assert_eq!(m.core_clock_from_registers(), Some(600_000_000));
}

#[test]
fn teensy_image_enters_the_reset_function_from_the_ivt() {
    let m = run_fixture("teensy");
    let boot = m.boot.as_ref().expect("the ROM booted it");
    assert!(
        !boot.entry_is_vector_table,
        "Teensy's IVT entry is ResetHandler"
    );
    let out = String::from_utf8_lossy(&m.output);
    assert!(out.contains("teensy: ok"), "{out}");
}

/// Builds a flash image from assembly linked at 0x6000_0000.
fn build(asm: &str) -> Vec<u8> {
    sim_support::flash_image(&format!(".syntax unified\n.thumb\n{asm}\n"), &[])
}

/// A vector table whose HardFault handler spins the way the SDK's does.
const VECTORS: &str = ".text\n.word 0x20010000\n.word reset + 1\n.word hard + 1\n.word hard + 1\n\
    .thumb_func\n.type hard, %function\nhard:\n ldr r0, =hard\n bx r0\n.ltorg\n.size hard, . - hard\n\
    .type reset, %function\n";
/// Semihosting SYS_EXIT_EXTENDED with status 0.
const EXIT: &str = " movs r0, #0x20\n ldr r1, =exit_block\n bkpt 0xab\n.ltorg\n.align 2\nexit_block: .word 0x20026, 0\n";

fn run(bytes: &[u8]) -> Result<StopReason, SimError> {
    Machine::new(&board(), bytes, "t.elf")?.run(LIMITS)
}

#[test]
fn a_poll_that_cannot_finish_names_the_register_function_and_bits() {
    if !toolchain() {
        return;
    }
    // Power the 24 MHz crystal down, then wait for XTALOSC24M to report it powered up.
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n ldr r0, =0x400D8154\n mov r1, #0x40000000\n str r1, [r0]\n\
         ldr r0, =0x400D8270\nwait_xtal:\n ldr r1, [r0]\n lsls r1, r1, #15\n bpl wait_xtal\n{EXIT}.size reset, . - reset\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("XTALOSC24M.LOWPWR_CTRL")
            && e.contains("in reset")
            && e.contains("0x00010000")
            && e.contains("clear"),
        "{e}"
    );
}

#[test]
fn a_fault_handler_loop_stops_with_the_first_fault() {
    if !toolchain() {
        return;
    }
    // A store to a reserved peripheral slot: BusFault, escalated to HardFault, which spins.
    let e = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n ldr r0, =0x40000000\n str r1, [r0]\n{EXIT}.size reset, . - reset\n"
    )))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("stuck")
            && e.contains("in hard")
            && e.contains("0x40000000")
            && e.contains("reserved slot"),
        "{e}"
    );
}

#[test]
fn peripherals_boot_code_waits_on_make_progress() {
    if !toolchain() {
        return;
    }
    // RTWDOG unlock (ULK), reconfiguration (RCS); ARM PLL LOCK; a CCM divider handshake; DCDC.
    let bytes = build(&format!(
        "{VECTORS}.thumb_func\nreset:\n\
         ldr r0, =0x400BC000\n ldr r1, =0xD928C520\n str r1, [r0, #4]\n\
         1: ldr r1, [r0]\n tst r1, #0x800\n beq 1b\n\
         ldr r1, [r0]\n bic r1, r1, #0x80\n orr r1, r1, #0x20\n str r1, [r0]\n\
         2: ldr r1, [r0]\n tst r1, #0x400\n beq 2b\n\
         ldr r0, =0x400D8000\n ldr r1, =0x2064\n str r1, [r0]\n\
         3: ldr r1, [r0]\n cmp r1, #0\n bge 3b\n\
         ldr r0, =0x400FC010\n movs r1, #1\n str r1, [r0]\n ldr r0, =0x400FC048\n\
         4: ldr r1, [r0]\n tst r1, #0x10000\n bne 4b\n\
         ldr r0, =0x4008000C\n movs r1, #0x13\n str r1, [r0]\n ldr r0, =0x40080000\n\
         5: ldr r1, [r0]\n cmp r1, #0\n bge 5b\n\
         {EXIT}"
    ));
    assert_eq!(run(&bytes).unwrap(), StopReason::Exit { status: 0 });
}

#[test]
fn flexram_follows_the_gpr_registers_at_run_time() {
    if !toolchain() {
        return;
    }
    // 0x2007_0000 is past the fuse default 128 KB DTCM: a fault until GPR17/16/14 give DTCM
    // 15 banks (480 KB) and a 512 KB decode window, as Teensy's startup does.
    let store = "ldr r0, =0x20070000\n str r0, [r0]\n ldr r2, [r0]\n cmp r2, r0\n bne .\n";
    let before = run(&build(&format!(
        "{VECTORS}.thumb_func\nreset:\n {store}{EXIT}"
    )))
    .unwrap_err()
    .to_string();
    assert!(before.contains("0x20070000"), "{before}");
    let bytes = build(&format!(
        "{VECTORS}.thumb_func\nreset:\n\
         ldr r0, =0x400AC000\n ldr r1, =0xAAAAAAAB\n str r1, [r0, #0x44]\n\
         ldr r1, =0x00200007\n str r1, [r0, #0x40]\n ldr r1, =0x00AA0000\n str r1, [r0, #0x38]\n\
         {store}{EXIT}"
    ));
    assert_eq!(run(&bytes).unwrap(), StopReason::Exit { status: 0 });
}

/// A headered image: FCB at +0, IVT at +0x1000 with `dcd` after it, vectors at +0x2000.
fn headered(dcd: &str, body: &str) -> Vec<u8> {
    build(&format!(
        ".text\n.word 0x42464346, 0x56010400\n.org 0x1000\n\
         ivt: .word 0x412000D1, vectors, 0, dcd, 0, ivt, 0, 0\n\
         dcd: {dcd}\n.org 0x2000\nvectors: .word 0x20010000, reset + 1, hard + 1, hard + 1\n\
         .thumb_func\nhard:\n b .\n.thumb_func\nreset:\n{body}{EXIT}"
    ))
}

#[test]
fn the_rom_runs_the_dcd_and_refuses_unknown_targets() {
    if !toolchain() {
        return;
    }
    // Write 0x5A to CCM_CGPR (0x400FC064), then check it is set.
    let good = ".byte 0xD2, 0x00, 0x1C, 0x41\n\
        .byte 0xCC, 0x00, 0x0C, 0x04, 0x40, 0x0F, 0xC0, 0x64, 0x00, 0x00, 0x00, 0x5A\n\
        .byte 0xCF, 0x00, 0x0C, 0x14, 0x40, 0x0F, 0xC0, 0x64, 0x00, 0x00, 0x00, 0x5A\n";
    let body = " ldr r0, =0x400FC064\n ldr r1, [r0]\n cmp r1, #0x5A\n bne .\n";
    let mut m = Machine::new(&board(), &headered(good, body), "t.elf").unwrap();
    assert_eq!(m.run(LIMITS).unwrap(), StopReason::Exit { status: 0 });
    assert_eq!(m.boot.as_ref().unwrap().dcd_commands, 2);
    let bad = ".byte 0xD2, 0x00, 0x10, 0x41\n\
        .byte 0xCC, 0x00, 0x0C, 0x04, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01\n";
    let e = Machine::new(&board(), &headered(bad, body), "t.elf")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("boot ROM") && e.contains("0x50000000") && e.contains("write command"),
        "{e}"
    );
}

#[test]
fn vtor_and_entry_choose_where_a_headerless_image_starts() {
    if !toolchain() {
        return;
    }
    // Nothing valid at the start of flash; the table is at +0x100.
    let bytes = build(&format!(
        ".text\n.word 0xFFFFFFFF, 0xFFFFFFFE\n.org 0x100\n{}.thumb_func\nreset:\n{EXIT}\
         .thumb_func\nother:\n movs r0, #0x20\n ldr r1, =other_block\n bkpt 0xab\n.ltorg\n\
         .align 2\nother_block: .word 0x20026, 7\n",
        VECTORS.trim_start_matches(".text\n")
    ));
    let e = Machine::new(&board(), &bytes, "t.elf")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("--vtor") && e.contains("--entry"), "{e}");
    let vtor = |entry: Option<u32>| RunSetup {
        vtor: Some(0x6000_0100),
        entry,
        ..RunSetup::default()
    };
    let stop = with_run_setup(vtor(None), || run(&bytes)).unwrap();
    assert_eq!(stop, StopReason::Exit { status: 0 });
    let m = with_run_setup(vtor(None), || Machine::new(&board(), &bytes, "t.elf")).unwrap();
    let other = m.image.symbol("other").unwrap();
    let stop = with_run_setup(vtor(Some(other)), || run(&bytes)).unwrap();
    assert_eq!(stop, StopReason::Exit { status: 7 });
}

#[test]
fn run_traces_mmio_and_lists_registers_without_behaviour() {
    let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
        .args(["run", "--trace-mmio", "--format", "json"])
        .arg(fixture("sdk"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("write RTWDOG.CNT") && stderr.contains("SystemInit"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.contains("read  XTALOSC24M.LOWPWR_CTRL"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plain = report["registers_without_behaviour"].as_array().unwrap();
    assert!(
        plain
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("IOMUXC+")),
        "{plain:?}"
    );
}
