//! Watchdog early warning and reset on the virtual board (imxrt1062): WDOG1's WICR interrupt
//! fires WICT × 0.5 s before the timeout and a handler that services the watchdog keeps the
//! firmware running; one that does not is stopped naming the watchdog, its timeout in cycles
//! and whether its interrupt was taken; RTWDOG's CS.INT interrupt is taken and the reset still
//! follows 255 bus clocks later.

mod sim_support;
use sim_support::toolchain;

use hotlink::board::Board;
use hotlink::sim::{Limits, Machine, StopReason};

const LIMITS: Limits = Limits {
    max_instructions: 50_000_000,
    max_cycles: u64::MAX,
};

/// Vectors: every exception spins in `hard` except IRQ 92 (WDOG1) and 93 (RTWDOG), which go
/// to `wdog_isr`. The handler counts its runs at 0x2000_0000 and runs `isr` first.
fn image(reset: &str, isr: &str) -> Vec<u8> {
    sim_support::flash_image(
        &format!(
            ".syntax unified\n.thumb\n.text\n.word 0x20010000, reset + 1\n.rept 106\n.word hard + 1\n.endr\n\
             .word wdog_isr + 1, wdog_isr + 1\n\
             .thumb_func\nhard:\n b .\n\
             .thumb_func\n.type wdog_isr, %function\nwdog_isr:\n{isr}\
             ldr r0, =0x20000000\n ldr r1, [r0]\n adds r1, #1\n str r1, [r0]\n bx lr\n.ltorg\n\
             .size wdog_isr, . - wdog_isr\n\
             .thumb_func\n.type reset, %function\nreset:\n ldr r4, =0x20000000\n movs r0, #0\n str r0, [r4]\n\
             {reset}\
             movs r0, #0x20\n ldr r1, =exit_block\n bkpt 0xab\n.ltorg\n.size reset, . - reset\n\
             .align 2\nexit_block: .word 0x20026, 0\n"
        ),
        &[],
    )
}

/// NVIC ISER2 bit 28: IRQ 92 (WDOG1); bit 29: IRQ 93 (RTWDOG).
const ENABLE_IRQS: &str = " ldr r0, =0xE000E108\n mov r1, #0x30000000\n str r1, [r0]\n";
/// WDOG1: WICR = WIE | WICT 1 (0.5 s before the timeout), then WCR = WT 1 (1 s) | WDE.
const WDOG1_START: &str = " ldr r0, =0x400B8000\n ldr r1, =0x8001\n strh r1, [r0, #6]\n\
    ldr r1, =0x0134\n strh r1, [r0]\n";
/// Sleep until the handler has run three times.
const WAIT_THREE: &str = "1: ldr r1, [r4]\n cmp r1, #3\n bge 2f\n wfi\n b 1b\n2:\n";
/// Service WDOG1 (0x5555, 0xAAAA to WSR).
const SERVICE: &str = " ldr r0, =0x400B8000\n ldr r1, =0x5555\n strh r1, [r0, #2]\n\
    ldr r1, =0xAAAA\n strh r1, [r0, #2]\n";
/// Clear WICR.WTIS (write 1), keeping WIE and WICT.
const CLEAR_WTIS: &str = " ldr r0, =0x400B8000\n ldr r1, =0xC001\n strh r1, [r0, #6]\n";

fn run(bytes: &[u8]) -> (Machine, Result<StopReason, String>) {
    let board = Board::resolve("imxrt1062").unwrap();
    let mut m = Machine::new(&board, bytes, "t.elf").unwrap();
    let r = m.run(LIMITS).map_err(|e| e.to_string());
    (m, r)
}

#[test]
fn a_wdog1_early_warning_handler_that_services_it_keeps_the_firmware_running() {
    if !toolchain() {
        return;
    }
    let (m, r) = run(&image(
        &format!("{ENABLE_IRQS}{WDOG1_START}{WAIT_THREE}"),
        &format!("{SERVICE}{CLEAR_WTIS}"),
    ));
    assert_eq!(r, Ok(StopReason::Exit { status: 0 }));
    // Three warnings 0.5 s apart at 600 MHz: the first 0.5 s after the start, each service
    // moving the next one 0.5 s on. Without the service the 1 s timeout would have fired.
    assert!(m.cycles >= 900_000_000, "{}", m.cycles);
    assert!(m.cycles < 1_000_000_000, "{}", m.cycles);
}

#[test]
fn a_wdog1_handler_that_does_not_service_it_is_stopped_naming_the_watchdog() {
    if !toolchain() {
        return;
    }
    // The handler only clears the flag: the 1 s timeout expires after one warning.
    let (_, r) = run(&image(
        &format!("{ENABLE_IRQS}{WDOG1_START}{WAIT_THREE}"),
        CLEAR_WTIS,
    ));
    let e = r.unwrap_err();
    assert!(
        e.contains("WDOG1 expired")
            && e.contains("600000000 cycles after it was started or last serviced")
            && e.contains("WCR.WT = 0x01: 1 s")
            && e.contains("its interrupt (IRQ 92) was taken 1 time(s)"),
        "{e}"
    );
    // The same with the interrupt left disabled in the NVIC: enabled at WDOG1, never taken.
    let (_, r) = run(&image(&format!("{WDOG1_START}{WAIT_THREE}"), CLEAR_WTIS));
    let e = r.unwrap_err();
    assert!(
        e.contains("WDOG1 expired") && e.contains("(IRQ 92) was enabled but never taken"),
        "{e}"
    );
}

#[test]
fn an_rtwdog_interrupt_is_taken_and_the_reset_follows_255_bus_clocks_later() {
    if !toolchain() {
        return;
    }
    // RTWDOG: unlock, TOVAL = 32 LPO ticks, CS = CMD32EN | LPO clock | EN | UPDATE | INT; the
    // handler clears CS.FLG and refreshes, which cannot cancel the reset.
    let start = " ldr r0, =0x400BC000\n ldr r1, =0xD928C520\n str r1, [r0, #4]\n movs r1, #32\n\
        str r1, [r0, #8]\n ldr r1, =0x21E0\n str r1, [r0]\n";
    let isr = " ldr r0, =0x400BC000\n ldr r1, [r0]\n orr r1, r1, #0x4000\n str r1, [r0]\n\
        ldr r1, =0xB480A602\n str r1, [r0, #4]\n";
    let (m, r) = run(&image(&format!("{ENABLE_IRQS}{start}{WAIT_THREE}"), isr));
    let e = r.unwrap_err();
    assert!(
        e.contains("RTWDOG expired") && e.contains("its interrupt (IRQ 93) was taken 1 time(s)"),
        "{e}"
    );
    // 32 ticks of 32,768 Hz at 600 MHz, then 255 bus clocks of 4 core cycles.
    let timeout = (32.0 / 32_768.0 * 600e6_f64).ceil() as u64;
    let at: u64 = e
        .split("expired at cycle ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        at >= timeout + 1020 && at < timeout + 1020 + 2_000,
        "{at} vs {timeout}"
    );
    assert!(m.cycles >= at, "{}", m.cycles);
    // Without CS.INT the reset comes at the timeout and the report says so.
    let start = start.replace("0x21E0", "0x21A0");
    let (_, r) = run(&image(&format!("{ENABLE_IRQS}{start}{WAIT_THREE}"), isr));
    let e = r.unwrap_err();
    assert!(
        e.contains("RTWDOG expired") && e.contains("its interrupt was not enabled"),
        "{e}"
    );
}
