//! The link map: where every input section of a linked image went.
//!
//! One in-memory form, three sources: hotlink's own JSON link map (written by the built-in linker,
//! format in `docs/link-map-format.md`), GNU ld's `-Map` text file (and hotlink's own, which
//! follows it), parsed by [`gnu`], and LLD's `-Map` table, parsed by [`lld`]. The heat
//! map attributes samples through it, reports show region use from it, and the planner learns from
//! it what the script already put where.

pub mod gnu;
pub mod lld;

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The `format` field of a JSON link map.
pub const FORMAT: &str = "hotlink-link-map";
/// The newest JSON link map version this hotlink reads and writes.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LinkMap {
    pub format: String,
    pub version: u32,
    pub entry: Option<MapEntry>,
    pub regions: Vec<MapRegion>,
    pub output_sections: Vec<MapOutputSection>,
    pub input_sections: Vec<MapInputSection>,
    #[serde(default)]
    pub veneers: Vec<MapVeneer>,
    #[serde(default)]
    pub discarded: Vec<MapDiscarded>,
    #[serde(default)]
    pub symbols: Vec<MapSymbol>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapEntry {
    pub symbol: Option<String>,
    pub address: u64,
}

/// A MEMORY region of the linker script.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapRegion {
    pub name: String,
    pub origin: u64,
    pub length: u64,
    pub attributes: String,
    /// Bytes used (highest address used minus origin).
    pub used: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapOutputSection {
    pub name: String,
    pub address: u64,
    pub load_address: u64,
    pub size: u64,
    pub align: u64,
    pub kind: String,
    pub region: Option<String>,
    pub load_region: Option<String>,
}

/// A symbol defined in an input section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapSectionSymbol {
    pub name: String,
    pub address: u64,
    pub size: u64,
}

impl MapSectionSymbol {
    /// Where the symbol's code starts: its value with the Thumb bit cleared, as profiles and
    /// disassemblers give function addresses (maps keep the bit, as GNU ld prints it).
    pub fn code_address(&self) -> u64 {
        self.address & !1
    }
}

/// One input section and where it landed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapInputSection {
    /// The object file, or the archive for a member.
    pub object: String,
    pub member: Option<String>,
    pub section: String,
    pub output_section: String,
    pub region: Option<String>,
    pub load_region: Option<String>,
    pub address: u64,
    pub load_address: u64,
    pub size: u64,
    pub align: u64,
    pub kind: String,
    pub symbols: Vec<MapSectionSymbol>,
}

/// `file(member):section` with the file's base name: how hotlink names an input section to
/// people (and what `--ram-only`, `--exclude` and `--pin` patterns match).
pub fn section_label(object: &str, member: Option<&str>, section: &str) -> String {
    let file = object.rsplit('/').next().unwrap_or(object);
    match member {
        Some(m) => format!("{file}({m}):{section}"),
        None => format!("{file}:{section}"),
    }
}

impl MapInputSection {
    /// See [`section_label`].
    pub fn label(&self) -> String {
        section_label(&self.object, self.member.as_deref(), &self.section)
    }

    /// `file(member)` or `file`, as GNU ld prints it.
    pub fn origin(&self) -> String {
        match &self.member {
            Some(m) => format!("{}({m})", self.object),
            None => self.object.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapCaller {
    pub object: String,
    pub member: Option<String>,
    pub section: String,
    pub offset: u64,
    pub address: u64,
}

/// A long-branch veneer and the calls that go through it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapVeneer {
    pub address: u64,
    pub size: u64,
    pub target: u64,
    pub target_symbol: Option<String>,
    pub output_section: String,
    pub region: Option<String>,
    pub callers: Vec<MapCaller>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapDiscarded {
    pub object: String,
    pub member: Option<String>,
    pub section: String,
    pub size: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MapSymbol {
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub kind: String,
    pub binding: String,
    pub output_section: Option<String>,
}

impl MapSymbol {
    /// The symbol's value with the Thumb bit cleared (see [`MapSectionSymbol::code_address`]).
    pub fn code_address(&self) -> u64 {
        self.address & !1
    }
}

impl LinkMap {
    /// Reads a link map: hotlink's JSON, an LLD or a GNU ld map file (recognised by contents).
    pub fn load(path: &Path) -> Result<LinkMap> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read link map {}", path.display()))?;
        if text.trim_start().starts_with('{') {
            LinkMap::parse_json(&text).with_context(|| format!("link map {}", path.display()))
        } else if lld::looks_like(&text) {
            lld::parse(&text).with_context(|| format!("LLD map file {}", path.display()))
        } else {
            gnu::parse(&text).with_context(|| format!("GNU ld map file {}", path.display()))
        }
    }

    /// Parses hotlink's JSON link map, refusing other formats and newer versions.
    pub fn parse_json(text: &str) -> Result<LinkMap> {
        let map: LinkMap = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "malformed JSON link map at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        if map.format != FORMAT {
            bail!("not a hotlink link map (format `{}`)", map.format);
        }
        if map.version > VERSION {
            bail!(
                "link map version {} is newer than this hotlink reads (up to {VERSION}); upgrade hotlink",
                map.version
            );
        }
        Ok(map)
    }

    /// Input sections with bytes at run time, sorted by address, for address lookups.
    pub fn placed_sections(&self) -> Vec<&MapInputSection> {
        let mut placed: Vec<&MapInputSection> =
            self.input_sections.iter().filter(|s| s.size > 0).collect();
        placed.sort_by_key(|s| (s.address, std::cmp::Reverse(s.size)));
        placed
    }

    /// The map with each input section's symbols taken from the image's symbol table: GNU ld
    /// lists only global symbols, hotlink and LLD list locals too, so without this a `static`
    /// function would be known by name in one form and not in another (and the planner's per-
    /// function costs would differ with the form of the map). Returns the map unchanged when the
    /// image is not an ELF file.
    pub fn with_image_symbols(&self, elf: &[u8]) -> LinkMap {
        use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
        let mut map = self.clone();
        let Ok(file) = object::File::parse(elf) else {
            return map;
        };
        // Each symbol with the address range of its output section: a symbol that ends another
        // output section (`__TMC_END__` after `.tm_clone_table`) must not be counted in the
        // input section that happens to start where it points, or the count depends on which
        // linker laid the image out.
        let mut symbols: Vec<(MapSectionSymbol, std::ops::Range<u64>)> = file
            .symbols()
            .filter(|s| matches!(s.kind(), SymbolKind::Text | SymbolKind::Data))
            .filter(|s| s.is_definition())
            .filter_map(|s| {
                let name = s.name().ok()?;
                let section = s
                    .section_index()
                    .and_then(|i| file.section_by_index(i).ok());
                let range = section.map_or(0..u64::MAX, |c| c.address()..c.address() + c.size());
                (!name.is_empty() && !name.starts_with('$')).then(|| {
                    let symbol = MapSectionSymbol {
                        name: name.to_string(),
                        address: s.address(),
                        size: s.size(),
                    };
                    (symbol, range)
                })
            })
            .collect();
        symbols.sort_by(|(a, _), (b, _)| (a.address, &a.name).cmp(&(b.address, &b.name)));
        for section in map.input_sections.iter_mut().filter(|s| s.size > 0) {
            let start = symbols.partition_point(|(s, _)| s.code_address() < section.address);
            section.symbols = symbols[start..]
                .iter()
                .take_while(|(s, _)| s.code_address() < section.address + section.size)
                .filter(|(_, range)| range.contains(&section.address))
                .map(|(s, _)| s.clone())
                .collect();
        }
        map
    }

    /// The name of the region holding `address`, if any.
    pub fn region_at(&self, address: u64) -> Option<&MapRegion> {
        self.regions
            .iter()
            .find(|r| address >= r.origin && address - r.origin < r.length && r.name != "*default*")
    }
}
