//! Text renderings for `hotlink profile show` and `hotlink profile diff`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Profile;

fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

/// A summary of one profile: identity, capture, totals, and the top functions (exact counts) or
/// top sampled PCs.
pub fn show_text(profile: &Profile, top: usize) -> String {
    let mut out = String::new();
    let c = &profile.capture;
    let _ = writeln!(
        out,
        "profile of {} (sha256 {}, {} bytes{}) on {}",
        profile.elf.path,
        &profile.elf.sha256[..profile.elf.sha256.len().min(16)],
        profile.elf.size,
        profile
            .elf
            .build_id
            .as_ref()
            .map(|b| format!(", build-id {b}"))
            .unwrap_or_default(),
        profile.board
    );
    let _ = write!(out, "capture: {}, {} run(s)", c.method.as_str(), c.runs);
    if let Some(period) = c.sample_period_cycles {
        let _ = write!(out, ", a sample every {period} cycles");
    }
    if let Some(ms) = c.duration_ms {
        let _ = write!(out, ", {:.1} s", ms as f64 / 1000.0);
    }
    if let Some(probe) = &c.probe {
        let _ = write!(out, ", probe {probe}");
    }
    let _ = writeln!(out);
    if let Some(reason) = &c.partial {
        let _ = writeln!(out, "PARTIAL: {reason}");
    }
    let t = &profile.totals;
    let _ = write!(
        out,
        "totals: {} samples, {} lost, {} idle",
        t.samples, t.lost_samples, t.idle_samples
    );
    if let Some(cycles) = t.cycles {
        let _ = write!(out, ", {cycles} cycles");
    }
    if let Some(instructions) = t.instructions {
        let _ = write!(out, ", {instructions} instructions");
    }
    let _ = writeln!(out, ", {} call edges", profile.call_edges.len());

    if !profile.functions.is_empty() {
        let total: u64 = profile.functions.iter().map(|f| f.cycles).sum();
        let mut functions: Vec<_> = profile.functions.iter().collect();
        functions.sort_by(|a, b| b.cycles.cmp(&a.cycles).then(a.address.cmp(&b.address)));
        let _ = writeln!(
            out,
            "\n  {:<36} {:>10} {:>12} {:>7} {:>12} {:>10}",
            "function", "address", "cycles", "share", "instructions", "calls"
        );
        for f in functions.into_iter().take(top) {
            let _ = writeln!(
                out,
                "  {:<36} 0x{:08x} {:>12} {:>6.2}% {:>12} {:>10}",
                f.name,
                f.address,
                f.cycles,
                percent(f.cycles, total),
                f.instructions,
                f.calls
            );
        }
    } else if !profile.pc_histogram.is_empty() {
        let mut pcs = profile.pc_histogram.clone();
        pcs.sort_by(|a, b| b.count.cmp(&a.count).then(a.pc.cmp(&b.pc)));
        let _ = writeln!(out, "\n  {:>10} {:>10} {:>7}", "pc", "samples", "share");
        for p in pcs.into_iter().take(top) {
            let _ = writeln!(
                out,
                "  0x{:08x} {:>10} {:>6.2}%",
                p.pc,
                p.count,
                percent(p.count, t.samples)
            );
        }
    }
    out
}

/// Two profiles side by side: totals, and per-function cycles (exact profiles) or sample shares
/// per PC.
pub fn diff_text(a: &Profile, b: &Profile, top: usize) -> String {
    let mut out = String::new();
    if !a.elf.same_program(&b.elf) {
        let _ = writeln!(
            out,
            "note: the profiles are of different builds ({} vs {}); addresses may not correspond",
            a.elf.path, b.elf.path
        );
    }
    let _ = writeln!(out, "{:<14} {:>14} {:>14} {:>9}", "", "A", "B", "change");
    let row = |out: &mut String, name: &str, x: Option<u64>, y: Option<u64>| {
        if let (Some(x), Some(y)) = (x, y) {
            let change = 100.0 * (y as f64 - x as f64) / (x.max(1) as f64);
            let _ = writeln!(out, "{name:<14} {x:>14} {y:>14} {change:>+8.2}%");
        }
    };
    row(&mut out, "cycles", a.totals.cycles, b.totals.cycles);
    row(
        &mut out,
        "instructions",
        a.totals.instructions,
        b.totals.instructions,
    );
    row(
        &mut out,
        "samples",
        Some(a.totals.samples),
        Some(b.totals.samples),
    );

    if !a.functions.is_empty() && !b.functions.is_empty() {
        let mut by_name: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for f in &a.functions {
            by_name.entry(&f.name).or_default().0 += f.cycles;
        }
        for f in &b.functions {
            by_name.entry(&f.name).or_default().1 += f.cycles;
        }
        let mut rows: Vec<_> = by_name.into_iter().collect();
        rows.sort_by_key(|(name, (x, y))| (std::cmp::Reverse(x.abs_diff(*y)), *name));
        let _ = writeln!(
            out,
            "\n  {:<36} {:>12} {:>12} {:>12}",
            "function", "cycles A", "cycles B", "delta"
        );
        for (name, (x, y)) in rows.into_iter().take(top) {
            let _ = writeln!(
                out,
                "  {name:<36} {x:>12} {y:>12} {:>+12}",
                y as i64 - x as i64
            );
        }
    } else {
        let mut shares: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
        for p in &a.pc_histogram {
            shares.entry(p.pc).or_default().0 = percent(p.count, a.totals.samples);
        }
        for p in &b.pc_histogram {
            shares.entry(p.pc).or_default().1 = percent(p.count, b.totals.samples);
        }
        let mut rows: Vec<_> = shares.into_iter().collect();
        rows.sort_by(|x, y| {
            let dx = (x.1 .1 - x.1 .0).abs();
            let dy = (y.1 .1 - y.1 .0).abs();
            dy.total_cmp(&dx).then(x.0.cmp(&y.0))
        });
        let _ = writeln!(out, "\n  {:>10} {:>8} {:>8} {:>9}", "pc", "A", "B", "delta");
        for (pc, (x, y)) in rows.into_iter().take(top) {
            let _ = writeln!(out, "  0x{pc:08x} {x:>7.2}% {y:>7.2}% {:>+8.2}pp", y - x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::tests::sample_profile;

    #[test]
    fn show_lists_top_pcs() {
        let text = show_text(&sample_profile(), 10);
        assert!(text.contains("capture: pcsr, 1 run(s)"), "{text}");
        assert!(text.contains("0x60000100          7  70.00%"), "{text}");
    }

    #[test]
    fn diff_reports_share_changes() {
        let a = sample_profile();
        let mut b = a.clone();
        b.set_histogram([(0x100, 7), (0x6000_0100, 3)]);
        let text = diff_text(&a, &b, 10);
        assert!(text.contains("+40.00pp"), "{text}");
    }
}
