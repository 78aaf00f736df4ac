//! Capturing profiles: the sampling collectors, the target interface they run against, and the
//! conversion of what they collected into a [`Profile`](crate::profile::Profile).

pub mod callsite;
pub mod clock;
pub mod collect;
pub mod debug;
pub mod probe;
pub mod probe_model;
pub mod sim;
pub mod stacks;
pub mod swo;
pub mod target;
pub mod verify;

use crate::profile::{Capture, ElfIdentity, Method, Profile};

pub use collect::{Collected, HaltOptions, Limits, StopReason};
pub use probe_model::ProbeModel;
pub use sim::SimTarget;
pub use target::{CoreRegister, Target, TargetError};

/// Turns collected samples into a profile of `elf` on `board`.
pub fn into_profile(
    collected: Collected,
    elf: ElfIdentity,
    board: &str,
    method: Method,
    probe: Option<String>,
) -> Profile {
    let capture = Capture {
        method,
        sample_period_cycles: collected.period,
        duration_ms: Some(collected.elapsed.as_millis() as u64),
        probe,
        runs: 1,
        partial: collected.stop.as_ref().and_then(StopReason::partial),
        parameters: collected.parameters.into_iter().collect(),
    };
    let mut profile = Profile::new(elf, board, capture);
    profile.set_histogram(collected.pcs);
    profile.set_call_edges(collected.edges);
    profile.totals.cycles = collected.cycles;
    profile.totals.lost_samples = collected.lost;
    profile.totals.idle_samples = collected.idle;
    profile
}
