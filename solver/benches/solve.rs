//! Solver benchmark on a synthetic firmware-like instance: 50,000 sections, 100,000 call edges,
//! skewed heat (a tenth of the sections ever run, Zipf-distributed), a flash-driver closure of
//! ram-only code and a few pinned sections, on RT1062-like budgets.
//!
//! `cargo bench -p hotlink-solver --bench solve` prints one line per strategy: wall time, predicted
//! cycles relative to `xip`, and for the ILP the gap, presolve counts and model size. A plain
//! `harness = false` main rather than criterion: one ILP solve is the unit of interest and takes
//! long enough to time directly; criterion's statistics would multiply the run time for nothing.

use std::time::Instant;

use hotlink_solver::{
    propagate_ram_only, solve, Edge, Item, ItemId, ItemKind, Padding, Problem, RamOnly, Region,
    RegionId, RegionKind, SolveOptions, Strategy, VeneerModel,
};

/// SplitMix64: deterministic and dependency-free, good enough for a synthetic instance.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat`, so that a figure
/// taken while other builds share the cores can still be compared with one taken on a quiet
/// machine. `None` where there is no procfs.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    // The kernel reports clock ticks; USER_HZ is 100 on every Linux target Rust supports.
    Some((utime + stime) / 100.0)
}

fn show_cpu(cpu: Option<f64>) -> String {
    cpu.map_or_else(|| "n/a".to_string(), |c| format!("{c:.2} s"))
}

const ITEMS: usize = 50_000;
const EDGES: usize = 100_000;
const RUN_SHARE: f64 = 0.1;

fn instance(seed: u64) -> Problem {
    let mut rng = Rng(seed);
    let regions = vec![
        Region {
            name: "ITCM".into(),
            kind: RegionKind::Itcm,
            budget: 96 * 1024,
        },
        Region {
            name: "OCRAM".into(),
            kind: RegionKind::Ocram,
            budget: 192 * 1024,
        },
        Region {
            name: "FLASH".into(),
            kind: RegionKind::Xip,
            budget: 16 << 20,
        },
    ];
    let runs = (ITEMS as f64 * RUN_SHARE) as usize;
    // Which sections run, and their heat rank.
    let mut order: Vec<usize> = (0..ITEMS).collect();
    for k in (1..ITEMS).rev() {
        order.swap(k, rng.below(k + 1));
    }
    let mut heat = vec![0.0f64; ITEMS];
    for (rank, &i) in order.iter().take(runs).enumerate() {
        heat[i] = 5.0e7 / (rank as f64 + 1.0).powf(1.1);
    }
    let items: Vec<Item> = (0..ITEMS)
        .map(|i| {
            let size = (8.0 * 128f64.powf(rng.unit())) as u64 & !1;
            let flash_factor = 3.0 + 12.0 * rng.unit();
            let h = heat[i];
            Item {
                name: format!("obj{}.o:.text.f{i}", i / 40),
                size: size.max(2),
                align: if rng.unit() < 0.8 { 2 } else { 4 },
                kind: ItemKind::Code,
                current: RegionId(2),
                cost: vec![Some(h), Some(2.5 * h), Some(flash_factor * h)],
                pinned: None,
                ram_only: None,
                excluded: false,
            }
        })
        .collect();
    let mut edges = Vec::with_capacity(EDGES);
    for _ in 0..EDGES {
        let caller = rng.below(ITEMS);
        // Callees are skewed too: a few helpers are called from everywhere.
        let callee = order[((ITEMS as f64) * rng.unit().powi(3)) as usize % ITEMS];
        let count = if heat[caller] > 0.0 && heat[callee] > 0.0 {
            (heat[caller].min(heat[callee]) / 50.0 * rng.unit()) as u64
        } else {
            0
        };
        edges.push(Edge {
            caller: ItemId(caller as u32),
            callee: ItemId(callee as u32),
            count,
        });
    }
    let mut p = Problem {
        regions,
        items,
        edges,
        veneer: VeneerModel::same_region_only(3, 6.0),
        padding: Padding::AlignUp,
    };
    // A flash driver: a few roots reaching a small closure through a sparse reference graph.
    for k in 0..8 {
        p.items[order[runs + k]].ram_only = Some(RamOnly::Root {
            reason: "flash driver".into(),
        });
    }
    let order = &order;
    let refs: Vec<(ItemId, ItemId)> = (0..8)
        .flat_map(|k| {
            (1..6).map(move |j| {
                (
                    ItemId(order[runs + k] as u32),
                    ItemId(order[runs + 8 + k * 5 + j] as u32),
                )
            })
        })
        .collect();
    propagate_ram_only(&mut p, &refs).expect("references are in range");
    for k in 0..10 {
        p.items[order[runs + 100 + k]].pinned = Some(RegionId(0));
    }
    p
}

fn main() {
    let p = instance(0x4854_4C4B);
    println!(
        "instance: {} sections, {} edges, {} run, budgets ITCM {} KiB / OCRAM {} KiB / FLASH {} MiB",
        p.items.len(),
        p.edges.len(),
        p.items
            .iter()
            .filter(|i| i.cost[0].is_some_and(|c| c > 0.0))
            .count(),
        p.regions[0].budget / 1024,
        p.regions[1].budget / 1024,
        p.regions[2].budget >> 20,
    );
    let mut xip_total = None;
    let runs: Vec<(String, SolveOptions)> = Strategy::ALL
        .into_iter()
        .map(|strategy| {
            (
                strategy.to_string(),
                SolveOptions {
                    strategy,
                    ..SolveOptions::default()
                },
            )
        })
        .chain([(
            "ilp (lossless presolve only, 10 s limit)".to_string(),
            SolveOptions {
                presolve_gap_share: 0.0,
                time_limit_seconds: 10.0,
                ..SolveOptions::default()
            },
        )])
        .collect();
    // `cargo bench -p hotlink-solver --bench solve -- ilp` runs only the strategies whose name
    // contains one of the arguments (`xip` always runs: it is the reference for the percentages).
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, options) in runs {
        if name != "xip"
            && !filters.is_empty()
            && !filters.iter().any(|f| name.contains(f.as_str()))
        {
            continue;
        }
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let result = solve(&p, &options);
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_start.zip(cpu_seconds()).map(|(a, b)| b - a);
        match result {
            Ok(plan) => {
                let total = plan.cycles_after.total;
                let base = *xip_total.get_or_insert(total);
                print!(
                    "{name:>42}: {wall:7.3} s (cpu {})  cycles {:.4e} (veneer {:.3e}, {:6.2}% of xip)  veneers {}",
                    show_cpu(cpu),
                    total,
                    plan.cycles_after.veneer,
                    100.0 * total / base,
                    plan.veneers.len()
                );
                if let (Some(gap), Some(stats)) = (plan.gap, &plan.ilp) {
                    print!(
                        "  gap {:.4}%  fixed {}+{}+{} free {} cols {} rows {} {}",
                        100.0 * gap,
                        stats.fixed_by_constraints,
                        stats.fixed_cold,
                        stats.fixed_bounded,
                        stats.free_items,
                        stats.columns,
                        stats.rows,
                        stats.status
                    );
                }
                println!();
            }
            Err(e) => println!(
                "{name:>42}: {wall:7.3} s (cpu {})  failed: {e}",
                show_cpu(cpu)
            ),
        }
    }
}
