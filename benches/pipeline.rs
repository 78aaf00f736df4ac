//! Speed of the profile pipeline's readers, each beside a reference measured in the same run:
//!
//! * inventory: `big` ×10 (built on demand into target/bench-fixtures/big10, several minutes the
//!   first time) plus newlib's libc.a, against `arm-none-eabi-readelf -S -s -r` over the same
//!   files;
//! * ITM decoding: MB/s over a synthetic SWO stream of PC samples and timestamps;
//! * attribution: samples/s attributed to `big`'s input sections (from its GNU ld map), as raw
//!   samples (one lookup each) and as a sorted histogram (merge join).
//!
//! * `hotlink plan` on `big`, the largest fixture, step by step (map, objects, profile, the
//!   what-if run of the stall model, the solve) and end to end, with the process's peak RSS.
//!
//! `cargo bench --bench pipeline`; figures go to docs/PERFORMANCE.md. `cargo bench --bench
//! pipeline -- plan` runs only the plan breakdown.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hotlink::board::{Board, RegionKind};
use hotlink::heat::{self, SectionTable};
use hotlink::inventory::Inventory;
use hotlink::itm::{encode, Decoder, Packet};
use hotlink::linkmap::LinkMap;
use hotlink::optimize::measure;
use hotlink::planner::{self, PlanInputs, PlanOptions, StallModel};
use hotlink::profile::{Capture, ElfIdentity, Method, Profile};

const LIBC: &str = "/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard/libc.a";

fn best_of<T>(runs: u32, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (last.expect("at least one run"), best)
}

fn big10_objects() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = root.join("target/bench-fixtures/big10");
    let dir = build.join("big");
    if !dir.join("big.elf").exists() {
        eprintln!("building big x10 into {} (minutes, once)…", build.display());
        let status = Command::new("make")
            .args(["-C", "tests/firmware", "BIG_SCALE=10", "big"])
            .arg(format!("BUILD={}", build.display()))
            .current_dir(root)
            .stdout(Stdio::null())
            .status()
            .expect("run make");
        assert!(status.success(), "building big x10 failed");
    }
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("big x10 build directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objects.sort();
    objects
}

fn inventory() {
    let mut files = big10_objects();
    files.push(PathBuf::from(LIBC));
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let (inventory, hotlink) = best_of(5, || Inventory::load(&files).expect("inventory"));
    let (_, readelf) = best_of(3, || {
        let status = Command::new("arm-none-eabi-readelf")
            .args(["-W", "-S", "-s", "-r"])
            .args(&files)
            .stdout(Stdio::null())
            .status()
            .expect("run arm-none-eabi-readelf");
        assert!(status.success());
    });
    println!(
        "inventory  big x10 + libc.a: {} files, {:.1} MB, {} sections, {} symbols, {} relocations",
        files.len(),
        bytes as f64 / 1e6,
        inventory.sections.len(),
        inventory.symbols.len(),
        inventory.references.len()
    );
    println!(
        "           hotlink {:.3} s, arm-none-eabi-readelf -S -s -r {:.3} s, ratio {:.2}x",
        hotlink.as_secs_f64(),
        readelf.as_secs_f64(),
        readelf.as_secs_f64() / hotlink.as_secs_f64()
    );
}

fn itm() {
    let mut stream = encode::SYNC.to_vec();
    let mut state = 0x9e37_79b9u32;
    while stream.len() < 64 << 20 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        encode::pc_sample(Some(0x6000_0000 + (state & 0xf_fffe)), &mut stream);
        if state % 7 == 0 {
            encode::local_timestamp(state % 5000, &mut stream);
        }
    }
    let (samples, time) = best_of(5, || {
        let mut decoder = Decoder::new();
        let mut samples = 0u64;
        for chunk in stream.chunks(64 * 1024) {
            decoder.feed(chunk, |p| {
                if let Packet::PcSample(Some(_)) = p {
                    samples += 1;
                }
            });
        }
        samples
    });
    println!(
        "itm        {:.0} MB/s ({} PC samples in {:.1} MB)",
        stream.len() as f64 / 1e6 / time.as_secs_f64(),
        samples,
        stream.len() as f64 / 1e6
    );
}

fn attribution() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map_path = root.join("tests/firmware/build/big/big.map");
    let map = LinkMap::load(&map_path).expect("big.map");
    let table = SectionTable::from_link_map(&map, "big.map");
    let text: Vec<(u64, u64)> = table.sections.iter().map(|s| (s.address, s.size)).collect();
    let mut state = 0x2545_f491u32;
    let pcs: Vec<u32> = (0..20_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let (address, size) = text[(state as usize >> 3) % text.len()];
            (address + u64::from(state) % size.max(2)) as u32 & !1
        })
        .collect();
    let (hits, raw) = best_of(3, || {
        pcs.iter()
            .filter(|pc| table.lookup(u64::from(**pc)).is_some())
            .count()
    });
    assert_eq!(hits, pcs.len());
    let elf = ElfIdentity {
        path: "big.elf".into(),
        sha256: String::new(),
        build_id: None,
        size: 0,
    };
    let capture = Capture {
        method: Method::Pcsr,
        sample_period_cycles: None,
        duration_ms: None,
        probe: None,
        runs: 1,
        partial: None,
        parameters: Default::default(),
    };
    let mut profile = Profile::new(elf, "imxrt1062", capture);
    profile.set_histogram(pcs.iter().map(|pc| (*pc, 1)));
    let (heat, joined) = best_of(3, || heat::build(&profile, &table, 6));
    assert_eq!(heat.unattributed_samples, 0);
    println!(
        "attribute  big: {} sections; {:.1} M raw samples/s; histogram of {} PCs ({} samples) in {:.1} ms = {:.0} M samples/s",
        table.sections.len(),
        pcs.len() as f64 / 1e6 / raw.as_secs_f64(),
        profile.pc_histogram.len(),
        profile.totals.samples,
        joined.as_secs_f64() * 1e3,
        profile.totals.samples as f64 / 1e6 / joined.as_secs_f64()
    );
}

/// Peak resident set size of this process so far, from `/proc/self/status` (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// `hotlink plan` on `big` as the planner runs it: each step on its own (best of 3), then the
/// whole planner (best of 3). The profile comes from a run on the virtual board first, as
/// `hotlink profile` would take it; that run is timed too but is not part of `plan`.
fn plan_breakdown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/firmware/build/big");
    let board = Board::builtin("imxrt1062").expect("board");
    let elf_path = dir.join("big.elf");
    let scratch = tempfile::tempdir().expect("scratch directory");
    let profile_path = scratch.path().join("big.profile.json");
    let ((_, profile), profiling) = best_of(1, || {
        measure(&board, &elf_path, false).expect("profiling run")
    });
    profile.save(&profile_path).expect("save profile");

    let (map, t_map) = best_of(3, || LinkMap::load(&dir.join("big.map")).expect("big.map"));
    let (profile, t_profile) = best_of(3, || Profile::load(&profile_path).expect("profile"));
    let (elf, t_elf) = best_of(3, || std::fs::read(&elf_path).expect("big.elf"));
    let mut files: Vec<PathBuf> = map
        .input_sections
        .iter()
        .filter(|s| s.kind == "code" && s.size > 0)
        .map(|s| dir.join(&s.object))
        .filter(|f| f.exists())
        .collect();
    files.sort();
    files.dedup();
    let (_, t_objects) = best_of(3, || Inventory::load(&files).expect("inventory"));
    // The stall runs a plan of big's flash code into ITCM and OCRAM makes.
    let what_ifs = [RegionKind::Itcm, RegionKind::Ocram];
    let (_, t_whatif) = best_of(3, || {
        StallModel::measure(&board, &elf, "big.elf", &what_ifs, false)
    });
    let inputs = PlanInputs {
        board: &board,
        elf_path: &elf_path,
        elf: &elf,
        map: &map,
        link_dir: &dir,
        profile: &profile,
    };
    let options = PlanOptions::default();
    let (planned, t_plan) = best_of(3, || planner::plan(&inputs, &options).expect("plan"));
    let solve_options = hotlink_solver::SolveOptions {
        strategy: options.strategy,
        time_limit_seconds: options.time_limit_seconds,
        relative_gap: options.relative_gap,
        ..hotlink_solver::SolveOptions::default()
    };
    let (solution, t_solve) = best_of(3, || {
        hotlink_solver::solve(&planned.problem, &solve_options).expect("solve")
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let steps = [t_map, t_profile, t_elf, t_objects, t_whatif, t_solve];
    let rest = t_plan.saturating_sub(steps[3..].iter().sum());
    println!(
        "plan       big: {} items, {} edges, {} objects; profiling run on the virtual board {:.0} ms (not part of plan)",
        planned.problem.items.len(),
        planned.problem.edges.len(),
        files.len(),
        ms(profiling)
    );
    println!(
        "           read map {:.1} ms, profile {:.1} ms, ELF {:.1} ms; planner {:.1} ms = objects {:.1} + what-if run {:.1} + solve {:.1} ({}, gap {:.3}%) + the rest {:.1}",
        ms(t_map),
        ms(t_profile),
        ms(t_elf),
        ms(t_plan),
        ms(t_objects),
        ms(t_whatif),
        ms(t_solve),
        solution.strategy,
        100.0 * solution.gap.unwrap_or(0.0),
        ms(rest)
    );
    println!(
        "           end to end (reads + planner) {:.1} ms; peak RSS of this process {}",
        ms(t_map + t_profile + t_elf + t_plan),
        peak_rss_mib().map_or_else(|| "n/a".to_string(), |m| format!("{m:.0} MiB"))
    );
}

fn main() {
    // `-- plan` (or `-- itm` …) runs only the sections whose name is given.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| f == name);
    if wanted("itm") {
        itm();
    }
    if wanted("attribution") {
        attribution();
    }
    if wanted("inventory") {
        inventory();
    }
    if wanted("plan") {
        plan_breakdown();
    }
}
