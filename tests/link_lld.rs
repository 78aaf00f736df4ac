//! LLD beside GNU ld on the fixtures whose scripts LLD accepts (`newlib-exit`, `sdk`, `teensy`;
//! the Rust fixtures link with rust-lld in tests/firmware_rust.rs): LLD must link them, and
//! wherever GNU ld and LLD agree (a section's address and size, a global symbol's value)
//! hotlink must agree too. Where the two reference linkers differ hotlink follows GNU ld (see
//! docs/linker.md, "GNU ld and LLD"); the test prints those differences and checks that the
//! agreement is broad enough for the comparison to mean something.
//!
//! Needs the ARM toolchain and `ld.lld`: skipped locally with a message when they are missing,
//! failing when `CI` is set.

mod link_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use link_support::{fixtures, hotlink, run, toolchain_or_skip};
use object::{Object, ObjectSection, ObjectSymbol, SymbolScope};

/// Fixtures whose scripts LLD links, with the least number of sections and global symbols on
/// whose address GNU ld and LLD must agree (so that a change making them disagree everywhere
/// does not leave the test comparing nothing).
const WITH_LLD: &[(&str, usize, usize)] =
    &[("newlib-exit", 2, 20), ("sdk", 11, 150), ("teensy", 2, 20)];

/// Allocated sections (name → address, size) and global defined symbols (name → value).
struct Layout {
    sections: BTreeMap<String, (u64, u64)>,
    symbols: BTreeMap<String, u64>,
}

fn layout(path: &Path) -> Layout {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let sections = file
        .sections()
        .filter(|s| {
            matches!(s.flags(), object::SectionFlags::Elf { sh_flags, .. }
                if sh_flags.0 & object::elf::SHF_ALLOC.0 != 0)
                && s.size() > 0
        })
        .map(|s| (s.name().unwrap().to_string(), (s.address(), s.size())))
        .collect();
    let symbols = file
        .symbols()
        .filter(|s| s.scope() != SymbolScope::Compilation && !s.is_undefined())
        .map(|s| (s.name().unwrap().to_string(), s.address()))
        .collect();
    Layout { sections, symbols }
}

/// Keys on which `gnu` and `lld` hold the same value, and how many they disagree on.
fn agreed<'a, V: PartialEq>(
    gnu: &'a BTreeMap<String, V>,
    lld: &BTreeMap<String, V>,
) -> (Vec<(&'a String, &'a V)>, usize) {
    let same: Vec<(&String, &V)> = gnu.iter().filter(|(k, v)| lld.get(*k) == Some(v)).collect();
    let differ = gnu.len() + lld.keys().filter(|k| !gnu.contains_key(*k)).count() - same.len();
    (same, differ)
}

#[test]
fn hotlink_agrees_with_gnu_ld_and_lld_where_they_agree() {
    if !toolchain_or_skip(&["arm-none-eabi-ld", "ld.lld"]) {
        return;
    }
    let all = fixtures();
    for &(name, min_sections, min_symbols) in WITH_LLD {
        let fixture = all
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("fixture {name} is missing"));
        let out = tempfile::tempdir().unwrap();
        let mut images = Vec::new();
        for (linker, first) in [
            ("arm-none-eabi-ld", None),
            ("ld.lld", None),
            (hotlink().to_str().unwrap(), Some("link")),
        ] {
            let image = out.path().join(format!("{}.elf", images.len()));
            run(Command::new(linker)
                .args(first)
                .args(&fixture.args)
                .arg("-o")
                .arg(&image)
                .current_dir(&fixture.dir));
            images.push(layout(&image));
        }
        let [gnu, lld, ours] = &images[..] else {
            unreachable!()
        };
        let (sections, sections_differ) = agreed(&gnu.sections, &lld.sections);
        let (symbols, symbols_differ) = agreed(&gnu.symbols, &lld.symbols);
        eprintln!(
            "{name}: GNU ld and LLD agree on {} sections and {} symbols, differ on {} and {}",
            sections.len(),
            symbols.len(),
            sections_differ,
            symbols_differ
        );
        for (section, place) in &sections {
            assert_eq!(
                ours.sections.get(*section),
                Some(*place),
                "{name}: section {section}, where GNU ld and LLD agree"
            );
        }
        for (symbol, value) in &symbols {
            assert_eq!(
                ours.symbols.get(*symbol),
                Some(*value),
                "{name}: symbol {symbol}, where GNU ld and LLD agree"
            );
        }
        assert!(
            sections.len() >= min_sections && symbols.len() >= min_symbols,
            "{name}: GNU ld and LLD agree on only {} sections and {} symbols",
            sections.len(),
            symbols.len()
        );
    }
}
