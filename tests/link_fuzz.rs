//! A deterministic, stable-Rust stand-in for the cargo-fuzz targets in `fuzz/`: seeded mutations
//! of real inputs (the fixtures' linker scripts and objects) go through the same entry points
//! (`hotlink::link::fuzz`), which must never panic. A failing input is saved under
//! `target/fuzz-failures/` so it can be replayed. `HOTLINK_FUZZ_ITERATIONS` runs it longer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use hotlink::link::fuzz::{object_input, script_input};

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens worth splicing into scripts: keywords, operators and punctuation the parser branches on.
const SCRIPT_TOKENS: &[&str] = &[
    "SECTIONS",
    "MEMORY",
    "{",
    "}",
    "(",
    ")",
    ":",
    ";",
    ">",
    "AT>",
    "AT(",
    "ALIGN(",
    "KEEP(",
    "*(",
    ".text",
    "=",
    "+=",
    "?",
    "/*",
    "*/",
    "\"",
    "0x",
    "ORIGIN(",
    "LENGTH",
    "PROVIDE(",
    "INCLUDE",
    "EXCLUDE_FILE(",
    "SORT(",
    "/DISCARD/",
    "NOLOAD",
    "ASSERT(",
    ",",
    "<<",
    "-",
    "DEFINED(",
    "REGION_ALIAS(",
    "0xffffffffffffffff",
    "1K",
    "4M",
    "\0",
    "\n",
    "ENTRY(",
];

fn mutate(rng: &mut Rng, seed: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = d.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = [0, 0xff, 0x7f, 0x80, 1, 0x20][rng.below(6)];
            }
            2 if len > 0 => d.truncate(rng.below(len)),
            3 if len > 4 => {
                // Overwrite a 32-bit field (offsets, sizes, counts in ELF headers).
                let i = rng.below(len - 4);
                let v = [0u32, u32::MAX, 0x8000_0000, len as u32, 1][rng.below(5)];
                d[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            4 if len > 0 => {
                let (a, b) = (rng.below(len), rng.below(len));
                let (a, b) = (a.min(b), a.max(b).min(a + 64));
                let chunk = d[a..b].to_vec();
                let at = rng.below(len);
                d.splice(at..at, chunk);
            }
            5 if !tokens.is_empty() => {
                let at = rng.below(len + 1);
                let t = tokens[rng.below(tokens.len())].as_bytes();
                d.splice(at..at, t.iter().copied());
            }
            _ if len > 0 => {
                let (a, b) = (rng.below(len), rng.below(len));
                d.drain(a.min(b)..a.max(b));
            }
            _ => d.push(rng.next() as u8),
        }
    }
    d
}

fn iterations(default: usize) -> usize {
    std::env::var("HOTLINK_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fuzz(name: &str, seeds: &[Vec<u8>], tokens: &[&str], run: fn(&[u8]), n: usize) {
    assert!(!seeds.is_empty(), "{name}: no seed inputs");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for seed in seeds {
        run(seed);
    }
    for i in 0..n {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, tokens);
        if catch_unwind(AssertUnwindSafe(|| run(&input))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{i}"));
            std::fs::write(&path, &input).unwrap();
            panic!(
                "{name}: iteration {i} panicked; input saved to {}",
                path.display()
            );
        }
    }
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn script_parser_survives_mutated_scripts() {
    let seeds = read_all(&[
        root().join("tests/firmware/common/imxrt1062.ld"),
        root().join("tests/firmware/common/imxrt1176.ld"),
        root().join("tests/link/imxrt.ld"),
    ]);
    fuzz(
        "script",
        &seeds,
        SCRIPT_TOKENS,
        script_input,
        iterations(3000),
    );
}

#[test]
fn object_reader_survives_mutated_objects() {
    let build = root().join("tests/firmware/build");
    let mut seeds = read_all(&[
        build.join("common/startup.o"),
        build.join("common/semihost.o"),
        build.join("flashwrite/flash.o"),
    ]);
    // A small archive of two of them, so the archive reader and its symbol index are fuzzed too.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("lib.a");
    let made = std::process::Command::new("arm-none-eabi-ar")
        .arg("rcs")
        .arg(&archive)
        .arg(build.join("common/semihost.o"))
        .arg(build.join("flashwrite/flash.o"))
        .status()
        .is_ok_and(|s| s.success());
    if made {
        seeds.extend(read_all(&[archive]));
    } else {
        eprintln!("`arm-none-eabi-ar` not available: fuzzing objects without an archive seed");
    }
    fuzz("object", &seeds, &[], object_input, iterations(1500));
}
