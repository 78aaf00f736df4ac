//! The i.MX RT1170 peripheral address map as the Cortex-M7 sees it: every peripheral by name,
//! with the register tables of the blocks boot code waits on. Base addresses are facts from
//! NXP's device headers (MCUXpresso SDK `MIMXRT1171_COMMON.h`, rev. 2.0, whose map the RT1176
//! shares; the display and camera blocks only the RT1175/76 have from imxrt-ral's
//! `imxrt1176_cm4` map: CSI, LCDIF, PXP, ENET_QOS). Slots not listed are reserved: an access
//! there is a bus error. The 2D GPU is not listed (no base address in our sources).
//!
//! Same IP as the RT1060, same tables: WDOG, RTWDOG, LPUART, GPT, PIT, GPIO, FlexSPI, USB, USB
//! PHY, SNVS, FlexRAM. Different here: the clock controller (clock roots and low-power clock
//! gates instead of CCGR/CBCDR) and the analog block (ANADIG: oscillators, PLLs with STABLE
//! bits, PFDs updated by a toggle), in [`super::rt1170_clock`]; IOMUXC_GPR17/18 both hold
//! FlexRAM bank assignments. SRC, DCDC and OCOTP are a different design from the RT1060's and
//! keep values only (no table: what firmware touches there shows in the run report).

use std::sync::OnceLock;

use super::map::{
    block, plain, sized, Behaviour, Block, Regs, SocMap, FLEXRAM, FLEXSPI, GPIO, GPT, LPUART, PIT,
    RTWDOG, SNVS, USB, USBPHY, WDOG,
};
use super::regs::{r, sct, Reg};

/// The RT1170 map with its interrupt numbers (SDK `IRQn_Type`: LPUART1..12 are 20..31, WDOG2
/// 65, WDOG1 112, RTWDOG3 113, GPT1..6 119..124, PIT1/2 155/156; RTWDOG4 has no CM7 line).
pub static RT1170: SocMap = SocMap {
    name: "rt1170",
    blocks: BLOCKS,
    irqs: &[
        ("LPUART1", 20),
        ("LPUART2", 21),
        ("LPUART3", 22),
        ("LPUART4", 23),
        ("LPUART5", 24),
        ("LPUART6", 25),
        ("LPUART7", 26),
        ("LPUART8", 27),
        ("LPUART9", 28),
        ("LPUART10", 29),
        ("LPUART11", 30),
        ("LPUART12", 31),
        ("WDOG2", 65),
        ("WDOG1", 112),
        ("RTWDOG3", 113),
        ("GPT1", 119),
        ("GPT2", 120),
        ("GPT3", 121),
        ("GPT4", 122),
        ("GPT5", 123),
        ("GPT6", 124),
        ("PIT1", 155),
        ("PIT2", 156),
    ],
};

/// ANADIG (one slot shared by the oscillators, PLLs, PMU, LDOs and temperature sensor):
/// the registers clock set-up code reads back, as the ROM leaves them [E]: the 24 MHz crystal
/// running and stable, the 400 MHz RC oscillator on, every PLL off, PFDs gated.
const ANADIG: &[Reg] = &[
    r("ANADIG_OSC.OSC_48M_CTRL", 0x010, 0x0000_0002),
    r("ANADIG_OSC.OSC_24M_CTRL", 0x020, 0x4000_0010),
    r("ANADIG_OSC.OSC_400M_CTRL0", 0x040, 0),
    r("ANADIG_OSC.OSC_400M_CTRL1", 0x050, 0),
    r("ANADIG_OSC.OSC_400M_CTRL2", 0x060, 0x0000_0001),
    r("ANADIG_OSC.OSC_16M_CTRL", 0x0C0, 0x0000_0002),
    r("ANADIG_PLL.ARM_PLL_CTRL", 0x200, 0),
    r("ANADIG_PLL.SYS_PLL3_CTRL", 0x210, 0),
    r("ANADIG_PLL.SYS_PLL3_UPDATE", 0x220, 0),
    r("ANADIG_PLL.SYS_PLL3_PFD", 0x230, 0x8080_8080),
    r("ANADIG_PLL.SYS_PLL2_CTRL", 0x240, 0),
    r("ANADIG_PLL.SYS_PLL2_UPDATE", 0x250, 0),
    r("ANADIG_PLL.SYS_PLL2_SS", 0x260, 0),
    r("ANADIG_PLL.SYS_PLL2_PFD", 0x270, 0x8080_8080),
    r("ANADIG_PLL.SYS_PLL2_MFD", 0x2A0, 0),
    r("ANADIG_PLL.SYS_PLL1_SS", 0x2B0, 0),
    r("ANADIG_PLL.SYS_PLL1_CTRL", 0x2C0, 0),
    r("ANADIG_PLL.SYS_PLL1_DENOMINATOR", 0x2D0, 0),
    r("ANADIG_PLL.SYS_PLL1_NUMERATOR", 0x2E0, 0),
    r("ANADIG_PLL.SYS_PLL1_DIV_SELECT", 0x2F0, 0),
    r("ANADIG_PLL.PLL_AUDIO_CTRL", 0x300, 0),
    r("ANADIG_PLL.PLL_VIDEO_CTRL", 0x350, 0),
];

/// IOMUXC_GPR0..76; GPR14 (TCM sizes), GPR16 (bank source), GPR17/18 (bank assignment, 8
/// banks each in their low halves) reconfigure FlexRAM when written.
fn gpr_table() -> &'static [Reg] {
    static TABLE: OnceLock<Vec<Reg>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=76)
            .map(|n| r(leak(format!("GPR{n}")), 4 * n, 0))
            .collect()
    })
}

/// Clock roots, clock groups, oscillator/PLL gates and low-power clock gates (LPCG) of the
/// RT1170 CCM: CLOCK_ROOTn at n × 0x80 (CONTROL with SET/CLR/TOG, STATUS0/1, CONFIG, AUTHEN),
/// OSCPLLn at 0x5000 + n × 0x20 and LPCGn at 0x6000 + n × 0x20 (DIRECT, DOMAIN, SETPOINT,
/// STATUS0/1, CONFIG, AUTHEN). Reset values as the ROM leaves them [E]: the core on the 400 MHz
/// RC oscillator, FlexSPI1 on it /4, every gate on.
fn ccm_table() -> &'static [Reg] {
    static TABLE: OnceLock<Vec<Reg>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Vec::new();
        for n in 0..super::rt1170_clock::CLOCK_ROOTS {
            let base = n * 0x80;
            let control = match n {
                super::rt1170_clock::ROOT_M7 => 0x0200,
                super::rt1170_clock::ROOT_FLEXSPI1 => 0x0203,
                _ => 0x0000,
            };
            t.push(sct(leak(format!("CLOCK_ROOT{n}_CONTROL")), base, control));
            t.push(r(leak(format!("CLOCK_ROOT{n}_STATUS0")), base + 0x20, 0));
            t.push(r(leak(format!("CLOCK_ROOT{n}_STATUS1")), base + 0x24, 0));
            t.push(r(leak(format!("CLOCK_ROOT{n}_CONFIG")), base + 0x2C, 0));
            t.push(sct(leak(format!("CLOCK_ROOT{n}_AUTHEN")), base + 0x30, 0));
        }
        for n in 0..2 {
            let base = 0x4000 + n * 0x80;
            t.push(sct(leak(format!("CLOCK_GROUP{n}_CONTROL")), base, 0));
            t.push(r(leak(format!("CLOCK_GROUP{n}_STATUS0")), base + 0x20, 0));
        }
        let gates = |t: &mut Vec<Reg>, kind: &str, base: u32, count: u32| {
            for n in 0..count {
                let at = base + n * 0x20;
                t.push(r(leak(format!("{kind}{n}_DIRECT")), at, 1));
                t.push(r(leak(format!("{kind}{n}_DOMAIN")), at + 0x4, 0));
                t.push(r(leak(format!("{kind}{n}_SETPOINT")), at + 0x8, 0));
                t.push(r(leak(format!("{kind}{n}_STATUS0")), at + 0x10, 1));
                t.push(r(leak(format!("{kind}{n}_STATUS1")), at + 0x14, 0));
                t.push(r(leak(format!("{kind}{n}_CONFIG")), at + 0x18, 0));
                t.push(r(leak(format!("{kind}{n}_AUTHEN")), at + 0x1C, 0));
            }
        };
        gates(&mut t, "OSCPLL", 0x5000, 29);
        gates(&mut t, "LPCG", 0x6000, super::rt1170_clock::LPCGS);
        t
    })
}

/// A register name built once for a table that lives as long as the process.
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

const fn built(
    name: &'static str,
    base: u32,
    size: u32,
    behaviour: Behaviour,
    f: fn() -> &'static [Reg],
) -> Block {
    Block {
        name,
        base,
        size,
        behaviour,
        regs: Regs::Built(f),
    }
}

/// The map, sorted by base address.
static BLOCKS: &[Block] = &[
    plain("MECC1", 0x4001_4000),
    plain("MECC2", 0x4001_8000),
    plain("XECC_FLEXSPI1", 0x4001_C000),
    plain("XECC_FLEXSPI2", 0x4002_0000),
    plain("XECC_SEMC", 0x4002_4000),
    block("FLEXRAM", 0x4002_8000, Behaviour::Plain, FLEXRAM),
    plain("EWM", 0x4002_C000),
    block("WDOG1", 0x4003_0000, Behaviour::Wdog, WDOG),
    block("WDOG2", 0x4003_4000, Behaviour::Wdog, WDOG),
    block("RTWDOG3", 0x4003_8000, Behaviour::Rtwdog, RTWDOG),
    plain("XBARA1", 0x4003_C000),
    plain("XBARB2", 0x4004_0000),
    plain("XBARB3", 0x4004_4000),
    plain("ADC_ETC", 0x4004_8000),
    plain("LPADC1", 0x4005_0000),
    plain("LPADC2", 0x4005_4000),
    plain("DAC", 0x4006_4000),
    plain("IEE_APC", 0x4006_8000),
    plain("IEE", 0x4006_C000),
    plain("DMA0", 0x4007_0000),
    plain("DMAMUX0", 0x4007_4000),
    block("LPUART1", 0x4007_C000, Behaviour::Lpuart, LPUART),
    block("LPUART2", 0x4008_0000, Behaviour::Lpuart, LPUART),
    block("LPUART3", 0x4008_4000, Behaviour::Lpuart, LPUART),
    block("LPUART4", 0x4008_8000, Behaviour::Lpuart, LPUART),
    block("LPUART5", 0x4008_C000, Behaviour::Lpuart, LPUART),
    block("LPUART6", 0x4009_0000, Behaviour::Lpuart, LPUART),
    block("LPUART7", 0x4009_4000, Behaviour::Lpuart, LPUART),
    block("LPUART8", 0x4009_8000, Behaviour::Lpuart, LPUART),
    block("LPUART9", 0x4009_C000, Behaviour::Lpuart, LPUART),
    block("LPUART10", 0x400A_0000, Behaviour::Lpuart, LPUART),
    plain("FLEXIO1", 0x400A_C000),
    plain("FLEXIO2", 0x400B_0000),
    plain("AOI1", 0x400B_8000),
    plain("AOI2", 0x400B_C000),
    plain("CAN1", 0x400C_4000),
    plain("CAN2", 0x400C_8000),
    block("FLEXSPI1", 0x400C_C000, Behaviour::Flexspi, FLEXSPI),
    block("FLEXSPI2", 0x400D_0000, Behaviour::Flexspi, FLEXSPI),
    plain("SEMC", 0x400D_4000),
    block("PIT1", 0x400D_8000, Behaviour::Pit, PIT),
    plain("KPP", 0x400E_0000),
    built(
        "IOMUXC_GPR",
        0x400E_4000,
        0x4000,
        Behaviour::IomuxcGpr,
        gpr_table,
    ),
    plain("IOMUXC", 0x400E_8000),
    block("GPT1", 0x400E_C000, Behaviour::Gpt, GPT),
    block("GPT2", 0x400F_0000, Behaviour::Gpt, GPT),
    block("GPT3", 0x400F_4000, Behaviour::Gpt, GPT),
    block("GPT4", 0x400F_8000, Behaviour::Gpt, GPT),
    block("GPT5", 0x400F_C000, Behaviour::Gpt, GPT),
    block("GPT6", 0x4010_0000, Behaviour::Gpt, GPT),
    plain("LPI2C1", 0x4010_4000),
    plain("LPI2C2", 0x4010_8000),
    plain("LPI2C3", 0x4010_C000),
    plain("LPI2C4", 0x4011_0000),
    plain("LPSPI1", 0x4011_4000),
    plain("LPSPI2", 0x4011_8000),
    plain("LPSPI3", 0x4011_C000),
    plain("LPSPI4", 0x4012_0000),
    block("GPIO1", 0x4012_C000, Behaviour::Gpio, GPIO),
    block("GPIO2", 0x4013_0000, Behaviour::Gpio, GPIO),
    block("GPIO3", 0x4013_4000, Behaviour::Gpio, GPIO),
    block("GPIO4", 0x4013_8000, Behaviour::Gpio, GPIO),
    block("GPIO5", 0x4013_C000, Behaviour::Gpio, GPIO),
    block("GPIO6", 0x4014_0000, Behaviour::Gpio, GPIO),
    plain("CCM_OBS", 0x4015_0000),
    plain("EMVSIM1", 0x4015_4000),
    plain("EMVSIM2", 0x4015_8000),
    plain("TMR1", 0x4015_C000),
    plain("TMR2", 0x4016_0000),
    plain("TMR3", 0x4016_4000),
    plain("TMR4", 0x4016_8000),
    plain("ENC1", 0x4017_4000),
    plain("ENC2", 0x4017_8000),
    plain("ENC3", 0x4017_C000),
    plain("ENC4", 0x4018_0000),
    plain("PWM1", 0x4018_C000),
    plain("PWM2", 0x4019_0000),
    plain("PWM3", 0x4019_4000),
    plain("PWM4", 0x4019_8000),
    plain("ACMP1", 0x401A_4000),
    plain("ACMP2", 0x401A_8000),
    plain("ACMP3", 0x401A_C000),
    plain("ACMP4", 0x401B_0000),
    plain("SPDIF", 0x4040_0000),
    plain("SAI1", 0x4040_4000),
    plain("SAI2", 0x4040_8000),
    plain("SAI3", 0x4040_C000),
    plain("ASRC", 0x4041_4000),
    plain("USDHC1", 0x4041_8000),
    plain("USDHC2", 0x4041_C000),
    plain("ENET_1G", 0x4042_0000),
    plain("ENET", 0x4042_4000),
    sized("USB_OTG2", 0x4042_C000, 0x200, Behaviour::Usb, USB),
    sized("USBNC_OTG2", 0x4042_C200, 0x3E00, Behaviour::Plain, &[]),
    sized("USB_OTG1", 0x4043_0000, 0x200, Behaviour::Usb, USB),
    sized("USBNC_OTG1", 0x4043_0200, 0x3E00, Behaviour::Plain, &[]),
    sized("USBPHY1", 0x4043_4000, 0x800, Behaviour::Usb, USBPHY),
    sized("USBHSDCD1", 0x4043_4800, 0x3800, Behaviour::Plain, &[]),
    sized("USBPHY2", 0x4043_8000, 0x800, Behaviour::Usb, USBPHY),
    sized("USBHSDCD2", 0x4043_8800, 0x3800, Behaviour::Plain, &[]),
    plain("ENET_QOS", 0x4043_C000),
    plain("CAAM", 0x4044_0000),
    plain("CSI", 0x4080_0000),
    plain("LCDIF", 0x4080_4000),
    plain("LCDIFV2", 0x4080_8000),
    plain("DSI_HOST", 0x4080_C000),
    plain("MIPI_CSI2RX", 0x4081_0000),
    plain("PXP", 0x4081_4000),
    sized("VIDEO_MUX", 0x4081_8000, 0x1000, Behaviour::Plain, &[]),
    sized("DCIC1", 0x4081_9000, 0x1000, Behaviour::Plain, &[]),
    sized("DCIC2", 0x4081_A000, 0x2000, Behaviour::Plain, &[]),
    plain("GPC", 0x40C0_0000),
    plain("SRC", 0x40C0_4000),
    plain("IOMUXC_LPSR", 0x40C0_8000),
    plain("IOMUXC_LPSR_GPR", 0x40C0_C000),
    block("RTWDOG4", 0x40C1_0000, Behaviour::Rtwdog, RTWDOG),
    plain("PDM", 0x40C2_0000),
    block("LPUART11", 0x40C2_4000, Behaviour::Lpuart, LPUART),
    block("LPUART12", 0x40C2_8000, Behaviour::Lpuart, LPUART),
    plain("LPSPI5", 0x40C2_C000),
    plain("LPSPI6", 0x40C3_0000),
    plain("LPI2C5", 0x40C3_4000),
    plain("LPI2C6", 0x40C3_8000),
    plain("CAN3", 0x40C3_C000),
    plain("SAI4", 0x40C4_0000),
    plain("RDC_SEMAPHORE1", 0x40C4_4000),
    plain("MUA", 0x40C4_8000),
    block("GPIO7", 0x40C5_C000, Behaviour::Gpio, GPIO),
    block("GPIO8", 0x40C6_0000, Behaviour::Gpio, GPIO),
    block("GPIO9", 0x40C6_4000, Behaviour::Gpio, GPIO),
    block("GPIO10", 0x40C6_8000, Behaviour::Gpio, GPIO),
    block("GPIO11", 0x40C6_C000, Behaviour::Gpio, GPIO),
    block("GPIO12", 0x40C7_0000, Behaviour::Gpio, GPIO),
    plain("RDC", 0x40C7_8000),
    plain("KEY_MANAGER", 0x40C8_0000),
    sized("ANADIG", 0x40C8_4000, 0x3C00, Behaviour::Anadig, ANADIG),
    sized("IPS_DOMAIN", 0x40C8_7C00, 0x400, Behaviour::Plain, &[]),
    plain("PGMC", 0x40C8_8000),
    block("SNVS", 0x40C9_0000, Behaviour::Plain, SNVS),
    plain("IOMUXC_SNVS", 0x40C9_4000),
    plain("IOMUXC_SNVS_GPR", 0x40C9_8000),
    plain("SRAM", 0x40C9_C000),
    block("GPIO13", 0x40CA_0000, Behaviour::Gpio, GPIO),
    plain("DCDC", 0x40CA_8000),
    plain("OCOTP", 0x40CA_C000),
    block("PIT2", 0x40CB_0000, Behaviour::Pit, PIT),
    plain("SSARC_HP", 0x40CB_4000),
    plain("SSARC_LP", 0x40CB_8000),
    built("CCM", 0x40CC_0000, 0x8000, Behaviour::Ccm1170, ccm_table),
    plain("SEMA4", 0x40CC_8000),
    plain("RDC_SEMAPHORE2", 0x40CC_C000),
    plain("XRDC2_D1", 0x40CD_0000),
    plain("XRDC2_D0", 0x40CE_0000),
    plain("CDOG", 0x4190_0000),
    block("CM7_GPIO2", 0x4200_8000, Behaviour::Gpio, GPIO),
    block("CM7_GPIO3", 0x4200_C000, Behaviour::Gpio, GPIO),
];
