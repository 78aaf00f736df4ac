//! Reports and comparisons as text for a terminal.

use std::fmt::Write;

use super::{Comparison, RunReport};

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{:.2}", 100.0 * r))
}

fn region(r: &Option<String>) -> &str {
    r.as_deref().unwrap_or("?")
}

/// The report of one run; `top` functions are listed.
pub fn to_text(r: &RunReport, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "--- {} on {} ---", r.image.path, r.board);
    let _ = writeln!(out, "sha256         {}", r.image.sha256);
    match (r.exit_status, &r.stopped) {
        (Some(s), _) => {
            let _ = writeln!(out, "exit status    {s}");
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "stopped        {why}");
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "cycles         {}", r.cycles);
    let _ = writeln!(out, "instructions   {}", r.instructions);
    let _ = writeln!(out, "IPC            {:.3}", r.ipc);
    let _ = writeln!(
        out,
        "time           {:.6} s at {} MHz",
        r.cycles as f64 / r.core_clock_hz.max(1) as f64,
        r.core_clock_hz / 1_000_000
    );
    if let Some(w) = &r.window {
        let _ = writeln!(
            out,
            "window         {}..{}: {} cycles, {} instructions, entered {} times",
            w.start, w.stop, w.cycles, w.instructions, w.entries
        );
    }
    let _ = writeln!(
        out,
        "\n{:<8} {:>6} {:>12} {:>8} {:>12} {:>12} {:>8} {:>12}",
        "region", "kind", "fetches", "I-hit%", "data reads", "data writes", "D-hit%", "stall cyc"
    );
    for s in &r.regions {
        let _ = writeln!(
            out,
            "{:<8} {:>6} {:>12} {:>8} {:>12} {:>12} {:>8} {:>12}",
            s.name,
            s.kind,
            s.fetches,
            pct(s.icache_hit_rate),
            s.data_reads,
            s.data_writes,
            pct(s.dcache_hit_rate),
            s.stall_cycles
        );
    }
    let _ = writeln!(out, "\nmemory use ({})", r.usage_source);
    for u in &r.usage {
        let _ = write!(
            out,
            "  {:<12} {:<6} {:>10} of {:>10} bytes {:>7.2}%",
            u.name,
            u.kind.as_deref().unwrap_or("-"),
            u.used,
            u.length,
            100.0 * u.used as f64 / u.length.max(1) as f64
        );
        if let (Some(budget), Some(used)) = (u.plan_budget, u.plan_used) {
            let _ = write!(out, "   plan: {used} of a {budget}-byte budget");
        }
        let _ = writeln!(out);
    }
    if let Some(v) = &r.veneers {
        let _ = writeln!(
            out,
            "\nveneers        {} ({} bytes), {} calls through them",
            v.count, v.bytes, v.calls
        );
        for u in v.veneers.iter().filter(|u| u.calls > 0).take(10) {
            let _ = writeln!(
                out,
                "  {:>10} calls  {:#010x} in {:<8} -> {}",
                u.calls,
                u.address,
                region(&u.region),
                u.target_symbol
                    .clone()
                    .unwrap_or_else(|| format!("{:#010x}", u.target))
            );
        }
    }
    if let Some(a) = &r.audit {
        let _ = writeln!(
            out,
            "\nflash-disabled audit: {} root(s), {} finding(s)",
            a.roots.len(),
            a.findings.len()
        );
        for root in &a.roots {
            let _ = writeln!(out, "  root     {root}");
        }
        for line in a.describe() {
            let _ = writeln!(out, "  IN FLASH {line}");
        }
        if !a.unread.is_empty() {
            let _ = writeln!(
                out,
                "  not read (their references are not followed): {}",
                a.unread.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:>4} {:<32} {:<8} {:>8} {:>14} {:>7} {:>10}",
        "rank", "function", "region", "size", "cycles", "share", "calls"
    );
    for (i, f) in r.functions.iter().take(top).enumerate() {
        let _ = writeln!(
            out,
            "{:>4} {:<32} {:<8} {:>8} {:>14} {:>6.2}% {:>10}",
            i + 1,
            f.name,
            region(&f.region),
            f.size,
            f.cycles,
            100.0 * f.share,
            f.calls
        );
    }
    if r.functions.len() > top {
        let _ = writeln!(out, "     … {} more functions", r.functions.len() - top);
    }
    out
}

/// A comparison; `top` function deltas and moves are listed.
pub fn compare_text(c: &Comparison, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "before  {} ({})", c.before.image.path, c.before.board);
    let _ = writeln!(out, "after   {} ({})", c.after.image.path, c.after.board);
    let _ = writeln!(out, "measured: {}", c.measured);
    let _ = writeln!(
        out,
        "cycles  {} -> {} ({:+}, {:+.2}%), speedup {:.3}x",
        c.cycles_before,
        c.cycles_after,
        c.cycle_delta,
        100.0 * c.cycle_delta as f64 / c.cycles_before.max(1) as f64,
        c.speedup
    );
    let _ = writeln!(out, "IPC     {:.3} -> {:.3}", c.before.ipc, c.after.ipc);
    for n in &c.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "\nmemory use");
    for u in &c.after.usage {
        let before = c
            .before
            .usage
            .iter()
            .find(|b| b.name == u.name)
            .map_or(0, |b| b.used);
        let _ = writeln!(
            out,
            "  {:<12} {:>10} -> {:>10} bytes ({:+}) of {}",
            u.name,
            before,
            u.used,
            u.used as i64 - before as i64,
            u.length
        );
    }
    if !c.moves.is_empty() {
        let _ = writeln!(out, "\nmoved ({} functions)", c.moves.len());
        for m in c.moves.iter().take(top) {
            let _ = writeln!(
                out,
                "  {:<32} {:>6} bytes  {:<8} -> {:<8} {:>12} -> {:>12} cycles",
                m.name,
                m.size,
                region(&m.from),
                region(&m.to),
                m.cycles_before,
                m.cycles_after
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:<32} {:>14} {:>14} {:>12} {:>8}",
        "function", "cycles before", "cycles after", "delta", "change"
    );
    for f in c.functions.iter().take(top) {
        let _ = writeln!(
            out,
            "{:<32} {:>14} {:>14} {:>+12} {:>7.1}%",
            f.name,
            f.cycles_before,
            f.cycles_after,
            f.delta,
            100.0 * f.delta as f64 / f.cycles_before.max(1) as f64
        );
    }
    out
}
