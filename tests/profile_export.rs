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
    assert!(folded.lines().any(|l| l.starts_with("Reset_Handler;main;")));
    let svg = flame_graph_svg(&profile, "dsp").unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    assert!(svg.contains("main"));
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
    for key in ["type", "name", "unit", "startValue", "endValue", "samples", "weights"] {
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

/// profile.proto, the messages and fields hotlink writes (github.com/google/pprof).
mod pprof {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(int64, tag = "12")]
        pub period: i64,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
    }
}

#[test]
fn pprof_decodes_with_prost() {
    use prost::Message;
    let profile = captured();
    let gz = export(&profile, ExportFormat::Pprof).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    let p = pprof::Profile::decode(&raw[..]).unwrap();
    assert_eq!(p.string_table[0], "");
    assert_eq!(p.string_table[p.sample_type[0].r#type as usize], "samples");
    let total: i64 = p.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(total as u64, SAMPLES);
    let location_ids: std::collections::HashSet<u64> = p.location.iter().map(|l| l.id).collect();
    let function_ids: std::collections::HashSet<u64> = p.function.iter().map(|f| f.id).collect();
    for s in &p.sample {
        assert_eq!(s.value.len(), p.sample_type.len());
        assert!(s.location_id.iter().all(|id| location_ids.contains(id)));
    }
    for l in &p.location {
        assert_eq!(l.mapping_id, p.mapping[0].id);
        assert!(function_ids.contains(&l.line[0].function_id));
    }
    let names: Vec<&str> = p
        .function
        .iter()
        .map(|f| p.string_table[f.name as usize].as_str())
        .collect();
    assert!(names.contains(&"main"));
}
