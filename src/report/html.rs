//! Reports and comparisons as one self-contained HTML file: tables, and the plots inline as SVG
//! (no scripts, no external files, so it opens anywhere and can be attached to a CI run).

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::Result;

use super::plot::{self, Chart, Span, Strip, UsageBar};
use super::{Comparison, RunReport};
use crate::profile::export::flame_graph_svg;
use crate::profile::Profile;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;\
text-align:right}th{background:#f0f0f0}td.l,th.l{text-align:left}h1{font-size:1.5em}\
.bad{color:#b00}.good{color:#070}figure{margin:1em 0}";

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        esc(title)
    )
}

fn figure(chart: &Chart) -> Result<String> {
    Ok(format!("<figure>{}</figure>\n", plot::to_svg(chart)?))
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{:.2}%", 100.0 * r))
}

/// Region usage bars of a report, with the plan's budgets.
pub fn usage_chart(r: &RunReport) -> Chart {
    Chart::Usage {
        title: format!("Memory use ({})", r.usage_source),
        rows: r
            .usage
            .iter()
            .map(|u| UsageBar {
                name: format!("{} ({})", u.name, u.kind.as_deref().unwrap_or("-")),
                used: u.used,
                length: u.length,
                budget: u
                    .plan_budget
                    .map(|b| b + u.used.saturating_sub(u.plan_used.unwrap_or(0))),
            })
            .collect(),
    }
}

/// One strip per region the functions ran from, each function coloured by its cycles.
pub fn heat_strips(r: &RunReport, title: &str) -> Chart {
    let mut by_region: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
    for f in &r.functions {
        by_region
            .entry(f.region.as_deref().unwrap_or("?"))
            .or_default()
            .push(Span {
                start: f.address,
                size: f.size.max(2),
                heat: f.cycles as f64,
            });
    }
    Chart::Strips {
        title: title.to_string(),
        strips: by_region
            .into_iter()
            .map(|(name, spans)| Strip {
                name: name.to_string(),
                start: spans.iter().map(|s| s.start).min().unwrap_or(0),
                end: spans.iter().map(|s| s.start + s.size).max().unwrap_or(0),
                spans,
            })
            .collect(),
    }
}

/// The hottest functions as a ranked bar chart.
pub fn top_functions_chart(r: &RunReport, top: usize) -> Chart {
    Chart::Bars {
        title: format!("Top {} functions by cycles", top.min(r.functions.len())),
        unit: "cycles".into(),
        bars: r
            .functions
            .iter()
            .take(top)
            .map(|f| {
                (
                    format!("{} [{}]", f.name, f.region.as_deref().unwrap_or("?")),
                    f.cycles as f64,
                )
            })
            .collect(),
    }
}

/// Per-function cycles before and after, for the functions that changed most.
pub fn before_after_chart(c: &Comparison, top: usize) -> Chart {
    let mut rows: Vec<&super::FunctionDelta> = c.functions.iter().collect();
    rows.sort_by(|a, b| {
        b.cycles_before
            .max(b.cycles_after)
            .cmp(&a.cycles_before.max(a.cycles_after))
    });
    Chart::BeforeAfter {
        title: "Cycles per function, before and after".into(),
        unit: "cycles".into(),
        rows: rows
            .into_iter()
            .take(top)
            .map(|f| {
                (
                    f.name.clone(),
                    f.cycles_before as f64,
                    f.cycles_after as f64,
                )
            })
            .collect(),
    }
}

fn summary_rows(out: &mut String, r: &RunReport) {
    let _ = writeln!(
        out,
        "<table><tr><th class=l>image</th><td class=l>{}</td></tr>\
         <tr><th class=l>sha256</th><td class=l>{}</td></tr>\
         <tr><th class=l>board</th><td class=l>{}</td></tr>\
         <tr><th class=l>exit</th><td class=l>{}</td></tr>\
         <tr><th class=l>cycles</th><td>{}</td></tr>\
         <tr><th class=l>instructions</th><td>{}</td></tr>\
         <tr><th class=l>IPC</th><td>{:.3}</td></tr>{}</table>",
        esc(&r.image.path),
        esc(&r.image.sha256),
        esc(&r.board),
        esc(&match (r.exit_status, &r.stopped) {
            (Some(s), _) => format!("status {s}"),
            (None, Some(w)) => w.clone(),
            (None, None) => "-".into(),
        }),
        r.cycles,
        r.instructions,
        r.ipc,
        r.window.as_ref().map_or(String::new(), |w| format!(
            "<tr><th class=l>window {}..{}</th><td>{} cycles, {} instructions</td></tr>",
            esc(&w.start),
            esc(&w.stop),
            w.cycles,
            w.instructions
        ))
    );
}

fn regions_table(out: &mut String, r: &RunReport) {
    out.push_str(
        "<table><tr><th class=l>region</th><th class=l>kind</th><th>fetches</th><th>I-cache hits</th>\
         <th>data reads</th><th>data writes</th><th>D-cache hits</th><th>stall cycles</th></tr>\n",
    );
    for s in &r.regions {
        let _ = writeln!(
            out,
            "<tr><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.kind),
            s.fetches,
            pct(s.icache_hit_rate),
            s.data_reads,
            s.data_writes,
            pct(s.dcache_hit_rate),
            s.stall_cycles
        );
    }
    out.push_str("</table>\n");
}

fn details(out: &mut String, r: &RunReport, top: usize) {
    if let Some(v) = &r.veneers {
        let _ = writeln!(
            out,
            "<h2>Veneers</h2><p>{} veneers, {} bytes, {} calls through them.</p>",
            v.count, v.bytes, v.calls
        );
        if v.calls > 0 {
            out.push_str("<table><tr><th>address</th><th class=l>region</th><th class=l>target</th><th>calls</th></tr>\n");
            for u in v.veneers.iter().filter(|u| u.calls > 0).take(top) {
                let _ = writeln!(
                    out,
                    "<tr><td>{:#010x}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td></tr>",
                    u.address,
                    esc(u.region.as_deref().unwrap_or("?")),
                    esc(&u
                        .target_symbol
                        .clone()
                        .unwrap_or_else(|| format!("{:#010x}", u.target))),
                    u.calls
                );
            }
            out.push_str("</table>\n");
        }
    }
    if let Some(a) = &r.audit {
        let _ = writeln!(
            out,
            "<h2>Flash-disabled audit</h2><p class={}>{} root(s), {} finding(s).</p>",
            if a.findings.is_empty() { "good" } else { "bad" },
            a.roots.len(),
            a.findings.len()
        );
        if !a.findings.is_empty() {
            out.push_str("<table><tr><th class=l>in flash</th><th class=l>region</th><th class=l>reached by</th></tr>\n");
            for f in &a.findings {
                let _ = writeln!(
                    out,
                    "<tr><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td></tr>",
                    esc(&f.section),
                    esc(&f.region),
                    esc(&f.chain.join(" → "))
                );
            }
            out.push_str("</table>\n");
        }
        if !a.unread.is_empty() {
            let _ = writeln!(
                out,
                "<p>Not read (references not followed): {}</p>",
                esc(&a.unread.join(", "))
            );
        }
    }
    out.push_str(
        "<h2>Top functions</h2><table><tr><th>rank</th><th class=l>function</th><th class=l>region</th>\
         <th>size</th><th>cycles</th><th>share</th><th>calls</th></tr>\n",
    );
    for (i, f) in r.functions.iter().take(top).enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td></tr>",
            i + 1,
            esc(&f.name),
            esc(f.region.as_deref().unwrap_or("?")),
            f.size,
            f.cycles,
            100.0 * f.share,
            f.calls
        );
    }
    out.push_str("</table>\n");
}

/// Percent-encodes what a `data:` URI inside a double-quoted attribute cannot hold as is.
fn data_uri(mime: &str, text: &str) -> String {
    let mut out = format!("data:{mime},");
    for c in text.chars() {
        match c {
            '%' | '#' | '"' | '&' | '<' | '>' | '\n' | '\r' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The flame graph of a profile's call stacks (inferno), or nothing when it has none. It goes in
/// as an image: inferno's SVG carries a script and page-wide styles (`text {..}`) that, inline,
/// would run in and restyle the report, which promises no scripts.
fn flame_graph(profile: &Profile) -> Result<String> {
    let Some(stacks) = &profile.call_stacks else {
        return Ok(String::new());
    };
    let svg = flame_graph_svg(profile, &format!("Call stacks: {}", profile.elf.path))?;
    Ok(format!(
        "<h2>Call stacks</h2>\n<p>{} sampled stacks ({} samples, {} truncated) from {}; width is \
         inclusive cost, callers below their callees.</p>\n<figure><img alt=\"flame graph\" \
         style=\"max-width:100%\" src=\"{}\"></figure>\n",
        stacks.iter().count(),
        stacks.total(),
        stacks.iter().filter(|s| s.2).map(|s| s.1).sum::<u64>(),
        esc(&profile.elf.path),
        data_uri("image/svg+xml", &svg)
    ))
}

/// One report as an HTML page; with a `profile` that has call stacks, their flame graph too.
pub fn report_html(r: &RunReport, top: usize, profile: Option<&Profile>) -> Result<String> {
    let mut body = format!("<h1>hotlink report: {}</h1>\n", esc(&r.image.path));
    summary_rows(&mut body, r);
    body.push_str("<h2>Regions</h2>\n");
    regions_table(&mut body, r);
    body.push_str(&figure(&usage_chart(r))?);
    body.push_str(&figure(&heat_strips(
        r,
        "Heat by address (functions that ran)",
    ))?);
    body.push_str(&figure(&top_functions_chart(r, top.min(25)))?);
    if let Some(profile) = profile {
        body.push_str(&flame_graph(profile)?);
    }
    details(&mut body, r, top);
    Ok(page(&format!("hotlink report: {}", r.image.path), &body))
}

/// A comparison as an HTML page.
pub fn compare_html(c: &Comparison, top: usize) -> Result<String> {
    let mut body = format!(
        "<h1>hotlink comparison</h1>\n<p>{} → {} ({}): <b>{} → {} cycles</b> ({:+}, {:+.2}%), \
         speedup <b>{:.3}×</b>; IPC {:.3} → {:.3}.</p>\n",
        esc(&c.before.image.path),
        esc(&c.after.image.path),
        esc(&c.measured),
        c.cycles_before,
        c.cycles_after,
        c.cycle_delta,
        100.0 * c.cycle_delta as f64 / c.cycles_before.max(1) as f64,
        c.speedup,
        c.before.ipc,
        c.after.ipc
    );
    for n in &c.notes {
        let _ = writeln!(body, "<p>Note: {}</p>", esc(n));
    }
    body.push_str(&figure(&before_after_chart(c, top.min(20)))?);
    body.push_str("<h2>Memory use after</h2>\n");
    body.push_str(&figure(&usage_chart(&c.after))?);
    body.push_str(&figure(&heat_strips(&c.before, "Heat by address, before"))?);
    body.push_str(&figure(&heat_strips(&c.after, "Heat by address, after"))?);
    if !c.moves.is_empty() {
        let _ = writeln!(
            body,
            "<h2>Moved ({} functions)</h2><table><tr><th class=l>function</th><th>size</th>\
             <th class=l>from</th><th class=l>to</th><th>cycles before</th><th>cycles after</th></tr>",
            c.moves.len()
        );
        for m in c.moves.iter().take(top) {
            let _ = writeln!(
                body,
                "<tr><td class=l>{}</td><td>{}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.name),
                m.size,
                esc(m.from.as_deref().unwrap_or("?")),
                esc(m.to.as_deref().unwrap_or("?")),
                m.cycles_before,
                m.cycles_after
            );
        }
        body.push_str("</table>\n");
    }
    body.push_str(
        "<h2>Functions that changed</h2><table><tr><th class=l>function</th><th>before</th>\
         <th>after</th><th>delta</th></tr>\n",
    );
    for f in c.functions.iter().take(top) {
        let _ = writeln!(
            body,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td class={}>{:+}</td></tr>",
            esc(&f.name),
            f.cycles_before,
            f.cycles_after,
            if f.delta <= 0 { "good" } else { "bad" },
            f.delta
        );
    }
    body.push_str("</table>\n<h2>Before</h2>\n");
    summary_rows(&mut body, &c.before);
    regions_table(&mut body, &c.before);
    body.push_str("<h2>After</h2>\n");
    summary_rows(&mut body, &c.after);
    regions_table(&mut body, &c.after);
    details(&mut body, &c.after, top);
    Ok(page("hotlink comparison", &body))
}
