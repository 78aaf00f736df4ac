//! The RT1170 virtual board (`imxrt1176`): its peripheral map decodes every address to the
//! peripheral NXP's headers put there, and boot code that polls the RT1170's clock controller,
//! PLLs, watchdogs and LPUART makes progress (or stops naming the register it waits on).

mod sim_support;
use sim_support::toolchain;

use hotlink::board::Board;
use hotlink::sim::soc::Soc;
use hotlink::sim::{Limits, Machine, StopReason};

fn board() -> Board {
    Board::resolve("imxrt1176").unwrap()
}

/// Base addresses from the MCUXpresso SDK device header (`MIMXRT1171_COMMON.h`, whose map the
/// RT1176 CM7 shares; CSI/LCDIF/PXP/ENET_QOS from imxrt-ral's RT1176 map), typed here
/// independently of the model's table.
const FACTS: &[(&str, u32)] = &[
    ("FLEXRAM", 0x4002_8000),
    ("WDOG1", 0x4003_0000),
    ("WDOG2", 0x4003_4000),
    ("RTWDOG3", 0x4003_8000),
    ("DMA0", 0x4007_0000),
    ("LPUART1", 0x4007_C000),
    ("LPUART2", 0x4008_0000),
    ("LPUART10", 0x400A_0000),
    ("FLEXSPI1", 0x400C_C000),
    ("FLEXSPI2", 0x400D_0000),
    ("SEMC", 0x400D_4000),
    ("PIT1", 0x400D_8000),
    ("IOMUXC_GPR", 0x400E_4000),
    ("IOMUXC", 0x400E_8000),
    ("GPT1", 0x400E_C000),
    ("GPT6", 0x4010_0000),
    ("LPI2C1", 0x4010_4000),
    ("LPSPI1", 0x4011_4000),
    ("GPIO1", 0x4012_C000),
    ("GPIO6", 0x4014_0000),
    ("TMR1", 0x4015_C000),
    ("PWM1", 0x4018_C000),
    ("SAI1", 0x4040_4000),
    ("USDHC1", 0x4041_8000),
    ("ENET", 0x4042_4000),
    ("USB_OTG1", 0x4043_0000),
    ("USB_OTG2", 0x4042_C000),
    ("USBPHY1", 0x4043_4000),
    ("ENET_QOS", 0x4043_C000),
    ("CSI", 0x4080_0000),
    ("LCDIF", 0x4080_4000),
    ("PXP", 0x4081_4000),
    ("GPC", 0x40C0_0000),
    ("SRC", 0x40C0_4000),
    ("RTWDOG4", 0x40C1_0000),
    ("LPUART11", 0x40C2_4000),
    ("LPUART12", 0x40C2_8000),
    ("GPIO7", 0x40C5_C000),
    ("ANADIG", 0x40C8_4000),
    ("SNVS", 0x40C9_0000),
    ("GPIO13", 0x40CA_0000),
    ("DCDC", 0x40CA_8000),
    ("OCOTP", 0x40CA_C000),
    ("PIT2", 0x40CB_0000),
    ("CCM", 0x40CC_0000),
    ("CDOG", 0x4190_0000),
    ("CM7_GPIO2", 0x4200_8000),
];

fn soc(name: &str) -> Soc {
    Soc::new(Soc::map_named(name).unwrap())
}

#[test]
fn every_address_of_the_rt1170_map_decodes_to_its_named_peripheral() {
    let s = soc("rt1170");
    for &(name, base) in FACTS {
        let block = s.map().blocks.iter().find(|b| b.name == name);
        let block = block.unwrap_or_else(|| panic!("{name} is not in the RT1170 map"));
        assert_eq!(block.base, base, "{name}");
        for addr in [base, base + 4, base + block.size - 4] {
            assert_eq!(s.peripheral_at(addr), Some(name), "{addr:#010x}");
        }
    }
    // The whole map: sorted, disjoint, in the peripheral window, every word of a block decodes
    // to it, and the words between blocks are reserved (a bus error, named as such).
    let blocks = s.map().blocks;
    assert!(blocks.len() > 120, "{} blocks", blocks.len());
    for pair in blocks.windows(2) {
        assert!(
            pair[0].base + pair[0].size <= pair[1].base,
            "{} overlaps {}",
            pair[0].name,
            pair[1].name
        );
    }
    let mut named = 0u64;
    for b in blocks {
        assert!(
            Soc::in_window(b.base) && Soc::in_window(b.base + b.size - 1),
            "{}",
            b.name
        );
        for addr in (b.base..b.base + b.size).step_by(4) {
            assert_eq!(s.peripheral_at(addr), Some(b.name), "{addr:#010x}");
            named += 1;
        }
    }
    assert!(named > 500_000, "{named}");
    for gap in [
        0x4000_0000,
        0x4005_8000,
        0x401B_4000,
        0x4044_4000,
        0x40CF_0000,
    ] {
        assert_eq!(s.peripheral_at(gap), None, "{gap:#010x}");
        assert!(s.register_name(gap).contains("reserved"), "{gap:#010x}");
    }
    // Registers boot code touches carry their names.
    for (addr, reg) in [
        (0x40C8_4020, "ANADIG_OSC.OSC_24M_CTRL"),
        (0x40C8_4200, "ANADIG_PLL.ARM_PLL_CTRL"),
        (0x40CC_0000, "CCM.CLOCK_ROOT0_CONTROL"),
        (0x40CC_0A04, "CCM.CLOCK_ROOT20_CONTROL_SET"),
        (0x40CC_6AD0, "CCM.LPCG86_STATUS0"),
        (0x400E_4044, "IOMUXC_GPR.GPR17"),
        (0x4007_C014, "LPUART1.STAT"),
        (0x4003_8004, "RTWDOG3.CNT"),
    ] {
        assert_eq!(s.register_name(addr), reg, "{addr:#010x}");
    }
}

#[test]
fn the_rt1060_map_is_still_sorted_and_decodes_its_peripherals() {
    let s = soc("rt1060");
    let blocks = s.map().blocks;
    for pair in blocks.windows(2) {
        assert!(
            pair[0].base + pair[0].size <= pair[1].base,
            "{}",
            pair[1].name
        );
    }
    for (name, base) in [
        ("LPUART1", 0x4018_4000),
        ("CCM", 0x400F_C000),
        ("WDOG1", 0x400B_8000),
    ] {
        assert_eq!(s.peripheral_at(base), Some(name));
    }
    // The RT1170's CCM address is reserved on the RT1060.
    assert_eq!(s.peripheral_at(0x40CC_0000), None);
}

/// A FlexSPI NOR image for the RT1170: FCB at +0x400, IVT at +0x1000, vectors at +0x2000.
fn rt1176_image(body: &str) -> Vec<u8> {
    sim_support::flash_image_at(
        &format!(
            ".syntax unified\n.thumb\n.text\n.org 0x400\n.word 0x42464346, 0x56010400\n.org 0x1000\n\
             ivt: .word 0x412000D1, vectors, 0, 0, 0, ivt, 0, 0\n.org 0x2000\n\
             vectors: .word 0x20010000, reset + 1, hard + 1, hard + 1\n\
             .thumb_func\nhard:\n b .\n.thumb_func\n.type reset, %function\nreset:\n{body}\
             movs r0, #0x20\n ldr r1, =exit_block\n bkpt 0xab\n.ltorg\n.size reset, . - reset\n\
             .align 2\nexit_block: .word 0x20026, 0\nmsg: .asciz \"rt1176 ok\\n\"\n"
        ),
        &[],
        0x3000_0000,
    )
}

const LIMITS: Limits = Limits {
    max_instructions: 20_000_000,
    max_cycles: u64::MAX,
};

#[test]
fn rt1176_boot_code_polling_its_clocks_watchdogs_and_uart_makes_progress() {
    if !toolchain() {
        return;
    }
    // The SDK's order: RTWDOG3 unlock and disable (waiting for ULK and RCS), the ARM PLL to
    // 996 MHz (waiting for STABLE), SYS_PLL2 PFD2 updated (waiting for its STABLE to toggle),
    // an LPCG gated and ungated (waiting for STATUS0 to follow), the M7 root switched to the
    // ARM PLL (STATUS0 reports it), then "rt1176 ok" over LPUART1 polling STAT.TDRE.
    let body = "\
        ldr r0, =0x40038000\n ldr r1, =0xD928C520\n str r1, [r0, #4]\n\
        1: ldr r1, [r0]\n tst r1, #0x800\n beq 1b\n\
        ldr r1, =0xFFFF\n str r1, [r0, #8]\n\
        ldr r1, [r0]\n bic r1, r1, #0x80\n orr r1, r1, #0x20\n str r1, [r0]\n\
        2: ldr r1, [r0]\n tst r1, #0x400\n beq 2b\n\
        ldr r0, =0x40C84200\n ldr r1, =(166 | (1 << 13) | (1 << 12) | (1 << 30))\n str r1, [r0]\n\
        bic r1, r1, #(1 << 12)\n str r1, [r0]\n\
        3: ldr r1, [r0]\n tst r1, #(1 << 29)\n beq 3b\n\
        orr r1, r1, #(1 << 14)\n bic r1, r1, #(1 << 30)\n str r1, [r0]\n\
        ldr r0, =0x40C84270\n ldr r2, =0x40C84250\n ldr r3, [r0]\n and r3, r3, #(1 << 22)\n\
        ldr r1, [r0]\n bic r1, r1, #(0x3F << 16)\n orr r1, r1, #(24 << 16)\n str r1, [r0]\n\
        ldr r1, [r2]\n eor r1, r1, #(1 << 3)\n str r1, [r2]\n\
        4: ldr r1, [r0]\n and r1, r1, #(1 << 22)\n cmp r1, r3\n beq 4b\n\
        ldr r0, =(0x40CC6000 + 86 * 0x20)\n movs r1, #0\n str r1, [r0]\n\
        5: ldr r1, [r0, #0x10]\n tst r1, #1\n bne 5b\n\
        movs r1, #1\n str r1, [r0]\n\
        6: ldr r1, [r0, #0x10]\n tst r1, #1\n beq 6b\n\
        ldr r0, =0x40CC0000\n mov r1, #0x400\n str r1, [r0]\n\
        ldr r1, [r0, #0x20]\n cmp r1, #0x400\n bne hard\n\
        ldr r0, =0x4007C000\n ldr r1, =0x00080000\n str r1, [r0, #0x18]\n ldr r2, =msg\n\
        7: ldrb r1, [r2], #1\n cbz r1, 9f\n\
        8: ldr r3, [r0, #0x14]\n tst r3, #(1 << 23)\n beq 8b\n\
        str r1, [r0, #0x1C]\n b 7b\n\
        9:\n";
    let mut m = Machine::new(&board(), &rt1176_image(body), "t.elf").unwrap();
    let boot = m.boot.as_ref().expect("the ROM booted it");
    assert_eq!((boot.ivt, boot.entry), (0x3000_1000, 0x3000_2000));
    let stop = m.run(LIMITS).unwrap();
    let out = String::from_utf8_lossy(&m.output).into_owned();
    assert_eq!(stop, StopReason::Exit { status: 0 }, "{out}");
    assert_eq!(out, "rt1176 ok\n");
    // The ROM's 400 MHz RC oscillator, then the ARM PLL: 24 MHz × 166 / 2 / 2.
    assert_eq!(m.core_clock_from_registers(), Some(996_000_000));
    // The PLL's lock time passed: at least 20,000 cycles.
    assert!(m.cycles > 20_000, "{}", m.cycles);
}

#[test]
fn an_rt1176_pfd_update_never_requested_stops_naming_the_register() {
    if !toolchain() {
        return;
    }
    // Wait for SYS_PLL3 PFD0's STABLE to change without toggling SYS_PLL3_UPDATE.
    let body = "ldr r0, =0x40C84230\n ldr r3, [r0]\n and r3, r3, #0x40\n\
        1: ldr r1, [r0]\n and r1, r1, #0x40\n cmp r1, r3\n beq 1b\n";
    let e = Machine::new(&board(), &rt1176_image(body), "t.elf")
        .unwrap()
        .run(LIMITS)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ANADIG_PLL.SYS_PLL3_PFD") && e.contains("0x40c84230") && e.contains("in reset"),
        "{e}"
    );
}
