//! Output: the ELF executable, a GNU-style map file and the JSON link map.
//!
//! The ELF32 executable is written directly: it is a handful of fixed-size records (file header,
//! a PT_LOAD per allocated output section with its load address, NOBITS sections folded into the
//! segment they continue, section headers, symbol and string tables), and writing them here keeps file offsets congruent with run addresses without
//! going through `object::write`'s generic two-phase writer. The JSON link map format is
//! documented in `docs/link-map-format.md`.

use std::fmt::Write as _;

use object::elf;
use rustc_hash::FxHashMap;

use super::layout::{veneer_call_sites, CallSite, Layout, OutSection, Piece};
use super::load::{Binding, SymSection};
use super::resolve::{Def, Resolved};
use crate::linkmap::{
    LinkMap, MapCaller, MapDiscarded, MapEntry, MapInputSection, MapOutputSection, MapRegion,
    MapSectionSymbol, MapSymbol, MapVeneer,
};

/// One symbol of the output symbol table.
#[derive(Debug, Clone)]
pub struct OutSymbol {
    pub name: String,
    pub value: u64,
    pub size: u64,
    pub st_type: u8,
    pub binding: Binding,
    pub hidden: bool,
    /// Output section index, or None for absolute.
    pub section: Option<usize>,
}

/// Every symbol of the image: locals of each object first (as ELF requires), then globals.
/// The section a symbol of output section `i` is written against. For a section left out
/// because it is empty, GNU ld's choice (`_bfd_nearby_section`): the kept section before or
/// after it, whichever would share its segment (allocated, loaded, writable, code), else the
/// following one.
fn kept_section(layout: &Layout, i: usize) -> Option<usize> {
    let kept = |j: &usize| {
        let s = &layout.sections[*j];
        !s.empty || s.size > 0
    };
    if kept(&i) {
        return Some(i);
    }
    let prev = (0..i).rev().find(kept);
    let next = (i + 1..layout.sections.len()).find(kept);
    let (Some(p), Some(n)) = (prev, next) else {
        return next.or(prev);
    };
    let (ps, ns, s) = (
        &layout.sections[p],
        &layout.sections[n],
        &layout.sections[i],
    );
    let loaded = |x: &super::layout::OutSection| x.alloc && !x.nobits;
    let best = if ps.alloc != ns.alloc || loaded(ps) != loaded(ns) {
        if ns.alloc != s.alloc || (loaded(ps) && !loaded(ns)) {
            p
        } else {
            n
        }
    } else if ps.write != ns.write {
        // The removed section counts as writable (it has no read-only inputs).
        if !ns.write {
            p
        } else {
            n
        }
    } else if ps.exec != ns.exec {
        if ns.exec {
            p
        } else {
            n
        }
    } else {
        n
    };
    Some(best)
}

/// A script symbol's type: that of the one symbol its expression names, through chains of
/// script assignments (GNU ld), else STT_NOTYPE.
fn script_symbol_type(layout: &Layout, r: &Resolved, name: &str) -> u8 {
    let mut name = name;
    for _ in 0..16 {
        let Some(from) = layout
            .script_symbols
            .get(name)
            .and_then(|s| s.type_from.as_deref())
        else {
            break;
        };
        if !layout.script_symbols.contains_key(from) {
            if let Some(Def::Object { obj, sym, .. }) = r.global(from).map(|g| g.def) {
                return r.objects[obj].symbols[sym].st_type;
            }
            break;
        }
        name = from;
    }
    elf::STT_NOTYPE.0
}

pub fn collect_symbols(layout: &Layout, r: &Resolved) -> Vec<OutSymbol> {
    let mut out = Vec::new();
    for (oi, o) in r.objects.iter().enumerate() {
        for (si, s) in o.symbols.iter().enumerate() {
            if s.binding != Binding::Local
                || s.name.is_empty()
                || s.st_type == elf::STT_SECTION.0
                || s.st_type == elf::STT_FILE.0
            {
                continue;
            }
            // Local symbols of a section left out for being empty go with it (GNU ld).
            let section = match s.section {
                SymSection::Section(sec) => match layout.placement[oi][sec as usize] {
                    Some((out, _)) if kept_section(layout, out) == Some(out) => Some(out),
                    _ => continue,
                },
                SymSection::Abs => None,
                _ => continue,
            };
            let Some(value) = layout.object_symbol_value(r, oi, si) else {
                continue;
            };
            out.push(OutSymbol {
                name: s.name.clone(),
                value,
                size: u64::from(s.size),
                st_type: s.st_type,
                binding: Binding::Local,
                hidden: false,
                section,
            });
        }
    }
    let mut globals = Vec::new();
    for g in &r.globals {
        if layout.script_symbols.contains_key(&g.name) {
            continue;
        }
        let Def::Object { obj, sym, weak } = g.def else {
            continue;
        };
        let s = &r.objects[obj].symbols[sym];
        let section = match s.section {
            SymSection::Section(sec) => match layout.placement[obj][sec as usize] {
                Some((out, _)) => kept_section(layout, out),
                None => continue,
            },
            _ => None,
        };
        let Some(value) = layout.object_symbol_value(r, obj, sym) else {
            continue;
        };
        globals.push(OutSymbol {
            name: g.name.clone(),
            value,
            size: u64::from(s.size),
            st_type: s.st_type,
            binding: if weak { Binding::Weak } else { Binding::Global },
            hidden: s.st_other & 3 == elf::STV_HIDDEN.0,
            section,
        });
    }
    for name in &layout.script_symbol_order {
        let s = &layout.script_symbols[name];
        globals.push(OutSymbol {
            name: name.clone(),
            value: s.value,
            size: 0,
            st_type: script_symbol_type(layout, r, name),
            binding: if s.hidden {
                Binding::Local
            } else {
                Binding::Global
            },
            hidden: s.hidden,
            section: s.section.and_then(|i| kept_section(layout, i)),
        });
    }
    // Hidden script symbols are local in an executable.
    let (mut local_hidden, globals): (Vec<_>, Vec<_>) = globals
        .into_iter()
        .partition(|s| s.binding == Binding::Local);
    out.append(&mut local_hidden);
    out.extend(layout.veneer_symbols().into_iter().map(|v| OutSymbol {
        name: v.name,
        value: v.value,
        size: v.size,
        st_type: v.st_type,
        binding: Binding::Local,
        hidden: false,
        section: Some(v.section),
    }));
    out.extend(globals);
    out
}

fn align_to(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

/// Serialises the executable. `contents[i]` are the bytes of `layout.sections[i]`.
pub fn elf_image(
    layout: &Layout,
    r: &Resolved,
    contents: &[Vec<u8>],
    symbols: &[OutSymbol],
    entry: u64,
) -> Vec<u8> {
    let emitted: Vec<usize> = (0..layout.sections.len())
        .filter(|&i| !layout.sections[i].empty || layout.sections[i].size > 0)
        .collect();
    let loadable: Vec<usize> = emitted
        .iter()
        .copied()
        .filter(|&i| layout.sections[i].alloc && layout.sections[i].size > 0)
        .collect();
    // Header index of each emitted output section (1-based, after the null header).
    let mut shndx: FxHashMap<usize, u32> = FxHashMap::default();
    for (k, &i) in emitted.iter().enumerate() {
        shndx.insert(i, k as u32 + 1);
    }
    let segments = segments(layout, &loadable);
    let mut buf = vec![0u8; 52 + 32 * segments.len()];
    // Section data.
    let mut offsets: FxHashMap<usize, usize> = FxHashMap::default();
    for &i in &emitted {
        let s = &layout.sections[i];
        let data = &contents[i];
        let align = (s.align as usize).max(4);
        let mut off = align_to(buf.len(), 4);
        if s.alloc {
            // Keep offset ≡ address (mod alignment), as loaders expect. Computed directly: an
            // address that is not 4-aligned (a byte-aligned orphan after 2-byte code) is only
            // reachable by an offset that is not 4-aligned either.
            off += ((s.vma as usize) % align + align - off % align) % align;
        }
        buf.resize(off, 0);
        offsets.insert(i, off);
        buf.extend_from_slice(data);
    }
    // Strings and symbols.
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 16];
    let mut num_local = 1u32;
    for s in symbols {
        let name = strtab.len() as u32;
        strtab.extend_from_slice(s.name.as_bytes());
        strtab.push(0);
        let bind = match s.binding {
            Binding::Local => elf::STB_LOCAL.0,
            Binding::Global => elf::STB_GLOBAL.0,
            Binding::Weak => elf::STB_WEAK.0,
        };
        if s.binding == Binding::Local {
            num_local += 1;
        }
        let shn = match s.section {
            Some(i) => shndx.get(&i).copied().unwrap_or(elf::SHN_ABS.0.into()),
            None => elf::SHN_ABS.0.into(),
        };
        symtab.extend_from_slice(&name.to_le_bytes());
        symtab.extend_from_slice(&(s.value as u32).to_le_bytes());
        symtab.extend_from_slice(&(s.size as u32).to_le_bytes());
        symtab.push((bind << 4) | (s.st_type & 0xf));
        symtab.push(if s.hidden { elf::STV_HIDDEN.0 } else { 0 });
        symtab.extend_from_slice(&(shn as u16).to_le_bytes());
    }
    let mut shstrtab = vec![0u8];
    let mut name_offsets = Vec::new();
    for &i in &emitted {
        name_offsets.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(layout.sections[i].name.as_bytes());
        shstrtab.push(0);
    }
    let extra_names: Vec<u32> = [".symtab", ".strtab", ".shstrtab"]
        .iter()
        .map(|n| {
            let o = shstrtab.len() as u32;
            shstrtab.extend_from_slice(n.as_bytes());
            shstrtab.push(0);
            o
        })
        .collect();
    let symtab_off = align_to(buf.len(), 4);
    buf.resize(symtab_off, 0);
    buf.extend_from_slice(&symtab);
    let strtab_off = buf.len();
    buf.extend_from_slice(&strtab);
    let shstrtab_off = buf.len();
    buf.extend_from_slice(&shstrtab);
    let shoff = align_to(buf.len(), 4);
    buf.resize(shoff, 0);
    let shnum = emitted.len() + 4;
    // Section headers.
    let mut sh = |name: u32,
                  ty: u32,
                  flags: u32,
                  addr: u64,
                  off: usize,
                  size: usize,
                  link: u32,
                  info: u32,
                  align: u64,
                  entsize: u32| {
        for v in [
            name,
            ty,
            flags,
            addr as u32,
            off as u32,
            size as u32,
            link,
            info,
            align as u32,
            entsize,
        ] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    };
    sh(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (k, &i) in emitted.iter().enumerate() {
        let s = &layout.sections[i];
        let mut flags = 0u32;
        if s.alloc && s.header_alloc {
            flags |= elf::SHF_ALLOC.0 as u32;
        }
        if s.exec {
            flags |= elf::SHF_EXECINSTR.0 as u32;
        }
        if s.write {
            flags |= elf::SHF_WRITE.0 as u32;
        }
        flags |= s.merge_flags as u32;
        if s.sh_type == elf::SHT_ARM_EXIDX.0 {
            // GNU ld keeps the unwind table's SHF_LINK_ORDER (its sh_link names the code).
            flags |= elf::SHF_LINK_ORDER.0 as u32;
        }
        let ty = if s.nobits {
            elf::SHT_NOBITS.0
        } else if s.sh_type == elf::SHT_NOBITS.0 {
            elf::SHT_PROGBITS.0
        } else {
            s.sh_type
        };
        let link = if s.sh_type == elf::SHT_ARM_EXIDX.0 {
            // sh_link of .ARM.exidx names the code it describes: the first code section.
            emitted
                .iter()
                .position(|&j| layout.sections[j].exec)
                .map_or(0, |p| p as u32 + 1)
        } else {
            0
        };
        let size = if s.nobits {
            s.size as usize
        } else {
            contents[i].len()
        };
        sh(
            name_offsets[k],
            ty,
            flags,
            if s.alloc { s.vma } else { 0 },
            offsets[&i],
            size,
            link,
            0,
            s.align,
            s.entsize as u32,
        );
    }
    let strtab_index = emitted.len() as u32 + 2;
    sh(
        extra_names[0],
        elf::SHT_SYMTAB.0,
        0,
        0,
        symtab_off,
        symtab.len(),
        strtab_index,
        num_local,
        4,
        16,
    );
    sh(
        extra_names[1],
        elf::SHT_STRTAB.0,
        0,
        0,
        strtab_off,
        strtab.len(),
        0,
        0,
        1,
        0,
    );
    sh(
        extra_names[2],
        elf::SHT_STRTAB.0,
        0,
        0,
        shstrtab_off,
        shstrtab.len(),
        0,
        0,
        1,
        0,
    );
    // File header.
    let e_flags = r.objects.first().map_or(0x0500_0000, |o| o.e_flags);
    let mut h = Vec::with_capacity(52);
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    h.extend_from_slice(&elf::ET_EXEC.0.to_le_bytes());
    h.extend_from_slice(&elf::EM_ARM.0.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&(entry as u32).to_le_bytes());
    h.extend_from_slice(&52u32.to_le_bytes());
    h.extend_from_slice(&(shoff as u32).to_le_bytes());
    h.extend_from_slice(&e_flags.to_le_bytes());
    for v in [
        52u16,
        32,
        segments.len() as u16,
        40,
        shnum as u16,
        shnum as u16 - 1,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    buf[..52].copy_from_slice(&h);
    // Program headers.
    for (k, seg) in segments.iter().enumerate() {
        let mut ph = Vec::with_capacity(32);
        for v in [
            elf::PT_LOAD.0,
            offsets[&seg.first] as u32,
            seg.vma as u32,
            seg.lma as u32,
            seg.filesz as u32,
            seg.memsz as u32,
            seg.flags,
            (seg.align as u32).max(4),
        ] {
            ph.extend_from_slice(&v.to_le_bytes());
        }
        let at = 52 + 32 * k;
        buf[at..at + 32].copy_from_slice(&ph);
    }
    buf
}

/// One PT_LOAD: an output section, with the NOBITS sections that follow it in memory.
struct Segment {
    first: usize,
    vma: u64,
    lma: u64,
    filesz: u64,
    memsz: u64,
    flags: u32,
    align: u64,
}

/// A PT_LOAD per allocated section, except that a NOBITS section (`.bss`, `.heap`, `.stack`,
/// NOLOAD) continuing the previous segment in both run and load address, with the same write
/// permission, only extends its memory size, as GNU ld does: no load segment, nothing to copy.
fn segments(layout: &Layout, loadable: &[usize]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for &i in loadable {
        let s = &layout.sections[i];
        let mut flags = elf::PF_R.0;
        if s.write {
            flags |= elf::PF_W.0;
        }
        if s.exec {
            flags |= elf::PF_X.0;
        }
        if let Some(p) = out.last_mut().filter(|p| {
            let gap = s.vma.wrapping_sub(p.vma + p.memsz);
            s.nobits
                && s.vma >= p.vma + p.memsz
                && gap < s.align.max(1)
                && s.lma.wrapping_sub(p.lma + p.memsz) == gap
                && (p.flags & elf::PF_W.0 != 0) == s.write
        }) {
            p.memsz = s.vma + s.size - p.vma;
            p.flags |= flags;
            p.align = p.align.max(s.align);
            continue;
        }
        out.push(Segment {
            first: i,
            vma: s.vma,
            lma: s.lma,
            filesz: if s.nobits { 0 } else { s.size },
            memsz: s.size,
            flags,
            align: s.align,
        });
    }
    out
}

fn kind_of(s: &OutSection) -> &'static str {
    if !s.alloc {
        "debug"
    } else if s.exec {
        "code"
    } else if s.nobits {
        "bss"
    } else if s.write {
        "data"
    } else {
        "rodata"
    }
}

/// Builds the JSON link map.
pub fn link_map(layout: &Layout, r: &Resolved, symbols: &[OutSymbol], entry: MapEntry) -> LinkMap {
    let region_name = |i: Option<usize>| i.map(|i| layout.regions[i].name.clone());
    let mut used = vec![0u64; layout.regions.len()];
    for s in layout.sections.iter().filter(|s| !s.empty) {
        if let Some(ri) = s.region {
            used[ri] = used[ri].max(s.vma + s.size - layout.regions[ri].origin);
        }
        if let Some(ri) = s.lma_region.filter(|&ri| Some(ri) != s.region && !s.nobits) {
            used[ri] = used[ri].max(s.lma + s.size - layout.regions[ri].origin);
        }
    }
    let regions = layout
        .regions
        .iter()
        .zip(used)
        .map(|(reg, used)| MapRegion {
            name: reg.name.clone(),
            origin: reg.origin,
            length: reg.length,
            attributes: reg.attrs.clone(),
            used,
        })
        .collect();
    // Symbols per input section.
    let mut sec_syms: FxHashMap<(usize, u32), Vec<MapSectionSymbol>> = FxHashMap::default();
    for (oi, o) in r.objects.iter().enumerate() {
        for (si, s) in o.symbols.iter().enumerate() {
            let SymSection::Section(sec) = s.section else {
                continue;
            };
            if s.name.is_empty()
                || s.name.starts_with('$')
                || !(s.st_type == elf::STT_FUNC.0 || s.st_type == elf::STT_OBJECT.0)
            {
                continue;
            }
            if s.binding != Binding::Local
                && !matches!(r.global(&s.name).map(|g| g.def), Some(Def::Object { obj, sym, .. }) if obj == oi && sym == si)
            {
                continue;
            }
            if let Some(address) = layout.object_symbol_value(r, oi, si) {
                sec_syms
                    .entry((oi, sec))
                    .or_default()
                    .push(MapSectionSymbol {
                        name: s.name.clone(),
                        address,
                        size: u64::from(s.size),
                    });
            }
        }
    }
    let mut output_sections = Vec::new();
    let mut input_sections = Vec::new();
    let mut veneers = Vec::new();
    for s in layout.sections.iter().filter(|s| !s.empty) {
        let sites = veneer_call_sites(layout, r, s);
        output_sections.push(MapOutputSection {
            name: s.name.clone(),
            address: s.vma,
            load_address: s.lma,
            size: s.size,
            align: s.align,
            kind: kind_of(s).to_string(),
            region: region_name(s.region),
            load_region: region_name(s.lma_region),
        });
        for (piece, off) in &s.pieces {
            match *piece {
                Piece::Input { obj, sec } => {
                    let o = &r.objects[obj];
                    let is = &o.sections[sec as usize];
                    let in_kind = if !is.is_alloc() {
                        "debug"
                    } else if is.is_exec() {
                        "code"
                    } else if is.is_nobits() {
                        "bss"
                    } else if is.is_write() {
                        "data"
                    } else {
                        "rodata"
                    };
                    input_sections.push(MapInputSection {
                        object: o.origin.path.display().to_string(),
                        member: o.origin.member.clone(),
                        section: is.name.clone(),
                        output_section: s.name.clone(),
                        region: region_name(s.region),
                        load_region: region_name(s.lma_region),
                        address: s.vma + off,
                        load_address: s.lma + off,
                        size: is.size,
                        align: is.align,
                        kind: in_kind.to_string(),
                        symbols: sec_syms.remove(&(obj, sec)).unwrap_or_default(),
                    });
                }
                Piece::Veneer { target } => {
                    let address = s.vma + off;
                    veneers.push(MapVeneer {
                        address,
                        size: 8,
                        target: target & !1,
                        target_symbol: symbols
                            .iter()
                            .find(|sym| sym.value == target && sym.st_type == elf::STT_FUNC.0)
                            .map(|sym| sym.name.clone()),
                        output_section: s.name.clone(),
                        region: region_name(s.region),
                        callers: veneer_callers(r, sites.get(&address).map_or(&[], |v| v)),
                    });
                }
                Piece::Data { .. } => {}
            }
        }
    }
    let mut discarded = Vec::new();
    for (oi, o) in r.objects.iter().enumerate() {
        for (si, is) in o.sections.iter().enumerate() {
            if si == 0 || !is.is_content() || !is.is_alloc() || layout.placement[oi][si].is_some() {
                continue;
            }
            discarded.push(MapDiscarded {
                object: o.origin.path.display().to_string(),
                member: o.origin.member.clone(),
                section: is.name.clone(),
                size: is.size,
                reason: if layout.live[oi][si] { "discard" } else { "gc" }.to_string(),
            });
        }
    }
    let symbols = symbols
        .iter()
        .filter(|s| !s.name.starts_with('$'))
        .map(|s| MapSymbol {
            name: s.name.clone(),
            address: s.value,
            size: s.size,
            kind: match s.st_type {
                t if t == elf::STT_FUNC.0 => "func",
                t if t == elf::STT_OBJECT.0 => "object",
                _ => "notype",
            }
            .to_string(),
            binding: match s.binding {
                Binding::Local => "local",
                Binding::Global => "global",
                Binding::Weak => "weak",
            }
            .to_string(),
            output_section: s.section.map(|i| layout.sections[i].name.clone()),
        })
        .collect();
    LinkMap {
        format: crate::linkmap::FORMAT.to_string(),
        version: crate::linkmap::VERSION,
        entry: Some(entry),
        regions,
        output_sections,
        input_sections,
        veneers,
        discarded,
        symbols,
    }
}

fn veneer_callers(r: &Resolved, sites: &[CallSite]) -> Vec<MapCaller> {
    sites
        .iter()
        .map(|&(obj, si, offset, place)| MapCaller {
            object: r.objects[obj].origin.path.display().to_string(),
            member: r.objects[obj].origin.member.clone(),
            section: r.objects[obj].sections[si as usize].name.clone(),
            offset: u64::from(offset),
            address: place,
        })
        .collect()
}

/// A GNU ld-style map: memory configuration, then output sections with their input sections and
/// symbols.
pub fn gnu_map(layout: &Layout, r: &Resolved, map: &LinkMap) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Memory Configuration\n");
    let _ = writeln!(
        out,
        "{:<16} {:<18} {:<18} Attributes",
        "Name", "Origin", "Length"
    );
    for reg in &layout.regions {
        let _ = writeln!(
            out,
            "{:<16} 0x{:016x} 0x{:016x} {}",
            reg.name, reg.origin, reg.length, reg.attrs
        );
    }
    let _ = writeln!(
        out,
        "{:<16} 0x{:016x} 0x{:016x}\n",
        "*default*", 0, 0xffff_ffffu64
    );
    let _ = writeln!(out, "Linker script and memory map\n");
    // The JSON map's input sections by (address, name), in map order, so each piece finds its
    // symbols in one look-up rather than a scan of every input section (quadratic at ×10).
    let mut by_place: FxHashMap<(u64, &str), Vec<usize>> = FxHashMap::default();
    for (i, m) in map.input_sections.iter().enumerate() {
        by_place
            .entry((m.address, m.section.as_str()))
            .or_default()
            .push(i);
    }
    for s in layout.sections.iter().filter(|s| !s.empty) {
        let _ = write!(out, "\n{:<15}", s.name);
        if s.name.len() >= 15 {
            let _ = write!(out, "\n{:15}", "");
        }
        let _ = write!(out, " 0x{:08x} {:>10x}", s.vma, s.size);
        if s.lma != s.vma {
            let _ = write!(out, " load address 0x{:08x}", s.lma);
        }
        let _ = writeln!(out);
        for (piece, off) in &s.pieces {
            match *piece {
                Piece::Input { obj, sec } => {
                    let o = &r.objects[obj];
                    let is = &o.sections[sec as usize];
                    let _ = write!(out, " {:<14}", is.name);
                    if is.name.len() >= 14 {
                        let _ = write!(out, "\n {:14}", "");
                    }
                    let _ = writeln!(out, " 0x{:08x} {:>10x} {}", s.vma + off, is.size, o.origin);
                    let matches = by_place
                        .get(&(s.vma + off, is.name.as_str()))
                        .map_or(&[][..], Vec::as_slice);
                    for sym in matches.iter().flat_map(|&i| &map.input_sections[i].symbols) {
                        let _ = writeln!(
                            out,
                            " {:14} 0x{:08x}                {}",
                            "", sym.address, sym.name
                        );
                    }
                }
                Piece::Data { size, .. } => {
                    let _ = writeln!(
                        out,
                        " {:<14} 0x{:08x} {:>10x}",
                        "*fill/data*",
                        s.vma + off,
                        size
                    );
                }
                Piece::Veneer { target } => {
                    let _ = writeln!(
                        out,
                        " {:<14} 0x{:08x} {:>10x} veneer to 0x{:08x}",
                        "*veneer*",
                        s.vma + off,
                        8,
                        target & !1
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "\nScript symbols\n");
    for name in &layout.script_symbol_order {
        let _ = writeln!(
            out,
            " 0x{:08x}                {name}",
            layout.script_symbols[name].value
        );
    }
    out
}
