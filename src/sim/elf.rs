//! Loading a firmware ELF onto the virtual board: loadable segments go to their physical (load)
//! addresses, as a flash programmer would put them; the startup code copies them to RAM.
//! Function symbols give names to PCs in reports.

use object::elf::{EM_ARM, PT_LOAD};
use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

use super::SimError;

/// A loadable piece of the image.
pub struct Segment {
    pub paddr: u32,
    pub data: Vec<u8>,
}

/// A function (or any sized code symbol) for naming PCs.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub addr: u32,
    pub size: u32,
    pub name: String,
}

/// The parts of an ELF the simulator needs.
pub struct Image {
    pub segments: Vec<Segment>,
    pub entry: u32,
    /// Function symbols sorted by address.
    pub functions: Vec<Symbol>,
    /// Every named symbol (for `--window` and lookups), sorted by name.
    pub symbols: Vec<(String, u32)>,
    /// Allocated code sections: name, address and size (for naming code in reports).
    pub code_sections: Vec<(String, u32, u32)>,
}

impl Image {
    /// Parses an ELF file's bytes; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Image, SimError> {
        let bad = |why: String| SimError::BadElf {
            path: path.to_string(),
            why,
        };
        let file = ElfFile32::<Endianness>::parse(bytes).map_err(|e| {
            bad(format!(
                "not a 32-bit little-endian ELF ({e}); build the firmware for arm-none-eabi"
            ))
        })?;
        let endian = file.endian();
        let header = file.elf_header();
        if header.e_machine(endian) != EM_ARM {
            return Err(bad(format!(
                "built for machine {} , not ARM (EM_ARM = 40); build for a Cortex-M7",
                header.e_machine(endian)
            )));
        }
        if !file.is_little_endian() {
            return Err(bad(
                "big-endian ARM images are not supported by the Cortex-M7 board".into(),
            ));
        }
        let mut segments = Vec::new();
        for ph in file.elf_program_headers() {
            if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
                continue;
            }
            let data = ph.data(endian, bytes).map_err(|_| {
                bad(format!(
                    "segment at {:#x} lies outside the file",
                    ph.p_offset(endian)
                ))
            })?;
            segments.push(Segment {
                paddr: ph.p_paddr(endian),
                data: data.to_vec(),
            });
        }
        if segments.is_empty() {
            return Err(bad("no loadable segments".into()));
        }
        let mut functions = Vec::new();
        let mut symbols = Vec::new();
        for sym in file.symbols() {
            let Ok(name) = sym.name() else { continue };
            if name.is_empty() || name.starts_with('$') {
                continue;
            }
            let addr = sym.address() as u32;
            symbols.push((name.to_string(), addr));
            if sym.kind() == SymbolKind::Text {
                functions.push(Symbol {
                    addr: addr & !1,
                    size: sym.size() as u32,
                    name: name.to_string(),
                });
            }
        }
        functions.sort_by_key(|s| (s.addr, std::cmp::Reverse(s.size)));
        functions.dedup_by_key(|s| s.addr);
        symbols.sort();
        let code_sections = file
            .sections()
            .filter(|s| s.kind() == SectionKind::Text && s.size() > 0)
            .filter_map(|s| {
                Some((
                    s.name().ok()?.to_string(),
                    s.address() as u32,
                    s.size() as u32,
                ))
            })
            .collect();
        Ok(Image {
            segments,
            entry: file.entry() as u32,
            functions,
            symbols,
            code_sections,
        })
    }

    /// The function containing `pc`, if any.
    pub fn function_at(&self, pc: u32) -> Option<&Symbol> {
        let i = self.functions.partition_point(|s| s.addr <= pc);
        let s = self.functions.get(i.checked_sub(1)?)?;
        (pc < s.addr.saturating_add(s.size.max(2))).then_some(s)
    }

    /// The address of a symbol by name (Thumb bit cleared).
    pub fn symbol(&self, name: &str) -> Option<u32> {
        let i = self.symbols.partition_point(|(n, _)| n.as_str() < name);
        self.symbols
            .get(i)
            .filter(|(n, _)| n == name)
            .map(|(_, a)| a & !1)
    }

    /// The code section holding `addr`.
    pub fn code_section_at(&self, addr: u32) -> Option<&str> {
        self.code_sections
            .iter()
            .find(|(_, start, size)| addr.wrapping_sub(*start) < *size)
            .map(|(name, _, _)| name.as_str())
    }

    /// `name+0xoff` for a PC, or the bare address.
    pub fn describe(&self, pc: u32) -> String {
        match self.function_at(pc) {
            Some(s) if s.addr == pc => s.name.clone(),
            Some(s) => format!("{}+{:#x}", s.name, pc - s.addr),
            None => "no function symbol".into(),
        }
    }
}
