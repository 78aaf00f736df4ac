//! The i.MX RT1050/1060/1064 trace clock and SWO pin, read from the SoC's registers through the
//! probe: what the TPIU's prescaler must divide, instead of a guess from the core clock.
//!
//! Facts (i.MX RT1060 reference manual, CCM and IOMUXC chapters; the NXP SDK's register headers
//! agree): the trace clock root is selected by CCM_CBCMR.TRACE_CLK_SEL (bits 15:14: PLL2,
//! PLL2 PFD2, PLL2 PFD0, PLL2 PFD1), divided by CCM_CSCDR1.TRACE_PODF + 1 (bits 26:25), and
//! gated by CCM_CCGR0.CG11 (bits 23:22; the SDK's clock code turns it off with
//! `CLOCK_DisableClock(kCLOCK_Trace)`). PLL2 (CCM_ANALOG_PLL_SYS) runs at 24 MHz x 22 (or x 20);
//! a PFD runs at PLL2 x 18 / FRAC. SWO leaves on pad GPIO_AD_B0_10 in mux mode 9
//! (ARM_TRACE_SWO). The SDK's clock setups give 132 MHz (PLL2 / 4), 117.33 MHz (PFD0 / 3) or
//! 99 MHz (PFD2 / 4): none follows the core clock.

use super::target::{Target, TargetError};

pub const CCM_CBCMR: u32 = 0x400F_C018;
pub const CCM_CSCDR1: u32 = 0x400F_C024;
pub const CCM_CCGR0: u32 = 0x400F_C068;
pub const CCM_ANALOG_PLL_SYS: u32 = 0x400D_8030;
pub const CCM_ANALOG_PFD_528: u32 = 0x400D_8100;
/// IOMUXC SW_MUX_CTL_PAD_GPIO_AD_B0_10.
pub const IOMUXC_MUX_GPIO_AD_B0_10: u32 = 0x401F_80E4;
/// The pad's mux mode for ARM_TRACE_SWO.
pub const SWO_MUX_MODE: u32 = 9;
/// CCGR0.CG11, the trace clock's gate (3 = on in run and wait modes).
pub const CCGR0_CG11_MASK: u32 = 3 << 22;

/// The registers that decide the trace clock and the SWO pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceClockRegisters {
    pub cbcmr: u32,
    pub cscdr1: u32,
    pub ccgr0: u32,
    pub pll_sys: u32,
    pub pfd_528: u32,
    pub swo_pad_mux: u32,
}

/// What the registers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceClock {
    /// The trace clock root's frequency after TRACE_PODF (0 when its PLL or PFD is off).
    pub root_hz: u64,
    /// Whether CCGR0.CG11 lets it reach the TPIU.
    pub gated_on: bool,
    /// Whether GPIO_AD_B0_10 carries ARM_TRACE_SWO.
    pub pin_muxed: bool,
}

impl TraceClock {
    /// The clock at the TPIU, `None` when gated or off.
    pub fn tpiu_hz(&self) -> Option<u64> {
        (self.gated_on && self.root_hz > 0).then_some(self.root_hz)
    }
}

const OSC_HZ: u64 = 24_000_000;

impl TraceClockRegisters {
    /// Reads the registers through the probe.
    pub fn read(target: &mut dyn Target) -> Result<TraceClockRegisters, TargetError> {
        Ok(TraceClockRegisters {
            cbcmr: target.read_word(CCM_CBCMR)?,
            cscdr1: target.read_word(CCM_CSCDR1)?,
            ccgr0: target.read_word(CCM_CCGR0)?,
            pll_sys: target.read_word(CCM_ANALOG_PLL_SYS)?,
            pfd_528: target.read_word(CCM_ANALOG_PFD_528)?,
            swo_pad_mux: target.read_word(IOMUXC_MUX_GPIO_AD_B0_10)?,
        })
    }

    /// PLL2's output: 0 when powered down, the 24 MHz reference when bypassed. The fractional
    /// part (PLL_SYS_NUM/DENOM) is left out: the SDK's setups leave it at 0.
    fn pll2_hz(&self) -> u64 {
        const POWERDOWN: u32 = 1 << 12;
        const BYPASS: u32 = 1 << 16;
        if self.pll_sys & BYPASS != 0 {
            OSC_HZ
        } else if self.pll_sys & POWERDOWN != 0 {
            0
        } else if self.pll_sys & 1 != 0 {
            OSC_HZ * 22
        } else {
            OSC_HZ * 20
        }
    }

    /// PFD `n` of PLL2: PLL2 x 18 / FRAC (FRAC 12..35), 0 when its gate bit is set.
    fn pfd_hz(&self, n: u32) -> u64 {
        let field = self.pfd_528 >> (8 * n);
        let frac = u64::from(field & 0x3F);
        if field & 0x80 != 0 || frac == 0 {
            0
        } else {
            self.pll2_hz() * 18 / frac
        }
    }

    pub fn decode(&self) -> TraceClock {
        let source = match (self.cbcmr >> 14) & 3 {
            0 => self.pll2_hz(),
            1 => self.pfd_hz(2),
            2 => self.pfd_hz(0),
            _ => self.pfd_hz(1),
        };
        let podf = u64::from((self.cscdr1 >> 25) & 3) + 1;
        TraceClock {
            root_hz: source / podf,
            gated_on: self.ccgr0 & CCGR0_CG11_MASK != 0,
            pin_muxed: self.swo_pad_mux & 0xF == SWO_MUX_MODE,
        }
    }
}

/// Whether a probe-rs chip name is one whose trace clock this module knows.
pub fn knows_chip(chip: &str) -> bool {
    let upper = chip.to_ascii_uppercase();
    ["MIMXRT1050", "MIMXRT1060", "MIMXRT1064"]
        .iter()
        .any(|family| upper.starts_with(family))
}

/// What [`prepare`] changed, to be undone at the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocChanges {
    pub ccgr0: Option<u32>,
    pub swo_pad_mux: Option<u32>,
}

impl SocChanges {
    /// A sentence for the user, or `None` when nothing was changed.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.ccgr0.is_some() {
            parts.push("turned the trace clock gate on (CCM_CCGR0.CG11)");
        }
        if self.swo_pad_mux.is_some() {
            parts.push("muxed pad GPIO_AD_B0_10 to ARM_TRACE_SWO (IOMUXC)");
        }
        (!parts.is_empty()).then(|| format!("hotlink {}", parts.join(" and ")))
    }

    /// Puts the gate and the pad back as they were.
    pub fn undo(&self, target: &mut dyn Target) -> Result<(), TargetError> {
        if let Some(ccgr0) = self.ccgr0 {
            target.write_word(CCM_CCGR0, ccgr0)?;
        }
        if let Some(mux) = self.swo_pad_mux {
            target.write_word(IOMUXC_MUX_GPIO_AD_B0_10, mux)?;
        }
        Ok(())
    }
}

/// Reads the trace clock; with `consent`, turns on the gate and muxes the pad when they are
/// off (and reports that in the returned changes); without it, names the flag in the error.
pub fn prepare(
    target: &mut dyn Target,
    consent: bool,
) -> Result<(TraceClock, SocChanges), TargetError> {
    let registers = TraceClockRegisters::read(target)?;
    let mut clock = registers.decode();
    let mut changes = SocChanges::default();
    if clock.root_hz == 0 {
        return Err(TargetError::Other(format!(
            "the trace clock's source is off (CCM_CBCMR {:#010x}, CCM_ANALOG_PLL_SYS {:#010x}, \
             PFD_528 {:#010x}): the firmware must run PLL2",
            registers.cbcmr, registers.pll_sys, registers.pfd_528
        )));
    }
    let mut missing = Vec::new();
    if !clock.gated_on {
        missing.push(
            "the trace clock is gated off (CCM_CCGR0.CG11 = 0, as the SDK's clock code leaves it)",
        );
    }
    if !clock.pin_muxed {
        missing.push("pad GPIO_AD_B0_10 is not muxed to ARM_TRACE_SWO (IOMUXC mode 9)");
    }
    if !missing.is_empty() && !consent {
        return Err(TargetError::Other(format!(
            "SWO cannot work: {}. Pass --enable-trace-clock to let hotlink turn them on for the \
             capture (and back off after), or enable them in the firmware",
            missing.join("; ")
        )));
    }
    if !clock.gated_on {
        target.write_word(CCM_CCGR0, registers.ccgr0 | CCGR0_CG11_MASK)?;
        changes.ccgr0 = Some(registers.ccgr0);
        clock.gated_on = true;
    }
    if !clock.pin_muxed {
        target.write_word(
            IOMUXC_MUX_GPIO_AD_B0_10,
            (registers.swo_pad_mux & !0xF) | SWO_MUX_MODE,
        )?;
        changes.swo_pad_mux = Some(registers.swo_pad_mux);
        clock.pin_muxed = true;
    }
    Ok((clock, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PLL2 at 528 MHz, PFD0 352 MHz (FRAC 27), PFD1 594 MHz (16), PFD2 396 MHz (24).
    fn sdk(sel: u32, podf: u32) -> TraceClockRegisters {
        TraceClockRegisters {
            cbcmr: sel << 14,
            cscdr1: podf << 25,
            ccgr0: CCGR0_CG11_MASK,
            pll_sys: (1 << 13) | 1,
            pfd_528: 27 | (16 << 8) | (24 << 16) | (29 << 24),
            swo_pad_mux: SWO_MUX_MODE,
        }
    }

    #[test]
    fn sdk_clock_setups_give_their_trace_clocks() {
        assert_eq!(sdk(0, 3).decode().tpiu_hz(), Some(132_000_000));
        assert_eq!(sdk(2, 2).decode().tpiu_hz(), Some(117_333_333));
        assert_eq!(sdk(1, 3).decode().tpiu_hz(), Some(99_000_000));
        assert_eq!(sdk(3, 3).decode().tpiu_hz(), Some(148_500_000));
    }

    #[test]
    fn a_gated_clock_or_a_gated_pfd_gives_none() {
        let mut r = sdk(0, 3);
        r.ccgr0 = 0xFF3F_FFFF;
        let clock = r.decode();
        assert_eq!(clock.tpiu_hz(), None);
        assert_eq!(clock.root_hz, 132_000_000);
        let mut r = sdk(2, 2);
        r.pfd_528 |= 0x80;
        assert_eq!(r.decode().root_hz, 0);
        let mut r = sdk(0, 0);
        r.pll_sys |= 1 << 16;
        assert_eq!(r.decode().root_hz, 24_000_000);
        r.swo_pad_mux = 5;
        assert!(!r.decode().pin_muxed);
    }

    #[test]
    fn chips_with_this_clock_tree() {
        assert!(knows_chip("MIMXRT1060"));
        assert!(knows_chip("MIMXRT1050_quadspi"));
        assert!(!knows_chip("MIMXRT1170"));
    }
}
