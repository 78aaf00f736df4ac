//! Reading files into an [`Inventory`]: telling objects, archives and images apart, and turning
//! the `object` crate's view of each ELF into input sections, symbols and references.

use std::path::Path;

use object::elf;
use object::read::archive::ArchiveFile;
use object::read::elf::{ElfFile32, FileHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, RelocationTarget, SymbolSection};

use super::{
    relocs, Binding, Definition, FileKind, FileSummary, InputSection, Inventory, Origin, RefTarget,
    Reference, SectionKind, Symbol, SymbolType,
};

/// Why an input could not be read. The message names the file, the archive member and the offset
/// where that is known, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Malformed { origin: String, message: String },
}

fn malformed(origin: &Origin, message: impl Into<String>) -> InventoryError {
    InventoryError::Malformed {
        origin: origin.to_string(),
        message: message.into(),
    }
}

const ARCHIVE_MAGIC: &[u8] = b"!<arch>\n";
const THIN_ARCHIVE_MAGIC: &[u8] = b"!<thin>\n";

pub(super) fn read_path(inventory: &mut Inventory, path: &Path) -> Result<(), InventoryError> {
    let data = std::fs::read(path).map_err(|source| InventoryError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let origin = Origin {
        file: path.display().to_string(),
        member: None,
    };
    let (kind, objects) = if data.starts_with(ARCHIVE_MAGIC) {
        (FileKind::Archive, read_archive(inventory, &data, &origin)?)
    } else if data.starts_with(THIN_ARCHIVE_MAGIC) {
        return Err(malformed(
            &origin,
            "thin archives are not supported: rebuild it as a normal archive (ar rc without T)",
        ));
    } else {
        if elf_type(&data, &origin)? == elf::ET_REL.0 {
            read_object(inventory, &data, origin.clone())?;
            (FileKind::Object, 1)
        } else {
            let image = super::image::read_image(&data, &origin)?;
            inventory.images.push(image);
            (FileKind::Image, 0)
        }
    };
    inventory.files.push(FileSummary {
        path: origin.file,
        kind,
        objects,
    });
    Ok(())
}

/// Checks the ELF identification and header fields hotlink relies on, with a precise message for
/// each way they can be wrong, and returns `e_type`.
pub(super) fn elf_type(data: &[u8], origin: &Origin) -> Result<u16, InventoryError> {
    if data.is_empty() {
        return Err(malformed(origin, "the file is empty"));
    }
    if !data.starts_with(&elf::ELFMAG) {
        let head: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(malformed(
            origin,
            format!(
                "not an ELF file or archive (starts with bytes {}); pass objects (.o), archives (.a) or linked images (.elf)",
                head.join(" ")
            ),
        ));
    }
    if data.len() < 52 {
        return Err(malformed(
            origin,
            format!(
                "truncated: {} bytes, shorter than the 52-byte ELF header",
                data.len()
            ),
        ));
    }
    if data[4] != elf::ELFCLASS32.0 {
        return Err(malformed(
            origin,
            "a 64-bit ELF file: hotlink reads 32-bit ARM (Cortex-M) files only",
        ));
    }
    if data[5] != elf::ELFDATA2LSB.0 {
        return Err(malformed(
            origin,
            "a big-endian ELF file: Cortex-M7 firmware is little-endian",
        ));
    }
    let machine = u16::from_le_bytes([data[18], data[19]]);
    if machine != elf::EM_ARM.0 {
        return Err(malformed(
            origin,
            format!(
                "an ELF file for machine {machine} ({}), not ARM (40)",
                machine_name(machine)
            ),
        ));
    }
    let e_type = u16::from_le_bytes([data[16], data[17]]);
    if e_type == elf::ET_DYN.0 {
        return Err(malformed(
            origin,
            "a shared object or position-independent image: firmware images are ET_EXEC",
        ));
    }
    if e_type != elf::ET_REL.0 && e_type != elf::ET_EXEC.0 {
        return Err(malformed(origin, format!("unsupported ELF type {e_type}")));
    }
    let shoff = u32::from_le_bytes([data[32], data[33], data[34], data[35]]) as u64;
    let shentsize = u16::from_le_bytes([data[46], data[47]]) as u64;
    let shnum = u16::from_le_bytes([data[48], data[49]]) as u64;
    if shoff != 0 && shoff + shentsize * shnum > data.len() as u64 {
        return Err(malformed(
            origin,
            format!(
                "truncated or corrupt: the section header table at offset {shoff:#x} ({shnum} entries of {shentsize} bytes) ends past the end of the file ({} bytes)",
                data.len()
            ),
        ));
    }
    Ok(e_type)
}

fn machine_name(machine: u16) -> &'static str {
    [
        (elf::EM_386, "x86"),
        (elf::EM_X86_64, "x86-64"),
        (elf::EM_AARCH64, "AArch64"),
        (elf::EM_RISCV, "RISC-V"),
        (elf::EM_XTENSA, "Xtensa"),
    ]
    .iter()
    .find(|(m, _)| m.0 == machine)
    .map_or("not ARM", |(_, name)| name)
}

fn read_archive(
    inventory: &mut Inventory,
    data: &[u8],
    origin: &Origin,
) -> Result<usize, InventoryError> {
    let archive = ArchiveFile::parse(data)
        .map_err(|e| malformed(origin, format!("malformed archive: {e}")))?;
    let mut count = 0;
    for member in archive.members() {
        let member = member.map_err(|e| {
            malformed(
                origin,
                format!("malformed archive member header after member {count}: {e}"),
            )
        })?;
        let (offset, size) = member.file_range();
        let name = String::from_utf8_lossy(member.name()).into_owned();
        let member_origin = Origin {
            file: origin.file.clone(),
            member: Some(name),
        };
        let bytes = member.data(data).map_err(|e| {
            malformed(
                &member_origin,
                format!("member data at offset {offset:#x} ({size} bytes) unreadable: {e}"),
            )
        })?;
        elf_type(bytes, &member_origin).map_err(|e| {
            malformed(
                &member_origin,
                format!("at archive offset {offset:#x}: {}", strip_origin(&e)),
            )
        })?;
        read_object(inventory, bytes, member_origin)?;
        count += 1;
    }
    Ok(count)
}

/// The message of an error without the origin prefix (used when re-wrapping with more context).
fn strip_origin(error: &InventoryError) -> String {
    match error {
        InventoryError::Malformed { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn section_kind(name: &str, sh_type: elf::SectionType, sh_flags: u64) -> SectionKind {
    let alloc = sh_flags & elf::SHF_ALLOC.0 != 0;
    if sh_type == elf::SHT_ARM_EXIDX || name.starts_with(".ARM.extab") {
        SectionKind::Unwind
    } else if name.starts_with(".debug") || name.starts_with(".stab") || name == ".comment" {
        SectionKind::Debug
    } else if !alloc {
        SectionKind::Other
    } else if sh_type == elf::SHT_NOBITS {
        SectionKind::Bss
    } else if sh_flags & elf::SHF_EXECINSTR.0 != 0 {
        SectionKind::Code
    } else if sh_flags & elf::SHF_WRITE.0 != 0 {
        SectionKind::Data
    } else {
        SectionKind::Rodata
    }
}

pub(super) fn flag_letters(sh_flags: u64) -> String {
    let mut flags = String::new();
    for (bit, letter) in [
        (elf::SHF_WRITE, 'w'),
        (elf::SHF_ALLOC, 'a'),
        (elf::SHF_EXECINSTR, 'x'),
    ] {
        if sh_flags & bit.0 != 0 {
            flags.push(letter);
        }
    }
    flags
}

/// Section types that are bookkeeping of the object format rather than input sections.
fn is_bookkeeping(sh_type: elf::SectionType) -> bool {
    [
        elf::SHT_NULL,
        elf::SHT_SYMTAB,
        elf::SHT_STRTAB,
        elf::SHT_REL,
        elf::SHT_RELA,
        elf::SHT_GROUP,
    ]
    .contains(&sh_type)
}

/// ARM mapping symbols (`$t`, `$d`, `$a`, optionally with a `.suffix`) mark code/data boundaries,
/// not program entities.
fn is_mapping_symbol(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name);
    matches!(base, "$t" | "$d" | "$a")
}

fn read_object(
    inventory: &mut Inventory,
    data: &[u8],
    origin: Origin,
) -> Result<(), InventoryError> {
    let file = ElfFile32::<Endianness>::parse(data)
        .map_err(|e| malformed(&origin, format!("malformed ELF object: {e}")))?;
    let endian = file.endian();
    let header = file.elf_header();
    if header.e_machine(endian) != elf::EM_ARM {
        return Err(malformed(&origin, "not an ARM object"));
    }

    // Input sections, and a map from this object's section indices to inventory ids.
    let mut section_ids: Vec<Option<usize>> = vec![None; file.elf_section_table().len()];
    for section in file.sections() {
        let sh = section.elf_section_header();
        let sh_type = sh.sh_type(endian);
        if is_bookkeeping(sh_type) {
            continue;
        }
        let name = section.name().map_err(|e| {
            malformed(
                &origin,
                format!("section {}: bad name: {e}", section.index().0),
            )
        })?;
        let sh_flags = sh.sh_flags(endian).0;
        section_ids[section.index().0] = Some(inventory.sections.len());
        inventory.sections.push(InputSection {
            origin: origin.clone(),
            name: name.to_string(),
            index: section.index().0,
            size: section.size(),
            align: section.align(),
            flags: flag_letters(sh_flags),
            kind: section_kind(name, sh_type, sh_flags),
        });
    }
    let section_id = |index: object::SectionIndex| section_ids.get(index.0).copied().flatten();
    // COMDAT group signatures (GCC's `D5` destructor symbols) are defined in the SHT_GROUP
    // section itself: they name a group, not code or data, so they are not inventoried.
    let in_group = |index: object::SectionIndex| {
        file.section_by_index(index)
            .is_ok_and(|s| s.elf_section_header().sh_type(endian) == elf::SHT_GROUP)
    };

    for symbol in file.symbols() {
        let name = symbol.name().map_err(|e| {
            malformed(
                &origin,
                format!("symbol {}: bad name: {e}", symbol.index().0),
            )
        })?;
        if is_mapping_symbol(name) {
            continue;
        }
        let raw = symbol.elf_symbol();
        let st_type = raw.st_type();
        let typ = if st_type == elf::STT_FUNC {
            SymbolType::Function
        } else if [elf::STT_OBJECT, elf::STT_COMMON, elf::STT_TLS].contains(&st_type) {
            SymbolType::Object
        } else if st_type == elf::STT_SECTION {
            SymbolType::Section
        } else if st_type == elf::STT_FILE {
            SymbolType::File
        } else {
            SymbolType::None
        };
        if matches!(typ, SymbolType::Section | SymbolType::File) || name.is_empty() {
            continue;
        }
        let binding = match raw.st_bind() {
            b if b == elf::STB_GLOBAL => Binding::Global,
            b if b == elf::STB_WEAK => Binding::Weak,
            _ => Binding::Local,
        };
        let definition = match symbol.section() {
            SymbolSection::Section(index) if in_group(index) => continue,
            SymbolSection::Section(index) => match section_id(index) {
                Some(id) => Definition::Section(id),
                None => {
                    return Err(malformed(
                        &origin,
                        format!(
                        "symbol `{name}` is defined in section {} which is not an input section",
                        index.0
                    ),
                    ))
                }
            },
            SymbolSection::Absolute => Definition::Absolute,
            SymbolSection::Common => Definition::Common,
            _ => Definition::Undefined,
        };
        let value = symbol.address();
        let thumb = typ == SymbolType::Function && value & 1 == 1;
        inventory.symbols.push(Symbol {
            name: name.to_string(),
            value: value & !u64::from(thumb),
            size: symbol.size(),
            binding,
            typ,
            thumb,
            definition,
            origin: origin.clone(),
        });
    }

    for section in file.sections() {
        let Some(from) = section_id(section.index()) else {
            continue;
        };
        if matches!(
            inventory.sections[from].kind,
            SectionKind::Debug | SectionKind::Other
        ) {
            continue;
        }
        for (offset, relocation) in section.relocations() {
            let object::RelocationFlags::Elf { r_type } = relocation.flags() else {
                continue;
            };
            let r_type = r_type.0;
            if r_type == relocs::R_ARM_NONE {
                continue;
            }
            let RelocationTarget::Symbol(index) = relocation.target() else {
                continue;
            };
            let symbol = file.symbol_by_index(index).map_err(|e| {
                malformed(
                    &origin,
                    format!(
                        "relocation at {}+{offset:#x} names symbol {} which does not exist: {e}",
                        inventory.sections[from].name, index.0
                    ),
                )
            })?;
            let local_section = match symbol.section() {
                SymbolSection::Section(target) if symbol.is_local() => section_id(target),
                _ => None,
            };
            let target = match local_section {
                Some(id) => RefTarget::Section(id),
                None => RefTarget::Symbol(symbol.name().unwrap_or_default().to_string()),
            };
            inventory.references.push(Reference {
                from,
                offset,
                target,
                kind: relocs::kind(r_type),
                r_type,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: "x.o".into(),
            member: None,
        }
    }

    #[test]
    fn rejects_empty_and_foreign_files() {
        let err = elf_type(b"", &origin()).unwrap_err().to_string();
        assert_eq!(err, "x.o: the file is empty");
        let err = elf_type(b"MZ\x90\0hello", &origin())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not an ELF file or archive (starts with bytes 4d 5a 90 00)"),
            "{err}"
        );
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&elf::ELFMAG);
        header[4] = elf::ELFCLASS64.0;
        assert!(elf_type(&header, &origin())
            .unwrap_err()
            .to_string()
            .contains("64-bit"));
        header[4] = elf::ELFCLASS32.0;
        header[5] = elf::ELFDATA2LSB.0;
        header[18] = 62;
        let err = elf_type(&header, &origin()).unwrap_err().to_string();
        assert!(err.contains("machine 62 (x86-64), not ARM"), "{err}");
    }

    #[test]
    fn classifies_sections() {
        let ax = (elf::SHF_ALLOC | elf::SHF_EXECINSTR).0;
        let aw = (elf::SHF_ALLOC | elf::SHF_WRITE).0;
        let a = elf::SHF_ALLOC.0;
        assert_eq!(
            section_kind(".text.f", elf::SHT_PROGBITS, ax),
            SectionKind::Code
        );
        assert_eq!(
            section_kind(".data.x", elf::SHT_PROGBITS, aw),
            SectionKind::Data
        );
        assert_eq!(
            section_kind(".bss.x", elf::SHT_NOBITS, aw),
            SectionKind::Bss
        );
        assert_eq!(
            section_kind(".rodata.s", elf::SHT_PROGBITS, a),
            SectionKind::Rodata
        );
        assert_eq!(
            section_kind(".ARM.exidx.text.f", elf::SHT_ARM_EXIDX, a),
            SectionKind::Unwind
        );
        assert_eq!(
            section_kind(".debug_info", elf::SHT_PROGBITS, 0),
            SectionKind::Debug
        );
        assert_eq!(
            section_kind(".ARM.attributes", elf::SHT_ARM_ATTRIBUTES, 0),
            SectionKind::Other
        );
    }

    #[test]
    fn mapping_symbols_are_recognised() {
        assert!(is_mapping_symbol("$t"));
        assert!(is_mapping_symbol("$d.17"));
        assert!(!is_mapping_symbol("$tlib"));
        assert!(!is_mapping_symbol("main"));
    }
}
