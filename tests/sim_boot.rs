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

/// Vectors whose fault handlers exit with status IPSR + 0x100 × MMFSR, or 0xBAD when MMFAR is
/// not `0x20000100` after a data fault.
const MPU_VECTORS: &str = ".text\n.word 0x20010000, reset + 1, fault + 1, fault + 1, fault + 1\n\
    .thumb_func\n.type fault, %function\nfault:\n mrs r2, ipsr\n ldr r0, =0xE000ED28\n ldr r3, [r0]\n\
    and r3, r3, #0xFF\n lsls r1, r3, #8\n add r2, r2, r1\n tst r3, #0x80\n beq 1f\n\
    ldr r0, =0xE000ED34\n ldr r1, [r0]\n ldr r0, =0x20000100\n cmp r0, r1\n it ne\n movne r2, #0xBAD\n\
    1: sub sp, sp, #8\n ldr r0, =0x20026\n str r0, [sp]\n str r2, [sp, #4]\n mov r1, sp\n\
    movs r0, #0x20\n bkpt 0xab\n.ltorg\n.size fault, . - fault\n.type reset, %function\n";

/// Programs MPU region 0 at `base` with RASR `rasr`, enables the MPU (with the default map for
/// privileged code) and, if `memfault`, the MemManage exception.
fn mpu_setup(base: u32, rasr: u32, memfault: bool) -> String {
    let enable = if memfault {
        " ldr r0, =0xE000ED24\n mov r1, #0x10000\n str r1, [r0]\n"
    } else {
        ""
    };
    format!(
        " ldr r0, =0xE000ED98\n movs r1, #0\n str r1, [r0]\n ldr r1, ={base:#x}\n str r1, [r0, #4]\n\
         ldr r1, ={rasr:#x}\n str r1, [r0, #8]\n ldr r0, =0xE000ED94\n movs r1, #5\n str r1, [r0]\n{enable}"
    )
}

#[test]
fn the_mpu_refuses_a_write_to_a_read_only_region_as_memmanage() {
    if !toolchain() {
        return;
    }
    // Region 0: the first 4 KB of DTCM, read-only (AP=6), SIZE=11.
    let rasr = (6 << 24) | (11 << 1) | 1;
    for (memfault, status) in [(true, 0x8204), (false, 0x8203)] {
        let bytes = build(&format!(
            "{MPU_VECTORS}.thumb_func\nreset:\n{}\
             ldr r0, =0x20000100\n str r0, [r0]\n b .\n.ltorg\n.size reset, . - reset\n",
            mpu_setup(0x2000_0000, rasr, memfault)
        ));
        let mut m = Machine::new(&board(), &bytes, "t.elf").unwrap();
        // MemManage (4) taken, or escalated to HardFault (3); MMFSR DACCVIOL | MMARVALID.
        assert_eq!(m.run(LIMITS).unwrap(), StopReason::Exit { status });
        let f = m.first_fault.as_ref().unwrap();
        assert_eq!(f.address, Some(0x2000_0100), "{f}");
        assert!(
            f.cause.contains("MPU region 0") && f.cause.contains("write"),
            "{f}"
        );
        assert_eq!(
            f.exception,
            if memfault { "MemManage" } else { "HardFault" }
        );
    }
    // Reads stay allowed, and the rest of DTCM is untouched by region 0.
    let bytes = build(&format!(
        "{MPU_VECTORS}.thumb_func\nreset:\n{}\
         ldr r0, =0x20000100\n ldr r1, [r0]\n ldr r0, =0x20001000\n str r0, [r0]\n{EXIT}.size reset, . - reset\n",
        mpu_setup(0x2000_0000, rasr, true)
    ));
    assert_eq!(run(&bytes).unwrap(), StopReason::Exit { status: 0 });
}

#[test]
fn the_mpu_refuses_to_execute_an_execute_never_region() {
    if !toolchain() {
        return;
    }
    // Region 0: the first 4 KB of ITCM, full access but XN. The code writes `bx lr` there and
    // calls it: the fetch is a MemManage fault with IACCVIOL.
    let rasr = (1 << 28) | (3 << 24) | (11 << 1) | 1;
    let body = |mpu: String| {
        build(&format!(
            "{MPU_VECTORS}.thumb_func\nreset:\n{mpu}\
             ldr r0, =0x100\n ldr r1, =0x4770\n strh r1, [r0]\n orr r0, r0, #1\n blx r0\n\
             {EXIT}.size reset, . - reset\n"
        ))
    };
    let mut m = Machine::new(&board(), &body(mpu_setup(0, rasr, true)), "t.elf").unwrap();
    assert_eq!(m.run(LIMITS).unwrap(), StopReason::Exit { status: 0x104 });
    let f = m.first_fault.as_ref().unwrap();
    assert!(
        f.cause.contains("0x00000100") && f.cause.contains("region 0") && f.cause.contains("XN"),
        "{f}"
    );
    // Without the XN bit the same call returns.
    let rasr = (3 << 24) | (11 << 1) | 1;
    assert_eq!(
        run(&body(mpu_setup(0, rasr, true))).unwrap(),
        StopReason::Exit { status: 0 }
    );
}

#[test]
fn pit_gpt_and_lpuart_interrupts_reach_their_handlers_through_the_nvic() {
    if !toolchain() {
        return;
    }
    // Five PIT channel-0 expiries (IRQ 122), three GPT1 compares (IRQ 100), then LPUART1's TIE
    // handler (IRQ 20) sends "irq ok" byte by byte. Counters live at 0x2000_0000/4/8; main
    // sleeps in WFI between them.
    let bytes = build(
        ".text\n.word 0x20010000, reset + 1, hard + 1, hard + 1\n.rept 32\n.word hard + 1\n.endr\n\
         .word uart + 1\n.rept 79\n.word hard + 1\n.endr\n.word gpt + 1\n.rept 21\n.word hard + 1\n.endr\n\
         .word pit + 1\n\
         .thumb_func\nhard:\n b .\n\
         .thumb_func\nreset:\n ldr r4, =0x20000000\n movs r0, #0\n str r0, [r4]\n str r0, [r4, #4]\n\
         str r0, [r4, #8]\n ldr r0, =0xE000E100\n mov r1, #0x100000\n str r1, [r0]\n\
         ldr r1, =0x04000010\n str r1, [r0, #12]\n\
         ldr r0, =0x40084000\n movs r1, #0\n str r1, [r0]\n ldr r1, =999\n str r1, [r0, #0x100]\n\
         movs r1, #3\n str r1, [r0, #0x108]\n\
         1: ldr r1, [r4]\n cmp r1, #5\n bge 2f\n wfi\n b 1b\n\
         2: movs r1, #0\n str r1, [r0, #0x108]\n\
         ldr r0, =0x401EC000\n movs r1, #0x40\n str r1, [r0]\n ldr r1, =2399\n str r1, [r0, #0x10]\n\
         movs r1, #1\n str r1, [r0, #0xC]\n movs r1, #0x41\n str r1, [r0]\n\
         3: ldr r1, [r4, #4]\n cmp r1, #3\n bge 4f\n wfi\n b 3b\n\
         4: movs r1, #0\n str r1, [r0]\n\
         ldr r0, =0x40184000\n ldr r1, =0x00880000\n str r1, [r0, #0x18]\n\
         5: ldr r1, [r4, #8]\n cmp r1, #6\n bge 6f\n wfi\n b 5b\n\
         6: ldr r1, [r4]\n cmp r1, #5\n bne hard\n ldr r1, [r4, #4]\n cmp r1, #3\n bne hard\n\
         movs r0, #0x20\n ldr r1, =exit_block\n bkpt 0xab\n.ltorg\n\
         .thumb_func\npit:\n ldr r0, =0x40084000\n movs r1, #1\n str r1, [r0, #0x10C]\n\
         ldr r0, =0x20000000\n ldr r1, [r0]\n adds r1, #1\n str r1, [r0]\n bx lr\n.ltorg\n\
         .thumb_func\ngpt:\n ldr r0, =0x401EC000\n movs r1, #1\n str r1, [r0, #8]\n\
         ldr r0, =0x20000000\n ldr r1, [r0, #4]\n adds r1, #1\n str r1, [r0, #4]\n bx lr\n.ltorg\n\
         .thumb_func\nuart:\n ldr r0, =0x20000000\n ldr r1, [r0, #8]\n ldr r2, =msg\n ldrb r3, [r2, r1]\n\
         ldr r2, =0x40184000\n str r3, [r2, #0x1C]\n adds r1, #1\n str r1, [r0, #8]\n cmp r1, #6\n\
         blt 7f\n ldr r3, =0x00080000\n str r3, [r2, #0x18]\n 7: bx lr\n.ltorg\n\
         msg: .ascii \"irq ok\"\n.align 2\nexit_block: .word 0x20026, 0\n",
    );
    let mut m = Machine::new(&board(), &bytes, "t.elf").unwrap();
    assert_eq!(m.run(LIMITS).unwrap(), StopReason::Exit { status: 0 });
    assert_eq!(String::from_utf8_lossy(&m.output), "irq ok");
    // Five PIT periods of 1000 ticks and three GPT periods of 2400 ticks at 24 MHz, in core
    // cycles at 600 MHz: the WFIs slept through them.
    assert!(m.cycles >= 5 * 25_000 + 3 * 60_000, "{}", m.cycles);
    assert!(m.cycles < 2 * (5 * 25_000 + 3 * 60_000), "{}", m.cycles);
}

#[test]
fn a_watchdog_left_running_stops_the_run_naming_it_and_its_timeout() {
    if !toolchain() {
        return;
    }
    // RTWDOG: unlock, TOVAL = 32 ticks of the 32 kHz LPO clock (~1 ms), enable; never refreshed.
    let rtwdog = " ldr r0, =0x400BC000\n ldr r1, =0xD928C520\n str r1, [r0, #4]\n movs r1, #32\n\
        str r1, [r0, #8]\n ldr r1, =0x21A0\n str r1, [r0]\n";
    // WDOG1: WCR.WT = 0 (0.5 s), WDE set.
    let wdog1 = " ldr r0, =0x400B8000\n movs r1, #0x34\n strh r1, [r0]\n";
    for (setup, name, timeout) in [
        (rtwdog, "RTWDOG", "TOVAL = 32 ticks of the 32 kHz LPO clock"),
        (wdog1, "WDOG1", "WCR.WT = 0x00: 0.5 s"),
    ] {
        let e = run(&build(&format!(
            "{VECTORS}.thumb_func\nreset:\n{setup} loop: b loop\n.ltorg\n.size reset, . - reset\n"
        )))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(name)
                && e.contains(timeout)
                && e.contains("expired")
                && e.contains("in reset"),
            "{e}"
        );
    }
    // Refreshed in time, RTWDOG lets the program finish: 40 refreshes ~0.1 ms apart.
    let bytes = build(&format!(
        "{VECTORS}.thumb_func\nreset:\n{rtwdog} movs r4, #40\n ldr r2, =0xB480A602\n\
         1: str r2, [r0, #4]\n ldr r3, =20000\n 2: subs r3, #1\n bne 2b\n subs r4, #1\n bne 1b\n{EXIT}"
    ));
    assert_eq!(run(&bytes).unwrap(), StopReason::Exit { status: 0 });
}

#[test]
fn code_the_startup_did_not_copy_to_itcm_stops_the_run_naming_it() {
    if !toolchain() {
        return;
    }
    // `ramfunc` runs from ITCM (VMA 0) and is loaded in flash (LMA 0x6001_0000); the reset
    // handler calls it with or without first copying it.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("t.ld");
    std::fs::write(
        &script,
        "SECTIONS {\n .text 0x60000000 : { *(.text*) }\n\
         .ram_function 0x100 : AT(0x60010000) { *(.ram_function) }\n}\n",
    )
    .unwrap();
    let image = |copy: bool| {
        let copy = if copy {
            " ldr r0, =0x60010000\n ldr r1, =0x100\n ldr r2, [r0]\n str r2, [r1]\n ldr r2, [r0, #4]\n\
             str r2, [r1, #4]\n"
        } else {
            ""
        };
        sim_support::flash_image(
            &format!(
                ".syntax unified\n.thumb\n{VECTORS}.thumb_func\nreset:\n{copy}\
                 ldr r0, =ramfunc\n blx r0\n{EXIT}.size reset, . - reset\n\
                 .section .ram_function, \"ax\"\n.thumb_func\n.type ramfunc, %function\n\
                 ramfunc:\n movs r0, #1\n bx lr\n.size ramfunc, . - ramfunc\n"
            ),
            &[format!("-Wl,-T,{}", script.display())],
        )
    };
    assert_eq!(run(&image(true)).unwrap(), StopReason::Exit { status: 0 });
    let e = run(&image(false)).unwrap_err().to_string();
    assert!(
        e.contains("0x00000100")
            && e.contains("ramfunc")
            && e.contains("`.ram_function`")
            && e.contains("ITCM")
            && e.contains("did not copy")
            && e.contains("__STARTUP_INITIALIZE_RAMFUNCTION"),
        "{e}"
    );
}

#[test]
fn dropping_to_unprivileged_rechecks_code_decoded_while_privileged() {
    if !toolchain() {
        return;
    }
    // Region 0: the first 4 KB of ITCM, privileged access only (AP=1), executable; region 1:
    // flash, full access; region 2: DTCM (the stack), full access, XN. `bx lr` is written to
    // 0x100 and run privileged (so it is decoded); once the core runs unprivileged — after
    // MSR CONTROL, or after an SVC handler (privileged) ran it and returned to Thread mode —
    // calling it again must be a MemManage fault (IACCVIOL, status 0x104), not the cached code.
    let mpu = " ldr r0, =0xE000ED9C\n ldr r1, =0x00000010\n str r1, [r0]\n ldr r1, =0x01000017\n str r1, [r0, #4]\n\
        ldr r1, =0x60000011\n str r1, [r0]\n ldr r1, =0x0300002F\n str r1, [r0, #4]\n\
        ldr r1, =0x20000012\n str r1, [r0]\n ldr r1, =0x1300001F\n str r1, [r0, #4]\n\
        ldr r0, =0xE000ED94\n movs r1, #5\n str r1, [r0]\n\
        ldr r0, =0xE000ED24\n mov r1, #0x10000\n str r1, [r0]\n dsb\n isb\n\
        ldr r0, =0x100\n ldr r1, =0x4770\n strh r1, [r0]\n";
    let unprivileged = " movs r1, #1\n msr control, r1\n isb\n";
    let call = " ldr r0, =0x101\n blx r0\n";
    let image = |body: &str| {
        // MPU_VECTORS with BusFault, UsageFault and SVCall added to its table.
        let vectors = MPU_VECTORS.replacen(
            "fault + 1\n",
            "fault + 1, fault + 1, fault + 1, 0, 0, 0, 0, svc + 1\n",
            1,
        );
        build(&format!(
            "{vectors}.thumb_func\nreset:\n{mpu}{body}{EXIT}.size reset, . - reset\n\
             .thumb_func\nsvc:\n push {{lr}}\n{call} pop {{pc}}\n.ltorg\n"
        ))
    };
    // Privileged throughout: the call returns.
    assert_eq!(
        run(&image(&format!("{call}{call}"))).unwrap(),
        StopReason::Exit { status: 0 }
    );
    for body in [
        format!("{call}{unprivileged}{call}"),
        format!("{unprivileged} svc 0\n{call}"),
    ] {
        let mut m = Machine::new(&board(), &image(&body), "t.elf").unwrap();
        assert_eq!(
            m.run(LIMITS).unwrap(),
            StopReason::Exit { status: 0x104 },
            "{body}"
        );
        let f = m.first_fault.as_ref().unwrap();
        assert!(
            f.cause.contains("0x00000100") && f.cause.contains("region 0"),
            "{f}"
        );
    }
}

#[test]
fn registers_without_behaviour_are_grouped_per_peripheral_in_the_run_report() {
    if !toolchain() {
        return;
    }
    // Clear all 32 eDMA channel descriptors (256 words at DMA0 + 0x1000), as teensy4-bsp's
    // start-up does, and touch one IOMUXC pad register.
    let bytes = build(&format!(
        "{VECTORS}.thumb_func\nreset:\n ldr r0, =0x400E9000\n movs r1, #0\n movs r2, #0\n\
         1: str r1, [r0], #4\n adds r2, #1\n cmp r2, #256\n blt 1b\n\
         ldr r0, =0x401F8104\n str r1, [r0]\n{EXIT}.size reset, . - reset\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("dma.elf");
    std::fs::write(&elf, bytes).unwrap();
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_hotlink"))
            .args(["run", "--format", format])
            .arg(&elf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("text");
    assert!(
        text.contains(
            "registers without behaviour (stored only): DMA0 (256 registers), IOMUXC+0x104\n"
        ),
        "{text}"
    );
    // The JSON keeps every register for tools.
    let report: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let names = report["registers_without_behaviour"].as_array().unwrap();
    assert_eq!(names.len(), 257, "{names:?}");
    assert_eq!(
        names
            .iter()
            .filter(|n| n.as_str().unwrap().starts_with("DMA0+0x1"))
            .count(),
        256
    );
}
