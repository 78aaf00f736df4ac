//! Exporting a profile's call stacks to the viewers people already use: the Firefox Profiler
//! (and `samply load`), speedscope, folded stacks (flamegraph.pl, inferno) and pprof.
//!
//! Every format gets the same symbolized stacks: each address named by the function of the
//! profile's recorded layout (or `0x…` where none covers it), outermost caller first. A sample
//! whose unwind stopped early gets a `[truncated]` root frame, so it is visible, not silently
//! attached to the wrong caller. Profiles without stacks export their PC histogram as one-frame
//! stacks.

mod firefox;
mod pprof;
mod speedscope;

use anyhow::Result;

use super::{LayoutEntry, Profile};

pub use firefox::to_firefox;
pub use pprof::to_pprof;
pub use speedscope::to_speedscope;

/// The root frame of a stack whose unwind stopped early.
pub const TRUNCATED: &str = "[truncated]";

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Firefox Profiler processed profile JSON (also `samply load`).
    Firefox,
    /// speedscope JSON (file-format-schema.json).
    Speedscope,
    /// Folded stacks, one `root;..;leaf count` line per stack (flamegraph.pl, inferno).
    Folded,
    /// pprof protobuf, gzip-compressed (`go tool pprof`).
    Pprof,
}

/// One stack, outermost first, by function index into [`Stacks::functions`].
pub struct Stack {
    pub frames: Vec<usize>,
    /// The code address of each frame (same order).
    pub addresses: Vec<u32>,
    pub count: u64,
}

/// A profile's stacks, symbolized.
pub struct Stacks {
    pub functions: Vec<String>,
    pub stacks: Vec<Stack>,
    /// Cycles one sample stands for, when the profile says.
    pub cycles_per_sample: Option<f64>,
}

impl Stacks {
    pub fn of(profile: &Profile) -> Stacks {
        let mut functions: Vec<String> = Vec::new();
        let mut index: rustc_hash::FxHashMap<String, usize> = Default::default();
        let mut intern = |name: String| {
            *index.entry(name.clone()).or_insert_with(|| {
                functions.push(name);
                functions.len() - 1
            })
        };
        let layout = &profile.layout;
        let raw: Vec<(Vec<u32>, u64, bool)> = match &profile.call_stacks {
            Some(s) => s.iter().collect(),
            None => profile
                .pc_histogram
                .iter()
                .map(|h| (vec![h.pc], h.count, false))
                .collect(),
        };
        let mut stacks = Vec::new();
        for (frames, count, truncated) in raw {
            let mut names = Vec::new();
            let mut addresses = Vec::new();
            if truncated {
                names.push(intern(TRUNCATED.to_string()));
                addresses.push(0);
            }
            for &a in frames.iter().rev() {
                names.push(intern(name_of(layout, a)));
                addresses.push(a);
            }
            stacks.push(Stack {
                frames: names,
                addresses,
                count,
            });
        }
        let cycles_per_sample = match (profile.totals.cycles, profile.capture.sample_period_cycles)
        {
            (_, Some(period)) => Some(period as f64),
            (Some(c), None) if profile.totals.samples > 0 => {
                Some(c as f64 / profile.totals.samples as f64)
            }
            _ => None,
        };
        Stacks {
            functions,
            stacks,
            cycles_per_sample,
        }
    }
}

/// The function of `layout` containing `address`, or the address in hex.
fn name_of(layout: &[LayoutEntry], address: u32) -> String {
    let i = layout.partition_point(|e| e.address <= address);
    match i.checked_sub(1).map(|i| &layout[i]) {
        Some(e) if address < e.address + e.size.max(1) => e.name.clone(),
        _ => format!("0x{address:08x}"),
    }
}

/// Folded stacks: `outer;inner;leaf count`, one line per distinct stack, sorted.
pub fn to_folded(stacks: &Stacks) -> String {
    let mut lines: rustc_hash::FxHashMap<String, u64> = Default::default();
    for s in &stacks.stacks {
        let names: Vec<&str> = s
            .frames
            .iter()
            .map(|&f| stacks.functions[f].as_str())
            .collect();
        // `;` separates frames and the last space the count: keep names free of both.
        let line = names.join(";").replace(' ', "_");
        *lines.entry(line).or_default() += s.count;
    }
    let mut lines: Vec<(String, u64)> = lines.into_iter().collect();
    lines.sort();
    lines
        .into_iter()
        .map(|(l, c)| format!("{l} {c}\n"))
        .collect()
}

/// The export of `profile` in `format`, as the bytes of the file.
pub fn export(profile: &Profile, format: ExportFormat) -> Result<Vec<u8>> {
    let stacks = Stacks::of(profile);
    let name = profile.elf.path.clone();
    Ok(match format {
        ExportFormat::Folded => to_folded(&stacks).into_bytes(),
        ExportFormat::Speedscope => to_speedscope(&stacks, &name)?,
        ExportFormat::Firefox => to_firefox(&stacks, &name)?,
        ExportFormat::Pprof => to_pprof(&stacks, &name)?,
    })
}

/// A flame graph SVG of the profile's stacks (inferno), for the HTML report.
pub fn flame_graph_svg(profile: &Profile, title: &str) -> Result<String> {
    let folded = to_folded(&Stacks::of(profile));
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "samples".to_string();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
        .map_err(|e| anyhow::anyhow!("rendering the flame graph: {e}"))?;
    Ok(String::from_utf8(svg)?)
}
