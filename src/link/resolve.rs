//! Symbol resolution: the global symbol table, lazy archive member extraction (with groups and
//! `--whole-archive`), COMMON allocation and `--gc-sections` reachability.

use object::elf;
use rustc_hash::{FxHashMap, FxHashSet};

use super::load::{Archive, Binding, Bytes, InputSection, LoadError, Object, SymSection};

/// What the linker read, in link order.
pub enum Loaded {
    Object(Object),
    /// `checked`: opened through `-l` or while `-Bstatic`, where GNU ld reads the first member
    /// to check its architecture before anything else (which matters for its section ids).
    Archive {
        archive: Archive,
        whole: bool,
        checked: bool,
    },
    GroupStart,
    GroupEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Def {
    Undefined,
    /// Defined by symbol `sym` of object `obj`.
    Object {
        obj: usize,
        sym: usize,
        weak: bool,
    },
    Common {
        obj: usize,
        sym: usize,
        size: u32,
        align: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Global {
    pub name: String,
    pub def: Def,
    /// Referenced by a non-weak undefined symbol (drives archive extraction and errors).
    pub strong_ref: bool,
    /// Objects that reference it (for error messages), in load order.
    pub referenced_by: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(
        "multiple definition of `{name}`: first defined in {first}, again in {second} (remove one, \
         make one weak, or link with -z muldefs to keep the first as GNU ld then does)"
    )]
    MultipleDefinition {
        name: String,
        first: String,
        second: String,
    },
}

#[derive(Default)]
pub struct Resolved {
    pub objects: Vec<Object>,
    pub map: FxHashMap<String, usize>,
    pub globals: Vec<Global>,
    /// `-z muldefs` / `--allow-multiple-definition`: the first definition wins.
    pub allow_multiple_definition: bool,
    /// COMDAT signatures seen, with the object whose group was kept.
    pub comdats: FxHashMap<String, usize>,
    /// Per object, the BFD section id GNU ld gives its first section (see
    /// [`super::stub_order`]), and the id the next file will start at.
    pub section_id_base: Vec<u32>,
    next_section_id: u32,
    /// Per object and symbol, the index in `globals` of a non-local symbol (`u32::MAX`:
    /// local or not interned), filled once resolution is done so that relocation and GC look
    /// names up by number instead of hashing them for every relocation.
    global_of: Vec<Vec<u32>>,
}

impl Resolved {
    pub fn global(&self, name: &str) -> Option<&Global> {
        self.map.get(name).map(|&i| &self.globals[i])
    }

    /// The index in `globals` of symbol `sym` of object `obj`, if it is not local.
    pub fn global_index(&self, obj: usize, sym: u32) -> Option<usize> {
        match self.global_of.get(obj).and_then(|g| g.get(sym as usize)) {
            Some(&u32::MAX) => None,
            Some(&i) => Some(i as usize),
            None => {
                let s = &self.objects[obj].symbols[sym as usize];
                (s.binding != Binding::Local)
                    .then(|| self.map.get(&s.name).copied())
                    .flatten()
            }
        }
    }

    /// Fills `global_of` (see there).
    fn index_globals(&mut self) {
        self.global_of = self
            .objects
            .iter()
            .map(|o| {
                o.symbols
                    .iter()
                    .map(|s| match s.binding {
                        Binding::Local => u32::MAX,
                        _ => self.map.get(&s.name).map_or(u32::MAX, |&i| i as u32),
                    })
                    .collect()
            })
            .collect();
    }

    fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.map.get(name) {
            return i;
        }
        let i = self.globals.len();
        self.globals.push(Global {
            name: name.to_string(),
            def: Def::Undefined,
            strong_ref: false,
            referenced_by: Vec::new(),
        });
        self.map.insert(name.to_string(), i);
        i
    }

    /// Adds a root reference (`-u`, `-e`, EXTERN): a strong undefined reference.
    pub fn add_root(&mut self, name: &str) {
        let i = self.intern(name);
        self.globals[i].strong_ref = true;
    }

    fn needs_definition(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|&i| {
            let g = &self.globals[i];
            g.strong_ref && g.def == Def::Undefined
        })
    }

    /// Keeps the first COMDAT group of each signature; later groups' sections are discarded and
    /// their global symbols become references to the kept definitions.
    fn drop_duplicate_groups(&mut self, obj: &mut Object, oi: usize) {
        let mut dropped: Vec<u32> = Vec::new();
        for g in &obj.groups {
            if self.comdats.contains_key(&g.signature) {
                dropped.extend(&g.members);
            } else {
                self.comdats.insert(g.signature.clone(), oi);
            }
        }
        if dropped.is_empty() {
            return;
        }
        for &m in &dropped {
            obj.sections[m as usize].discarded = true;
        }
        for s in &mut obj.symbols {
            if s.binding != Binding::Local
                && matches!(s.section, SymSection::Section(i) if dropped.contains(&i))
            {
                s.section = SymSection::Undef;
                s.binding = Binding::Weak;
            }
        }
    }

    /// GNU ld's BFD section id of section `sec` of object `obj` (None for sections BFD does
    /// not make, such as relocations, or that hotlink added, such as COMMON).
    pub fn section_id(&self, obj: usize, sec: u32) -> Option<u32> {
        let ordinal = (*self.objects[obj].bfd_ordinals.get(sec as usize)?)?;
        Some(self.section_id_base[obj] + ordinal)
    }

    /// Takes section ids for an object BFD reads now (`at` None) or read earlier at `at`.
    fn take_section_ids(&mut self, obj: &Object, at: Option<u32>) -> u32 {
        at.unwrap_or_else(|| {
            let base = self.next_section_id;
            self.next_section_id += obj.bfd_section_count();
            base
        })
    }

    fn add_object(&mut self, obj: Object) -> Result<(), ResolveError> {
        self.add_object_at(obj, None)
    }

    /// Adds an object whose BFD section ids start at `ids_at`, or at the next free id.
    fn add_object_at(&mut self, mut obj: Object, ids_at: Option<u32>) -> Result<(), ResolveError> {
        let oi = self.objects.len();
        let base = self.take_section_ids(&obj, ids_at);
        self.section_id_base.push(base);
        self.drop_duplicate_groups(&mut obj, oi);
        for (si, s) in obj.symbols.iter().enumerate() {
            if s.binding == Binding::Local || s.name.is_empty() {
                continue;
            }
            let gi = self.intern(&s.name);
            let g = &mut self.globals[gi];
            match s.section {
                SymSection::Undef => {
                    if s.binding != Binding::Weak {
                        g.strong_ref = true;
                    }
                    if g.referenced_by.len() < 8 {
                        g.referenced_by.push(oi);
                    }
                }
                SymSection::Common => match g.def {
                    Def::Undefined | Def::Object { weak: true, .. } => {
                        g.def = Def::Common {
                            obj: oi,
                            sym: si,
                            size: s.size,
                            align: s.value.max(1),
                        }
                    }
                    Def::Common { size, align, .. } => {
                        if s.size > size {
                            g.def = Def::Common {
                                obj: oi,
                                sym: si,
                                size: s.size,
                                align: align.max(s.value),
                            };
                        }
                    }
                    Def::Object { weak: false, .. } => {}
                },
                SymSection::Abs | SymSection::Section(_) => {
                    let weak = s.binding == Binding::Weak;
                    match g.def {
                        Def::Undefined | Def::Common { .. } => {
                            if !(weak && matches!(g.def, Def::Common { .. })) {
                                g.def = Def::Object {
                                    obj: oi,
                                    sym: si,
                                    weak,
                                };
                            }
                        }
                        Def::Object { weak: true, .. } if !weak => {
                            g.def = Def::Object {
                                obj: oi,
                                sym: si,
                                weak,
                            }
                        }
                        Def::Object {
                            obj: first,
                            weak: false,
                            ..
                        } if !weak && !self.allow_multiple_definition => {
                            return Err(ResolveError::MultipleDefinition {
                                name: s.name.clone(),
                                first: self.objects[first].origin.to_string(),
                                second: obj.origin.to_string(),
                            });
                        }
                        Def::Object { .. } => {}
                    }
                }
            }
        }
        self.objects.push(obj);
        Ok(())
    }

    /// Extracts members of `archive` that define currently needed symbols, as GNU ld does:
    /// passes over the symbol index in its order, extracting as it goes, until a pass extracts
    /// nothing. The order matters: it is the order the members' sections are laid out in.
    fn scan_archive(
        &mut self,
        archive: &Archive,
        loaded: &mut FxHashSet<usize>,
        probe: Option<(usize, u32)>,
    ) -> Result<bool, ResolveError> {
        let mut any = false;
        loop {
            let mut progress = false;
            for (name, member) in &archive.symbols {
                if loaded.contains(member) || !self.needs_definition(name) {
                    continue;
                }
                loaded.insert(*member);
                let obj = archive.load_member(*member)?;
                self.add_object_at(obj, probed_at(probe, *member))?;
                progress = true;
            }
            if !progress {
                return Ok(any);
            }
            any = true;
        }
    }

    /// GNU ld reads the first member of an archive it opens through `-l` to check that it
    /// suits the output (`ld/ldfile.c`); BFD gives that member's sections their ids then, and
    /// keeps the member, ids included, for when it is extracted. Returns the member and the id
    /// of its first section, if it is an object.
    fn probe_first_member(&mut self, archive: &Archive) -> Option<(usize, u32)> {
        let first = archive
            .members
            .iter()
            .position(|m| !matches!(m.2.as_str(), "" | "/" | "//"))?;
        let obj = archive.load_member(first).ok()?;
        Some((first, self.take_section_ids(&obj, None)))
    }

    /// Turns COMMON symbols into space in a `COMMON` section of the object that won.
    fn allocate_commons(&mut self) {
        let mut commons: Vec<(usize, usize, u32, u32)> = self
            .globals
            .iter()
            .filter_map(|g| match g.def {
                Def::Common {
                    obj,
                    sym,
                    size,
                    align,
                } => Some((obj, sym, size, align)),
                _ => None,
            })
            .collect();
        commons.sort_unstable();
        let mut section_of: FxHashMap<usize, usize> = FxHashMap::default();
        for (obj, sym, size, align) in commons {
            let o = &mut self.objects[obj];
            let sec = *section_of.entry(obj).or_insert_with(|| {
                o.sections.push(InputSection {
                    name: "COMMON".into(),
                    sh_type: elf::SHT_NOBITS.0,
                    flags: elf::SHF_ALLOC.0 | elf::SHF_WRITE.0,
                    align: 1,
                    size: 0,
                    entsize: 0,
                    data: Bytes::empty(),
                    relocs: Vec::new(),
                    link: 0,
                    discarded: false,
                });
                o.sections.len() - 1
            });
            let align = u64::from(align.max(1)).next_power_of_two();
            let s = &mut o.sections[sec];
            let offset = s.size.next_multiple_of(align);
            s.size = offset + u64::from(size);
            s.align = s.align.max(align);
            let symbol = &mut o.symbols[sym];
            symbol.section = SymSection::Section(sec as u32);
            symbol.value = offset as u32;
        }
        for g in &mut self.globals {
            if let Def::Common { obj, sym, .. } = g.def {
                g.def = Def::Object {
                    obj,
                    sym,
                    weak: false,
                };
            }
        }
    }

    /// Where a relocation's symbol is defined: (object, section) if in a section.
    pub fn symbol_section(&self, obj: usize, sym: u32) -> Option<(usize, u32)> {
        let s = &self.objects[obj].symbols[sym as usize];
        let (o, s) = if s.binding == Binding::Local {
            (obj, s)
        } else {
            match self.globals[self.global_index(obj, sym)?].def {
                Def::Object { obj, sym, .. } => (obj, &self.objects[obj].symbols[sym]),
                _ => return None,
            }
        };
        match s.section {
            SymSection::Section(sec) => Some((o, sec)),
            _ => None,
        }
    }
}

/// Where the sections of archive member `member` got their ids, if the archive's check read it.
fn probed_at(probe: Option<(usize, u32)>, member: usize) -> Option<u32> {
    probe.filter(|p| p.0 == member).map(|p| p.1)
}

/// Reads everything: objects are always loaded, archive members on demand.
pub fn resolve(
    inputs: Vec<Loaded>,
    roots: &[String],
    allow_multiple_definition: bool,
) -> Result<Resolved, ResolveError> {
    let mut r = Resolved {
        allow_multiple_definition,
        ..Resolved::default()
    };
    for root in roots {
        r.add_root(root);
    }
    r.next_section_id = super::stub_order::FIRST_INPUT_SECTION_ID;
    // Each archive read, the members extracted from it, and its checked first member.
    type Opened = (Archive, FxHashSet<usize>, Option<(usize, u32)>);
    let mut archives: Vec<Opened> = Vec::new();
    let mut group_start: Option<usize> = None;
    for input in inputs {
        match input {
            Loaded::Object(o) => r.add_object(o)?,
            Loaded::Archive {
                archive,
                whole,
                checked,
            } => {
                let probe = if checked {
                    r.probe_first_member(&archive)
                } else {
                    None
                };
                let mut loaded = FxHashSet::default();
                if whole {
                    for m in 0..archive.members.len() {
                        // The symbol table member and long-name table are not objects.
                        let name = &archive.members[m].2;
                        if name.is_empty() || name == "/" || name == "//" {
                            continue;
                        }
                        loaded.insert(m);
                        r.add_object_at(archive.load_member(m)?, probed_at(probe, m))?;
                    }
                } else {
                    r.scan_archive(&archive, &mut loaded, probe)?;
                }
                archives.push((archive, loaded, probe));
            }
            Loaded::GroupStart => group_start = Some(archives.len()),
            Loaded::GroupEnd => {
                let start = group_start.take().unwrap_or(archives.len());
                // Rescan the group's archives until a whole pass extracts nothing.
                loop {
                    let mut any = false;
                    for (archive, loaded, probe) in &mut archives[start..] {
                        any |= r.scan_archive(archive, loaded, *probe)?;
                    }
                    if !any {
                        break;
                    }
                }
            }
        }
    }
    r.allocate_commons();
    r.index_globals();
    Ok(r)
}

/// `--gc-sections`: which input sections are reachable from the roots through relocations.
/// Non-allocated sections are never collected. `.ARM.exidx` sections follow the code they describe.
pub fn live_sections(r: &Resolved, roots: &[(usize, u32)]) -> Vec<Vec<bool>> {
    let mut live: Vec<Vec<bool>> = r
        .objects
        .iter()
        .map(|o| vec![false; o.sections.len()])
        .collect();
    // exidx sections by (object, linked section).
    let mut exidx: FxHashMap<(usize, u32), Vec<u32>> = FxHashMap::default();
    let mut work: Vec<(usize, u32)> = roots.to_vec();
    for (oi, o) in r.objects.iter().enumerate() {
        for (si, s) in o.sections.iter().enumerate() {
            if s.sh_type == elf::SHT_ARM_EXIDX.0 {
                exidx.entry((oi, s.link)).or_default().push(si as u32);
            }
            // Non-allocated sections (debug info) are kept but are not roots: their
            // relocations must not keep code alive.
            if !s.is_alloc() {
                live[oi][si] = true;
                continue;
            }
            // As GNU ld: notes and SHF_GNU_RETAIN sections are roots; constructor and
            // destructor tables (`.init_array*`, crtbegin's `.fini_array`) are not, unless the
            // script KEEPs them.
            let always = s.sh_type == elf::SHT_NOTE.0 || s.flags & elf::SHF_GNU_RETAIN.0 != 0;
            if always && s.is_content() {
                work.push((oi, si as u32));
            }
        }
    }
    while let Some((oi, si)) = work.pop() {
        let Some(flag) = live.get_mut(oi).and_then(|l| l.get_mut(si as usize)) else {
            continue;
        };
        if *flag {
            continue;
        }
        *flag = true;
        let sec = &r.objects[oi].sections[si as usize];
        for rel in &sec.relocs {
            if let Some(target) = r.symbol_section(oi, rel.sym) {
                work.push(target);
            }
        }
        if let Some(ex) = exidx.get(&(oi, si)) {
            work.extend(ex.iter().map(|&e| (oi, e)));
        }
    }
    live
}
