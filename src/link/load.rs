//! Loading inputs: relocatable ARM ELF objects and GNU archives, read with the `object` crate.
//!
//! Objects are copied into small owned structures ([`Object`]) that the later stages index by
//! (object, section) and (object, symbol) numbers; archives stay as an index of which member
//! defines which symbol, so members are parsed only when resolution extracts them.
//!
//! Input files are memory-mapped, as GNU ld and LLD do, and section contents are [`Bytes`]
//! windows into the mapping: a link touches only the pages of the archive members it extracts,
//! and nothing is copied (reading `libc.a`/`libstdc++.a` whole was half of a small link).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::elf;
use object::read::archive::ArchiveFile;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::LittleEndian as LE;
use rustc_hash::FxHashMap;

/// Where an object came from: a file, or a member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub path: PathBuf,
    pub member: Option<String>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.member {
            Some(m) => write!(f, "{}({m})", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

impl Origin {
    /// The name ld's file patterns match: the path, or for members `archive:member`.
    pub fn file_name(&self) -> String {
        self.path.display().to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: Origin,
        source: std::io::Error,
    },
    #[error("{origin}: {msg}")]
    Malformed { origin: Origin, msg: String },
}

fn malformed(origin: &Origin, msg: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        origin: origin.clone(),
        msg: msg.into(),
    }
}

/// A shared, immutable window into an input file's bytes (a memory map, or owned bytes for
/// inputs made in memory): cloning and slicing never copy the contents.
#[derive(Clone)]
pub struct Bytes {
    backing: Arc<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    len: usize,
}

impl Bytes {
    fn new(backing: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Bytes {
        let len = (*backing).as_ref().len();
        Bytes {
            backing,
            start: 0,
            len,
        }
    }

    /// No bytes (NOBITS and linker-made sections).
    pub fn empty() -> Bytes {
        Bytes::from(Vec::new())
    }

    /// The part of these bytes that `part` covers; `part` is normally a subslice of them (a
    /// parser may hand back a slice of its own for an empty section: that one is copied).
    fn window(&self, part: &[u8]) -> Bytes {
        let offset = (part.as_ptr() as usize).wrapping_sub(self.as_ptr() as usize);
        if offset > self.len || part.len() > self.len - offset {
            return Bytes::from(part);
        }
        Bytes {
            backing: self.backing.clone(),
            start: self.start + offset,
            len: part.len(),
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &(*self.backing).as_ref()[self.start..self.start + self.len]
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes::new(Arc::new(v))
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Bytes {
        Bytes::from(v.to_vec())
    }
}

impl From<Arc<[u8]>> for Bytes {
    fn from(v: Arc<[u8]>) -> Bytes {
        Bytes::new(Arc::new(v))
    }
}

impl From<&Bytes> for Bytes {
    fn from(v: &Bytes) -> Bytes {
        v.clone()
    }
}

#[derive(Debug, Clone)]
pub struct Reloc {
    pub offset: u32,
    pub r_type: u32,
    pub sym: u32,
}

#[derive(Debug, Clone)]
pub struct InputSection {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub size: u64,
    /// sh_entsize: the entry size of an SHF_MERGE section (0 otherwise).
    pub entsize: u64,
    /// File contents (empty for SHT_NOBITS), a window into the mapped input file.
    pub data: Bytes,
    pub relocs: Vec<Reloc>,
    /// sh_link: for `.ARM.exidx` the section it describes.
    pub link: u32,
    /// A member of a COMDAT group whose signature an earlier object already provided: left out
    /// of the link, as GNU ld does (only the first group with a signature is kept).
    pub discarded: bool,
}

impl InputSection {
    pub fn is_alloc(&self) -> bool {
        self.flags & elf::SHF_ALLOC.0 != 0
    }
    pub fn is_exec(&self) -> bool {
        self.flags & elf::SHF_EXECINSTR.0 != 0
    }
    pub fn is_write(&self) -> bool {
        self.flags & elf::SHF_WRITE.0 != 0
    }
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS.0
    }
    /// Sections a linker lays out: not groups/relocations/symbol tables, and not SHF_EXCLUDE
    /// (LLVM's embedded bitcode `.llvmbc`/`.llvmcmd`, which GNU ld and LLD leave out of a final
    /// link).
    pub fn is_content(&self) -> bool {
        !self.discarded
            && self.flags & elf::SHF_EXCLUDE.0 == 0
            && !matches!(
                object::elf::SectionType(self.sh_type),
                elf::SHT_NULL
                    | elf::SHT_SYMTAB
                    | elf::SHT_STRTAB
                    | elf::SHT_REL
                    | elf::SHT_RELA
                    | elf::SHT_GROUP
                    | elf::SHT_SYMTAB_SHNDX
            )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymSection {
    Undef,
    Abs,
    Common,
    Section(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Local,
    Global,
    Weak,
}

#[derive(Debug, Clone)]
pub struct ObjSymbol {
    pub name: String,
    pub value: u32,
    pub size: u32,
    pub section: SymSection,
    pub binding: Binding,
    pub st_type: u8,
    pub st_other: u8,
}

/// A COMDAT section group (SHT_GROUP with GRP_COMDAT): sections kept or discarded together,
/// identified by the name of their signature symbol (e.g. `_ZN4RectD5Ev` for the D0/D1/D2
/// destructors of an inline class).
#[derive(Debug, Clone)]
pub struct ComdatGroup {
    pub signature: String,
    /// Section indices of the members.
    pub members: Vec<u32>,
}

#[derive(Debug)]
pub struct Object {
    pub origin: Origin,
    /// ELF header flags (EABI version, float ABI), copied to the output.
    pub e_flags: u32,
    pub sections: Vec<InputSection>,
    pub symbols: Vec<ObjSymbol>,
    pub groups: Vec<ComdatGroup>,
    /// For each ELF section, its number among the sections GNU ld's BFD makes of this object
    /// (for GNU ld's veneer order, [`super::stub_order`]).
    pub bfd_ordinals: Vec<Option<u32>>,
}

impl Object {
    /// How many sections BFD makes of this object (section ids it uses).
    pub fn bfd_section_count(&self) -> u32 {
        self.bfd_ordinals.iter().flatten().count() as u32
    }
}

/// Parses a relocatable 32-bit little-endian ARM ELF object; its sections' contents stay in
/// `file` (not copied).
pub fn parse_object(origin: Origin, file: impl Into<Bytes>) -> Result<Object, LoadError> {
    let file: Bytes = file.into();
    let data: &[u8] = &file;
    let err = |e: object::read::Error| malformed(&origin, e.to_string());
    let header = elf::FileHeader32::<LE>::parse(data).map_err(|e| {
        malformed(
            &origin,
            format!("not a 32-bit little-endian ELF file ({e})"),
        )
    })?;
    let endian = header.endian().map_err(err)?;
    if header.e_machine(endian) != elf::EM_ARM {
        return Err(malformed(
            &origin,
            format!("not an ARM object (e_machine {})", header.e_machine(endian)),
        ));
    }
    if header.e_type(endian) != elf::ET_REL {
        return Err(malformed(
            &origin,
            "not a relocatable object (only ET_REL inputs can be linked)",
        ));
    }
    let table = header.sections(endian, data).map_err(err)?;
    let mut sections = Vec::with_capacity(table.len());
    for (index, sh) in table.enumerate() {
        let name = String::from_utf8_lossy(table.section_name(endian, sh).map_err(err)?).into();
        let sh_type = sh.sh_type(endian);
        let content = if sh_type == elf::SHT_NOBITS {
            Bytes::empty()
        } else {
            let part = sh.data(endian, data).map_err(|_| {
                malformed(
                    &origin,
                    format!(
                        "section {} `{name}` lies outside the file (offset {:#x}, size {:#x})",
                        index.0,
                        sh.sh_offset(endian),
                        sh.sh_size(endian)
                    ),
                )
            })?;
            file.window(part)
        };
        let align = u64::from(sh.sh_addralign(endian)).max(1);
        if !align.is_power_of_two() {
            return Err(malformed(
                &origin,
                format!("section `{name}` has alignment {align}, not a power of two"),
            ));
        }
        sections.push(InputSection {
            name,
            sh_type: sh_type.0,
            flags: sh.sh_flags(endian).0,
            align,
            size: u64::from(sh.sh_size(endian)),
            entsize: u64::from(sh.sh_entsize(endian)),
            data: content,
            relocs: Vec::new(),
            link: sh.sh_link(endian),
            discarded: false,
        });
    }
    // Relocations: REL only (ARM EABI objects); RELA is rejected.
    for (index, sh) in table.enumerate() {
        let sh_type = sh.sh_type(endian);
        if sh_type == elf::SHT_RELA {
            return Err(malformed(
                &origin,
                format!(
                    "section {} has RELA relocations, which ARM EABI objects do not use",
                    index.0
                ),
            ));
        }
        if sh_type != elf::SHT_REL {
            continue;
        }
        let target = sh.sh_info(endian) as usize;
        if target == 0 || target >= sections.len() {
            return Err(malformed(
                &origin,
                format!(
                    "relocation section {} applies to invalid section {target}",
                    index.0
                ),
            ));
        }
        let rels = sh
            .data_as_array::<elf::Rel32<LE>, _>(endian, data)
            .map_err(|_| {
                malformed(
                    &origin,
                    format!("relocation section {} is truncated", index.0),
                )
            })?;
        let relocs = rels
            .iter()
            .map(|r| Reloc {
                offset: r.r_offset.get(endian),
                r_type: r.r_type(endian).0,
                sym: r.r_sym(endian),
            })
            .collect();
        sections[target].relocs = relocs;
    }
    let symtab = table.symbols(endian, data, elf::SHT_SYMTAB).map_err(err)?;
    let strings = symtab.strings();
    let mut symbols = Vec::with_capacity(symtab.len());
    for (i, sym) in symtab.symbols().iter().enumerate() {
        let name =
            String::from_utf8_lossy(sym.name(endian, strings).map_err(|_| {
                malformed(&origin, format!("symbol {i} has an invalid name offset"))
            })?)
            .into_owned();
        let shndx = sym.st_shndx(endian);
        let section = match shndx {
            elf::SHN_UNDEF => SymSection::Undef,
            elf::SHN_ABS => SymSection::Abs,
            elf::SHN_COMMON => SymSection::Common,
            s if s == elf::SHN_XINDEX => {
                let idx = symtab
                    .shndx(endian, object::read::SymbolIndex(i))
                    .ok_or_else(|| {
                        malformed(
                            &origin,
                            format!("symbol `{name}` uses SHN_XINDEX without a table"),
                        )
                    })?;
                SymSection::Section(idx)
            }
            s => {
                if usize::from(s.0) >= sections.len() {
                    return Err(malformed(
                        &origin,
                        format!("symbol `{name}` refers to invalid section {}", s.0),
                    ));
                }
                SymSection::Section(u32::from(s.0))
            }
        };
        let binding = match sym.st_bind() {
            elf::STB_LOCAL => Binding::Local,
            elf::STB_WEAK => Binding::Weak,
            _ => Binding::Global,
        };
        symbols.push(ObjSymbol {
            name,
            value: sym.st_value(endian),
            size: sym.st_size(endian),
            section,
            binding,
            st_type: sym.st_type().0,
            st_other: sym.st_other().0,
        });
    }
    for (si, s) in sections.iter().enumerate() {
        for r in &s.relocs {
            if r.sym as usize >= symbols.len() {
                return Err(malformed(
                    &origin,
                    format!(
                        "relocation at {:#x} in `{}` (section {si}) names symbol {}, but there are {}",
                        r.offset,
                        s.name,
                        r.sym,
                        symbols.len()
                    ),
                ));
            }
        }
    }
    let groups = comdat_groups(&origin, &table, endian, &sections, &symbols)?;
    let headers: Vec<(elf::SectionType, u32, u32)> = table
        .iter()
        .map(|sh| (sh.sh_type(endian), sh.sh_link(endian), sh.sh_info(endian)))
        .collect();
    let shstrndx = header.shstrndx(endian, data).unwrap_or(0);
    Ok(Object {
        bfd_ordinals: super::stub_order::bfd_section_ordinals(&headers, shstrndx),
        e_flags: header.e_flags(endian).0,
        origin,
        sections,
        symbols,
        groups,
    })
}

/// The object's COMDAT groups. The signature is the name of the symbol `sh_info` names (for a
/// section symbol, the section's name, as the gABI says).
fn comdat_groups(
    origin: &Origin,
    table: &object::read::elf::SectionTable<'_, elf::FileHeader32<LE>>,
    endian: LE,
    sections: &[InputSection],
    symbols: &[ObjSymbol],
) -> Result<Vec<ComdatGroup>, LoadError> {
    let mut groups = Vec::new();
    for (index, sh) in table.enumerate() {
        if sh.sh_type(endian) != elf::SHT_GROUP {
            continue;
        }
        let name = &sections[index.0].name;
        let words: Vec<u32> = sections[index.0]
            .data
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let Some((&flags, members)) = words.split_first() else {
            return Err(malformed(
                origin,
                format!("section group `{name}` is empty"),
            ));
        };
        if flags & elf::GRP_COMDAT.0 == 0 {
            continue;
        }
        let sym = sh.sh_info(endian) as usize;
        let Some(signature) = symbols.get(sym) else {
            return Err(malformed(
                origin,
                format!(
                    "section group `{name}` names signature symbol {sym}, but there are {}",
                    symbols.len()
                ),
            ));
        };
        let signature = match (signature.name.is_empty(), signature.section) {
            (true, SymSection::Section(s)) => sections[s as usize].name.clone(),
            _ => signature.name.clone(),
        };
        if let Some(&bad) = members
            .iter()
            .find(|&&m| m == 0 || m as usize >= sections.len())
        {
            return Err(malformed(
                origin,
                format!("section group `{name}` ({signature}) lists invalid section {bad}"),
            ));
        }
        groups.push(ComdatGroup {
            signature,
            members: members.to_vec(),
        });
    }
    Ok(groups)
}

/// An archive: its bytes and which member defines each symbol (from the archive symbol index).
pub struct Archive {
    pub path: PathBuf,
    pub data: Bytes,
    /// Member data range (start, length) and name, in archive order.
    pub members: Vec<(u64, u64, String)>,
    /// The archive symbol index in its own order: symbol name and defining member.
    pub symbols: Vec<(String, usize)>,
}

impl Archive {
    pub fn parse(path: &Path, data: impl Into<Bytes>) -> Result<Archive, LoadError> {
        let data: Bytes = data.into();
        let origin = Origin {
            path: path.to_path_buf(),
            member: None,
        };
        let file = ArchiveFile::parse(&*data)
            .map_err(|e| malformed(&origin, format!("not a valid archive: {e}")))?;
        if file.is_thin() {
            return Err(malformed(&origin, "thin archives are not supported"));
        }
        let mut members = Vec::new();
        let mut by_offset = FxHashMap::default();
        for member in file.members() {
            let member = member.map_err(|e| malformed(&origin, format!("broken member: {e}")))?;
            let name = String::from_utf8_lossy(member.name()).into_owned();
            let (start, len) = member.file_range();
            by_offset.insert(start, members.len());
            members.push((start, len, name));
        }
        let mut symbols = Vec::new();
        if let Some(index) = file
            .symbols()
            .map_err(|e| malformed(&origin, format!("broken symbol index: {e}")))?
        {
            for sym in index {
                let sym =
                    sym.map_err(|e| malformed(&origin, format!("broken symbol index: {e}")))?;
                let member = file.member(sym.offset()).map_err(|e| {
                    malformed(
                        &origin,
                        format!(
                            "symbol index names a member at offset {} that cannot be read: {e}",
                            sym.offset().0
                        ),
                    )
                })?;
                let Some(&m) = by_offset.get(&member.file_range().0) else {
                    continue;
                };
                symbols.push((String::from_utf8_lossy(sym.name()).into_owned(), m));
            }
        }
        Ok(Archive {
            path: path.to_path_buf(),
            data,
            members,
            symbols,
        })
    }

    pub fn member_origin(&self, member: usize) -> Origin {
        Origin {
            path: self.path.clone(),
            member: Some(self.members[member].2.clone()),
        }
    }

    /// Parses one member as an object.
    pub fn load_member(&self, member: usize) -> Result<Object, LoadError> {
        let origin = self.member_origin(member);
        let (start, len, _) = &self.members[member];
        let bytes = usize::try_from(*start)
            .ok()
            .zip(usize::try_from(start + len).ok())
            .and_then(|(s, e)| self.data.get(s..e))
            .ok_or_else(|| malformed(&origin, "member data lies outside the archive"))?;
        parse_object(origin, self.data.window(bytes))
    }
}

/// Maps a file from disk (or reads it where it cannot be mapped, e.g. an empty file or a pipe).
pub fn read_file(path: &Path) -> Result<Bytes, LoadError> {
    let io = |source| LoadError::Io {
        origin: Origin {
            path: path.to_path_buf(),
            member: None,
        },
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let is_plain_file = file.metadata().map_err(io)?.is_file();
    if is_plain_file {
        // SAFETY: the map is read-only. Like every linker that maps its inputs, a link assumes
        // its input files are not truncated or rewritten while it runs.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(Bytes::new(Arc::new(map)));
        }
    }
    std::fs::read(path).map(Bytes::from).map_err(io)
}

pub fn is_archive(data: &[u8]) -> bool {
    data.starts_with(b"!<arch>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            path: "x.o".into(),
            member: None,
        }
    }

    #[test]
    fn windows_share_their_file_and_foreign_slices_are_copied() {
        let file = Bytes::from(b"0123456789".to_vec());
        let w = file.window(&file[2..5]);
        assert_eq!(&w[..], b"234");
        assert_eq!(w.as_ptr(), file[2..].as_ptr(), "a window must not copy");
        let inner = w.window(&w[1..]);
        assert_eq!(&inner[..], b"34");
        let foreign = file.window(b"xyz");
        assert_eq!(&foreign[..], b"xyz");
        assert!(file.window(&[]).is_empty());
    }

    #[test]
    fn rejects_non_elf_and_truncated_input() {
        for data in [&b""[..], b"hello world", b"\x7fELF\x01\x01\x01"] {
            let e = parse_object(origin(), data).unwrap_err().to_string();
            assert!(e.starts_with("x.o: "), "{e}");
        }
        let e = Archive::parse(Path::new("a.a"), Arc::from(&b"!<arch>\nbroken"[..]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("a.a: "), "{e}");
    }
}
