//! [`Target`] over a probe-rs session: the hardware side of capture.
//!
//! probe-rs does the probe protocols (CMSIS-DAP, J-Link, ST-Link, …) and the SWO setup; this
//! module only maps its calls and errors onto the collectors' interface.

use std::mem::ManuallyDrop;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use probe_rs::architecture::arm::component::TraceSink;
use probe_rs::architecture::arm::swo::SwoConfig;
use probe_rs::config::Registry;
use probe_rs::probe::list::Lister;
use probe_rs::probe::DebugProbeSelector;
use probe_rs::{MemoryInterface, Permissions, Session};

use super::target::{Target, TargetError, TraceRead};

/// A real i.MX RT behind a debug probe.
///
/// The probe-rs session is never dropped: its `Drop` writes DHCSR (debug off) and clears DEMCR,
/// which stops CYCCNT for firmware that times itself with it. The collectors put the debug
/// registers back as they found them; the session's USB handle is released when hotlink exits.
pub struct ProbeTarget {
    session: ManuallyDrop<Session>,
    core_clock_hz: u64,
    /// A CMSIS-DAP v1 probe (HID): one 64-byte report per 1 ms USB frame.
    hid: bool,
    opened: Instant,
    /// A description of the probe for the profile (`VID:PID:serial`).
    pub probe: String,
}

/// SWO bytes per second a CMSIS-DAP v1 (HID) probe moves: one report of 64 bytes, 4 of them
/// the response header, per 1 ms full-speed USB frame.
const HID_SWO_BYTES_PER_S: u64 = 60_000;

/// Checks a probe-rs target name against probe-rs's built-in list. probe-rs matches by prefix,
/// so a family name with several variants (MIMXRT1050: `_hyperflash`, `_quadspi`) is ambiguous:
/// the error then names the variants, and otherwise the closest names (probe-rs knows i.MX RT
/// parts by family: MIMXRT1060, not MIMXRT1062).
pub fn check_chip(chip: &str) -> Result<()> {
    let registry = Registry::from_builtin_families();
    let error = match registry.get_target_by_name(chip) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let names: Vec<String> = registry
        .families()
        .iter()
        .flat_map(|f| f.variants.iter().map(|v| v.name.clone()))
        .collect();
    let upper = chip.to_ascii_uppercase();
    let variants: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| n.to_ascii_uppercase().starts_with(&upper))
        .collect();
    if !variants.is_empty() {
        bail!(
            "probe-rs finds the chip `{chip}` ambiguous ({error}); name one of: {}",
            variants.join(", ")
        );
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut close = crate::board::closest_names(chip, &refs);
    if close.is_empty() {
        close = refs
            .iter()
            .copied()
            .filter(|n| {
                n.to_ascii_uppercase()
                    .starts_with(&upper[..upper.len().min(7)])
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
        let hid = info.is_hid_interface;
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
            session: ManuallyDrop::new(session),
            core_clock_hz,
            hid,
            opened: Instant::now(),
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
            session: ManuallyDrop::new(session),
            core_clock_hz,
            hid: false,
            opened: Instant::now(),
            probe,
        }
    }
}

/// Classifies a probe-rs error by walking its chain of causes: a USB failure (unplugged, the
/// device gone) is a disconnect; everything else, timeouts included, is an error of the
/// operation. The words of `to_string()` cannot tell: for `Error::Arm` it is only "An ARM
/// specific error occurred."
pub fn map_error(error: probe_rs::Error) -> TargetError {
    use probe_rs::probe::DebugProbeError;
    let gone = |e: &(dyn std::error::Error + 'static)| {
        let usb = e
            .downcast_ref::<DebugProbeError>()
            .is_some_and(|p| matches!(p, DebugProbeError::Usb(_)));
        let io = e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            use std::io::ErrorKind::*;
            matches!(
                io.kind(),
                NotConnected | BrokenPipe | ConnectionReset | ConnectionAborted | NotFound
            )
        });
        usb || io
    };
    let mut text = error.to_string();
    let mut disconnected = gone(&error);
    let mut cause = std::error::Error::source(&error);
    while let Some(e) = cause {
        disconnected |= gone(e);
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    if disconnected {
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

    fn read_block(&mut self, address: u32, out: &mut [u32]) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.read_32(u64::from(address), out).map_err(map_error)
    }

    fn write_word(&mut self, address: u32, value: u32) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.write_word_32(u64::from(address), value)
            .map_err(map_error)
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(map_error)?;
        core.flush().map_err(map_error)
    }

    /// probe-rs sets up the probe's receiver and the TPIU for `baud`; it does not say which
    /// baud the probe granted (a CMSIS-DAP probe only logs a warning), so the request is
    /// returned and a mismatch shows as a stream that does not decode.
    fn enable_swo(&mut self, trace_clock_hz: u64, baud: u32) -> Result<u32, TargetError> {
        let clock = u32::try_from(trace_clock_hz)
            .map_err(|_| TargetError::Other(format!("trace clock {trace_clock_hz} Hz")))?;
        let config = SwoConfig::new(clock).set_baud(baud);
        self.session
            .setup_tracing(0, TraceSink::Swo(config))
            .map_err(map_error)?;
        Ok(baud)
    }

    /// probe-rs 0.32 reads the CMSIS-DAP SWO status but does not pass its overrun bit on; the
    /// SWO collector detects loss by comparing the samples received with CYCCNT instead.
    fn read_trace(&mut self, out: &mut Vec<u8>) -> Result<TraceRead, TargetError> {
        let data = self
            .session
            .read_trace_data()
            .map_err(|e| map_error(e.into()))?;
        out.extend_from_slice(&data);
        Ok(TraceRead::default())
    }

    fn swo_byte_rate_limit(&self) -> Option<u64> {
        self.hid.then_some(HID_SWO_BYTES_PER_S)
    }

    fn wait_for_next_poll(&mut self) -> Result<(), TargetError> {
        // The probe round trip is the polling interval on hardware.
        Ok(())
    }

    fn pause(&mut self, time: Duration) -> Result<(), TargetError> {
        std::thread::sleep(time);
        Ok(())
    }

    fn now(&self) -> Duration {
        self.opened.elapsed()
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
    fn every_board_names_a_chip_probe_rs_knows() {
        for name in crate::board::Board::builtin_names() {
            let board = crate::board::Board::builtin(name).unwrap();
            if let Err(e) = check_chip(&board.probe_rs_target) {
                panic!("boards/{name}.toml: {e}");
            }
        }
    }

    #[test]
    fn an_ambiguous_family_name_lists_its_variants() {
        let err = check_chip("MIMXRT1050").unwrap_err().to_string();
        assert!(
            err.contains("MIMXRT1050_hyperflash") && err.contains("MIMXRT1050_quadspi"),
            "{err}"
        );
    }

    #[test]
    fn errors_are_classified_by_their_cause_not_their_words() {
        use probe_rs::architecture::arm::ArmError;
        use probe_rs::probe::DebugProbeError;
        let unplugged = std::io::Error::new(std::io::ErrorKind::NotConnected, "device gone");
        let error = probe_rs::Error::Arm(ArmError::Probe(DebugProbeError::Usb(unplugged)));
        assert_eq!(error.to_string(), "An ARM specific error occurred.");
        assert!(matches!(map_error(error), TargetError::Disconnected(_)));
        // A timeout says "probe"-ish words nowhere, and is not a disconnect.
        assert!(matches!(
            map_error(probe_rs::Error::Timeout),
            TargetError::Other(_)
        ));
        let nack = probe_rs::Error::Arm(ArmError::Dap(
            probe_rs::architecture::arm::DapError::NoAcknowledge,
        ));
        match map_error(nack) {
            TargetError::Other(text) => assert!(text.contains("ARM specific"), "{text}"),
            other => panic!("{other:?}"),
        }
    }

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
