//! The ranked heat table for people.

use std::fmt::Write;

use super::HeatMap;

/// The ranked table: section, region, size, share, cycles, density, calls.
pub fn to_text(heat: &HeatMap, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "heat map from {} ({}), {} samples{}",
        heat.source,
        if heat.exact {
            "exact cycles"
        } else {
            "estimated cycles"
        },
        heat.total_samples,
        if heat.unattributed_samples > 0 {
            format!(", {} outside every section", heat.unattributed_samples)
        } else {
            String::new()
        }
    );
    // Inclusive cost (the section and its callees) where the profile has call stacks.
    let stacks = heat.sections.iter().any(|s| s.inclusive_cycles.is_some());
    let _ = writeln!(
        out,
        "  {:>4} {:<52} {:<8} {:>7} {:>7} {:>14} {:>9} {:>10}{}",
        "rank",
        "section",
        "region",
        "size",
        "share",
        "cycles",
        "cyc/byte",
        "calls",
        if stacks { "  incl. cycles  incl." } else { "" }
    );
    let total = heat.total_samples.max(1) as f64;
    for (rank, s) in heat.sections.iter().take(top).enumerate() {
        let inclusive = match (s.inclusive_cycles, s.inclusive_samples) {
            (Some(c), Some(n)) => format!(" {c:>14.0} {:>5.1}%", 100.0 * n as f64 / total),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:>4} {:<52} {:<8} {:>7} {:>6.2}% {:>14.0} {:>9.1} {:>10}{inclusive}",
            rank + 1,
            truncate(&s.section.label(), 52),
            s.section.region.as_deref().unwrap_or("?"),
            s.section.size,
            100.0 * s.share,
            s.cycles,
            s.density,
            s.calls
        );
    }
    if heat.sections.len() > top {
        let _ = writeln!(
            out,
            "  … {} more sections with heat",
            heat.sections.len() - top
        );
    }
    if !heat.edges.is_empty() {
        let _ = writeln!(
            out,
            "\n  hottest calls between sections (veneer cost if split)"
        );
        for e in heat.edges.iter().take(top.min(10)) {
            let _ = writeln!(
                out,
                "  {:>10} × {} -> {}  (+{} cycles through a veneer)",
                e.calls,
                truncate(&heat.sections[e.from].section.label(), 40),
                truncate(&heat.sections[e.to].section.label(), 40),
                e.veneer_cycles
            );
        }
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let tail: String = text
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}
