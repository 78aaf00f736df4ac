//! The Firefox Profiler's processed profile format, written with `fxprof-processed-profile`
//! (the crate samply uses), so the format details stay the Profiler authors' business. One
//! process, one thread ("core"); one sample per distinct stack, weighted by its count.

use anyhow::Result;
use fxprof_processed_profile::{
    CategoryColor, CategoryPairHandle, CpuDelta, Frame, FrameFlags, FrameInfo, Profile,
    ReferenceTimestamp, SamplingInterval, Timestamp,
};

use super::Stacks;

pub fn to_firefox(stacks: &Stacks, name: &str) -> Result<Vec<u8>> {
    let interval = SamplingInterval::from_millis(1);
    let mut profile = Profile::new(
        name,
        ReferenceTimestamp::from_millis_since_unix_epoch(0.0),
        interval,
    );
    let category: CategoryPairHandle = profile.add_category("Code", CategoryColor::Blue).into();
    let process = profile.add_process(name, 1, Timestamp::from_millis_since_reference(0.0));
    let thread = profile.add_thread(
        process,
        1,
        Timestamp::from_millis_since_reference(0.0),
        true,
    );
    profile.set_thread_name(thread, "core");
    let labels: Vec<_> = stacks
        .functions
        .iter()
        .map(|f| profile.intern_string(f))
        .collect();
    for (k, s) in stacks.stacks.iter().enumerate() {
        let frames = s.frames.iter().map(|&f| FrameInfo {
            frame: Frame::Label(labels[f]),
            category_pair: category,
            flags: FrameFlags::empty(),
        });
        let stack = profile.intern_stack_frames(thread, frames);
        let weight = i32::try_from(s.count).unwrap_or(i32::MAX);
        profile.add_sample(
            thread,
            Timestamp::from_millis_since_reference(k as f64),
            stack,
            CpuDelta::ZERO,
            weight,
        );
    }
    Ok(serde_json::to_vec(&profile)?)
}
