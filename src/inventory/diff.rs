//! Differences between two linked images, by section and symbol: what `hotlink diff` prints and
//! what the linker's differential test against GNU ld asserts on. Compares what a target loads
//! and what a debugger sees — every allocated section's address, size and bytes, and every
//! non-local defined symbol's value — and names where bytes differ by the nearest symbol, so a
//! report says "inside `memcpy`+0x10", not "files differ".

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind, SymbolScope};

/// One allocated section: address, size, bytes (`None` for NOBITS).
struct Section {
    address: u64,
    size: u64,
    bytes: Option<Vec<u8>>,
}

/// What of an image is compared.
pub struct ImageView {
    sections: BTreeMap<String, Section>,
    /// Non-local defined symbols: name → value.
    symbols: BTreeMap<String, u64>,
}

impl ImageView {
    /// Reads the allocated sections and global symbols of an ELF image.
    pub fn parse(data: &[u8], name: &str) -> Result<ImageView> {
        let file =
            object::File::parse(data).with_context(|| format!("{name}: not an ELF image"))?;
        let mut sections = BTreeMap::new();
        for s in file.sections() {
            let SectionFlags::Elf { sh_flags, .. } = s.flags() else {
                continue;
            };
            if sh_flags.0 & object::elf::SHF_ALLOC.0 == 0 || s.size() == 0 {
                continue;
            }
            let bytes = match s.kind() {
                SectionKind::UninitializedData | SectionKind::UninitializedTls => None,
                _ => Some(
                    s.data()
                        .with_context(|| format!("{name}: section {}", s.name().unwrap_or("?")))?
                        .to_vec(),
                ),
            };
            let section = Section {
                address: s.address(),
                size: s.size(),
                bytes,
            };
            sections.insert(s.name().unwrap_or("?").to_string(), section);
        }
        let symbols = file
            .symbols()
            .filter(|s| s.scope() != SymbolScope::Compilation && !s.is_undefined())
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
            .collect();
        Ok(ImageView { sections, symbols })
    }

    /// The symbol at or before `address` (Thumb bit ignored), as `name+0xoff`.
    fn locate(&self, address: u64) -> Option<String> {
        self.symbols
            .iter()
            .map(|(n, v)| (n, v & !1))
            .filter(|(_, v)| *v <= address && address - v < 0x10000)
            .max_by_key(|(_, v)| *v)
            .map(|(n, v)| format!("{n}+{:#x}", address - v))
    }

    /// The size of an allocated section (0 if absent).
    pub fn section_size(&self, name: &str) -> u64 {
        self.sections.get(name).map_or(0, |s| s.size)
    }
}

/// One way `b` differs from `a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    SectionMissing(String),
    SectionExtra(String),
    SectionMoved {
        name: String,
        a: (u64, u64),
        b: (u64, u64),
    },
    /// First differing byte of a section at the same place, and how many bytes differ.
    Bytes {
        section: String,
        address: u64,
        count: usize,
        at: Option<String>,
    },
    SymbolMissing(String),
    SymbolValue {
        name: String,
        a: u64,
        b: u64,
    },
}

impl Difference {
    /// Only the content of a section differs (its place and size agree).
    pub fn is_bytes_only(&self) -> bool {
        matches!(self, Difference::Bytes { .. })
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::SectionMissing(n) => write!(f, "section {n} missing"),
            Difference::SectionExtra(n) => write!(f, "section {n} only in the second image"),
            Difference::SectionMoved { name, a, b } => write!(
                f,
                "section {name}: {:#x}+{:#x} vs {:#x}+{:#x}",
                a.0, a.1, b.0, b.1
            ),
            Difference::Bytes {
                section,
                address,
                count,
                at,
            } => {
                write!(f, "section {section}: bytes differ at {address:#x}")?;
                if let Some(at) = at {
                    write!(f, " (in {at})")?;
                }
                write!(f, ", {count} bytes in all")
            }
            Difference::SymbolMissing(n) => write!(f, "symbol {n} missing"),
            Difference::SymbolValue { name, a, b } => write!(f, "symbol {name}: {a:#x} vs {b:#x}"),
        }
    }
}

/// Every loadable section and global symbol of `a` compared with `b`.
pub fn differences(a: &ImageView, b: &ImageView) -> Vec<Difference> {
    let mut out = Vec::new();
    for (name, sa) in &a.sections {
        let Some(sb) = b.sections.get(name) else {
            out.push(Difference::SectionMissing(name.clone()));
            continue;
        };
        if (sa.address, sa.size) != (sb.address, sb.size) {
            out.push(Difference::SectionMoved {
                name: name.clone(),
                a: (sa.address, sa.size),
                b: (sb.address, sb.size),
            });
        } else if let (Some(x), Some(y)) = (&sa.bytes, &sb.bytes) {
            let differing: Vec<usize> = (0..x.len().min(y.len()))
                .filter(|&i| x[i] != y[i])
                .collect();
            if let Some(&first) = differing.first() {
                let address = sa.address + first as u64;
                out.push(Difference::Bytes {
                    section: name.clone(),
                    address,
                    count: differing.len(),
                    at: a.locate(address),
                });
            }
        }
    }
    out.extend(
        b.sections
            .keys()
            .filter(|n| !a.sections.contains_key(*n))
            .map(|n| Difference::SectionExtra(n.clone())),
    );
    for (name, &value) in &a.symbols {
        match b.symbols.get(name) {
            None => out.push(Difference::SymbolMissing(name.clone())),
            Some(&v) if v != value => out.push(Difference::SymbolValue {
                name: name.clone(),
                a: value,
                b: v,
            }),
            _ => {}
        }
    }
    out
}
