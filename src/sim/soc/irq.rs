//! Peripheral interrupt lines into the NVIC and watchdog expiry, evaluated from the peripherals'
//! registers and the core cycle counter (the interrupt numbers are the map's: [`super::map::SocMap`]).
//!
//! Lines are level-sensitive, as on the chip: an asserted line pends its interrupt again after
//! the handler returns unless the handler cleared the flag. The machine asks [`Soc::interrupts`]
//! at its event points; the answer holds until the cycle it names or the next peripheral
//! access, so instructions that touch no peripheral pay nothing for it.

use super::map::Behaviour;
use super::timers::{self, Line};
use super::{lpuart, wdog, Soc};

/// A watchdog that expired.
#[derive(Clone, Debug)]
pub struct Expired {
    pub watchdog: &'static str,
    pub timeout: String,
    /// The cycle it resets the SoC.
    pub at: u64,
    /// Core cycles of its timeout (since it was started or last serviced).
    pub period: u64,
    /// Its NVIC interrupt number when its interrupt was enabled (WICR.WIE, CS.INT).
    pub irq: Option<u32>,
    /// Whether it has an interrupt line on this map at all.
    pub has_irq: bool,
}

/// The interrupt lines and watchdogs at one instant.
#[derive(Clone, Debug, Default)]
pub struct Interrupts {
    /// IRQ numbers (0-based, as in the NVIC's ISER bits) whose line is asserted.
    pub asserted: Vec<u32>,
    /// The first cycle after which the answer may change without a peripheral access.
    pub valid_until: u64,
    pub expired: Option<Expired>,
}

impl Soc {
    /// Peripheral indices paired with their IRQ numbers, resolved once.
    pub(super) fn irq_table(&self) -> Vec<(usize, u32)> {
        self.map
            .irqs
            .iter()
            .filter_map(|&(name, irq)| {
                let i = self.periphs.iter().position(|p| p.block.name == name)?;
                Some((i, irq))
            })
            .collect()
    }

    /// The interrupt lines and watchdog state at core cycle `now`; cached until it can change.
    pub fn interrupts(&mut self, now: u64, core_hz: u64) -> &Interrupts {
        if now < self.irq_cache.valid_until {
            return &self.irq_cache;
        }
        let mut out = Interrupts {
            valid_until: u64::MAX,
            ..Interrupts::default()
        };
        for &(i, irq) in &self.irq_lines {
            let p = &self.periphs[i];
            let line = match p.block.behaviour {
                Behaviour::Lpuart if lpuart::irq(&p.regs, !self.input.is_empty()) => Line::Asserted,
                Behaviour::Gpt => timers::gpt_irq(&p.regs, &p.state, now, core_hz),
                Behaviour::Pit => timers::pit_irq(&p.regs, &p.state, now, core_hz),
                Behaviour::Wdog => wdog::wdog_irq(&p.regs, &p.state, now, core_hz),
                Behaviour::Rtwdog => wdog::rtwdog_irq(&p.regs, &p.state, now),
                _ => Line::Quiet,
            };
            match line {
                Line::Asserted => out.asserted.push(irq),
                Line::At(at) => out.valid_until = out.valid_until.min(at),
                Line::Quiet => {}
            }
        }
        for (i, p) in self.periphs.iter().enumerate() {
            if let Some(e) = &p.state.expiry {
                let reset = wdog::reset_at(&p.regs, e);
                if reset <= now {
                    let line = self.irq_lines.iter().find(|&&(j, _)| j == i);
                    out.expired = Some(Expired {
                        watchdog: p.block.name,
                        timeout: e.timeout.clone(),
                        at: reset,
                        period: e.period,
                        irq: line
                            .filter(|_| wdog::interrupt_enabled(&p.regs))
                            .map(|&(_, irq)| irq),
                        has_irq: line.is_some(),
                    });
                } else {
                    out.valid_until = out.valid_until.min(reset);
                }
            }
        }
        self.irq_cache = out;
        &self.irq_cache
    }
}
