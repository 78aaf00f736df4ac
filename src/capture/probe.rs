//! [`Target`] over a probe-rs session: the hardware side of capture.
//!
//! probe-rs does the probe protocols (CMSIS-DAP, J-Link, ST-Link, …) and the SWO setup; this
//! module only maps its calls and errors onto the collectors' interface.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use probe_rs::architecture::arm::component::TraceSink;
use probe_rs::architecture::arm::swo::SwoConfig;
use probe_rs::config::Registry;
use probe_rs::probe::list::Lister;
use probe_rs::probe::DebugProbeSelector;
use probe_rs::{MemoryInterface, Permissions, Session};

use super::target::{CoreRegister, Target, TargetError};

/// A real i.MX RT behind a debug probe.
pub struct ProbeTarget {
    session: Session,
    core_clock_hz: u64,
    /// A description of the probe for the profile (`VID:PID:serial`).
    pub probe: String,
}

/// Checks a probe-rs target name against probe-rs's built-in list, naming close ones when it is
/// not there (probe-rs knows i.MX RT parts by family: MIMXRT1060, not MIMXRT1062).
pub fn check_chip(chip: &str) -> Result<()> {
    let registry = Registry::from_builtin_families();
    if registry.get_target_by_name(chip).is_ok() {
        return Ok(());
    }
    let names: Vec<String> = registry
        .families()
        .iter()
        .flat_map(|f| f.variants.iter().map(|v| v.name.clone()))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut close = crate::board::closest_names(chip, &refs);
    if close.is_empty() {
        close = refs
            .iter()
            .copied()
            .filter(|n| {
                n.to_ascii_uppercase()
                    .starts_with(&chip.to_ascii_uppercase()[..chip.len().min(7)])
            })
            .take(12)
            .collect();
    }
    bail!(
        "probe-rs does not know the chip `{chip}`{}",
        if close.is_empty() {
            String::new()
        } else {
            format!("; close names: {}", close.join(", "))
        }
    )
}

impl ProbeTarget {
    /// Opens the probe (the only one attached, or the one `selector` names: `VID:PID[:SN]`) and
    /// attaches to `chip`; with `reset` the core is reset first, otherwise hotlink attaches to
    /// the running program.
    pub fn open(
        chip: &str,
        selector: Option<&str>,
        core_clock_hz: u64,
        reset: bool,
    ) -> Result<ProbeTarget> {
        check_chip(chip)?;
        let lister = Lister::new();
        let probes = lister.list_all();
        let info = match selector {
            Some(text) => {
                let wanted: DebugProbeSelector = text.parse().map_err(|e| {
                    anyhow!("--probe `{text}`: {e} (expected VID:PID or VID:PID:SERIAL, in hex)")
                })?;
                probes
                    .into_iter()
                    .find(|p| wanted.matches_probe(p))
                    .ok_or_else(|| {
                        anyhow!("no attached probe matches `{text}`; `probe-rs list` shows them")
                    })?
            }
            None => match probes.len() {
                0 => bail!(
                    "no debug probe found: connect one (MCU-Link, J-Link, CMSIS-DAP) or use --sim"
                ),
                1 => probes.into_iter().next().expect("one probe"),
                n => bail!("{n} debug probes found: pick one with --probe VID:PID[:SERIAL]"),
            },
        };
        let probe = format!(
            "{:04x}:{:04x}{}",
            info.vendor_id,
            info.product_id,
            info.serial_number
                .as_ref()
                .map(|s| format!(":{s}"))
                .unwrap_or_default()
        );
        let mut session = info
            .open()
            .with_context(|| format!("cannot open probe {probe}"))?
            .attach(chip, Permissions::default())
            .with_context(|| format!("cannot attach to {chip} through {probe}"))?;
        if reset {
            session
                .core(0)
                .and_then(|mut core| core.reset())
                .with_context(|| format!("cannot reset {chip}"))?;
        }
        Ok(ProbeTarget {
            session,
            core_clock_hz,
            probe,
        })
    }

    /// The probe-rs session, for work beyond the collectors' interface (`hotlink measure`).
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Wraps an existing session (tests use probe-rs's fake probe).
    pub fn from_session(session: Session, core_clock_hz: u64, probe: String) -> ProbeTarget {
        ProbeTarget {
            session,
            core_clock_hz,
            probe,
        }
    }
}

fn map_error(error: impl std::fmt::Display) -> TargetError {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if ["usb", "disconnect", "no device", "probe", "timeout"]
        .iter()
        .any(|w| lower.contains(w))
    {
        TargetError::Disconnected(text)
    } else {
        TargetError::Other(text)
    }
}

impl Target for ProbeTarget {
    fn read_word(&mut self, address: u32) -> Result<u32, TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.read_word_32(u64::from(address)).map_err(map_error)
    }

    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.write_word_32(u64::from(address), value)
            .map_err(map_error)
    }

    fn halt(&mut self) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.halt(Duration::from_millis(100)).map_err(map_error)?;
        Ok(())
    }

    fn run(&mut self) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.run().map_err(map_error)
    }

    fn read_register(&mut self, register: CoreRegister) -> Result<u32, TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        let id = match register {
            CoreRegister::Pc => core.program_counter().id(),
            CoreRegister::Lr => core.return_address().id(),
            CoreRegister::Sp => core.stack_pointer().id(),
            CoreRegister::Regsel(n) => probe_rs::RegisterId(n),
        };
        core.read_core_reg::<u32>(id).map_err(map_error)
    }

    fn enable_swo(&mut self, baud: u32) -> Result<(), TargetError> {
        // The i.MX RT's TPIU runs from the trace clock; the SDK default is the core clock / 4 at
        // most 132 MHz. An assumption: boards that change CCM's trace clock root must say so.
        let tpiu_clock = (self.core_clock_hz / 4).min(132_000_000) as u32;
        let config = SwoConfig::new(tpiu_clock).set_baud(baud);
        self.session
            .setup_tracing(0, TraceSink::Swo(config))
            .map_err(map_error)
    }

    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<(), TargetError> {
        let data = self.session.read_trace_data().map_err(map_error)?;
        out.extend_from_slice(&data);
        Ok(())
    }

    fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
        // The probe round trip is the polling interval on hardware.
        Ok(())
    }

    fn core_clock_hz(&self) -> u64 {
        self.core_clock_hz
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_rs::integration::FakeProbe;

    #[test]
    fn unknown_chips_list_close_names() {
        assert!(check_chip("MIMXRT1060").is_ok());
        let err = check_chip("MIMXRT1062").unwrap_err().to_string();
        assert!(
            err.contains("MIMXRT1060") || err.contains("MIMXRT1064"),
            "{err}"
        );
    }

    #[test]
    fn the_fake_probe_attaches_and_reads_the_dwt() {
        // probe-rs's fake probe: enough to check the wiring (its reads return zeros).
        let session = FakeProbe::with_mocked_core()
            .into_probe()
            .attach("nrf51822_xxAC", Permissions::default())
            .expect("fake probe attaches");
        let mut target = ProbeTarget::from_session(session, 600_000_000, "fake".into());
        let pcsr = target.read_word(super::super::target::regs::DWT_PCSR);
        assert!(pcsr.is_ok(), "{pcsr:?}");
    }
}
