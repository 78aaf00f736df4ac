//! speedscope's file format (`https://www.speedscope.app/file-format-schema.json`): shared
//! frames and one sampled profile whose samples are stacks of frame indices, outermost first.

use anyhow::Result;
use serde_json::json;

use super::Stacks;

pub fn to_speedscope(stacks: &Stacks, name: &str) -> Result<Vec<u8>> {
    let frames: Vec<_> = stacks
        .functions
        .iter()
        .map(|f| json!({ "name": f }))
        .collect();
    let samples: Vec<&Vec<usize>> = stacks.stacks.iter().map(|s| &s.frames).collect();
    // Weights in cycles where a sample's worth is known, else in samples.
    let per = stacks.cycles_per_sample.unwrap_or(1.0);
    let weights: Vec<f64> = stacks
        .stacks
        .iter()
        .map(|s| (s.count as f64 * per).round())
        .collect();
    let total: f64 = weights.iter().sum();
    let doc = json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "exporter": concat!("hotlink ", env!("CARGO_PKG_VERSION")),
        "name": name,
        "activeProfileIndex": 0,
        "shared": { "frames": frames },
        "profiles": [{
            "type": "sampled",
            "name": name,
            "unit": "none",
            "startValue": 0,
            "endValue": total,
            "samples": samples,
            "weights": weights,
        }],
    });
    Ok(serde_json::to_vec(&doc)?)
}
