//! Where each input section of an image lies: the table samples are attributed through.
//!
//! Built from a link map (exact: hotlink's JSON map or a GNU ld map) or, as a fallback, from the
//! ELF's own symbols: with `-ffunction-sections` every function is its own input section, and the
//! `STT_FILE` symbol that precedes a local symbol names the source it came from, so two static
//! functions of the same name in different files stay apart.

use std::path::Path;

use anyhow::{bail, Context, Result};
use object::elf;
use object::read::elf::ElfFile32;
use object::{Endianness, Object, ObjectSymbol};

use crate::board::Board;
use crate::linkmap::LinkMap;

/// One input section with code, where it ended up.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PlacedSection {
    /// Object file (or archive), or for ELF-symbol tables the source file of the symbol.
    pub object: String,
    pub member: Option<String>,
    /// Input section name (guessed as `.text.<function>` for ELF-symbol tables).
    pub section: String,
    pub address: u64,
    pub size: u64,
    pub region: Option<String>,
    /// Functions defined in it.
    pub symbols: Vec<String>,
}

impl PlacedSection {
    /// `object(member):section`, the way reports name a section.
    pub fn label(&self) -> String {
        crate::linkmap::section_label(&self.object, self.member.as_deref(), &self.section)
    }

    pub fn end(&self) -> u64 {
        self.address + self.size
    }
}

/// Input sections sorted by address, without overlaps.
#[derive(Clone, Debug, Default)]
pub struct SectionTable {
    pub sections: Vec<PlacedSection>,
    /// Where the table came from, for reports.
    pub source: String,
}

impl SectionTable {
    /// Code sections from a link map.
    pub fn from_link_map(map: &LinkMap, source: &str) -> SectionTable {
        let sections = map
            .placed_sections()
            .into_iter()
            .filter(|s| s.kind == "code")
            .map(|s| PlacedSection {
                object: s.object.clone(),
                member: s.member.clone(),
                section: s.section.clone(),
                address: s.address,
                size: s.size,
                region: s.region.clone(),
                symbols: s.symbols.iter().map(|sym| sym.name.clone()).collect(),
            })
            .collect();
        SectionTable::sorted(sections, source)
    }

    /// One section per function symbol of a linked ELF (the fallback when there is no map).
    pub fn from_elf(path: &Path, board: Option<&Board>) -> Result<SectionTable> {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let file = ElfFile32::<Endianness>::parse(&*data)
            .with_context(|| format!("{}: not a readable ELF image", path.display()))?;
        let mut current_file = String::from("?");
        let mut sections = Vec::new();
        for symbol in file.symbols() {
            let raw = symbol.elf_symbol();
            let name = symbol.name().unwrap_or_default();
            if raw.st_type() == elf::STT_FILE {
                current_file = name.to_string();
                continue;
            }
            if raw.st_type() != elf::STT_FUNC || !symbol.is_definition() || symbol.size() == 0 {
                continue;
            }
            let address = symbol.address() & !1;
            let object = if symbol.is_local() {
                current_file.clone()
            } else {
                String::from("(global)")
            };
            sections.push(PlacedSection {
                object,
                member: None,
                section: format!(".text.{name}"),
                address,
                size: symbol.size(),
                region: board
                    .and_then(|b| b.region_at(address))
                    .map(|r| r.name.clone()),
                symbols: vec![name.to_string()],
            });
        }
        if sections.is_empty() {
            bail!(
                "{}: no function symbols (stripped?); give the link map with --map",
                path.display()
            );
        }
        Ok(SectionTable::sorted(sections, "ELF symbols"))
    }

    /// Sorts and drops entries that overlap an earlier one (aliases of the same code).
    fn sorted(mut sections: Vec<PlacedSection>, source: &str) -> SectionTable {
        sections.sort_by_key(|s| (s.address, std::cmp::Reverse(s.size)));
        let mut kept: Vec<PlacedSection> = Vec::with_capacity(sections.len());
        for section in sections {
            match kept.last_mut() {
                Some(last) if section.address < last.end() => {
                    for symbol in section.symbols {
                        if !last.symbols.contains(&symbol) {
                            last.symbols.push(symbol);
                        }
                    }
                }
                _ => kept.push(section),
            }
        }
        SectionTable {
            sections: kept,
            source: source.to_string(),
        }
    }

    /// The section holding `address`.
    pub fn lookup(&self, address: u64) -> Option<usize> {
        let i = self.sections.partition_point(|s| s.address <= address);
        let candidate = i.checked_sub(1)?;
        (address < self.sections[candidate].end()).then_some(candidate)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn section(name: &str, address: u64, size: u64) -> PlacedSection {
        PlacedSection {
            object: "a.o".into(),
            member: None,
            section: format!(".text.{name}"),
            address,
            size,
            region: Some(
                if address < 0x2000_0000 {
                    "ITCM"
                } else {
                    "FLASH"
                }
                .into(),
            ),
            symbols: vec![name.into()],
        }
    }

    #[test]
    fn looks_up_addresses_and_merges_aliases() {
        let table = SectionTable::sorted(
            vec![
                section("b", 0x100, 0x10),
                section("a", 0x0, 0x20),
                section("alias_of_a", 0x0, 0x20),
            ],
            "test",
        );
        assert_eq!(table.sections.len(), 2);
        assert_eq!(table.sections[0].symbols, vec!["a", "alias_of_a"]);
        assert_eq!(table.lookup(0x1f), Some(0));
        assert_eq!(table.lookup(0x20), None);
        assert_eq!(table.lookup(0x10f), Some(1));
        assert_eq!(table.lookup(0x110), None);
    }
}
