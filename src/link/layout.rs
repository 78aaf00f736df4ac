//! Layout: input sections into the script's output sections, orphans as GNU ld places them,
//! addresses (VMA and LMA) in memory regions, script symbols, and the overflow/ASSERT checks.
//! It takes the plan's [`Move`]s as input (made by `place` from the plan), and answers the
//! questions later stages ask of the finished layout: a symbol's address ([`target`]), which
//! branches go through a veneer ([`veneer_call_sites`]), which function is at an address.
//!
//! The script is evaluated in passes until symbol values and section addresses stop changing, so
//! forward references (`SIZEOF(.data)` before `.data`, `__etext` used in an earlier AT()) work.

use object::elf;
use rustc_hash::{FxHashMap, FxHashSet};

use super::arm::{branch_reaches, is_long_branch, R_ARM_NONE};
use super::load::{Binding, InputSection, SymSection};
use super::regions::{eval_regions, Region};
use super::resolve::{Def, Resolved};
use super::script::{
    glob_match, AssignOp, Assignment, Command, EvalContext, Expr, ExprKind, InputSpec, OutputItem,
    OutputSection, OutputType, Script, ScriptError, SectionsItem, SortKind, Visibility,
};
use super::stub_order::StubSymbol;

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error("{0}")]
    Other(String),
}

/// Something placed in an output section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    Input {
        obj: usize,
        sec: u32,
    },
    /// BYTE/SHORT/LONG/QUAD: item index into the output section statement.
    Data {
        item: usize,
        size: u8,
    },
    /// A long-branch veneer (8 bytes) to Thumb address `target` (bit 0 set).
    Veneer {
        target: u64,
    },
}

#[derive(Debug, Clone)]
pub struct OutSection {
    pub name: String,
    pub vma: u64,
    pub lma: u64,
    pub size: u64,
    pub align: u64,
    pub exec: bool,
    pub write: bool,
    pub alloc: bool,
    /// SHF_ALLOC in the section header. Off only where GNU ld leaves it off while still giving
    /// the section an address: a section of assignments only that does not move `.`.
    pub header_alloc: bool,
    /// No file contents (only NOBITS inputs, or NOLOAD).
    pub nobits: bool,
    pub sh_type: u32,
    /// SHF_MERGE/SHF_STRINGS and the entry size, kept as GNU ld does only when every input
    /// section has the same ones (`.comment`, `.debug_str`: `MS`, entry size 1).
    pub merge_flags: u64,
    pub entsize: u64,
    pub region: Option<usize>,
    pub lma_region: Option<usize>,
    /// Fill pattern for gaps, big-endian, `fill_len` bytes long (1 to 4).
    pub fill: u32,
    pub fill_len: u8,
    /// Pieces with their offsets from `vma`.
    pub pieces: Vec<(Piece, u64)>,
    /// Data values for `Piece::Data`, by piece index.
    pub data_values: FxHashMap<usize, u64>,
    /// Index into the script's output section statements (None for orphans).
    stmt: Option<usize>,
    /// Input sections assigned before layout, in order.
    inputs: Vec<(usize, u32)>,
    /// For script sections: which input section description item took each input.
    input_item: FxHashMap<(usize, u32), usize>,
    /// Sections with nothing in them are not emitted (as with GNU ld).
    pub empty: bool,
    /// The veneers this section holds, in GNU ld's order (see [`Layout::order_veneers`]).
    pub veneers: Vec<Veneer>,
}

/// A long-branch veneer an output section holds. As in GNU ld, there is one per target symbol
/// and output section (stub group): two names for one address get two veneers.
#[derive(Debug, Clone)]
pub struct Veneer {
    /// Thumb address it branches to (bit 0 set).
    pub target: u64,
    /// The symbol GNU ld keys and orders its stub by.
    symbol: StubSymbol,
    /// The stub's symbol in the output, `__<target symbol>_veneer` as GNU ld names it.
    name: String,
    /// When it was made, across the link: GNU ld's stub table insertion order.
    created: usize,
    /// Offset in its output section, as of the last layout pass.
    offset: u64,
}

/// A local symbol GNU ld writes for a veneer: its function symbol or a mapping symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeneerSymbol {
    /// Output section index.
    pub section: usize,
    pub name: String,
    pub value: u64,
    pub size: u64,
    pub st_type: u8,
}

/// A symbol defined by the script, `--defsym` or PROVIDE.
#[derive(Debug, Clone)]
pub struct ScriptSymbol {
    pub value: u64,
    pub section: Option<usize>,
    pub hidden: bool,
    /// The one symbol its expression names (`PROVIDE(DefaultHandler = DefaultHandler_)`):
    /// GNU ld gives the new symbol that symbol's type (a function stays STT_FUNC).
    pub type_from: Option<String>,
}

pub struct Layout {
    pub regions: Vec<Region>,
    pub sections: Vec<OutSection>,
    /// (object, section) → (output section, offset) for placed input sections.
    pub placement: Vec<Vec<Option<(usize, u64)>>>,
    pub script_symbols: FxHashMap<String, ScriptSymbol>,
    /// Order in which script symbols were first defined (for a stable symbol table).
    pub script_symbol_order: Vec<String>,
    pub entry: Option<String>,
    pub live: Vec<Vec<bool>>,
    /// `.ARM.exidx` input sections left out because their code is beyond R_ARM_PREL31's ±1 GB
    /// from the unwind table (ITCM code with the table in XIP flash).
    pub dropped_exidx: Vec<(usize, u32)>,
    /// Merge adjacent `EXIDX_CANTUNWIND` (and identical inline) unwind entries, as GNU ld does
    /// unless `--no-merge-exidx-entries`.
    merge_exidx: bool,
    /// For `.ARM.exidx` input sections that lost entries to merging: which 8-byte entries stay.
    pub exidx_kept: FxHashMap<(usize, u32), Vec<bool>>,
    /// SHF_MERGE input sections with their duplicate strings and constants removed.
    pub merges: super::merge::Merges,
    /// What GNU ld would warn about while merging `.ARM.attributes` (wchar_t, enum sizes).
    pub attribute_warnings: Vec<String>,
    /// Veneers made so far (numbers them in creation order).
    veneers_made: usize,
}

/// One statement of the flattened script, in evaluation order.
enum Stmt<'s> {
    Assign(&'s Assignment),
    Assert(&'s super::script::Assert),
    Output(&'s OutputSection),
}

struct Flat<'s> {
    stmts: Vec<Stmt<'s>>,
    outputs: Vec<&'s OutputSection>,
    aliases: FxHashMap<String, String>,
}

fn flatten(script: &Script) -> Flat<'_> {
    let mut stmts = Vec::new();
    let mut outputs = Vec::new();
    let mut aliases = FxHashMap::default();
    for c in &script.commands {
        match c {
            Command::Assign(a) => stmts.push(Stmt::Assign(a)),
            Command::Assert(a) => stmts.push(Stmt::Assert(a)),
            Command::RegionAlias { alias, region } => {
                aliases.insert(alias.clone(), region.clone());
            }
            Command::Sections(items) => {
                for item in items {
                    match item {
                        SectionsItem::Assign(a) => stmts.push(Stmt::Assign(a)),
                        SectionsItem::Assert(a) => stmts.push(Stmt::Assert(a)),
                        SectionsItem::Output(o) => {
                            stmts.push(Stmt::Output(o));
                            outputs.push(&**o);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Flat {
        stmts,
        outputs,
        aliases,
    }
}

/// The file name an input file pattern is matched against, and the archive member if any.
fn matches_file(pattern: &str, obj_path: &str, member: Option<&str>) -> bool {
    if let Some((archive_pat, member_pat)) = pattern.split_once(':') {
        let Some(member) = member else {
            return false;
        };
        (archive_pat.is_empty() || glob_match(archive_pat, obj_path))
            && (member_pat.is_empty() || glob_match(member_pat, member))
    } else {
        match member {
            // A plain pattern matches a member by its name too (`*crt0.o` vs `libc.a(crt0.o)`)
            // only for `*`; GNU ld matches plain patterns against the archive member name.
            Some(m) => glob_match(pattern, m) || pattern == "*",
            None => glob_match(pattern, obj_path),
        }
    }
}

pub fn spec_matches_file(spec: &InputSpec, path: &str, member: Option<&str>) -> bool {
    matches_file(&spec.file, path, member)
        && !spec
            .exclude_files
            .iter()
            .any(|e| matches_file(e, path, member))
}

/// Class of a section for orphan placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Code,
    ReadOnly,
    Data,
    Bss,
    NonAlloc,
}

fn class_of(s: &InputSection) -> Class {
    if !s.is_alloc() {
        Class::NonAlloc
    } else if s.is_exec() {
        Class::Code
    } else if s.is_nobits() {
        Class::Bss
    } else if s.is_write() {
        Class::Data
    } else {
        Class::ReadOnly
    }
}

impl Layout {
    /// Lays out `r`'s objects according to `script`. `keep_roots` receives the KEEP sections.
    pub fn new(
        script: &Script,
        r: &Resolved,
        gc: bool,
        gc_roots: &[String],
        defsyms: &[(String, Expr)],
        moves: &[Move],
        merge_exidx: bool,
    ) -> Result<Layout, LayoutError> {
        let flat = flatten(script);
        let regions = eval_regions(script)?;
        // 1. Match input sections to output section statements (first match wins), then move
        //    the planned ones.
        let (mut assigned, keep) = assign_inputs(&flat, r);
        apply_moves(&flat, &mut assigned, moves)?;
        // 2. Garbage collection.
        let live = if gc {
            let mut roots = keep;
            // As GNU ld: the entry, `-u` and EXTERN symbols, ELF's init/fini functions, and every
            // symbol a script expression uses (PROVIDE aliases included) keep their sections.
            let script_refs = script_symbol_refs(&flat, r);
            let names = gc_roots
                .iter()
                .map(String::as_str)
                .chain(["_init", "_fini"])
                .chain(script_refs.iter().map(String::as_str));
            for name in names {
                if let Some(g) = r.global(name) {
                    if let Def::Object { obj, sym, .. } = g.def {
                        if let SymSection::Section(s) = r.objects[obj].symbols[sym].section {
                            roots.push((obj, s));
                        }
                    }
                }
            }
            super::resolve::live_sections(r, &roots)
        } else {
            r.objects
                .iter()
                .map(|o| vec![true; o.sections.len()])
                .collect()
        };
        let mut layout = Layout {
            regions,
            sections: Vec::new(),
            placement: r
                .objects
                .iter()
                .map(|o| vec![None; o.sections.len()])
                .collect(),
            script_symbols: FxHashMap::default(),
            script_symbol_order: Vec::new(),
            entry: None,
            live,
            dropped_exidx: Vec::new(),
            merge_exidx,
            exidx_kept: FxHashMap::default(),
            merges: super::merge::Merges::default(),
            attribute_warnings: Vec::new(),
            veneers_made: 0,
        };
        for c in &script.commands {
            if let Command::Entry(e) = c {
                layout.entry = Some(e.clone());
            }
        }
        layout.build_sections(&flat, r, assigned);
        let output_of: FxHashMap<(usize, u32), usize> = layout
            .sections
            .iter()
            .enumerate()
            .flat_map(|(oi, sec)| sec.inputs.iter().map(move |&key| (key, oi)))
            .collect();
        layout.merges =
            super::merge::Merges::compute(r, &layout.live, &|key| output_of.get(&key).copied());
        layout.merge_attributes(r)?;
        for round in 0..16 {
            layout.run_passes(&flat, r, defsyms)?;
            // Early rounds drop veneers whose target moved (they would be stale, keyed by an old
            // address); later rounds only add, so the layout cannot oscillate.
            let changed = layout.update_veneers(r, round < 8);
            if !changed && !layout.drop_unreachable_exidx(r) {
                return Ok(layout);
            }
        }
        Err(LayoutError::Other(
            "veneer placement did not converge after 16 rounds".into(),
        ))
    }

    /// Gives each output section a veneer for every Thumb call or tail call in it that cannot
    /// reach its target at the current addresses; with `prune`, veneers no call needs any more
    /// are removed. Returns whether anything changed (the layout must then be redone).
    fn update_veneers(&mut self, r: &Resolved, prune: bool) -> bool {
        let mut needed: Vec<(usize, u64, StubSymbol, u32, u32)> = Vec::new();
        for (oi, sec) in self.sections.iter().enumerate() {
            for b in branches_out_of_reach(self, r, sec).filter(|b| !b.target.arm_function) {
                let symbol = stub_symbol(r, b.obj, b.sym);
                if !needed.iter().any(|n| n.0 == oi && n.2 == symbol) {
                    needed.push((oi, b.target.value | 1, symbol, b.obj as u32, b.sym));
                }
            }
        }
        let mut changed = false;
        for (oi, sec) in self.sections.iter_mut().enumerate() {
            if prune {
                let before = sec.veneers.len();
                sec.veneers
                    .retain(|v| needed.iter().any(|n| n.0 == oi && n.2 == v.symbol));
                changed |= sec.veneers.len() != before;
            }
            for (_, target, symbol, obj, sym) in needed.iter().filter(|n| n.0 == oi) {
                match sec.veneers.iter_mut().find(|v| v.symbol == *symbol) {
                    Some(v) if v.target == *target => {}
                    Some(v) => {
                        v.target = *target;
                        changed = true;
                    }
                    None => {
                        let name = &r.objects[*obj as usize].symbols[*sym as usize].name;
                        sec.veneers.push(Veneer {
                            target: *target,
                            symbol: symbol.clone(),
                            name: format!("__{name}_veneer"),
                            created: self.veneers_made,
                            offset: 0,
                        });
                        self.veneers_made += 1;
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.order_veneers(r);
        }
        changed
    }

    /// Puts each section's veneers in the order GNU ld's stub hash table walks them
    /// ([`super::stub_order`]): by the hash of a name made of the stub group's id (the BFD id of
    /// the section's last code input section), the target symbol and the stub type.
    fn order_veneers(&mut self, r: &Resolved) {
        let mut made: Vec<(usize, usize, usize, u64)> = Vec::new();
        for (oi, sec) in self.sections.iter().enumerate() {
            let Some((o, s)) = self.last_code_input(oi, r) else {
                continue;
            };
            let group = r.section_id(o, s).unwrap_or(0);
            for (vi, v) in sec.veneers.iter().enumerate() {
                let name = super::stub_order::stub_name(group, &v.symbol);
                made.push((
                    v.created,
                    oi,
                    vi,
                    super::stub_order::bfd_hash(name.as_bytes()),
                ));
            }
        }
        made.sort_unstable();
        let hashes: Vec<u64> = made.iter().map(|m| m.3).collect();
        let mut rank: FxHashMap<(usize, usize), usize> = FxHashMap::default();
        for (position, i) in super::stub_order::traversal_order(&hashes)
            .into_iter()
            .enumerate()
        {
            rank.insert((made[i].1, made[i].2), position);
        }
        for (oi, sec) in self.sections.iter_mut().enumerate() {
            let mut ordered: Vec<(usize, Veneer)> = std::mem::take(&mut sec.veneers)
                .into_iter()
                .enumerate()
                .map(|(vi, v)| (rank.get(&(oi, vi)).copied().unwrap_or(usize::MAX), v))
                .collect();
            ordered.sort_by_key(|(position, v)| (*position, v.created));
            sec.veneers = ordered.into_iter().map(|(_, v)| v).collect();
        }
    }

    /// The code input section laid out last in output section `oi` (GNU ld's stub group
    /// `link_sec`, after which the veneers go): script inputs in statement order, then inputs
    /// that joined by name.
    fn last_code_input(&self, oi: usize, r: &Resolved) -> Option<(usize, u32)> {
        let sec = &self.sections[oi];
        sec.inputs
            .iter()
            .enumerate()
            .filter(|(_, &(o, s))| r.objects[o].sections[s as usize].is_exec())
            .max_by_key(|(pos, key)| {
                // Inputs that joined by name (no script item) come after the script's, empty
                // ones included: GNU ld's stub group ends with them too.
                let item = sec.input_item.get(key).copied().unwrap_or(usize::MAX);
                (item, *pos)
            })
            .map(|(_, &key)| key)
    }

    /// Leaves out the unwind entries that cannot reach their code (R_ARM_PREL31 spans ±1 GB, and
    /// ITCM at 0 is 1.5 GB below XIP flash). Without an entry the unwinder stops at that
    /// function, which is what C code (built without unwind tables) does anyway. Returns whether
    /// any was dropped (the layout must then be redone).
    fn drop_unreachable_exidx(&mut self, r: &Resolved) -> bool {
        let mut dropped = Vec::new();
        for (i, sec) in self.sections.iter().enumerate() {
            if sec.sh_type != object::elf::SHT_ARM_EXIDX.0 {
                continue;
            }
            for (piece, off) in &sec.pieces {
                let Piece::Input { obj, sec: si } = *piece else {
                    continue;
                };
                let link = r.objects[obj].sections[si as usize].link;
                let Some((code_out, code_off)) =
                    self.placement[obj].get(link as usize).copied().flatten()
                else {
                    continue;
                };
                let code = (self.sections[code_out].vma + code_off) as i64;
                let entry = (sec.vma + off) as i64;
                if !(-(1i64 << 30)..(1 << 30)).contains(&(code - entry)) {
                    dropped.push((i, obj, si));
                }
            }
        }
        for &(i, obj, si) in &dropped {
            self.sections[i].inputs.retain(|&k| k != (obj, si));
            self.placement[obj][si as usize] = None;
            self.dropped_exidx.push((obj, si));
        }
        !dropped.is_empty()
    }

    /// The run address of the veneer in output section `sec` for a branch to symbol `sym` of
    /// object `obj`, if there is one.
    pub fn veneer_for(&self, sec: &OutSection, r: &Resolved, obj: usize, sym: u32) -> Option<u64> {
        let symbol = stub_symbol(r, obj, sym);
        sec.veneers
            .iter()
            .find(|v| v.symbol == symbol)
            .map(|v| sec.vma + v.offset)
    }

    /// The local symbols GNU ld writes for each veneer: `__<target>_veneer` (a function, 8
    /// bytes), `$t` on its `ldr.w pc, [pc]` and `$d` on the address word after it.
    pub fn veneer_symbols(&self) -> Vec<VeneerSymbol> {
        let mut out = Vec::new();
        for (section, sec) in self.sections.iter().enumerate() {
            for v in &sec.veneers {
                let address = sec.vma + v.offset;
                let symbol =
                    |name: &str, value, size, st_type: object::elf::SymbolType| VeneerSymbol {
                        section,
                        name: name.to_string(),
                        value,
                        size,
                        st_type: st_type.0,
                    };
                out.push(symbol(&v.name, address | 1, 8, elf::STT_FUNC));
                out.push(symbol("$t", address, 0, elf::STT_NOTYPE));
                out.push(symbol("$d", address + 4, 0, elf::STT_NOTYPE));
            }
        }
        out
    }

    fn build_sections(
        &mut self,
        flat: &Flat<'_>,
        r: &Resolved,
        assigned: Vec<Vec<(usize, u32, usize)>>,
    ) {
        let mut placed: FxHashSet<(usize, u32)> = FxHashSet::default();
        for (i, (os, inputs)) in flat.outputs.iter().zip(assigned).enumerate() {
            let inputs: Vec<(usize, u32, usize)> = inputs
                .into_iter()
                .filter(|&(o, s, _)| self.live[o][s as usize])
                .collect();
            placed.extend(inputs.iter().map(|&(o, s, _)| (o, s)));
            if os.name == "/DISCARD/" {
                continue;
            }
            let mut out = new_out(
                &os.name,
                Some(i),
                inputs.iter().map(|&(o, s, _)| (o, s)).collect(),
            );
            out.input_item = inputs.iter().map(|&(o, s, item)| ((o, s), item)).collect();
            self.sections.push(out);
        }
        // Orphans, in input order.
        for (oi, o) in r.objects.iter().enumerate() {
            for (si, s) in o.sections.iter().enumerate() {
                let key = (oi, si as u32);
                if si == 0
                    || !s.is_content()
                    || placed.contains(&key)
                    || !self.live[oi][si]
                    || flat
                        .outputs
                        .iter()
                        .any(|os| os.name == "/DISCARD/" && discard_matches(os, r, oi, si))
                {
                    continue;
                }
                self.place_orphan(r, key);
            }
        }
        for sec in &mut self.sections {
            let mut flags = (false, false, false);
            let mut has_bits = false;
            let mut sh_type = None;
            for &(o, s) in &sec.inputs {
                let is = &r.objects[o].sections[s as usize];
                flags.0 |= is.is_exec();
                flags.1 |= is.is_write();
                flags.2 |= is.is_alloc();
                // GNU ld takes the output section's type from its first input section (the
                // first with contents, if any has).
                if sh_type.is_none() || (!has_bits && !is.is_nobits()) {
                    sh_type = Some(is.sh_type);
                }
                has_bits |= !is.is_nobits();
            }
            let no_inputs = sec.inputs.is_empty() && sec.stmt.is_some();
            sec.exec = flags.0;
            // Sections made only of `.` assignments (heap, stack) are writable data in GNU ld.
            sec.write = flags.1 || no_inputs;
            sec.alloc = flags.2 || no_inputs;
            sec.nobits = !has_bits;
            sec.sh_type = sh_type.unwrap_or(object::elf::SHT_NOBITS.0);
            let merge_mask = object::elf::SHF_MERGE.0 | object::elf::SHF_STRINGS.0;
            let mut kinds = sec.inputs.iter().map(|&(o, s)| {
                let is = &r.objects[o].sections[s as usize];
                (is.flags & merge_mask, is.entsize)
            });
            let first = kinds.next();
            (sec.merge_flags, sec.entsize) = match first {
                Some((flags, entsize)) if flags != 0 && kinds.all(|k| k == (flags, entsize)) => {
                    (flags, entsize)
                }
                // Pointer arrays: GNU ld writes their entry size, 4 bytes.
                _ if is_pointer_array(sec.sh_type) => (0, 4),
                // As stabs debug entries: 12 bytes each.
                _ if sec.name == ".stab" => (0, 12),
                _ => (0, 0),
            };
        }
    }

    fn place_orphan(&mut self, r: &Resolved, key: (usize, u32)) {
        let s = &r.objects[key.0].sections[key.1 as usize];
        if let Some(existing) = self.sections.iter_mut().find(|o| o.name == s.name) {
            existing.inputs.push(key);
            return;
        }
        let class = class_of(s);
        let out = new_out(&s.name, None, vec![key]);
        if class == Class::NonAlloc {
            self.sections.push(out);
            return;
        }
        let canonical = match class {
            Class::Code => ".text",
            Class::ReadOnly => ".rodata",
            Class::Data => ".data",
            _ => ".bss",
        };
        let class_of_out = |o: &OutSection| {
            o.inputs
                .first()
                .map(|&(oi, si)| class_of(&r.objects[oi].sections[si as usize]))
        };
        let anchor = self
            .sections
            .iter()
            .position(|o| o.name == canonical)
            .or_else(|| {
                self.sections
                    .iter()
                    .rposition(|o| o.stmt.is_some() && class_of_out(o) == Some(class))
            });
        match anchor {
            Some(mut at) => {
                // After earlier orphans placed at the same anchor.
                while at + 1 < self.sections.len() && self.sections[at + 1].stmt.is_none() {
                    at += 1;
                }
                self.sections.insert(at + 1, out);
            }
            None => {
                // GNU ld puts it after the last allocated script section: one with an address
                // of 0 like `.comment 0 : { … }` must not drag the orphan down to address 0.
                let allocated = |o: &OutSection| {
                    o.inputs.is_empty()
                        || o.inputs
                            .iter()
                            .any(|&(oi, si)| r.objects[oi].sections[si as usize].is_alloc())
                };
                let at = self
                    .sections
                    .iter()
                    .rposition(|o| o.stmt.is_some() && allocated(o))
                    .map_or(0, |p| p + 1);
                self.sections.insert(at, out);
            }
        }
    }

    fn run_passes(
        &mut self,
        flat: &Flat<'_>,
        r: &Resolved,
        defsyms: &[(String, Expr)],
    ) -> Result<(), LayoutError> {
        let provide_wanted = provide_wanted(flat, r);
        let mut previous: Option<Vec<(u64, u64, u64)>> = None;
        let mut previous_syms: Option<Vec<(String, u64)>> = None;
        for pass in 0..32 {
            let final_pass = pass >= 2
                && previous.as_ref()
                    == Some(
                        &self
                            .sections
                            .iter()
                            .map(|s| (s.vma, s.lma, s.size))
                            .collect(),
                    )
                && previous_syms.as_ref() == Some(&self.sorted_symbols());
            previous = Some(
                self.sections
                    .iter()
                    .map(|s| (s.vma, s.lma, s.size))
                    .collect(),
            );
            previous_syms = Some(self.sorted_symbols());
            self.pass(flat, r, defsyms, &provide_wanted, final_pass)?;
            if pass == 0 {
                self.sort_exidx(r);
            }
            if final_pass {
                return self.check_regions(r);
            }
        }
        // Name what still moves between the last two passes, so the script line can be found.
        let mut moving: Vec<String> = self
            .sections
            .iter()
            .zip(previous.iter().flatten())
            .filter(|(s, &p)| (s.vma, s.lma, s.size) != p)
            .map(|(s, _)| format!("section `{}`", s.name))
            .collect();
        let before: FxHashMap<String, u64> = previous_syms.into_iter().flatten().collect();
        moving.extend(
            self.sorted_symbols()
                .into_iter()
                .filter(|(n, v)| before.get(n) != Some(v))
                .map(|(n, _)| format!("symbol `{n}`")),
        );
        Err(LayoutError::Other(format!(
            "layout did not converge after 32 passes: {} still changes; check the script for \
             an address or symbol that depends on itself",
            moving.join(", ")
        )))
    }

    fn sorted_symbols(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .script_symbols
            .iter()
            .map(|(k, s)| (k.clone(), s.value))
            .collect();
        v.sort();
        v
    }

    /// `.ARM.exidx` entries must be in the order of the code they describe.
    fn sort_exidx(&mut self, r: &Resolved) {
        let placement = &self.placement;
        let sections = &self.sections;
        let addr_of = |o: usize, s: u32| {
            placement[o]
                .get(s as usize)
                .copied()
                .flatten()
                .map(|(out, off)| sections[out].vma + off)
        };
        let mut new_orders = Vec::new();
        for (i, sec) in self.sections.iter().enumerate() {
            if sec.sh_type != object::elf::SHT_ARM_EXIDX.0 {
                continue;
            }
            let mut inputs = sec.inputs.clone();
            inputs.sort_by_key(|&(o, s)| {
                let link = r.objects[o].sections[s as usize].link;
                addr_of(o, link).unwrap_or(u64::MAX)
            });
            new_orders.push((i, inputs));
        }
        for (i, inputs) in new_orders {
            self.sections[i].inputs = inputs;
        }
        if self.merge_exidx {
            self.merge_exidx_entries(r);
        }
    }

    /// GNU ld's entry merging over each `.ARM.exidx` output section in code order: an
    /// `EXIDX_CANTUNWIND` entry right after another, or an inline entry equal to the one before,
    /// adds nothing (the previous entry already covers the code up to the next one).
    fn merge_exidx_entries(&mut self, r: &Resolved) {
        #[derive(PartialEq, Clone, Copy)]
        enum Kind {
            CantUnwind,
            Inline(u32),
            Table,
        }
        self.exidx_kept.clear();
        for sec in &self.sections {
            if sec.sh_type != object::elf::SHT_ARM_EXIDX.0 {
                continue;
            }
            let mut last: Option<Kind> = None;
            for &(o, si) in &sec.inputs {
                let is = &r.objects[o].sections[si as usize];
                let mut kept = Vec::new();
                for (e, entry) in is.data.chunks_exact(8).enumerate() {
                    let word = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
                    let relocated = is
                        .relocs
                        .iter()
                        .any(|rel| rel.offset as usize == e * 8 + 4 && rel.r_type != R_ARM_NONE);
                    let kind = if relocated {
                        Kind::Table
                    } else if word == 1 {
                        Kind::CantUnwind
                    } else if word & 0x8000_0000 != 0 {
                        Kind::Inline(word)
                    } else {
                        Kind::Table
                    };
                    let elide = kind != Kind::Table && last == Some(kind);
                    kept.push(!elide);
                    last = Some(kind);
                }
                if kept.iter().any(|k| !k) {
                    self.exidx_kept.insert((o, si), kept);
                }
            }
        }
    }

    /// Merges every object's `.ARM.attributes` (refusing conflicts, as GNU ld) and, where the
    /// script places them, makes the first input hold the merged section and drops the rest.
    fn merge_attributes(&mut self, r: &Resolved) -> Result<(), LayoutError> {
        let merged = super::attributes::merge(r).map_err(LayoutError::Other)?;
        self.attribute_warnings = merged.warnings;
        for sec in &self.sections {
            let keys: Vec<(usize, u32)> = sec
                .inputs
                .iter()
                .copied()
                .filter(|&(o, s)| {
                    r.objects[o].sections[s as usize].sh_type == object::elf::SHT_ARM_ATTRIBUTES.0
                })
                .collect();
            if !keys.is_empty() && !merged.section.is_empty() {
                self.merges.replace(&keys, merged.section.clone());
            }
        }
        Ok(())
    }

    /// Size of an input section in the output (smaller than its own for merged unwind tables).
    pub fn input_size(&self, is: &InputSection, key: (usize, u32)) -> u64 {
        if let Some(size) = self.merges.size(key) {
            return size;
        }
        match self.exidx_kept.get(&key) {
            Some(kept) => 8 * kept.iter().filter(|&&k| k).count() as u64,
            None => is.size,
        }
    }

    /// Output section and offset in it of byte `offset` of input section `sec` of `obj`
    /// (following merged strings to the section that holds them).
    pub fn input_location(
        &self,
        r: &Resolved,
        obj: usize,
        sec: u32,
        offset: u64,
    ) -> Option<(usize, u64)> {
        let is = r.objects[obj].sections.get(sec as usize)?;
        let ((obj, sec), offset) = self
            .merges
            .map(is, (obj, sec), offset)
            .unwrap_or(((obj, sec), offset));
        let (out, off) = self.placement[obj].get(sec as usize).copied().flatten()?;
        Some((out, off + offset))
    }

    fn pass(
        &mut self,
        flat: &Flat<'_>,
        r: &Resolved,
        defsyms: &[(String, Expr)],
        provide_wanted: &FxHashSet<String>,
        final_pass: bool,
    ) -> Result<(), LayoutError> {
        let mut st = PassState {
            layout: self,
            r,
            dot: 0,
            defined_now: FxHashSet::default(),
            final_pass,
            current_section: None,
            last_section: None,
            region_delta: FxHashMap::default(),
            aliases: &flat.aliases,
        };
        for reg in &mut st.layout.regions {
            reg.current = reg.origin;
        }
        for (name, e) in defsyms {
            let v = e.eval(&st)?;
            let section = super::exprsection::section_of(e, &st);
            st.define(name, v, section, false);
        }
        let mut emitted_orphans_after: Option<usize> = None;
        let stmt_to_out: FxHashMap<usize, usize> = st
            .layout
            .sections
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.stmt.map(|st| (st, i)))
            .collect();
        let mut out_stmt_index = 0usize;
        for stmt in &flat.stmts {
            match stmt {
                Stmt::Assign(a) => st.assign(a, provide_wanted)?,
                Stmt::Assert(a) => st.check_assert(a)?,
                Stmt::Output(os) => {
                    let idx = out_stmt_index;
                    out_stmt_index += 1;
                    let Some(&oi) = stmt_to_out.get(&idx) else {
                        continue; // /DISCARD/
                    };
                    st.lay_out_section(oi, Some(os), provide_wanted)?;
                    // Orphans placed after this section follow it immediately.
                    let mut next = oi + 1;
                    while next < st.layout.sections.len()
                        && st.layout.sections[next].stmt.is_none()
                        && st.layout.sections[next].alloc_class()
                    {
                        st.lay_out_section(next, None, provide_wanted)?;
                        next += 1;
                    }
                    emitted_orphans_after = Some(next);
                }
            }
        }
        // Orphans before any script section, then non-allocated ones (address 0).
        let start = emitted_orphans_after.unwrap_or(0);
        for i in 0..st.layout.sections.len() {
            let s = &st.layout.sections[i];
            if s.stmt.is_none() && (i >= start || !s.alloc_class()) {
                let handled = i < start && s.alloc_class();
                if !handled {
                    st.lay_out_section(i, None, provide_wanted)?;
                }
            }
        }
        Ok(())
    }

    fn check_regions(&self, r: &Resolved) -> Result<(), LayoutError> {
        let mut errors = Vec::new();
        for (ri, reg) in self.regions.iter().enumerate() {
            let end = reg.origin + reg.length;
            let mut used_end = reg.origin;
            let mut contributors: Vec<(u64, String)> = Vec::new();
            for s in self.sections.iter().filter(|s| !s.empty) {
                let (start, in_region) = if s.region == Some(ri) {
                    (s.vma, true)
                } else if s.lma_region == Some(ri) && !s.nobits {
                    (s.lma, true)
                } else {
                    (0, false)
                };
                if !in_region {
                    continue;
                }
                used_end = used_end.max(start + s.size);
                for (p, _) in &s.pieces {
                    if let Piece::Input { obj, sec } = p {
                        let is = &r.objects[*obj].sections[*sec as usize];
                        contributors
                            .push((is.size, format!("{}({})", r.objects[*obj].origin, is.name)));
                    }
                }
            }
            if used_end > end {
                contributors.sort_by_key(|c| std::cmp::Reverse(c.0));
                let top: Vec<String> = contributors
                    .iter()
                    .take(5)
                    .map(|(size, n)| format!("{n} {size} bytes"))
                    .collect();
                errors.push(format!(
                    "region `{}` overflowed by {} bytes (largest contributors: {})",
                    reg.name,
                    used_end - end,
                    top.join(", ")
                ));
            }
        }
        errors.extend(self.load_overlaps());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(LayoutError::Other(errors.join("\n")))
        }
    }

    /// Sections whose load images overlap: writing such an image would silently corrupt one of
    /// them when it is flashed, so (like GNU ld) hotlink refuses.
    fn load_overlaps(&self) -> Vec<String> {
        let mut loaded: Vec<&OutSection> = self
            .sections
            .iter()
            .filter(|s| s.alloc && !s.nobits && !s.empty && s.size > 0)
            .collect();
        loaded.sort_by_key(|s| (s.lma, s.size));
        loaded
            .windows(2)
            .filter(|w| w[1].lma < w[0].lma + w[0].size)
            .map(|w| {
                format!(
                    "section `{}` LMA [{:#010x}, {:#010x}] overlaps section `{}` LMA [{:#010x}, \
                     {:#010x}]: give one of them a load address after the other (AT> REGION or \
                     AT(...)), or name the orphan in the script",
                    w[1].name,
                    w[1].lma,
                    w[1].lma + w[1].size - 1,
                    w[0].name,
                    w[0].lma,
                    w[0].lma + w[0].size - 1
                )
            })
            .collect()
    }

    /// Final address of an object symbol, if it is in a placed section or absolute.
    pub fn object_symbol_value(&self, r: &Resolved, obj: usize, sym: usize) -> Option<u64> {
        let s = &r.objects[obj].symbols[sym];
        match s.section {
            SymSection::Abs => Some(u64::from(s.value)),
            SymSection::Section(sec) => {
                let (out, off) = self.input_location(r, obj, sec, u64::from(s.value))?;
                Some(self.sections[out].vma + off)
            }
            _ => None,
        }
    }

    /// Value of a global symbol: the script's definition wins over objects, as in GNU ld.
    pub fn global_value(&self, r: &Resolved, name: &str) -> Option<u64> {
        if let Some(s) = self.script_symbols.get(name) {
            return Some(s.value);
        }
        match r.global(name)?.def {
            Def::Object { obj, sym, .. } => self.object_symbol_value(r, obj, sym),
            _ => None,
        }
    }
}

impl OutSection {
    fn alloc_class(&self) -> bool {
        self.alloc
    }
}

/// One planned input section and where it goes: layout's input from a placement plan.
#[derive(Debug, Clone)]
pub struct Move {
    pub obj: usize,
    pub sec: u32,
    /// The output section statement that receives it.
    pub output: String,
    /// The plan region it runs from.
    pub plan_region: String,
    /// Placed because the flash-disabled closure forced it (`reason: ram-only`).
    pub ram_only: bool,
}

/// The resolved target of a relocation.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Address, with bit 0 set for Thumb functions (as in symbol values).
    pub value: u64,
    /// The symbol is an undefined weak reference (value 0).
    pub undefined_weak: bool,
    /// A function symbol in ARM state (bit 0 clear): Thumb-only cores cannot call it.
    pub arm_function: bool,
    /// Global symbol name, for veneer sharing and messages.
    pub name: Option<usize>,
}

/// Resolves symbol `sym` of object `obj` for a relocation.
pub fn target(layout: &Layout, r: &Resolved, obj: usize, sym: u32) -> Result<Target, String> {
    let s = &r.objects[obj].symbols[sym as usize];
    let is_func = s.st_type == elf::STT_FUNC.0;
    if s.binding == Binding::Local {
        let value = match s.section {
            // None: a reference to a discarded section (debug info of collected code).
            SymSection::Section(_) => layout
                .object_symbol_value(r, obj, sym as usize)
                .unwrap_or(0),
            _ => u64::from(s.value),
        };
        return Ok(Target {
            value,
            undefined_weak: false,
            arm_function: is_func && value & 1 == 0,
            name: None,
        });
    }
    let gi = r.global_index(obj, sym);
    if let Some(v) = layout.script_symbols.get(&s.name) {
        return Ok(Target {
            value: v.value,
            undefined_weak: false,
            arm_function: false,
            name: gi,
        });
    }
    let g = gi.map(|i| &r.globals[i]);
    match g.map(|g| g.def) {
        Some(Def::Object {
            obj: o, sym: si, ..
        }) => {
            let def = &r.objects[o].symbols[si];
            let value = layout.object_symbol_value(r, o, si).unwrap_or(0);
            Ok(Target {
                value,
                undefined_weak: false,
                arm_function: def.st_type == elf::STT_FUNC.0 && value & 1 == 0,
                name: gi,
            })
        }
        _ if s.binding == Binding::Weak || g.is_some_and(|g| !g.strong_ref) => Ok(Target {
            value: 0,
            undefined_weak: true,
            arm_function: false,
            name: gi,
        }),
        _ => Err(s.name.clone()),
    }
}

/// A call site that goes through a veneer: (object, input section, relocation offset, run
/// address of the branch).
pub type CallSite = (usize, u32, u32, u64);

/// The call sites in `sec` that go through a veneer, by the veneer's run address; one pass over
/// the section's relocations.
pub fn veneer_call_sites(
    layout: &Layout,
    r: &Resolved,
    sec: &OutSection,
) -> FxHashMap<u64, Vec<CallSite>> {
    let mut sites: FxHashMap<u64, Vec<CallSite>> = FxHashMap::default();
    if sec.veneers.is_empty() {
        return sites;
    }
    for b in branches_out_of_reach(layout, r, sec) {
        if let Some(veneer) = layout.veneer_for(sec, r, b.obj, b.sym) {
            sites
                .entry(veneer)
                .or_default()
                .push((b.obj, b.sec, b.offset, b.place));
        }
    }
    sites
}

/// A Thumb call or tail call that cannot reach its target from where it is.
struct FarBranch {
    obj: usize,
    sec: u32,
    /// Offset of the relocation in its input section, and the branch's run address.
    offset: u32,
    place: u64,
    /// The relocation's symbol (in `obj`) and where it is.
    sym: u32,
    target: Target,
}

/// The branches of output section `sec` that need a veneer at the current addresses (calls to
/// undefined weak symbols excepted: they become no-ops).
fn branches_out_of_reach<'a>(
    layout: &'a Layout,
    r: &'a Resolved,
    sec: &'a OutSection,
) -> impl Iterator<Item = FarBranch> + 'a {
    let inputs = sec.pieces.iter().filter_map(|&(piece, off)| match piece {
        Piece::Input { obj, sec } => Some((obj, sec, off)),
        _ => None,
    });
    inputs.flat_map(move |(obj, si, off)| {
        let is = &r.objects[obj].sections[si as usize];
        is.relocs.iter().filter_map(move |rel| {
            if !is_long_branch(rel.r_type) || rel.offset as usize + 4 > is.data.len() {
                return None;
            }
            let t = target(layout, r, obj, rel.sym).ok()?;
            let place = sec.vma + off + u64::from(rel.offset);
            let reaches = branch_reaches(&is.data, rel.offset as usize, place, t.value);
            (!t.undefined_weak && !reaches).then_some(FarBranch {
                obj,
                sec: si,
                offset: rel.offset,
                place,
                sym: rel.sym,
                target: t,
            })
        })
    })
}

/// The name of a function symbol whose value (Thumb bit set) is `value`, for messages.
pub fn function_at(layout: &Layout, r: &Resolved, value: u64) -> Option<String> {
    r.objects.iter().enumerate().find_map(|(oi, o)| {
        o.symbols.iter().enumerate().find_map(|(si, s)| {
            (s.st_type == elf::STT_FUNC.0
                && !s.name.is_empty()
                && layout.object_symbol_value(r, oi, si) == Some(value | 1))
            .then(|| s.name.clone())
        })
    })
}

fn new_out(name: &str, stmt: Option<usize>, inputs: Vec<(usize, u32)>) -> OutSection {
    OutSection {
        name: name.to_string(),
        vma: 0,
        lma: 0,
        size: 0,
        align: 1,
        exec: false,
        write: false,
        alloc: false,
        header_alloc: true,
        nobits: true,
        sh_type: object::elf::SHT_NOBITS.0,
        merge_flags: 0,
        entsize: 0,
        region: None,
        lma_region: None,
        fill: 0,
        fill_len: 4,
        pieces: Vec::new(),
        data_values: FxHashMap::default(),
        stmt,
        inputs,
        input_item: FxHashMap::default(),
        empty: false,
        veneers: Vec::new(),
    }
}

/// The flags of an output section that has statements but no input sections, as GNU ld gives
/// them (ldlang.c): its first data statement or assignment creates it, a data statement
/// (`LONG`, `BYTE`…) read-only and loaded, an assignment with no flags at all; a later data
/// statement adds only "allocated, loaded". A section of assignments alone is allocated only
/// if it moves `.` (it has a size); otherwise it is PROGBITS, writable, without SHF_ALLOC.
fn script_only_flags(out: &mut OutSection, os: &OutputSection, size: u64) {
    let mut statements = os
        .items
        .iter()
        .filter(|i| matches!(i, OutputItem::Data { .. } | OutputItem::Assign(_)));
    if matches!(statements.next(), Some(OutputItem::Data { .. })) {
        out.write = false;
        return;
    }
    let has_data = os
        .items
        .iter()
        .any(|i| matches!(i, OutputItem::Data { .. }));
    out.header_alloc = has_data || size > 0;
    if !has_data && os.kind != OutputType::NoLoad {
        out.nobits = out.header_alloc;
        out.sh_type = if out.header_alloc {
            object::elf::SHT_NOBITS.0
        } else {
            object::elf::SHT_PROGBITS.0
        };
    }
}

/// `.init_array`, `.fini_array` and `.preinit_array` section types.
fn is_pointer_array(sh_type: u32) -> bool {
    use object::elf::{SHT_FINI_ARRAY, SHT_INIT_ARRAY, SHT_PREINIT_ARRAY};
    [SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY]
        .iter()
        .any(|t| t.0 == sh_type)
}

/// The symbol GNU ld names a veneer for relocation symbol `sym` of object `obj` after: a global
/// by name, a local by its section's BFD id and its index.
fn stub_symbol(r: &Resolved, obj: usize, sym: u32) -> StubSymbol {
    let s = &r.objects[obj].symbols[sym as usize];
    if s.binding != super::load::Binding::Local {
        return StubSymbol::Global(s.name.clone());
    }
    let section_id = match s.section {
        SymSection::Section(sec) => r.section_id(obj, sec).unwrap_or(0),
        // BFD's standard sections: *UND* is 1 and *ABS* 2.
        SymSection::Undef => 1,
        SymSection::Abs | SymSection::Common => 2,
    };
    StubSymbol::Local {
        section_id,
        index: sym,
    }
}

fn discard_matches(os: &OutputSection, r: &Resolved, oi: usize, si: usize) -> bool {
    let o = &r.objects[oi];
    let path = o.origin.file_name();
    let s = &o.sections[si];
    os.items.iter().any(|item| match item {
        OutputItem::Input(spec) => {
            spec_matches_file(spec, &path, o.origin.member.as_deref())
                && section_matches(spec, &path, o.origin.member.as_deref(), &s.name).is_some()
        }
        _ => false,
    })
}

/// Which pattern of `spec` (index) matches section `name` of the given file.
pub fn section_matches(
    spec: &InputSpec,
    path: &str,
    member: Option<&str>,
    name: &str,
) -> Option<usize> {
    if spec.sections.is_empty() {
        return Some(0);
    }
    spec.sections.iter().position(|p| {
        glob_match(&p.pattern, name)
            && !p
                .exclude_files
                .iter()
                .any(|e| matches_file(e, path, member))
    })
}

/// (object, section, index of the input section description that took it).
type AssignedInput = (usize, u32, usize);

/// Takes each planned input section from the statement that matched it and appends it to its
/// receiving statement, after the inputs of that statement's last input section description
/// (so before the closing `. = ALIGN(8); __itcm_end__ = .;` that the copy loop uses).
fn apply_moves(
    flat: &Flat<'_>,
    assigned: &mut [Vec<AssignedInput>],
    moves: &[Move],
) -> Result<(), LayoutError> {
    if moves.is_empty() {
        return Ok(());
    }
    let moved: FxHashSet<(usize, u32)> = moves.iter().map(|m| (m.obj, m.sec)).collect();
    for list in assigned.iter_mut() {
        list.retain(|&(o, s, _)| !moved.contains(&(o, s)));
    }
    for m in moves {
        let found = flat.outputs.iter().enumerate().find_map(|(i, os)| {
            let item = os
                .items
                .iter()
                .rposition(|it| matches!(it, OutputItem::Input(_)))?;
            (os.name == m.output).then_some((i, item))
        });
        let Some((stmt, item)) = found else {
            return Err(LayoutError::Other(format!(
                "plan: output section `{}` has no input section description to receive planned sections",
                m.output
            )));
        };
        assigned[stmt].push((m.obj, m.sec, item));
    }
    Ok(())
}

/// First-match assignment of every content section to an output section statement. Returns the
/// per-statement lists and the KEEP roots.
fn assign_inputs(flat: &Flat<'_>, r: &Resolved) -> (Vec<Vec<AssignedInput>>, Vec<(usize, u32)>) {
    let mut taken: Vec<Vec<bool>> = r
        .objects
        .iter()
        .map(|o| vec![false; o.sections.len()])
        .collect();
    let mut keep = Vec::new();
    let mut result = Vec::new();
    for os in &flat.outputs {
        let mut list = Vec::new();
        for (item_index, item) in os.items.iter().enumerate() {
            let OutputItem::Input(spec) = item else {
                continue;
            };
            // (sort key, position) of matches, so sorted patterns can be ordered.
            let mut matched: Vec<(usize, u32, Option<SortKind>)> = Vec::new();
            for (oi, o) in r.objects.iter().enumerate() {
                let path = o.origin.file_name();
                let member = o.origin.member.as_deref();
                if !spec_matches_file(spec, &path, member) {
                    continue;
                }
                for (si, s) in o.sections.iter().enumerate() {
                    if si == 0 || taken[oi][si] || !s.is_content() {
                        continue;
                    }
                    let Some(pi) = section_matches(spec, &path, member, &s.name) else {
                        continue;
                    };
                    // COMMON only matches the synthetic common section, and vice versa.
                    let is_common = s.name == "COMMON" && s.sh_type == object::elf::SHT_NOBITS.0;
                    let pattern_common =
                        spec.sections.get(pi).is_some_and(|p| p.pattern == "COMMON");
                    if is_common != pattern_common && !spec.sections.is_empty() {
                        continue;
                    }
                    taken[oi][si] = true;
                    let sort = spec.sections.get(pi).map(|p| p.sort);
                    matched.push((oi, si as u32, sort));
                }
            }
            // Sorted patterns: sort those matches among themselves (GNU sorts per pattern).
            let sorted_positions: Vec<usize> = matched
                .iter()
                .enumerate()
                .filter(|(_, m)| matches!(m.2, Some(k) if k != SortKind::None))
                .map(|(i, _)| i)
                .collect();
            if !sorted_positions.is_empty() {
                let mut sorted: Vec<(usize, u32, Option<SortKind>)> =
                    sorted_positions.iter().map(|&i| matched[i]).collect();
                let name =
                    |m: &(usize, u32, Option<SortKind>)| &r.objects[m.0].sections[m.1 as usize];
                sorted.sort_by(|a, b| {
                    let (sa, sb) = (name(a), name(b));
                    match a.2 {
                        Some(SortKind::Alignment) => sb.align.cmp(&sa.align),
                        Some(SortKind::NameThenAlignment) => {
                            sa.name.cmp(&sb.name).then(sb.align.cmp(&sa.align))
                        }
                        Some(SortKind::AlignmentThenName) => {
                            sb.align.cmp(&sa.align).then(sa.name.cmp(&sb.name))
                        }
                        _ => sa.name.cmp(&sb.name),
                    }
                });
                for (slot, m) in sorted_positions.iter().zip(sorted) {
                    matched[*slot] = m;
                }
            }
            for (oi, si, _) in matched {
                if spec.keep {
                    keep.push((oi, si));
                }
                list.push((oi, si, item_index));
            }
        }
        result.push(list);
    }
    (result, keep)
}

/// Symbols the script's expressions use, for `--gc-sections` roots: every expression except the
/// right-hand side of a PROVIDE nothing asks for.
fn script_symbol_refs(flat: &Flat<'_>, r: &Resolved) -> FxHashSet<String> {
    let wanted = provide_wanted(flat, r);
    script_refs(flat, &|a: &Assignment| {
        !matches!(a.vis, Visibility::Provide | Visibility::ProvideHidden)
            || wanted.contains(&a.target)
    })
}

/// Symbols referenced by the script's expressions; `include` says which assignments count.
fn script_refs(flat: &Flat<'_>, include: &dyn Fn(&Assignment) -> bool) -> FxHashSet<String> {
    let mut refs: FxHashSet<String> = FxHashSet::default();
    let mut visit = |e: &Expr| collect_syms(e, &mut refs);
    for s in &flat.stmts {
        match s {
            Stmt::Assign(a) if include(a) => visit(&a.expr),
            Stmt::Assign(_) => {}
            Stmt::Assert(a) => visit(&a.expr),
            Stmt::Output(os) => {
                for e in [&os.addr, &os.lma, &os.align, &os.subalign, &os.fill]
                    .into_iter()
                    .flatten()
                {
                    visit(e);
                }
                for item in &os.items {
                    match item {
                        OutputItem::Assign(a) if include(a) => visit(&a.expr),
                        OutputItem::Assign(_) => {}
                        OutputItem::Assert(a) => visit(&a.expr),
                        OutputItem::Data { expr, .. } | OutputItem::Fill(expr) => visit(expr),
                        OutputItem::Input(_) => {}
                    }
                }
            }
        }
    }
    refs
}

/// Symbols a PROVIDE may define: referenced by an object or by a script expression, and not
/// defined by an object.
fn provide_wanted(flat: &Flat<'_>, r: &Resolved) -> FxHashSet<String> {
    let mut refs = script_refs(flat, &|_| true);
    for g in &r.globals {
        if !g.referenced_by.is_empty() || g.strong_ref {
            refs.insert(g.name.clone());
        }
    }
    refs.retain(|name| !matches!(r.global(name).map(|g| g.def), Some(Def::Object { .. })));
    refs
}

fn collect_syms(e: &Expr, out: &mut FxHashSet<String>) {
    match &e.kind {
        ExprKind::Sym(s) => {
            out.insert(s.clone());
        }
        ExprKind::Unary(_, a) => collect_syms(a, out),
        ExprKind::Binary(_, a, b) => {
            collect_syms(a, out);
            collect_syms(b, out);
        }
        ExprKind::Cond(a, b, c) => {
            collect_syms(a, out);
            collect_syms(b, out);
            collect_syms(c, out);
        }
        ExprKind::Call(f, args) => {
            use super::script::Func;
            // Section and region names are not symbols; DEFINED's argument is.
            if matches!(
                f,
                Func::Defined
                    | Func::Align
                    | Func::Min
                    | Func::Max
                    | Func::Absolute
                    | Func::Assert
                    | Func::Log2Ceil
            ) {
                for a in args {
                    collect_syms(a, out);
                }
            }
        }
        ExprKind::Num(_) | ExprKind::Dot | ExprKind::Str(_) => {}
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    if a <= 1 {
        v
    } else {
        v.next_multiple_of(a)
    }
}

struct PassState<'a> {
    layout: &'a mut Layout,
    r: &'a Resolved,
    dot: u64,
    defined_now: FxHashSet<String>,
    final_pass: bool,
    current_section: Option<usize>,
    /// The allocated output section laid out last: where `.` is outside output sections.
    last_section: Option<usize>,
    /// Per VMA region: LMA − VMA of the last section placed in it.
    /// and the region its load address came from (where a section continuing the pattern loads).
    region_delta: FxHashMap<usize, (u64, Option<usize>)>,
    aliases: &'a FxHashMap<String, String>,
}

impl PassState<'_> {
    fn region_index(&self, name: &str) -> Result<usize, String> {
        let mut name = name;
        for _ in 0..8 {
            match self.aliases.get(name) {
                Some(n) => name = n,
                None => break,
            }
        }
        self.layout
            .regions
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| format!("no memory region `{name}`"))
    }

    fn define(&mut self, name: &str, value: u64, section: Option<usize>, hidden: bool) {
        if !self.layout.script_symbols.contains_key(name) {
            self.layout.script_symbol_order.push(name.to_string());
        }
        self.layout.script_symbols.insert(
            name.to_string(),
            ScriptSymbol {
                value,
                section,
                hidden,
                type_from: None,
            },
        );
        self.defined_now.insert(name.to_string());
    }

    fn assign(
        &mut self,
        a: &Assignment,
        provide_wanted: &FxHashSet<String>,
    ) -> Result<(), LayoutError> {
        if matches!(a.vis, Visibility::Provide | Visibility::ProvideHidden)
            && !provide_wanted.contains(&a.target)
        {
            return Ok(());
        }
        let rhs = a.expr.eval(&*self)?;
        let old = || -> Result<u64, ScriptError> {
            if a.target == "." {
                Ok(self.dot)
            } else {
                self.symbol(&a.target).map_err(|msg| ScriptError {
                    loc: a.loc.clone(),
                    msg,
                    text: a.target.clone(),
                })
            }
        };
        let old = if a.op == AssignOp::Set { 0 } else { old()? };
        let value = a.op.apply(old, rhs).ok_or_else(|| ScriptError {
            loc: a.loc.clone(),
            msg: "division by zero".into(),
            text: a.target.clone(),
        })?;
        if a.target == "." {
            if self.current_section.is_some() && value < self.dot && self.final_pass {
                return Err(ScriptError {
                    loc: a.loc.clone(),
                    msg: format!(
                        "cannot move location counter backwards (from {:#x} to {value:#x})",
                        self.dot
                    ),
                    text: ".".into(),
                }
                .into());
            }
            self.dot = value;
        } else {
            let hidden = matches!(a.vis, Visibility::Hidden | Visibility::ProvideHidden);
            let section = match self.current_section {
                Some(s) => Some(s),
                None if a.op == AssignOp::Set => super::exprsection::section_of(&a.expr, self),
                None => None,
            };
            self.define(&a.target, value, section, hidden);
            let mut names = FxHashSet::default();
            collect_syms(&a.expr, &mut names);
            if let (Some(s), AssignOp::Set, 1) = (
                self.layout.script_symbols.get_mut(&a.target),
                a.op,
                names.len(),
            ) {
                s.type_from = names.into_iter().next();
            }
        }
        Ok(())
    }

    fn check_assert(&self, a: &super::script::Assert) -> Result<(), LayoutError> {
        let v = a.expr.eval(self)?;
        if v == 0 && self.final_pass {
            return Err(LayoutError::Other(format!(
                "{}: ASSERT failed: {}",
                a.loc, a.msg
            )));
        }
        Ok(())
    }

    fn lay_out_section(
        &mut self,
        oi: usize,
        os: Option<&OutputSection>,
        provide_wanted: &FxHashSet<String>,
    ) -> Result<(), LayoutError> {
        let r = self.r;
        let inputs = self.layout.sections[oi].inputs.clone();
        let mut align = inputs
            .iter()
            .map(|&(o, s)| r.objects[o].sections[s as usize].align)
            .max()
            .unwrap_or(1);
        let sec_align_expr = match os.and_then(|o| o.align.as_ref()) {
            Some(e) => Some(e.eval(&*self)?),
            None => None,
        };
        if let Some(a) = sec_align_expr {
            align = align.max(a);
        }
        if !self.layout.sections[oi].veneers.is_empty() {
            // The veneer group is 8-aligned, and so (as in GNU ld) is its output section.
            align = align.max(8);
        }
        let subalign = match os.and_then(|o| o.subalign.as_ref()) {
            Some(e) => Some(e.eval(&*self)?),
            None => None,
        };
        // As GNU ld, a section whose inputs are all empty and which moves no `.` is left out.
        let has_content = inputs
            .iter()
            .any(|&(o, s)| r.objects[o].sections[s as usize].size > 0)
            || !self.layout.sections[oi].veneers.is_empty()
            || os.is_some_and(|o| {
                o.items.iter().any(|i| {
                    matches!(i, OutputItem::Data { .. })
                        || matches!(i, OutputItem::Assign(a) if a.target == ".")
                })
            });
        let region = match os.and_then(|o| o.region.as_deref()) {
            Some(name) => Some(self.region_index(name).map_err(LayoutError::Other)?),
            None => {
                // Orphans continue in the region of the section they follow.
                if os.is_none() && self.layout.sections[oi].alloc {
                    (0..oi).rev().find_map(|p| self.layout.sections[p].region)
                } else {
                    None
                }
            }
        };
        let mut lma_region = match os.and_then(|o| o.lma_region.as_deref()) {
            Some(name) => Some(self.region_index(name).map_err(LayoutError::Other)?),
            None => None,
        };
        let explicit_addr = match os.and_then(|o| o.addr.as_ref()) {
            Some(e) => Some(e.eval(&*self)?),
            None => None,
        };
        let alloc = self.layout.sections[oi].alloc;
        let base = if !alloc {
            0
        } else if let Some(a) = explicit_addr {
            a
        } else if let Some(reg) = region {
            self.layout.regions[reg].current
        } else {
            self.dot
        };
        let vma = if explicit_addr.is_some() || !has_content || !alloc {
            base
        } else {
            align_up(base, align)
        };
        self.dot = vma;
        self.current_section = Some(oi);
        let mut pieces = Vec::new();
        let mut data_values = FxHashMap::default();
        let mut fill = (0u32, 4u8);
        if let Some(f) = os.and_then(|o| o.fill.as_ref()) {
            fill = self.fill_pattern(f)?;
        }
        match os {
            None => {
                for &(o, s) in &inputs {
                    self.place_input(oi, vma, (o, s), subalign, &mut pieces);
                }
                self.place_veneers(oi, vma, &mut pieces);
            }
            Some(os) => {
                let item_of = self.layout.sections[oi].input_item.clone();
                // GNU ld puts stubs right after the last code input section of the group.
                let mut last_code = None;
                for (item_index, item) in os.items.iter().enumerate() {
                    if matches!(item, OutputItem::Input(_)) {
                        for &(o, s) in &inputs {
                            if item_of.get(&(o, s)) == Some(&item_index)
                                && r.objects[o].sections[s as usize].is_exec()
                            {
                                last_code = Some((o, s));
                            }
                        }
                    }
                }
                let mut veneers_placed = false;
                for (item_index, item) in os.items.iter().enumerate() {
                    match item {
                        OutputItem::Input(_) => {
                            for &(o, s) in &inputs {
                                if item_of.get(&(o, s)) != Some(&item_index) {
                                    continue;
                                }
                                self.place_input(oi, vma, (o, s), subalign, &mut pieces);
                                if last_code == Some((o, s)) {
                                    self.place_veneers(oi, vma, &mut pieces);
                                    veneers_placed = true;
                                }
                            }
                        }
                        OutputItem::Assign(a) => self.assign(a, provide_wanted)?,
                        OutputItem::Assert(a) => self.check_assert(a)?,
                        OutputItem::Data { size, expr } => {
                            let v = expr.eval(&*self)?;
                            data_values.insert(pieces.len(), v);
                            pieces.push((
                                Piece::Data {
                                    item: item_index,
                                    size: *size,
                                },
                                self.dot - vma,
                            ));
                            self.dot += u64::from(*size);
                        }
                        OutputItem::Fill(e) => fill = self.fill_pattern(e)?,
                    }
                }
                if !veneers_placed {
                    self.place_veneers(oi, vma, &mut pieces);
                }
                // Orphans that joined this section by name go at its end.
                for &(o, s) in &inputs {
                    if item_of.contains_key(&(o, s)) {
                        continue;
                    }
                    self.place_input(oi, vma, (o, s), subalign, &mut pieces);
                }
            }
        }
        let size = self.dot - vma;
        let noload = os.is_some_and(|o| o.kind == OutputType::NoLoad);
        let lma = if !alloc {
            0
        } else if let Some(e) = os.and_then(|o| o.lma.as_ref()) {
            e.eval(&*self)?
        } else if let Some(lr) = lma_region {
            // GNU ld (ldlang.c, lang_size_sections_1): in another region than the VMA's, the
            // load address is aligned only to the output statement's own `ALIGN(x)`; in the
            // same region, as the VMA was (input sections' alignment included).
            let lma_align = if Some(lr) != region {
                sec_align_expr.unwrap_or(1)
            } else {
                align
            };
            align_up(self.layout.regions[lr].current, lma_align)
        } else if explicit_addr.is_some() {
            vma
        } else if let Some(&(delta, from)) = region.and_then(|reg| self.region_delta.get(&reg)) {
            // Same VMA-to-LMA offset as the last section in the region; its load region then
            // advances too, so what is loaded there next does not overlap (GNU ld).
            lma_region = from.filter(|&lr| Some(lr) != region);
            vma.wrapping_add(delta)
        } else {
            vma
        };
        if let Some(reg) = region {
            if has_content {
                self.layout.regions[reg].current = vma + size;
                self.region_delta
                    .insert(reg, (lma.wrapping_sub(vma), lma_region.or(Some(reg))));
            }
        }
        let out = &mut self.layout.sections[oi];
        if noload {
            out.nobits = true;
        } else if out.nobits
            && os.is_some_and(|o| o.items.iter().any(|i| matches!(i, OutputItem::Data { .. })))
        {
            // BYTE/SHORT/LONG/QUAD give a section contents even when all its inputs are NOBITS
            // or it has none: GNU ld makes it PROGBITS and loads it.
            out.nobits = false;
            out.sh_type = object::elf::SHT_PROGBITS.0;
        }
        if let Some(o) = os.filter(|_| inputs.is_empty()) {
            script_only_flags(out, o, size);
        }
        if let Some(lr) = lma_region {
            if Some(lr) != region && !out.nobits && has_content {
                self.layout.regions[lr].current = lma + size;
            }
        }
        let out = &mut self.layout.sections[oi];
        out.vma = vma;
        out.lma = lma;
        out.size = size;
        out.align = align;
        out.region = region;
        out.lma_region = lma_region;
        (out.fill, out.fill_len) = fill;
        out.pieces = pieces;
        out.data_values = data_values;
        out.empty = !has_content && size == 0;
        if alloc {
            // After an output section, `.` is its end (run address).
            self.dot = vma + size;
            if has_content || size > 0 {
                self.last_section = Some(oi);
            }
        }
        self.current_section = None;
        Ok(())
    }
}

impl PassState<'_> {
    /// A FILL pattern: a number is as many bytes as it needs (`FILL(0xFF)` fills with 0xFF
    /// bytes, as GNU ld reads a plain hex literal), any other expression four bytes.
    fn fill_pattern(&self, e: &Expr) -> Result<(u32, u8), LayoutError> {
        let v = e.eval(self)? as u32;
        let len = match e.kind {
            ExprKind::Num(_) => (4 - v.leading_zeros() / 8).max(1) as u8,
            _ => 4,
        };
        Ok((v, len))
    }

    /// Places input section `input` at `.` (aligned), recording its offset in output section `oi`.
    fn place_input(
        &mut self,
        oi: usize,
        vma: u64,
        (o, s): (usize, u32),
        subalign: Option<u64>,
        pieces: &mut Vec<(Piece, u64)>,
    ) {
        let is = &self.r.objects[o].sections[s as usize];
        if self.layout.merges.left_out((o, s)) {
            // Every string it had is stored elsewhere: no bytes, no alignment (as GNU ld).
            self.layout.placement[o][s as usize] = Some((oi, self.dot - vma));
            return;
        }
        self.dot = align_up(self.dot, subalign.unwrap_or(is.align));
        pieces.push((Piece::Input { obj: o, sec: s }, self.dot - vma));
        self.layout.placement[o][s as usize] = Some((oi, self.dot - vma));
        self.dot += self.layout.input_size(is, (o, s));
    }

    /// Veneers go after the section's last code input section, in a group aligned to 8 bytes
    /// (as GNU ld's stub sections are), 8 bytes each.
    fn place_veneers(&mut self, oi: usize, vma: u64, pieces: &mut Vec<(Piece, u64)>) {
        if !self.layout.sections[oi].veneers.is_empty() {
            self.dot = align_up(self.dot, 8);
        }
        for v in &mut self.layout.sections[oi].veneers {
            v.offset = self.dot - vma;
            pieces.push((Piece::Veneer { target: v.target }, v.offset));
            self.dot += 8;
        }
    }
}

impl EvalContext for PassState<'_> {
    fn dot(&self) -> Result<u64, String> {
        Ok(self.dot)
    }
    fn symbol(&self, name: &str) -> Result<u64, String> {
        if let Some(v) = self.layout.global_value(self.r, name) {
            return Ok(v);
        }
        if self.final_pass {
            Err(format!(
                "undefined symbol `{name}` referenced in expression"
            ))
        } else {
            Ok(0)
        }
    }
    fn defined(&self, name: &str) -> bool {
        self.defined_now.contains(name)
            || matches!(self.r.global(name).map(|g| g.def), Some(Def::Object { .. }))
    }
    fn section_addr(&self, name: &str) -> Result<u64, String> {
        self.find_section(name).map(|s| s.vma)
    }
    fn section_load_addr(&self, name: &str) -> Result<u64, String> {
        self.find_section(name).map(|s| s.lma)
    }
    fn section_size(&self, name: &str) -> Result<u64, String> {
        // SIZEOF of a section that does not exist is 0 in GNU ld.
        Ok(self.find_section(name).map(|s| s.size).unwrap_or(0))
    }
    fn section_align(&self, name: &str) -> Result<u64, String> {
        self.find_section(name).map(|s| s.align)
    }
    fn region_origin(&self, name: &str) -> Result<u64, String> {
        Ok(self.layout.regions[self.region_index(name)?].origin)
    }
    fn region_length(&self, name: &str) -> Result<u64, String> {
        Ok(self.layout.regions[self.region_index(name)?].length)
    }
}

impl super::exprsection::SectionScope for PassState<'_> {
    fn symbol_section(&self, name: &str) -> Option<usize> {
        if let Some(s) = self.layout.script_symbols.get(name) {
            return s.section;
        }
        let Def::Object { obj, sym, .. } = self.r.global(name)?.def else {
            return None;
        };
        let SymSection::Section(sec) = self.r.objects[obj].symbols[sym].section else {
            return None;
        };
        self.layout.placement[obj]
            .get(sec as usize)
            .copied()
            .flatten()
            .map(|(out, _)| out)
    }
    fn section_named(&self, name: &str) -> Option<usize> {
        self.layout.sections.iter().position(|s| s.name == name)
    }
    fn dot_section(&self) -> Option<usize> {
        self.last_section
    }
    fn truth(&self, e: &Expr) -> bool {
        e.eval(self).is_ok_and(|v| v != 0)
    }
}

impl PassState<'_> {
    fn find_section(&self, name: &str) -> Result<&OutSection, String> {
        self.layout
            .sections
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("no output section `{name}`"))
    }
}
