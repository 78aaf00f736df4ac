//! pprof's `profile.proto`, gzip-compressed. Written by hand: the message set is small and
//! fixed, and a protobuf code generator (prost-build, protoc) would add a build step and a
//! system dependency for five messages. The encoding is protobuf's wire format: varints and
//! length-delimited fields; repeated scalars packed.

use std::io::Write;

use anyhow::Result;
use rustc_hash::FxHashMap;

use super::Stacks;

/// One protobuf message being written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    /// A varint field, left out when zero (proto3 default).
    fn uint(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v);
        }
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.key(field, 2);
        self.varint(data.len() as u64);
        self.0.extend_from_slice(data);
    }

    fn message(&mut self, field: u32, m: Message) {
        self.bytes(field, &m.0);
    }

    fn packed(&mut self, field: u32, values: impl IntoIterator<Item = u64>) {
        let mut inner = Message::default();
        for v in values {
            inner.varint(v);
        }
        self.bytes(field, &inner.0);
    }
}

/// Interns strings into the profile's string table (index 0 is "").
struct Strings {
    table: Vec<String>,
    index: FxHashMap<String, u64>,
}

impl Strings {
    fn get(&mut self, s: &str) -> u64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.table.push(s.to_string());
        let i = self.table.len() as u64 - 1;
        self.index.insert(s.to_string(), i);
        i
    }
}

pub fn to_pprof(stacks: &Stacks, name: &str) -> Result<Vec<u8>> {
    let mut strings = Strings {
        table: vec![String::new()],
        index: FxHashMap::default(),
    };
    strings.index.insert(String::new(), 0);
    let mut profile = Message::default();
    // sample_type = 1: samples/count, and cycles/count where a sample's worth is known.
    let mut types = vec![("samples", "count")];
    if stacks.cycles_per_sample.is_some() {
        types.push(("cycles", "count"));
    }
    for (kind, unit) in &types {
        let mut vt = Message::default();
        vt.uint(1, strings.get(kind));
        vt.uint(2, strings.get(unit));
        profile.message(1, vt);
    }
    // Locations: one per distinct (address, function); ids from 1.
    let mut locations: FxHashMap<(u32, usize), u64> = FxHashMap::default();
    let mut location_list: Vec<(u32, usize)> = Vec::new();
    for s in &stacks.stacks {
        let mut ids = Vec::with_capacity(s.frames.len());
        // pprof lists a sample's locations innermost first.
        for (&f, &a) in s.frames.iter().zip(&s.addresses).rev() {
            let id = *locations.entry((a, f)).or_insert_with(|| {
                location_list.push((a, f));
                location_list.len() as u64
            });
            ids.push(id);
        }
        let mut sample = Message::default();
        sample.packed(1, ids);
        let mut values = vec![s.count];
        if let Some(per) = stacks.cycles_per_sample {
            values.push((s.count as f64 * per).round() as u64);
        }
        sample.packed(2, values);
        profile.message(2, sample);
    }
    let mut mapping = Message::default();
    mapping.uint(1, 1);
    mapping.uint(3, 1 << 32);
    mapping.uint(5, strings.get(name));
    mapping.uint(7, 1);
    profile.message(3, mapping);
    for (k, &(address, function)) in location_list.iter().enumerate() {
        let mut location = Message::default();
        location.uint(1, k as u64 + 1);
        location.uint(2, 1);
        location.uint(3, u64::from(address));
        let mut line = Message::default();
        line.uint(1, function as u64 + 1);
        location.message(4, line);
        profile.message(4, location);
    }
    for (k, f) in stacks.functions.iter().enumerate() {
        let mut function = Message::default();
        function.uint(1, k as u64 + 1);
        let s = strings.get(f);
        function.uint(2, s);
        function.uint(3, s);
        profile.message(5, function);
    }
    if let Some(per) = stacks.cycles_per_sample {
        let mut vt = Message::default();
        vt.uint(1, strings.get("cycles"));
        vt.uint(2, strings.get("count"));
        profile.message(11, vt);
        profile.uint(12, per.round() as u64);
    }
    for s in &strings.table {
        profile.bytes(6, s.as_bytes());
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&profile.0)?;
    Ok(gz.finish()?)
}
