//! Call-stack capture on the virtual board through the hardware path (halt, unwind through the
//! capture `Target`, resume), then the four exports, each read back by an independent reader:
//! folded stacks rendered by inferno, speedscope checked against its schema's required fields,
//! the Firefox Profiler JSON against the processed format's tables, pprof decoded by prost.

mod common;

use std::io::Read;

use hotlink::board::Board;
use hotlink::capture::collect::Limits;
use hotlink::capture::{into_profile, stacks, SimTarget};
use hotlink::heat;
use hotlink::profile::export::{export, flame_graph_svg, ExportFormat};
use hotlink::profile::{ElfIdentity, Method, Profile};
use hotlink::sim::Machine;
use hotlink::unwind::Table;

const SAMPLES: u64 = 400;

fn captured() -> Profile {
    let elf = common::fixture_elf("dsp");
    let path = elf.display().to_string();
    let bytes = std::fs::read(&elf).unwrap();
    let board = Board::resolve("imxrt1062").unwrap();
    let machine = Machine::new(&board, &bytes, &path).unwrap();
    let mut target = SimTarget::new(machine, 1009);
    let table = Table::from_elf(&bytes, &path).unwrap();
    let limits = Limits {
        samples: Some(SAMPLES),
        ..Limits::default()
    };
    let (collected, counts) = stacks::collect(&mut target, &table, &limits, &mut |_, _| {});
    let mut profile = into_profile(
        collected,
        ElfIdentity::of_bytes(&path, &bytes),
        "imxrt1062",
        Method::Halt,
        None,
    );
    profile.call_stacks = Some(counts.into_call_stacks());
    profile.record_layout(&bytes);
    // Through the file format and back.
    Profile::parse(&serde_json::to_string(&profile).unwrap()).unwrap()
}

#[test]
fn stacks_are_captured_and_drive_inclusive_heat() {
    let profile = captured();
    let stacks = profile.call_stacks.as_ref().unwrap();
    assert_eq!(profile.totals.samples, SAMPLES);
    assert_eq!(stacks.total(), SAMPLES);
    let deepest = stacks.iter().map(|s| s.0.len()).max().unwrap();
    assert!(deepest >= 3, "stacks are at most {deepest} deep");
    let truncated: u64 = stacks.iter().filter(|s| s.2).map(|s| s.1).sum();
    assert!(truncated * 100 <= SAMPLES, "{truncated} truncated stacks");
    // main is on (nearly) every stack: its inclusive cost is the whole run, its own is small.
    let table = heat::SectionTable::from_elf(&common::fixture_elf("dsp"), None).unwrap();
    let map = heat::build(&profile, &table, 6);
    let main = map
        .sections
        .iter()
        .find(|s| s.section.section == ".text.startup.main" || s.section.section == ".text.main")
        .expect("main has heat");
    assert!(main.inclusive_samples.unwrap() * 100 >= SAMPLES * 95);
    assert!(main.samples * 2 < main.inclusive_samples.unwrap());
    assert!(heat::to_text(&map, 10).contains("incl. cycles"));
}

#[test]
fn folded_stacks_render_as_a_flame_graph() {
    let profile = captured();
    let folded = String::from_utf8(export(&profile, ExportFormat::Folded).unwrap()).unwrap();
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, SAMPLES);
    assert!(folded.lines().any(|l| l.contains("main;")), "{folded}");
    let svg = flame_graph_svg(&profile, "dsp").unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    assert!(svg.contains("main"));
}

/// The HTML report of a run carries the flame graph of a profile with stacks (as an image, so
/// that inferno's script does not run in the report), and has none without stacks.
#[test]
fn the_html_report_shows_the_flame_graph_of_a_profile_with_stacks() {
    let report = hotlink::report::build(&hotlink::report::ReportInput {
        elf: common::fixture_elf("dsp"),
        board: "imxrt1062".into(),
        map: None,
        plan: None,
        window: None,
        writable_flash: false,
        ram_only: vec![],
        limits: hotlink::sim::Limits::default(),
    })
    .unwrap();
    let mut profile = captured();
    let html = hotlink::report::html::report_html(&report, 10, Some(&profile)).unwrap();
    let at = html
        .find("<h2>Call stacks</h2>")
        .expect("a call-stack section");
    let img = &html[at..];
    let src = img
        .split("src=\"data:image/svg+xml,")
        .nth(1)
        .expect("the flame graph as an SVG image");
    let svg = &src[..src.find('"').unwrap()];
    // Percent-encoded SVG, whose frames name the functions on the stacks.
    assert!(svg.starts_with("%3C?xml"), "{}", &svg[..40.min(svg.len())]);
    assert!(svg.contains("%3Csvg") && svg.contains("main") && svg.contains("fir_f32"));
    assert!(!html.contains("<script"), "the report runs no scripts");
    profile.call_stacks = None;
    let html = hotlink::report::html::report_html(&report, 10, Some(&profile)).unwrap();
    assert!(!html.contains("Call stacks"));
}

#[test]
fn speedscope_has_the_schema_required_fields() {
    let profile = captured();
    let doc: serde_json::Value =
        serde_json::from_slice(&export(&profile, ExportFormat::Speedscope).unwrap()).unwrap();
    assert_eq!(
        doc["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = doc["shared"]["frames"].as_array().unwrap();
    assert!(frames.iter().all(|f| f["name"].is_string()));
    let p = &doc["profiles"][0];
    for key in [
        "type",
        "name",
        "unit",
        "startValue",
        "endValue",
        "samples",
        "weights",
    ] {
        assert!(!p[key].is_null(), "speedscope profile lacks `{key}`");
    }
    assert_eq!(p["type"], "sampled");
    let samples = p["samples"].as_array().unwrap();
    let weights = p["weights"].as_array().unwrap();
    assert_eq!(samples.len(), weights.len());
    for s in samples {
        for f in s.as_array().unwrap() {
            assert!((f.as_u64().unwrap() as usize) < frames.len());
        }
    }
    let sum: f64 = weights.iter().map(|w| w.as_f64().unwrap()).sum();
    assert_eq!(sum, p["endValue"].as_f64().unwrap());
}

#[test]
fn firefox_profile_has_its_tables_and_all_samples() {
    let profile = captured();
    let doc: serde_json::Value =
        serde_json::from_slice(&export(&profile, ExportFormat::Firefox).unwrap()).unwrap();
    assert!(doc["meta"]["version"].is_number());
    assert!(doc["meta"]["preprocessedProfileVersion"].is_number());
    let thread = &doc["threads"][0];
    let samples = &thread["samples"];
    let weights = samples["weight"].as_array().unwrap();
    let total: u64 = weights.iter().map(|w| w.as_u64().unwrap()).sum();
    assert_eq!(total, SAMPLES);
    let stacks = samples["stack"].as_array().unwrap();
    assert_eq!(stacks.len(), weights.len());
    assert!(thread["stackTable"]["length"].as_u64().unwrap() > 0);
    let text = serde_json::to_string(&doc).unwrap();
    assert!(text.contains("\"main\""));
}

/// profile.proto, the messages and fields hotlink writes (github.com/google/pprof), read with
/// quick-protobuf's wire-format reader the way its code generator (pb-rs) writes readers.
mod pprof {
    use quick_protobuf::{BytesReader, MessageRead, Result};

    #[derive(Default)]
    pub struct Profile {
        pub sample_type: Vec<(i64, i64)>,
        pub sample: Vec<Sample>,
        pub mapping_ids: Vec<u64>,
        pub location: Vec<Location>,
        pub function: Vec<(u64, i64)>,
        pub string_table: Vec<String>,
    }
    #[derive(Default)]
    pub struct Sample {
        pub location_id: Vec<u64>,
        pub value: Vec<i64>,
    }
    #[derive(Default)]
    pub struct Location {
        pub id: u64,
        pub mapping_id: u64,
        pub function_ids: Vec<u64>,
    }
    /// A message read as (field number, varint) pairs plus its nested messages.
    #[derive(Default)]
    struct Fields(Vec<(u32, u64)>, Vec<(u32, Vec<u8>)>);

    impl<'a> MessageRead<'a> for Fields {
        fn from_reader(r: &mut BytesReader, bytes: &'a [u8]) -> Result<Self> {
            let mut f = Fields::default();
            while !r.is_eof() {
                let tag = r.next_tag(bytes)?;
                match tag & 7 {
                    0 => f.0.push((tag >> 3, r.read_uint64(bytes)?)),
                    2 => f.1.push((tag >> 3, r.read_bytes(bytes)?.to_vec())),
                    _ => r.read_unknown(bytes, tag)?,
                }
            }
            Ok(f)
        }
    }

    fn fields(bytes: &[u8]) -> Fields {
        let mut r = BytesReader::from_bytes(bytes);
        Fields::from_reader(&mut r, bytes).unwrap()
    }
    fn varint(f: &Fields, n: u32) -> u64 {
        f.0.iter().find(|v| v.0 == n).map_or(0, |v| v.1)
    }
    fn packed(bytes: &[u8]) -> Vec<u64> {
        let mut r = BytesReader::from_bytes(bytes);
        let mut out = Vec::new();
        while !r.is_eof() {
            out.push(r.read_uint64(bytes).unwrap());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Profile {
        let top = fields(bytes);
        let mut p = Profile::default();
        for (n, data) in &top.1 {
            match n {
                1 => {
                    let f = fields(data);
                    p.sample_type
                        .push((varint(&f, 1) as i64, varint(&f, 2) as i64));
                }
                2 => {
                    let f = fields(data);
                    let mut s = Sample::default();
                    for (k, d) in &f.1 {
                        match k {
                            1 => s.location_id.extend(packed(d)),
                            2 => s.value.extend(packed(d).into_iter().map(|v| v as i64)),
                            _ => {}
                        }
                    }
                    p.sample.push(s);
                }
                3 => p.mapping_ids.push(varint(&fields(data), 1)),
                4 => {
                    let f = fields(data);
                    p.location.push(Location {
                        id: varint(&f, 1),
                        mapping_id: varint(&f, 2),
                        function_ids: f
                            .1
                            .iter()
                            .filter(|l| l.0 == 4)
                            .map(|l| varint(&fields(&l.1), 1))
                            .collect(),
                    });
                }
                5 => {
                    let f = fields(data);
                    p.function.push((varint(&f, 1), varint(&f, 2) as i64));
                }
                6 => p
                    .string_table
                    .push(String::from_utf8(data.clone()).unwrap()),
                _ => {}
            }
        }
        p
    }
}

#[test]
fn pprof_decodes_with_a_protobuf_reader() {
    let profile = captured();
    let gz = export(&profile, ExportFormat::Pprof).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    let p = pprof::decode(&raw);
    assert_eq!(p.string_table[0], "");
    assert_eq!(p.string_table[p.sample_type[0].0 as usize], "samples");
    let total: i64 = p.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(total as u64, SAMPLES);
    let location_ids: std::collections::HashSet<u64> = p.location.iter().map(|l| l.id).collect();
    let function_ids: std::collections::HashSet<u64> = p.function.iter().map(|f| f.0).collect();
    for s in &p.sample {
        assert_eq!(s.value.len(), p.sample_type.len());
        assert!(s.location_id.iter().all(|id| location_ids.contains(id)));
    }
    for l in &p.location {
        assert_eq!(l.mapping_id, p.mapping_ids[0]);
        assert!(function_ids.contains(&l.function_ids[0]));
    }
    let names: Vec<&str> = p
        .function
        .iter()
        .map(|f| p.string_table[f.1 as usize].as_str())
        .collect();
    assert!(names.contains(&"main"));
}

/// Folded lines as (frames outermost first, count).
fn parse_folded(folded: &str) -> Vec<(Vec<String>, u64)> {
    folded
        .lines()
        .map(|line| {
            let (stack, count) = line.rsplit_once(' ').expect("`stack count`");
            let frames = stack.split(';').map(str::to_string).collect();
            (frames, count.parse().expect("a sample count"))
        })
        .collect()
}

/// A plain `capture --sim` records the virtual board's exact stack at every PC sample: exported
/// as folded stacks they hold every sample; each function's leaf samples are the PC histogram's
/// samples inside it and, times the period, its exact cycles; every sample in dsp's FIR filter
/// is reached through main (also when it lands on the filter's return, or on main's call into
/// it); and `report --profile` draws the flame graph from it.
#[test]
fn a_plain_exact_capture_exports_the_exact_call_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let elf = common::fixture_elf("dsp");
    let (elf, profile_path) = (
        elf.display().to_string(),
        dir.path().join("dsp.json").display().to_string(),
    );
    common::ok(&[
        "capture",
        "--sim",
        "--sample-period",
        "97",
        "-o",
        &profile_path,
        &elf,
    ]);
    let folded_path = dir.path().join("dsp.folded");
    common::ok(&[
        "profile",
        "export",
        &profile_path,
        "--format",
        "folded",
        "-o",
        &folded_path.display().to_string(),
    ]);
    let profile = Profile::load(std::path::Path::new(&profile_path)).unwrap();
    let lines = parse_folded(&std::fs::read_to_string(&folded_path).unwrap());

    let total: u64 = lines.iter().map(|l| l.1).sum();
    assert!(profile.totals.samples > 1000, "{}", profile.totals.samples);
    assert_eq!(total, profile.totals.samples, "every PC sample has a stack");

    // Leaf samples per function: the PC histogram's samples, named as the export names them
    // (the last layout entry starting at or before the PC, if it holds it: aliases and nested
    // symbols share code).
    let mut leaf: std::collections::BTreeMap<String, u64> = Default::default();
    for (frames, count) in &lines {
        *leaf.entry(frames.last().unwrap().clone()).or_default() += count;
    }
    let mut expected: std::collections::BTreeMap<String, u64> = Default::default();
    for h in &profile.pc_histogram {
        let name = profile
            .layout
            .iter()
            .rev()
            .find(|e| e.address <= h.pc)
            .filter(|e| h.pc < e.address + e.size.max(1))
            .map_or(format!("0x{:08x}", h.pc), |e| e.name.clone());
        *expected.entry(name).or_default() += h.count;
    }
    assert_eq!(leaf, expected, "leaf samples per function");

    // The hot functions' samples against their exact cycles.
    let period = profile.capture.sample_period_cycles.unwrap() as f64;
    let cycles = profile.totals.cycles.unwrap() as f64;
    let mut checked = 0;
    for f in profile
        .functions
        .iter()
        .filter(|f| f.cycles as f64 >= 0.05 * cycles)
    {
        let sampled = leaf.get(&f.name).copied().unwrap_or(0);
        let estimate = sampled as f64 * period;
        assert!(
            (estimate - f.cycles as f64).abs() <= 0.01 * cycles,
            "{}: {sampled} samples x {period} cycles against {} exact cycles",
            f.name,
            f.cycles
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} functions above 5% of the run");

    // The known path, and no stack with a sampled call or return counted twice or lost.
    let fir: Vec<_> = lines
        .iter()
        .filter(|l| l.0.last().unwrap() == "fir_f32")
        .collect();
    assert!(!fir.is_empty(), "no samples in fir_f32");
    for (frames, _) in &fir {
        let main = frames.iter().position(|f| f == "main");
        assert!(
            main.is_some_and(|m| m + 1 < frames.len()),
            "fir_f32 outside main: {frames:?}"
        );
    }
    for (frames, _) in &lines {
        assert!(
            frames.windows(2).all(|w| w[0] != w[1]),
            "a frame repeated: {frames:?}"
        );
    }
    let in_main: u64 = lines
        .iter()
        .filter(|l| l.0.iter().any(|f| f == "main"))
        .map(|l| l.1)
        .sum();
    assert!(
        in_main * 100 >= total * 98,
        "{in_main} of {total} under main"
    );

    let html = dir.path().join("dsp.html");
    common::ok(&[
        "report",
        "--format",
        "html",
        "--profile",
        &profile_path,
        "-o",
        &html.display().to_string(),
        &elf,
    ]);
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("<h2>Call stacks</h2>") && html.contains("fir_f32"));
}
