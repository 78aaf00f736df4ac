//! `hotlink report`, `compare`, `measure`, `check` and `heat --plot` end to end on the committed
//! fixtures, on the virtual board; the HTML report rendered by headless Chromium.

mod common;
mod link_support;
use common::{fails, ok};

use std::path::{Path, PathBuf};
use std::process::Command;

use hotlink::linkmap::LinkMap;
use hotlink::plan::{Placement, Plan, PlanRegion, Prediction};
use hotlink::report::{Comparison, RunReport};

fn fixture(name: &str, ext: &str) -> String {
    common::firmware_build_dir()
        .join(name)
        .join(format!("{name}.{ext}"))
        .display()
        .to_string()
}

fn board_of(name: &str) -> &'static str {
    if name == "vm-rt1176" {
        "imxrt1176"
    } else {
        "imxrt1062"
    }
}

#[test]
fn report_json_for_every_fixture() {
    for name in ["vm", "dsp", "flashwrite", "rtos", "big", "vm-rt1176"] {
        let elf = fixture(name, "elf");
        let map = fixture(name, "map");
        let mut args = vec!["report", "--format", "json", "--board", board_of(name)];
        args.extend(["--map", &map, &elf]);
        if name == "flashwrite" {
            args.push("--writable-flash");
        }
        let r = RunReport::parse(&ok(&args)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(r.exit_status, Some(0), "{name}");
        assert!(r.cycles > 0 && r.instructions > 0, "{name}");
        assert!((r.ipc - r.instructions as f64 / r.cycles as f64).abs() < 1e-9);
        assert!(!r.functions.is_empty() && r.functions[0].region.is_some());
        // Most cycles first, and the shares add up to the whole.
        assert!(r.functions.windows(2).all(|w| w[0].cycles >= w[1].cycles));
        let share: f64 = r.functions.iter().map(|f| f.share).sum();
        assert!((share - 1.0).abs() < 1e-6, "{name}: {share}");
        let flash = r
            .regions
            .iter()
            .find(|x| x.kind == "xip")
            .expect("code ran from flash");
        assert!(flash.fetches > 0 && flash.icache_hit_rate.is_some());
        assert!(r.usage.iter().any(|u| u.used > 0), "{name}");
        let v = r.veneers.as_ref().expect("a map gives the veneer section");
        assert_eq!(
            v.calls,
            v.veneers.iter().map(|u| u.calls).sum::<u64>(),
            "{name}"
        );
        assert!(r.audit.is_some(), "{name}");
        assert_eq!(r.image.sha256.len(), 64);
    }
}

#[test]
fn flashwrite_audit_names_the_helpers_left_in_flash() {
    if !link_support::toolchain_or_skip(&["arm-none-eabi-gcc"]) {
        return;
    }
    let elf = fixture("flashwrite", "elf");
    let map = fixture("flashwrite", "map");
    let json = ok(&[
        "report",
        "--writable-flash",
        "--format",
        "json",
        "--map",
        &map,
        &elf,
    ]);
    let audit = RunReport::parse(&json).unwrap().audit.unwrap();
    assert_eq!(audit.roots.len(), 3, "{audit:?}");
    assert!(audit.unread.is_empty(), "{:?}", audit.unread);
    // The fixture says helpers_in_flash=4: memset, memcpy, __aeabi_uidiv, __aeabi_uldivmod.
    for helper in ["memset", "memcpy", "__aeabi_uidiv", "__aeabi_uldivmod"] {
        let f = audit
            .findings
            .iter()
            .find(|f| f.chain.last().map(String::as_str) == Some(helper))
            .unwrap_or_else(|| panic!("{helper} not found: {audit:?}"));
        assert_eq!(f.region, "FLASH");
        assert_eq!(f.chain.len(), 2, "called straight from a root: {f:?}");
    }
    let text = ok(&["report", "--writable-flash", "--map", &map, &elf]);
    assert!(
        text.contains(
            "IN FLASH libc.a(lib_a-memcpy.o):.text in FLASH: flash_program_page -> memcpy"
        ),
        "{text}"
    );
}

#[test]
fn report_bad_input_is_a_clear_error() {
    let vm = fixture("vm", "elf");
    let err = fails(&["report", "/nonexistent/fw.elf"]);
    assert!(err.contains("cannot read /nonexistent/fw.elf"), "{err}");
    let dsp_map = fixture("dsp", "map");
    let err = fails(&["report", "--map", &dsp_map, &vm]);
    assert!(
        err.contains("does not describe") || err.contains("names none"),
        "{err}"
    );
    let err = fails(&["report", "--window", "main", &vm]);
    assert!(err.contains("expected START..STOP"), "{err}");
    let err = fails(&["report", "--window", "main..no_such_symbol", &vm]);
    assert!(err.contains("no symbol `no_such_symbol`"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let vm_json = dir.path().join("vm.json");
    let dsp_json = dir.path().join("dsp.json");
    let (vm_s, dsp_s) = (
        vm_json.display().to_string(),
        dsp_json.display().to_string(),
    );
    ok(&["report", "--format", "json", "-o", &vm_s, &vm]);
    ok(&[
        "report",
        "--format",
        "json",
        "-o",
        &dsp_s,
        &fixture("dsp", "elf"),
    ]);
    let err = fails(&["compare", &vm_s, &dsp_s]);
    assert!(err.contains("different programs"), "{err}");
    let newer = dir.path().join("newer.json");
    let text = std::fs::read_to_string(&vm_json).unwrap();
    std::fs::write(&newer, text.replacen("\"version\": 1", "\"version\": 2", 1)).unwrap();
    let err = fails(&["compare", &vm_s, &newer.display().to_string()]);
    assert!(err.contains("report version 2"), "{err}");
    let other = dir.path().join("profile.json");
    std::fs::write(&other, "{\"format\": \"hotlink-profile\", \"version\": 1}").unwrap();
    let err = fails(&["compare", &vm_s, &other.display().to_string()]);
    assert!(err.contains("not a hotlink run report"), "{err}");
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let err = fails(&["compare", &vm_s, &truncated.display().to_string()]);
    assert!(err.contains("truncated or corrupt"), "{err}");
}

#[test]
fn measure_is_deterministic_on_the_virtual_board() {
    let vm = fixture("vm", "elf");
    let json = ok(&[
        "measure",
        "--repeat",
        "3",
        "--window",
        "main..sh_exit",
        "--format",
        "json",
        &vm,
    ]);
    let m: hotlink::measure::Measurement = serde_json::from_str(&json).unwrap();
    assert_eq!(m.runs.len(), 3);
    assert!(m.min == m.max && m.median == m.min && m.min > 0, "{m:?}");
    assert_eq!(m.window.as_deref(), Some("main..sh_exit"));
    let whole = ok(&["measure", "--format", "json", &vm]);
    let whole: hotlink::measure::Measurement = serde_json::from_str(&whole).unwrap();
    assert!(whole.min > m.min, "the whole run includes startup");
    let text = ok(&["measure", &vm]);
    assert!(text.contains("whole run: 1 run(s), cycles min"), "{text}");
    let err = fails(&[
        "measure",
        "--window",
        "fib_native..sh_exit",
        "--repeat",
        "0",
        &vm,
    ]);
    assert!(err.contains("--repeat must be at least 1"), "{err}");
    // flashwrite programs its flash: without writable flash it faults and fails.
    let err = fails(&["measure", &fixture("flashwrite", "elf")]);
    assert!(
        err.contains("exited with status") || err.contains("fault"),
        "{err}"
    );
}

#[test]
fn measure_on_hardware_fails_cleanly_without_a_probe() {
    let vm = fixture("vm", "elf");
    let err = fails(&["measure", "--chip", "MIMXRT1060", &vm]);
    assert!(err.contains("probe"), "{err}");
    let err = fails(&["measure", "--chip", "MIMXRT1062", &vm]);
    assert!(err.contains("does not know the chip"), "{err}");
}

/// A baseline with one benchmark.
fn baseline(dir: &Path, image: &str, window: Option<&str>, cycles: u64) -> PathBuf {
    let path = dir.join("cycles.json");
    let mut bench = serde_json::json!({"name": "vm", "image": image, "cycles": cycles});
    if let Some(w) = window {
        bench["window"] = w.into();
    }
    let doc =
        serde_json::json!({"format": "hotlink-baseline", "version": 1, "benchmarks": [bench]});
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

fn measured(elf: &str, window: &str) -> u64 {
    let json = ok(&["measure", "--format", "json", "--window", window, elf]);
    serde_json::from_str::<hotlink::measure::Measurement>(&json)
        .unwrap()
        .median
}

#[test]
fn check_fails_on_an_injected_regression_and_update_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let vm = fixture("vm", "elf");
    let cycles = measured(&vm, "main..sh_exit");
    // The baseline claims 10% fewer cycles than the image takes.
    let path = baseline(dir.path(), &vm, Some("main..sh_exit"), cycles * 9 / 10);
    let p = path.display().to_string();
    let junit = dir.path().join("junit.xml");
    let summary = dir.path().join("summary.md");
    let (j, s) = (junit.display().to_string(), summary.display().to_string());
    let err = fails(&[
        "check",
        "--baseline",
        &p,
        "--max-regression",
        "2%",
        "--junit",
        &j,
        "--summary",
        &s,
    ]);
    assert!(err.contains("1 regression(s) beyond 2%"), "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("<failure"),
        "{xml}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("REGRESSION") && md.contains("+11.11%"), "{md}");
    // A looser threshold lets it pass.
    ok(&["check", "--baseline", &p, "--max-regression", "12%"]);
    // --update rewrites the baseline; then it passes at the default threshold.
    ok(&["check", "--baseline", &p, "--update"]);
    let rewritten = hotlink::report::check::Baseline::load(&path).unwrap();
    assert_eq!(rewritten.benchmarks[0].cycles, cycles);
    let out = ok(&["check", "--baseline", &p, "--junit", &j]);
    assert!(out.contains("ok         vm"), "{out}");
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("failures=\"0\""));
    // Bad input: a missing image is an error for that benchmark; a bad baseline, for the run.
    let missing = baseline(dir.path(), "no/such.elf", None, 5);
    let err = fails(&["check", "--baseline", &missing.display().to_string()]);
    assert!(err.contains("could not be measured"), "{err}");
    std::fs::write(
        &path,
        "{\"format\": \"hotlink-baseline\", \"version\": 7, \"benchmarks\": []}",
    )
    .unwrap();
    let err = fails(&["check", "--baseline", &p]);
    assert!(err.contains("version 7"), "{err}");
    let err = fails(&["check", "--baseline", &p, "--max-regression", "lots"]);
    assert!(err.contains("not a percentage"), "{err}");
}

/// vm linked by hotlink as the fixture is, and again with its hottest function (`vm_call`, most
/// of the cycles) planned into ITCM.
fn vm_before_and_after(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    if !link_support::toolchain_or_skip(&["arm-none-eabi-gcc"]) {
        return None;
    }
    let fx = link_support::fixtures()
        .into_iter()
        .find(|f| f.name == "vm")
        .expect("the vm fixture");
    let link = |out: &Path, extra: &[String]| {
        link_support::run(
            Command::new(env!("CARGO_BIN_EXE_hotlink"))
                .arg("link")
                .args(&fx.args)
                .args(extra)
                .arg("-o")
                .arg(out)
                .arg(format!(
                    "--json-map={}",
                    out.with_extension("json").display()
                ))
                .current_dir(&fx.dir),
        );
    };
    let before = dir.join("before.elf");
    link(&before, &[]);
    let map = LinkMap::load(&before.with_extension("json")).unwrap();
    let hot = map
        .input_sections
        .iter()
        .find(|s| s.section == ".text.vm_call")
        .expect("vm_call's section");
    let plan = Plan {
        format: hotlink::plan::FORMAT.into(),
        version: hotlink::plan::VERSION,
        board: "imxrt1062".into(),
        strategy: "test".into(),
        regions: vec![PlanRegion {
            name: "ITCM".into(),
            kind: hotlink::board::RegionKind::Itcm,
            base: 0,
            size: 128 << 10,
            budget: 64 << 10,
            used: hot.size,
            veneer_bytes: 64,
        }],
        placements: vec![Placement {
            object: hot.object.clone(),
            member: hot.member.clone(),
            section: hot.section.clone(),
            size: hot.size,
            from: "FLASH".into(),
            to: "ITCM".into(),
            reason: "hot".into(),
            cycles_saved: 1.0,
        }],
        veneers: Vec::new(),
        prediction: Prediction {
            baseline_cycles: 2.0,
            planned_cycles: 1.0,
        },
        solver: None,
        forced: Vec::new(),
        estimate: None,
        flexram: None,
    };
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let after = dir.join("after.elf");
    link(&after, &[format!("--plan={}", plan_path.display())]);
    Some((before, after))
}

#[test]
fn compare_and_check_see_the_hot_function_move() {
    let dir = tempfile::tempdir().unwrap();
    let Some((before, after)) = vm_before_and_after(dir.path()) else {
        return;
    };
    let report = |elf: &Path, extra: &[&str]| -> PathBuf {
        let out = elf.with_extension("report.json");
        let (e, m, o) = (
            elf.display().to_string(),
            elf.with_extension("json").display().to_string(),
            out.display().to_string(),
        );
        let mut args = vec!["report", "--format", "json", "--map", &m, "-o", &o, &e];
        args.extend(extra);
        ok(&args);
        out
    };
    let plan = dir.path().join("plan.json").display().to_string();
    let (rb, ra) = (report(&before, &[]), report(&after, &["--plan", &plan]));
    let after_report = RunReport::load(&ra).unwrap();
    let itcm = after_report
        .usage
        .iter()
        .find(|u| u.kind.as_deref() == Some("itcm"))
        .unwrap();
    assert!(
        itcm.used > 0 && itcm.plan_budget == Some(64 << 10),
        "{itcm:?}"
    );
    let veneers = after_report.veneers.as_ref().unwrap();
    assert!(
        veneers.count > 0 && veneers.calls > 0,
        "calls between ITCM and flash: {veneers:?}"
    );
    let (b, a) = (rb.display().to_string(), ra.display().to_string());
    let c: Comparison =
        serde_json::from_str(&ok(&["compare", "--format", "json", &b, &a])).unwrap();
    // On the virtual board flash code runs from a warm I-cache, so ITCM saves little and the
    // veneers between ITCM and flash cost: the direction is the board's to say; a change there is.
    assert_ne!(c.cycle_delta, 0);
    assert!((c.speedup - c.cycles_before as f64 / c.cycles_after as f64).abs() < 1e-12);
    let moved = c
        .moves
        .iter()
        .find(|m| m.name == "vm_call")
        .expect("vm_call moved");
    assert_eq!(
        (moved.from.as_deref(), moved.to.as_deref()),
        (Some("FLASH"), Some("ITCM"))
    );
    assert_eq!(c.moves.len(), 1, "only vm_call moved: {:?}", c.moves);
    assert!(c.functions.iter().any(|f| f.name == "vm_call"));
    let text = ok(&["compare", &b, &a]);
    assert!(
        text.contains("speedup") && text.contains("vm_call"),
        "{text}"
    );
    let html = dir.path().join("compare.html");
    ok(&[
        "compare",
        "--format",
        "html",
        "-o",
        &html.display().to_string(),
        &b,
        &a,
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.matches("<svg").count() >= 4,
        "before/after, usage, two heat strips"
    );
    assert!(page.contains("Cycles per function, before and after"));

    // The baseline holds the faster link's cycles; the slower link is a regression.
    let cycles = |elf: &Path| measured(&elf.display().to_string(), "main..sh_exit");
    let (cb, ca) = (cycles(&before), cycles(&after));
    let (slow, fast) = if cb > ca {
        ("before.elf", ca)
    } else {
        ("after.elf", cb)
    };
    let threshold = format!("{}%", 50.0 * (cb.abs_diff(ca)) as f64 / fast as f64);
    let path = baseline(dir.path(), slow, Some("main..sh_exit"), fast);
    let err = fails(&[
        "check",
        "--baseline",
        &path.display().to_string(),
        "--max-regression",
        &threshold,
    ]);
    assert!(err.contains("1 regression(s)"), "{err}");
}

#[test]
fn heat_plot_writes_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let vm = fixture("vm", "elf");
    let profile = dir.path().join("vm.profile.json").display().to_string();
    ok(&["capture", "--sim", "-o", &profile, &vm]);
    let plots = dir.path().join("plots");
    let p = plots.display().to_string();
    ok(&[
        "heat",
        "--profile",
        &profile,
        "--map",
        &fixture("vm", "map"),
        "--plot",
        &p,
        &vm,
    ]);
    for stem in ["ranked", "strip-m_flash"] {
        let svg = std::fs::read_to_string(plots.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<rect"), "{stem}");
        let png = std::fs::read(plots.join(format!("{stem}.png"))).unwrap();
        assert_not_blank(&png, stem);
    }
    let ranked = std::fs::read_to_string(plots.join("ranked.svg")).unwrap();
    assert!(
        ranked.contains(".text.vm_call"),
        "the hottest section is labelled"
    );
}

/// Decodes a PNG and checks it has more than one colour.
fn assert_not_blank(png_bytes: &[u8], what: &str) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bpp = info.color_type.samples() * usize::from(info.bit_depth as u8) / 8;
    let pixels = &buf[..info.buffer_size()];
    let first = &pixels[..bpp];
    let distinct = pixels.chunks(bpp).filter(|p| *p != first).count();
    assert!(
        info.width > 100 && info.height > 100 && distinct > 100,
        "{what}: {}x{}, {distinct} pixels differ from the first",
        info.width,
        info.height
    );
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("vm.html");
    let (vm, map) = (fixture("vm", "elf"), fixture("vm", "map"));
    ok(&[
        "report",
        "--format",
        "html",
        "--map",
        &map,
        "-o",
        &html.display().to_string(),
        &vm,
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("vm_call"));
    assert!(
        page.matches("<svg").count() >= 3,
        "usage, heat strips, top functions"
    );
    assert!(!page.contains("src=\"http"), "self-contained");
    let Some(chromium) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| common::tool_available(c))
    else {
        assert!(
            !common::in_ci(),
            "chromium is required in CI (.ci/run installs it) but was not found"
        );
        eprintln!("skipping the screenshot: chromium not found (apt-get install chromium)");
        return;
    };
    let shot = dir.path().join("shot.png");
    let profile_dir = dir.path().join("chromium-profile");
    let out = common::run_with_timeout(
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1200,900",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", html.display())),
        std::time::Duration::from_secs(120),
    )
    .expect("chromium starts");
    assert!(!out.timed_out(), "chromium hung: {}", out.stderr);
    let png_bytes = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("no screenshot ({e}); chromium said:\n{}", out.stderr));
    assert_not_blank(&png_bytes, "the screenshot");
}
