//! Linked images: output sections with run (VMA) and load (LMA) addresses, function symbols, and
//! how full each board region is.

use object::elf;
use object::read::elf::{ElfFile32, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use serde::Serialize;

use super::read::{flag_letters, InventoryError};
use super::Origin;
use crate::board::{Board, RegionKind};

/// A linked firmware image.
#[derive(Clone, Debug, Serialize)]
pub struct Image {
    pub path: String,
    pub entry: u64,
    pub sections: Vec<OutputSection>,
    /// Function symbols by address (Thumb bit cleared).
    pub functions: Vec<Function>,
}

/// An output section of a linked image.
#[derive(Clone, Debug, Serialize)]
pub struct OutputSection {
    pub name: String,
    /// Run address.
    pub address: u64,
    /// Load address: where its bytes sit in the image (differs from `address` for code and data
    /// that the startup code copies into RAM).
    pub load_address: u64,
    pub size: u64,
    pub flags: String,
    /// Occupies no bytes in the image (`.bss`, NOLOAD).
    pub nobits: bool,
}

impl OutputSection {
    fn alloc(&self) -> bool {
        self.flags.contains('a')
    }
}

/// A function in a linked image.
#[derive(Clone, Debug, Serialize)]
pub struct Function {
    pub name: String,
    pub address: u64,
    pub size: u64,
    pub section: String,
}

/// How much of one board region an image uses.
#[derive(Clone, Debug, Serialize)]
pub struct RegionUse {
    pub region: String,
    pub kind: RegionKind,
    pub size: u64,
    pub used: u64,
    /// (output section, bytes, `true` when these are load-image bytes copied elsewhere at run time)
    pub contributors: Vec<(String, u64, bool)>,
}

impl RegionUse {
    pub fn percent(&self) -> f64 {
        100.0 * self.used as f64 / self.size.max(1) as f64
    }
}

pub(super) fn read_image(data: &[u8], origin: &Origin) -> Result<Image, InventoryError> {
    let malformed = |message: String| InventoryError::Malformed {
        origin: origin.to_string(),
        message,
    };
    let file = ElfFile32::<Endianness>::parse(data)
        .map_err(|e| malformed(format!("malformed ELF image: {e}")))?;
    let endian = file.endian();
    let segments: Vec<_> = file
        .elf_program_headers()
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_LOAD)
        .map(|p| {
            (
                u64::from(p.p_vaddr(endian)),
                u64::from(p.p_paddr(endian)),
                u64::from(p.p_memsz(endian)),
                u64::from(p.p_offset(endian)),
                u64::from(p.p_filesz(endian)),
            )
        })
        .collect();
    let mut sections = Vec::new();
    for section in file.sections() {
        let sh = section.elf_section_header();
        let sh_flags = sh.sh_flags(endian).0;
        if sh_flags & elf::SHF_ALLOC.0 == 0 {
            continue;
        }
        let name = section
            .name()
            .map_err(|e| malformed(format!("section {}: bad name: {e}", section.index().0)))?;
        let address = section.address();
        let nobits = sh.sh_type(endian) == elf::SHT_NOBITS;
        let offset = u64::from(sh.sh_offset(endian));
        // The load address comes from the segment that holds the section's file bytes.
        let load_address = segments
            .iter()
            .find(|(vaddr, _, memsz, p_offset, filesz)| {
                address >= *vaddr
                    && address < vaddr + memsz.max(&1)
                    && (nobits || (offset >= *p_offset && offset < p_offset + filesz.max(&1)))
            })
            .map_or(address, |(vaddr, paddr, ..)| paddr + (address - vaddr));
        sections.push(OutputSection {
            name: name.to_string(),
            address,
            load_address,
            size: section.size(),
            flags: flag_letters(sh_flags),
            nobits,
        });
    }
    let section_name = |index: Option<object::SectionIndex>| {
        index
            .and_then(|i| file.section_by_index(i).ok())
            .and_then(|s| s.name().ok().map(str::to_string))
            .unwrap_or_default()
    };
    let mut functions: Vec<Function> = file
        .symbols()
        .filter(|s| s.elf_symbol().st_type() == elf::STT_FUNC && s.is_definition())
        .map(|s| Function {
            name: s.name().unwrap_or_default().to_string(),
            address: s.address() & !1,
            size: s.size(),
            section: section_name(s.section_index()),
        })
        .collect();
    functions.sort_by(|a, b| (a.address, &a.name).cmp(&(b.address, &b.name)));
    Ok(Image {
        path: origin.file.clone(),
        entry: u64::from(file.elf_header().e_entry(endian)) & !1,
        sections,
        functions,
    })
}

impl Image {
    /// How full each region of `board` is: output sections by run address, plus the load-image
    /// copies of sections that run elsewhere.
    pub fn region_use(&self, board: &Board) -> Vec<RegionUse> {
        board
            .regions
            .iter()
            .map(|region| {
                let mut contributors = Vec::new();
                for section in self.sections.iter().filter(|s| s.alloc() && s.size > 0) {
                    if region.contains(section.address) {
                        contributors.push((section.name.clone(), section.size, false));
                    }
                    if !section.nobits
                        && section.load_address != section.address
                        && region.contains(section.load_address)
                    {
                        contributors.push((section.name.clone(), section.size, true));
                    }
                }
                RegionUse {
                    region: region.name.clone(),
                    kind: region.kind,
                    size: region.size.0,
                    used: contributors.iter().map(|(_, bytes, _)| bytes).sum(),
                    contributors,
                }
            })
            .collect()
    }

    /// Output sections that fall in no region of the board (a sign the image was linked for a
    /// different part).
    pub fn outside_regions<'a>(
        &'a self,
        board: &'a Board,
    ) -> impl Iterator<Item = &'a OutputSection> {
        self.sections
            .iter()
            .filter(|s| s.alloc() && s.size > 0 && board.region_at(s.address).is_none())
    }
}
