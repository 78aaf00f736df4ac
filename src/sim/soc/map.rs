//! The i.MX RT1060 peripheral address map: every 16 KiB AIPS slot that holds a peripheral, by
//! name, with its register table (reference manual IMXRT1060RM, chapter 2 "Memory Maps"; base
//! addresses as in NXP's device headers). Slots not listed are reserved: an access there is a
//! bus error, as on the chip. [`SocMap`] ties a map to its interrupt numbers; the RT1170's is in
//! [`super::rt1170`], and the board file's `[boot] peripherals` chooses one.

use super::regs::{r, r16, sct, Reg};

/// What a peripheral does beyond keeping its registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Registers read their reset value and keep writes.
    Plain,
    Wdog,
    Rtwdog,
    Ccm,
    Analog,
    Dcdc,
    Lpuart,
    Gpt,
    Pit,
    IomuxcGpr,
    Usb,
    Src,
    Flexspi,
    Gpio,
    /// RT1170 ANADIG: oscillators, PLLs and their PFDs ([`super::rt1170_clock`]).
    Anadig,
    /// RT1170 CCM: clock roots and low-power clock gates ([`super::rt1170_clock`]).
    Ccm1170,
}

/// A register table: written out, or built once on first use (the RT1170 CCM's 1,500
/// registers follow a pattern a loop states better than a list).
#[derive(Clone, Copy)]
pub enum Regs {
    Fixed(&'static [Reg]),
    Built(fn() -> &'static [Reg]),
}

impl Regs {
    pub fn table(self) -> &'static [Reg] {
        match self {
            Regs::Fixed(t) => t,
            Regs::Built(f) => f(),
        }
    }
}

/// One entry of the map.
pub struct Block {
    pub name: &'static str,
    pub base: u32,
    pub size: u32,
    pub behaviour: Behaviour,
    pub regs: Regs,
}

/// A peripheral map: its blocks, sorted by base, and the NVIC interrupt numbers of the
/// peripherals that raise interrupts here.
pub struct SocMap {
    /// The name a board file's `[boot] peripherals` gives.
    pub name: &'static str,
    pub blocks: &'static [Block],
    pub irqs: &'static [(&'static str, u32)],
}

/// The maps a board file can name.
pub static MAPS: &[&SocMap] = &[&RT1060, &super::rt1170::RT1170];

pub(super) const fn block(
    name: &'static str,
    base: u32,
    behaviour: Behaviour,
    regs: &'static [Reg],
) -> Block {
    sized(name, base, 0x4000, behaviour, regs)
}

/// A block that does not fill a whole 16 KiB slot.
pub(super) const fn sized(
    name: &'static str,
    base: u32,
    size: u32,
    behaviour: Behaviour,
    regs: &'static [Reg],
) -> Block {
    Block {
        name,
        base,
        size,
        behaviour,
        regs: Regs::Fixed(regs),
    }
}

pub(super) const fn plain(name: &'static str, base: u32) -> Block {
    block(name, base, Behaviour::Plain, &[])
}

/// The start and end of the address window the map covers.
pub const WINDOW_START: u32 = 0x4000_0000;
pub const WINDOW_END: u32 = 0x4300_0000;

pub(super) const WDOG: &[Reg] = &[
    r16("WCR", 0x0, 0x0030),
    r16("WSR", 0x2, 0x0000),
    r16("WRSR", 0x4, 0x0000),
    r16("WICR", 0x6, 0x0004),
    r16("WMCR", 0x8, 0x0001),
];

/// RTWDOG: CS as the ROM leaves it (enabled, 32-bit commands, the unlock window long closed).
pub(super) const RTWDOG: &[Reg] = &[
    r("CS", 0x0, 0x0000_2180),
    r("CNT", 0x4, 0),
    r("TOVAL", 0x8, 0x0000_0400),
    r("WIN", 0xC, 0),
];

/// CCM: values as the RT1060 ROM leaves them for a FlexSPI NOR boot: core at 396 MHz from the
/// system PLL's PFD2 (CBCMR PRE_PERIPH_CLK_SEL = 1, ARM_PODF /1, AHB /1, IPG /4), FlexSPI from
/// the USB1 PLL's PFD0 /2, every gate open; otherwise the manual's reset values. CBCMR
/// TRACE_CLK_SEL and CSCDR1 TRACE_PODF are read by the trace clock derivation.
const CCM: &[Reg] = &[
    r("CCR", 0x00, 0x0401_107F),
    r("CSR", 0x08, 0x0000_0010),
    r("CCSR", 0x0C, 0x0000_0100),
    r("CACRR", 0x10, 0x0000_0000),
    r("CBCDR", 0x14, 0x000A_8300),
    r("CBCMR", 0x18, 0x2DA6_8324),
    r("CSCMR1", 0x1C, 0x6080_0080),
    r("CSCMR2", 0x20, 0x1309_2F06),
    r("CSCDR1", 0x24, 0x0649_0B00),
    r("CS1CDR", 0x28, 0x0EC1_02C1),
    r("CS2CDR", 0x2C, 0x000A_6180),
    r("CDCDR", 0x30, 0x33F7_1F92),
    r("CSCDR2", 0x38, 0x0002_9150),
    r("CSCDR3", 0x3C, 0x0001_4841),
    r("CDHIPR", 0x48, 0x0000_0000),
    r("CLPCR", 0x54, 0x0000_0079),
    r("CISR", 0x58, 0),
    r("CIMR", 0x5C, 0xFFFF_FFFF),
    r("CCOSR", 0x60, 0x000A_0001),
    r("CGPR", 0x64, 0x0000_FE62),
    r("CCGR0", 0x68, 0xFFFF_FFFF),
    r("CCGR1", 0x6C, 0xFFFF_FFFF),
    r("CCGR2", 0x70, 0xFFFF_FFFF),
    r("CCGR3", 0x74, 0xFFFF_FFFF),
    r("CCGR4", 0x78, 0xFFFF_FFFF),
    r("CCGR5", 0x7C, 0xFFFF_FFFF),
    r("CCGR6", 0x80, 0xFFFF_FFFF),
    r("CCGR7", 0x84, 0xFFFF_FFFF),
    r("CMEOR", 0x88, 0xFFFF_FFFF),
];

/// CCM_ANALOG, PMU, USB_ANALOG, XTALOSC24M and TEMPMON share one slot. Register names carry
/// their block (`XTALOSC24M.LOWPWR_CTRL`); PLL values are what the ROM leaves: the system PLL
/// and USB1 PLL locked (FlexSPI and the ROM's core clock run from them), the ARM PLL off.
const ANALOG: &[Reg] = &[
    sct("CCM_ANALOG.PLL_ARM", 0x000, 0x0001_3063),
    sct("CCM_ANALOG.PLL_USB1", 0x010, 0x8000_3040),
    sct("CCM_ANALOG.PLL_USB2", 0x020, 0x0001_2000),
    sct("CCM_ANALOG.PLL_SYS", 0x030, 0x8000_2001),
    r("CCM_ANALOG.PLL_SYS_SS", 0x040, 0),
    r("CCM_ANALOG.PLL_SYS_NUM", 0x050, 0),
    r("CCM_ANALOG.PLL_SYS_DENOM", 0x060, 0x12),
    sct("CCM_ANALOG.PLL_AUDIO", 0x070, 0x0001_1006),
    r("CCM_ANALOG.PLL_AUDIO_NUM", 0x080, 0x05F5_E100),
    r("CCM_ANALOG.PLL_AUDIO_DENOM", 0x090, 0x2964_619C),
    sct("CCM_ANALOG.PLL_VIDEO", 0x0A0, 0x0001_100C),
    r("CCM_ANALOG.PLL_VIDEO_NUM", 0x0B0, 0x05F5_E100),
    r("CCM_ANALOG.PLL_VIDEO_DENOM", 0x0C0, 0x1043_3C7E),
    sct("CCM_ANALOG.PLL_ENET", 0x0E0, 0x0001_1001),
    sct("CCM_ANALOG.PFD_480", 0x0F0, 0x0F1A_2323),
    sct("CCM_ANALOG.PFD_528", 0x100, 0x1018_101B),
    sct("PMU.REG_1P1", 0x110, 0x0000_1073),
    sct("PMU.REG_3P0", 0x120, 0x0000_0F74),
    sct("PMU.REG_2P5", 0x130, 0x0000_1073),
    sct("PMU.REG_CORE", 0x140, 0x0048_2012),
    sct("CCM_ANALOG.MISC0", 0x150, 0x0400_0000),
    sct("CCM_ANALOG.MISC1", 0x160, 0),
    sct("CCM_ANALOG.MISC2", 0x170, 0x0027_2727),
    sct("TEMPMON.TEMPSENSE0", 0x180, 0x0000_0001),
    sct("TEMPMON.TEMPSENSE1", 0x190, 0x0000_0001),
    sct("USB_ANALOG.USB1_VBUS_DETECT", 0x1A0, 0x0010_0004),
    sct("USB_ANALOG.USB1_CHRG_DETECT", 0x1B0, 0),
    r("USB_ANALOG.USB1_VBUS_DETECT_STAT", 0x1C0, 0),
    r("USB_ANALOG.USB1_CHRG_DETECT_STAT", 0x1D0, 0),
    sct("USB_ANALOG.USB1_MISC", 0x1F0, 0x0000_0002),
    sct("XTALOSC24M.LOWPWR_CTRL", 0x270, 0x0001_4F01),
    sct("XTALOSC24M.OSC_CONFIG0", 0x2A0, 0x0000_1020),
    sct("XTALOSC24M.OSC_CONFIG1", 0x2B0, 0x0000_02EE),
    sct("XTALOSC24M.OSC_CONFIG2", 0x2C0, 0x0001_02E2),
    r("CCM_ANALOG.DIGPROG", 0x260, 0x006A_0001),
];

pub(super) const DCDC: &[Reg] = &[
    r("REG0", 0x0, 0x8403_0111),
    r("REG1", 0x4, 0x1117_5A1C),
    r("REG2", 0x8, 0x0000_9009),
    r("REG3", 0xC, 0x0000_0010),
];

pub(super) const LPUART: &[Reg] = &[
    r("VERID", 0x00, 0x0401_0003),
    r("PARAM", 0x04, 0x0000_0202),
    r("GLOBAL", 0x08, 0),
    r("PINCFG", 0x0C, 0),
    r("BAUD", 0x10, 0x0F00_0004),
    r("STAT", 0x14, 0x00C0_0000),
    r("CTRL", 0x18, 0),
    r("DATA", 0x1C, 0x0000_1000),
    r("MATCH", 0x20, 0),
    r("MODIR", 0x24, 0),
    r("FIFO", 0x28, 0x00C0_0011),
    r("WATER", 0x2C, 0),
];

pub(super) const GPT: &[Reg] = &[
    r("CR", 0x00, 0),
    r("PR", 0x04, 0),
    r("SR", 0x08, 0),
    r("IR", 0x0C, 0),
    r("OCR1", 0x10, 0xFFFF_FFFF),
    r("OCR2", 0x14, 0xFFFF_FFFF),
    r("OCR3", 0x18, 0xFFFF_FFFF),
    r("ICR1", 0x1C, 0),
    r("ICR2", 0x20, 0),
    r("CNT", 0x24, 0),
];

pub(super) const PIT: &[Reg] = &[
    r("MCR", 0x000, 0x0000_0002),
    r("LTMR64H", 0x0E0, 0),
    r("LTMR64L", 0x0E4, 0),
    r("LDVAL0", 0x100, 0),
    r("CVAL0", 0x104, 0),
    r("TCTRL0", 0x108, 0),
    r("TFLG0", 0x10C, 0),
    r("LDVAL1", 0x110, 0),
    r("CVAL1", 0x114, 0),
    r("TCTRL1", 0x118, 0),
    r("TFLG1", 0x11C, 0),
    r("LDVAL2", 0x120, 0),
    r("CVAL2", 0x124, 0),
    r("TCTRL2", 0x128, 0),
    r("TFLG2", 0x12C, 0),
    r("LDVAL3", 0x130, 0),
    r("CVAL3", 0x134, 0),
    r("TCTRL3", 0x138, 0),
    r("TFLG3", 0x13C, 0),
];

/// IOMUXC_GPR: GPR14 (TCM sizes), GPR16 (FlexRAM bank source), GPR17 (bank assignment) are
/// live; reset values select the fuse configuration.
const IOMUXC_GPR: &[Reg] = &[
    r("GPR0", 0x00, 0),
    r("GPR1", 0x04, 0),
    r("GPR2", 0x08, 0),
    r("GPR3", 0x0C, 0x0000_FFF0),
    r("GPR4", 0x10, 0),
    r("GPR5", 0x14, 0),
    r("GPR6", 0x18, 0),
    r("GPR7", 0x1C, 0),
    r("GPR8", 0x20, 0),
    r("GPR9", 0x24, 0),
    r("GPR10", 0x28, 0x0000_7000),
    r("GPR11", 0x2C, 0),
    r("GPR12", 0x30, 0),
    r("GPR13", 0x34, 0),
    r("GPR14", 0x38, 0),
    r("GPR15", 0x3C, 0),
    r("GPR16", 0x40, 0x0020_0003),
    r("GPR17", 0x44, 0),
    r("GPR18", 0x48, 0),
    r("GPR19", 0x4C, 0),
    r("GPR20", 0x50, 0),
    r("GPR21", 0x54, 0),
    r("GPR22", 0x58, 0),
    r("GPR23", 0x5C, 0),
    r("GPR24", 0x60, 0),
    r("GPR25", 0x64, 0),
];

const SRC: &[Reg] = &[
    r("SCR", 0x00, 0xA048_0520),
    r("SBMR1", 0x04, 0),
    r("SRSR", 0x08, 0x0000_0001),
    r("SBMR2", 0x1C, 0x0200_0000),
    r("GPR1", 0x20, 0),
    r("GPR2", 0x24, 0),
    r("GPR3", 0x28, 0),
    r("GPR4", 0x2C, 0),
    r("GPR5", 0x30, 0),
    r("GPR6", 0x34, 0),
    r("GPR7", 0x38, 0),
    r("GPR8", 0x3C, 0),
    r("GPR9", 0x40, 0),
    r("GPR10", 0x44, 0),
];

pub(super) const GPIO: &[Reg] = &[
    r("DR", 0x00, 0),
    r("GDIR", 0x04, 0),
    r("PSR", 0x08, 0),
    r("ICR1", 0x0C, 0),
    r("ICR2", 0x10, 0),
    r("IMR", 0x14, 0),
    r("ISR", 0x18, 0),
    r("EDGE_SEL", 0x1C, 0),
    r("DR_SET", 0x84, 0),
    r("DR_CLEAR", 0x88, 0),
    r("DR_TOGGLE", 0x8C, 0),
];

/// USB OTG controller registers Teensy's and the SDK's device stacks touch at start-up.
pub(super) const USB: &[Reg] = &[
    r("ID", 0x000, 0xE4A1_FA05),
    r("HWGENERAL", 0x004, 0x0000_0035),
    r("USBCMD", 0x140, 0x0008_0000),
    r("USBSTS", 0x144, 0),
    r("USBINTR", 0x148, 0),
    r("FRINDEX", 0x14C, 0),
    r("DEVICEADDR", 0x154, 0),
    r("ENDPTLISTADDR", 0x158, 0),
    r("BURSTSIZE", 0x160, 0x0000_0808),
    r("PORTSC1", 0x184, 0x1000_0000),
    r("OTGSC", 0x1A4, 0x0000_1120),
    r("USBMODE", 0x1A8, 0x0000_5000),
    r("ENDPTSETUPSTAT", 0x1AC, 0),
    r("ENDPTPRIME", 0x1B0, 0),
    r("ENDPTFLUSH", 0x1B4, 0),
    r("ENDPTSTAT", 0x1B8, 0),
    r("ENDPTCOMPLETE", 0x1BC, 0),
    r("ENDPTCTRL0", 0x1C0, 0x0080_0080),
];

pub(super) const USBPHY: &[Reg] = &[
    sct("PWD", 0x00, 0x001E_1C00),
    sct("TX", 0x10, 0x1006_0607),
    sct("RX", 0x20, 0),
    sct("CTRL", 0x30, 0xC020_0000),
    r("STATUS", 0x40, 0),
    sct("DEBUG", 0x50, 0x7F18_0000),
];

pub(super) const FLEXSPI: &[Reg] = &[
    r("MCR0", 0x000, 0xFFFF_80C2),
    r("MCR1", 0x004, 0xFFFF_FFFF),
    r("MCR2", 0x008, 0x2000_81F7),
    r("AHBCR", 0x00C, 0x0000_0018),
    r("INTEN", 0x010, 0),
    r("INTR", 0x014, 0),
    r("LUTKEY", 0x018, 0x5AF0_5AF0),
    r("LUTCR", 0x01C, 0x0000_0002),
    r("AHBRXBUF0CR0", 0x020, 0x8000_0020),
    r("AHBRXBUF1CR0", 0x024, 0x8001_0020),
    r("AHBRXBUF2CR0", 0x028, 0x8002_0020),
    r("AHBRXBUF3CR0", 0x02C, 0x8003_0020),
    r("FLSHA1CR0", 0x060, 0x0001_0000),
    r("FLSHA2CR0", 0x064, 0x0001_0000),
    r("FLSHB1CR0", 0x068, 0x0001_0000),
    r("FLSHB2CR0", 0x06C, 0x0001_0000),
    r("FLSHA1CR1", 0x070, 0x0000_0063),
    r("FLSHA1CR2", 0x080, 0),
    r("FLSHCR4", 0x094, 0),
    r("IPCR0", 0x0A0, 0),
    r("IPCR1", 0x0A4, 0),
    r("IPCMD", 0x0B0, 0),
    r("IPRXFCR", 0x0B8, 0),
    r("IPTXFCR", 0x0BC, 0),
    r("DLLACR", 0x0C0, 0x0000_0100),
    r("DLLBCR", 0x0C4, 0x0000_0100),
    r("STS0", 0x0E0, 0x0000_0002),
    r("STS1", 0x0E4, 0),
    r("STS2", 0x0E8, 0x0100_0100),
    r("AHBSPNDSTS", 0x0EC, 0),
    r("IPRXFSTS", 0x0F0, 0),
    r("IPTXFSTS", 0x0F4, 0),
];

/// OCOTP: control registers and the fuse shadow registers (readable; values from the board).
const OCOTP: &[Reg] = &[
    r("CTRL", 0x000, 0),
    r("TIMING", 0x010, 0x060D_9755),
    r("DATA", 0x020, 0),
    r("READ_CTRL", 0x030, 0),
    r("READ_FUSE_DATA", 0x040, 0),
    r("VERSION", 0x090, 0x0600_0000),
    r("LOCK", 0x400, 0),
    r("CFG0", 0x410, 0),
    r("CFG1", 0x420, 0),
    r("CFG2", 0x430, 0),
    r("CFG3", 0x440, 0),
    r("CFG4", 0x450, 0),
    r("CFG5", 0x460, 0),
    r("CFG6", 0x470, 0),
    r("MEM0", 0x480, 0),
    r("MEM1", 0x490, 0),
    r("MEM2", 0x4A0, 0),
    r("MEM3", 0x4B0, 0),
    r("MEM4", 0x4C0, 0),
    r("ANA0", 0x4D0, 0),
    r("ANA1", 0x4E0, 0x5A75_8E5C),
    r("ANA2", 0x4F0, 0x0000_0000),
    r("MAC0", 0x620, 0),
    r("MAC1", 0x630, 0),
    r("GP1", 0x660, 0),
    r("GP2", 0x670, 0),
];

pub(super) const FLEXRAM: &[Reg] = &[
    r("TCM_CTRL", 0x00, 0),
    r("INT_STATUS", 0x10, 0),
    r("INT_STAT_EN", 0x14, 0),
    r("INT_SIG_EN", 0x18, 0),
];

pub(super) const SNVS: &[Reg] = &[
    r("HPLR", 0x00, 0),
    r("HPCOMR", 0x04, 0),
    r("HPCR", 0x08, 0),
    r("HPSR", 0x14, 0x8000_0000),
    r("LPLR", 0x34, 0),
    r("LPCR", 0x38, 0x0000_0020),
    r("LPSR", 0x4C, 0),
    r("LPSRTCMR", 0x50, 0),
    r("LPSRTCLR", 0x54, 0),
    r("LPGPR0", 0x100, 0),
];

/// The RT1060 map with its interrupt numbers (IMXRT1060RM, "Interrupts": LPUART1..8 are IRQ
/// 20..27, GPT1/2 100/101, PIT 122, WDOG1 92, RTWDOG 93, WDOG2 45).
pub static RT1060: SocMap = SocMap {
    name: "rt1060",
    blocks: MAP,
    irqs: &[
        ("LPUART1", 20),
        ("LPUART2", 21),
        ("LPUART3", 22),
        ("LPUART4", 23),
        ("LPUART5", 24),
        ("LPUART6", 25),
        ("LPUART7", 26),
        ("LPUART8", 27),
        ("WDOG2", 45),
        ("WDOG1", 92),
        ("RTWDOG", 93),
        ("GPT1", 100),
        ("GPT2", 101),
        ("PIT", 122),
    ],
};

/// The RT1060 map, sorted by base address.
pub static MAP: &[Block] = &[
    plain("AIPSTZ1", 0x4007_C000),
    block("DCDC", 0x4008_0000, Behaviour::Dcdc, DCDC),
    block("PIT", 0x4008_4000, Behaviour::Pit, PIT),
    plain("ACMP", 0x4009_4000),
    plain("IOMUXC_SNVS_GPR", 0x400A_4000),
    plain("IOMUXC_SNVS", 0x400A_8000),
    block("IOMUXC_GPR", 0x400A_C000, Behaviour::IomuxcGpr, IOMUXC_GPR),
    block("FLEXRAM", 0x400B_0000, Behaviour::Plain, FLEXRAM),
    plain("EWM", 0x400B_4000),
    block("WDOG1", 0x400B_8000, Behaviour::Wdog, WDOG),
    block("RTWDOG", 0x400B_C000, Behaviour::Rtwdog, RTWDOG),
    block("GPIO5", 0x400C_0000, Behaviour::Gpio, GPIO),
    plain("ADC1", 0x400C_4000),
    plain("ADC2", 0x400C_8000),
    plain("TRNG", 0x400C_C000),
    block("WDOG2", 0x400D_0000, Behaviour::Wdog, WDOG),
    block("SNVS", 0x400D_4000, Behaviour::Plain, SNVS),
    sized("CCM_ANALOG", 0x400D_8000, 0x1000, Behaviour::Analog, ANALOG),
    sized("USBPHY1", 0x400D_9000, 0x1000, Behaviour::Usb, USBPHY),
    sized("USBPHY2", 0x400D_A000, 0x1000, Behaviour::Usb, USBPHY),
    plain("CSU", 0x400D_C000),
    plain("TSC", 0x400E_0000),
    plain("DMA0", 0x400E_8000),
    plain("DMAMUX", 0x400E_C000),
    plain("GPC", 0x400F_4000),
    block("SRC", 0x400F_8000, Behaviour::Src, SRC),
    block("CCM", 0x400F_C000, Behaviour::Ccm, CCM),
    plain("AIPSTZ2", 0x4017_C000),
    plain("ROMC", 0x4018_0000),
    block("LPUART1", 0x4018_4000, Behaviour::Lpuart, LPUART),
    block("LPUART2", 0x4018_8000, Behaviour::Lpuart, LPUART),
    block("LPUART3", 0x4018_C000, Behaviour::Lpuart, LPUART),
    block("LPUART4", 0x4019_0000, Behaviour::Lpuart, LPUART),
    block("LPUART5", 0x4019_4000, Behaviour::Lpuart, LPUART),
    block("LPUART6", 0x4019_8000, Behaviour::Lpuart, LPUART),
    block("LPUART7", 0x4019_C000, Behaviour::Lpuart, LPUART),
    block("LPUART8", 0x401A_0000, Behaviour::Lpuart, LPUART),
    plain("FLEXIO1", 0x401A_C000),
    plain("FLEXIO2", 0x401B_0000),
    block("GPIO1", 0x401B_8000, Behaviour::Gpio, GPIO),
    block("GPIO2", 0x401B_C000, Behaviour::Gpio, GPIO),
    block("GPIO3", 0x401C_0000, Behaviour::Gpio, GPIO),
    block("GPIO4", 0x401C_4000, Behaviour::Gpio, GPIO),
    plain("CAN1", 0x401D_0000),
    plain("CAN2", 0x401D_4000),
    plain("TMR1", 0x401D_C000),
    plain("TMR2", 0x401E_0000),
    plain("TMR3", 0x401E_4000),
    plain("TMR4", 0x401E_8000),
    block("GPT1", 0x401E_C000, Behaviour::Gpt, GPT),
    block("GPT2", 0x401F_0000, Behaviour::Gpt, GPT),
    block("OCOTP", 0x401F_4000, Behaviour::Plain, OCOTP),
    plain("IOMUXC", 0x401F_8000),
    plain("KPP", 0x401F_C000),
    plain("AIPSTZ3", 0x4027_C000),
    block("FLEXSPI2", 0x402A_4000, Behaviour::Flexspi, FLEXSPI),
    block("FLEXSPI", 0x402A_8000, Behaviour::Flexspi, FLEXSPI),
    plain("PXP", 0x402B_4000),
    plain("LCDIF", 0x402B_8000),
    plain("CSI", 0x402B_C000),
    plain("USDHC1", 0x402C_0000),
    plain("USDHC2", 0x402C_4000),
    plain("ENET2", 0x402D_4000),
    plain("ENET", 0x402D_8000),
    sized("USB1", 0x402E_0000, 0x200, Behaviour::Usb, USB),
    sized("USB2", 0x402E_0200, 0x3E00, Behaviour::Usb, USB),
    plain("SEMC", 0x402F_0000),
    plain("DCP", 0x402F_C000),
    plain("AIPSTZ4", 0x4037_C000),
    plain("SPDIF", 0x4038_0000),
    plain("SAI1", 0x4038_4000),
    plain("SAI2", 0x4038_8000),
    plain("SAI3", 0x4038_C000),
    plain("LPSPI1", 0x4039_4000),
    plain("LPSPI2", 0x4039_8000),
    plain("LPSPI3", 0x4039_C000),
    plain("LPSPI4", 0x403A_0000),
    plain("ADC_ETC", 0x403B_0000),
    plain("AOI1", 0x403B_4000),
    plain("AOI2", 0x403B_8000),
    plain("XBAR1", 0x403B_C000),
    plain("XBAR2", 0x403C_0000),
    plain("XBAR3", 0x403C_4000),
    plain("ENC1", 0x403C_8000),
    plain("ENC2", 0x403C_C000),
    plain("ENC3", 0x403D_0000),
    plain("ENC4", 0x403D_4000),
    plain("PWM1", 0x403D_C000),
    plain("PWM2", 0x403E_0000),
    plain("PWM3", 0x403E_4000),
    plain("PWM4", 0x403E_8000),
    plain("BEE", 0x403E_C000),
    plain("LPI2C1", 0x403F_0000),
    plain("LPI2C2", 0x403F_4000),
    plain("LPI2C3", 0x403F_8000),
    plain("LPI2C4", 0x403F_C000),
    block("GPIO6", 0x4200_0000, Behaviour::Gpio, GPIO),
    block("GPIO7", 0x4200_4000, Behaviour::Gpio, GPIO),
    block("GPIO8", 0x4200_8000, Behaviour::Gpio, GPIO),
    block("GPIO9", 0x4200_C000, Behaviour::Gpio, GPIO),
    plain("FLEXIO3", 0x4202_0000),
];
