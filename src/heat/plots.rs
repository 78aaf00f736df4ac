//! The heat map's plots: the hottest sections as a ranked bar chart, and one memory-map strip per
//! region with every section coloured by its heat (drawn by [`crate::report::plot`]).

use std::collections::BTreeMap;

use super::{HeatMap, SectionTable};
use crate::report::plot::{Chart, Span, Strip};

/// `(file stem, chart)` pairs: `ranked`, then `strip-<region>` for each region with code.
pub fn charts(heat: &HeatMap, table: &SectionTable, top: usize) -> Vec<(String, Chart)> {
    let unit = if heat.exact { "cycles" } else { "est. cycles" };
    let mut out = vec![(
        "ranked".to_string(),
        Chart::Bars {
            title: format!(
                "Hottest {} input sections ({})",
                top.min(heat.sections.len()),
                heat.source
            ),
            unit: unit.to_string(),
            bars: heat
                .sections
                .iter()
                .take(top)
                .map(|s| (s.section.label(), s.cycles))
                .collect(),
        },
    )];
    let hot: BTreeMap<u64, f64> = heat
        .sections
        .iter()
        .map(|s| (s.section.address, s.cycles))
        .collect();
    let mut regions: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for s in &table.sections {
        regions
            .entry(s.region.as_deref().unwrap_or("unknown"))
            .or_default()
            .push(Span {
                start: s.address,
                size: s.size,
                heat: hot.get(&s.address).copied().unwrap_or(0.0),
            });
    }
    for (region, spans) in regions {
        let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
        let end = spans
            .iter()
            .map(|s| s.start + s.size)
            .max()
            .unwrap_or(start);
        let name: String = region
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out.push((
            format!("strip-{name}"),
            Chart::Strips {
                title: format!(
                    "{region}: {} sections by address, coloured by heat",
                    spans.len()
                ),
                strips: vec![Strip {
                    name: region.to_string(),
                    start,
                    end,
                    spans,
                }],
            },
        ));
    }
    out
}
