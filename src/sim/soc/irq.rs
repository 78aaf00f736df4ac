//! Peripheral interrupt lines into the NVIC and watchdog expiry, evaluated from the peripherals'
//! registers and the core cycle counter (reference manual IMXRT1060RM, "Interrupts": LPUART1..8
//! are IRQ 20..27, GPT1/2 IRQ 100/101, PIT IRQ 122).
//!
//! Lines are level-sensitive, as on the chip: an asserted line pends its interrupt again after
//! the handler returns unless the handler cleared the flag. The machine asks [`Soc::interrupts`]
//! at its event points; the answer holds until the cycle it names or the next peripheral
//! access, so instructions that touch no peripheral pay nothing for it.

use super::map::Behaviour;
use super::timers::{self, Line};
use super::{lpuart, Soc};

/// NVIC interrupt numbers of the peripherals that raise interrupts here.
const IRQS: &[(&str, u32)] = &[
    ("LPUART1", 20),
    ("LPUART2", 21),
    ("LPUART3", 22),
    ("LPUART4", 23),
    ("LPUART5", 24),
    ("LPUART6", 25),
    ("LPUART7", 26),
    ("LPUART8", 27),
    ("GPT1", 100),
    ("GPT2", 101),
    ("PIT", 122),
];

/// A watchdog that expired.
#[derive(Clone, Debug)]
pub struct Expired {
    pub watchdog: &'static str,
    pub timeout: String,
    pub at: u64,
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
        IRQS.iter()
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
                _ => Line::Quiet,
            };
            match line {
                Line::Asserted => out.asserted.push(irq),
                Line::At(at) => out.valid_until = out.valid_until.min(at),
                Line::Quiet => {}
            }
        }
        for p in &self.periphs {
            if let Some(e) = &p.state.expiry {
                if e.at <= now {
                    out.expired = Some(Expired {
                        watchdog: p.block.name,
                        timeout: e.timeout.clone(),
                        at: e.at,
                    });
                } else {
                    out.valid_until = out.valid_until.min(e.at);
                }
            }
        }
        self.irq_cache = out;
        &self.irq_cache
    }
}
