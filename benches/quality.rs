//! Placement quality on the virtual board: for every fixture and ITCM budgets of 25%, 50% and
//! 100% of its hot code (the code sections with any cycles in the baseline profile), the measured
//! cycles of each strategy's plan, the all-hot-code-in-ITCM bound, and the share of that bound's
//! gain the `ilp` plan captures. OCRAM stays available to every strategy.
//!
//! `cargo bench --bench quality`; the table goes to docs/PERFORMANCE.md.

use std::path::Path;

use hotlink::board::Board;
use hotlink::linkmap::LinkMap;
use hotlink::optimize::{measure, optimize, LinkLine, OptimizeOptions};
use hotlink::planner::PlanOptions;

const FIXTURES: [&str; 5] = ["vm", "dsp", "flashwrite", "rtos", "big"];
const STRATEGIES: [&str; 5] = ["xip", "gnu-fill", "any-best-fit", "greedy", "ilp"];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let board = Board::builtin("imxrt1062").expect("board");
    let scratch = tempfile::tempdir().expect("scratch directory");
    println!("| fixture | hot code | ITCM budget | xip | gnu-fill | any-best-fit | greedy | ilp | all hot code in ITCM | ilp's share of that gain |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for fixture in FIXTURES {
        let dir = root.join("tests/firmware/build").join(fixture);
        let line = LinkLine::new(&dir, vec![format!("@{fixture}.link")]).expect("link line");
        let writable_flash = fixture == "flashwrite";
        // The hot code: sections of the baseline with cycles.
        let base_elf = scratch.path().join(format!("{fixture}-base.elf"));
        let map: LinkMap = line.link(&base_elf, None).expect("baseline link");
        let (_, profile) = measure(&board, &base_elf, writable_flash).expect("baseline run");
        let hot: Vec<_> = map
            .input_sections
            .iter()
            .filter(|s| s.kind == "code" && s.size > 0)
            .filter(|s| {
                profile.functions.iter().any(|f| {
                    f.cycles > 0
                        && u64::from(f.address) >= s.address
                        && u64::from(f.address) < s.address + s.size
                })
            })
            .collect();
        let hot_bytes: u64 = hot.iter().map(|s| s.size).sum();
        // The bound: every hot section pinned to ITCM (which holds 128 KB).
        let pins: Vec<(String, String)> = hot
            .iter()
            .map(|s| (glob_escape(&s.label()), "ITCM".to_string()))
            .collect();
        let run = |name: &str, plan: PlanOptions| {
            let out = scratch.path().join(format!("{fixture}-{name}"));
            let options = OptimizeOptions {
                plan,
                iterations: 1,
                writable_flash,
            };
            optimize(&board, &line, &options, &out, &mut |_| {})
                .map(|o| (o.baseline.cycles, o.optimized.cycles))
        };
        let bound = if hot_bytes + 1024 <= 128 * 1024 {
            run(
                "bound",
                PlanOptions {
                    pin: pins,
                    ..PlanOptions::default()
                },
            )
            .ok()
            .map(|(_, c)| c)
        } else {
            None
        };
        for percent in [25u64, 50, 100] {
            let budget = (hot_bytes * percent / 100).max(256);
            let mut cells = Vec::new();
            let mut baseline = 0;
            let mut ilp = 0;
            for strategy in STRATEGIES {
                let plan = PlanOptions {
                    strategy: strategy.parse().expect("strategy"),
                    budgets: vec![("ITCM".into(), budget)],
                    ..PlanOptions::default()
                };
                match run(&format!("{strategy}-{percent}"), plan) {
                    Ok((base, cycles)) => {
                        baseline = base;
                        if strategy == "ilp" {
                            ilp = cycles;
                        }
                        cells.push(cycles.to_string());
                    }
                    Err(e) => cells.push(format!("failed: {}", e.root_cause())),
                }
            }
            let share = bound
                .filter(|b| *b < baseline && ilp > 0)
                .map(|b| {
                    format!(
                        "{:.0}%",
                        100.0 * (baseline as f64 - ilp as f64) / (baseline as f64 - b as f64)
                    )
                })
                .unwrap_or_else(|| "—".into());
            println!(
                "| {fixture} | {hot_bytes} B | {percent}% = {budget} B | {} | {} | {share} |",
                cells.join(" | "),
                bound.map_or("does not fit".to_string(), |b| b.to_string())
            );
        }
    }
}

/// A section label as a glob that matches only itself.
fn glob_escape(label: &str) -> String {
    label
        .chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
