//! SHF_MERGE sections (`.rodata.str1.1`, `.rodata.str1.4`, `.rodata.cst8`, `.comment`,
//! `.debug_str`): duplicate strings and constants stored once, as GNU ld 2.40 does.
//!
//! The result must be byte-identical to GNU ld's, so this follows the layout its BFD library
//! produces (hash order plays no part; these rules decide every address):
//! - Input sections are grouped by output section, SHF_MERGE/SHF_STRINGS flags, entry size and
//!   alignment; within a group they are read in input order (objects as loaded, then section
//!   index). Sections with relocations, empty ones and ones whose entry size does not suit
//!   their alignment are not merged.
//! - Each string (or fixed-size entry) is entered once, owned by the input section where it
//!   first appears. Its alignment is the largest power of two dividing its input offset, capped
//!   at the section's alignment; a later copy that needs more alignment replaces the first (the
//!   string moves to the later section). Runs of NULs after a string are padding, except the
//!   first NUL at an aligned offset, which is an empty string.
//! - Tail merging: strings sorted by their reversed bytes; each that is a suffix of the nearest
//!   kept longer one (with enough alignment, at an offset that keeps its alignment) points into it.
//! - Each input section keeps its place in the output section and holds the strings it owns, in
//!   first-appearance order, each aligned; a section that owns none is left out (no alignment
//!   gap either). If every input size was a multiple of the alignment, the section that owns the
//!   last entry is padded to the alignment.
//!
//! References are rebased: a symbol in a merged section moves with the string it points into;
//! a section symbol plus addend (a `.LC0` string literal) is rebased at symbol + addend
//! (see [`Merges::map`]).

use rustc_hash::FxHashMap;

use super::load::InputSection;
use super::resolve::Resolved;

/// (object index, section index).
pub type Key = (usize, u32);

const SHF_MERGE: u64 = 0x10;
const SHF_STRINGS: u64 = 0x20;

/// What merging made of one input section.
#[derive(Debug, Default)]
struct MergedInput {
    /// Its group, for looking strings up by content.
    group: usize,
    /// Output bytes (empty when it owns nothing: the section is left out).
    contents: Vec<u8>,
    /// The section owns at least one entry.
    kept: bool,
}

/// One entry of a group: a string with its terminator, or a fixed-size constant.
#[derive(Debug)]
struct Entry {
    bytes: Vec<u8>,
    /// Required alignment; 0 once replaced by a better aligned copy or merged as a suffix.
    align: u64,
    owner: Key,
    /// Offset in the owner's output contents.
    index: u64,
    /// Replaced by a better aligned copy (no longer found by content).
    replaced: bool,
    /// The kept entry this one is a tail of.
    suffix_of: Option<usize>,
}

#[derive(Debug)]
struct Group {
    entsize: usize,
    strings: bool,
    entries: Vec<Entry>,
    by_content: FxHashMap<Vec<u8>, usize>,
    /// First entry left in the list after suffix merging (GNU's fallback for offsets into
    /// padding).
    first_kept: Option<usize>,
}

/// Every merged input section of a link.
#[derive(Debug, Default)]
pub struct Merges {
    inputs: FxHashMap<Key, MergedInput>,
    groups: Vec<Group>,
}

/// Is `is` merged by GNU ld's rules (given it is live and has an output section)?
fn mergeable(is: &InputSection) -> bool {
    if is.flags & SHF_MERGE == 0 || is.size == 0 || is.entsize == 0 || !is.relocs.is_empty() {
        return false;
    }
    if is.is_nobits() || is.data.len() as u64 != is.size {
        return false;
    }
    let (entsize, align) = (is.entsize, is.align);
    let strings = is.flags & SHF_STRINGS != 0;
    !((entsize < align && (!entsize.is_power_of_two() || !strings))
        || (entsize > align && entsize % align != 0))
}

/// Length of the string at `at` (in characters of `entsize` bytes, terminator included); a
/// string missing its terminator at the end of the section ends there, with an implied one.
fn string_len(data: &[u8], at: usize, entsize: usize) -> (usize, bool) {
    let mut p = at;
    loop {
        if p + entsize > data.len() {
            return (p - at, false);
        }
        if data[p..p + entsize].iter().all(|&b| b == 0) {
            return (p + entsize - at, true);
        }
        p += entsize;
    }
}

/// The bytes of the string at `at`, terminator included: borrowed from `data`, or owned when
/// the terminator is implied.
fn string_at(data: &[u8], at: usize, entsize: usize) -> std::borrow::Cow<'_, [u8]> {
    let (len, terminated) = string_len(data, at, entsize);
    if terminated {
        return std::borrow::Cow::Borrowed(&data[at..at + len]);
    }
    let mut s = data[at..at + len].to_vec();
    s.resize(len + entsize, 0);
    std::borrow::Cow::Owned(s)
}

/// Alignment a string at input offset `ofs` keeps: the lowest set bit of `ofs`, capped at the
/// section's alignment.
fn element_align(ofs: usize, section_align: u64) -> u64 {
    if ofs == 0 {
        return section_align;
    }
    (1u64 << ofs.trailing_zeros()).min(section_align)
}

impl Group {
    /// Enters `bytes` owned by `owner` (unless already present with enough alignment).
    fn add(&mut self, bytes: &[u8], align: u64, owner: Key) -> usize {
        if let Some(&i) = self.by_content.get(bytes) {
            if self.entries[i].align >= align {
                return i;
            }
            let old = &mut self.entries[i];
            old.replaced = true;
            old.align = 0;
        }
        self.entries.push(Entry {
            bytes: bytes.to_vec(),
            align,
            owner,
            index: 0,
            replaced: false,
            suffix_of: None,
        });
        let i = self.entries.len() - 1;
        self.by_content.insert(bytes.to_vec(), i);
        i
    }

    fn record(&mut self, key: Key, is: &InputSection) {
        let data = &is.data[..];
        let es = self.entsize;
        if !self.strings {
            for chunk in data.chunks_exact(es) {
                self.add(chunk, 1, key);
            }
            return;
        }
        let mut nul = false;
        let mut p = 0;
        while p < data.len() {
            let bytes = string_at(data, p, es);
            let i = self.add(&bytes, element_align(p, is.align), key);
            p += self.entries[i].bytes.len();
            while p + es <= data.len() && data[p..p + es].iter().all(|&b| b == 0) {
                if !nul && p as u64 % is.align == 0 {
                    nul = true;
                    self.add(&vec![0; es], is.align, key);
                }
                p += es;
            }
        }
    }

    /// Tail merging: the sort and scan of GNU ld's `merge_strings`.
    fn merge_suffixes(&mut self) {
        let es = self.entsize;
        let live: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].align != 0)
            .collect();
        let first_align = live.first().map(|&i| self.entries[i].align);
        let uniform = live
            .iter()
            .all(|&i| Some(self.entries[i].align) == first_align);
        let by_tail_align = uniform && first_align.is_some_and(|a| a > es as u64);
        let mut order = live;
        let entries = &self.entries;
        order.sort_by(|&a, &b| {
            let (x, y) = (&entries[a].bytes, &entries[b].bytes);
            let (x, y) = (&x[..x.len() - es], &y[..y.len() - es]);
            if by_tail_align {
                let m = entries[a].align as usize - 1;
                let tail = (x.len() & m).cmp(&(y.len() & m));
                if tail.is_ne() {
                    return tail;
                }
            }
            x.iter().rev().cmp(y.iter().rev())
        });
        let Some((&last, rest)) = order.split_last() else {
            return;
        };
        let mut e = last;
        for &c in rest.iter().rev() {
            let (long, short) = (&self.entries[e], &self.entries[c]);
            let (ll, sl) = (long.bytes.len(), short.bytes.len());
            if long.align >= short.align
                && ((ll as u64).wrapping_sub(sl as u64) & (short.align - 1)) == 0
                && ll > sl
                && long.bytes[ll - sl..] == short.bytes[..]
            {
                self.entries[c].suffix_of = Some(e);
                self.entries[c].align = 0;
            } else {
                e = c;
            }
        }
    }
}

impl Merges {
    /// Merges every live input section that has an output section. `output_of` gives that
    /// output section (None: discarded or not placed).
    pub fn compute(
        r: &Resolved,
        live: &[Vec<bool>],
        output_of: &dyn Fn(Key) -> Option<usize>,
    ) -> Merges {
        let mut merges = Merges::default();
        // (output section, flags, entsize, align) → group.
        let mut group_of: FxHashMap<(usize, u64, u64, u64), usize> = FxHashMap::default();
        let mut members: Vec<Vec<(Key, &InputSection)>> = Vec::new();
        for (oi, o) in r.objects.iter().enumerate() {
            for (si, is) in o.sections.iter().enumerate() {
                let key = (oi, si as u32);
                if !live[oi][si] || is.discarded || !mergeable(is) {
                    continue;
                }
                let Some(out) = output_of(key) else {
                    continue;
                };
                let flags = is.flags & (SHF_MERGE | SHF_STRINGS);
                let gi = *group_of
                    .entry((out, flags, is.entsize, is.align))
                    .or_insert_with(|| {
                        merges.groups.push(Group {
                            entsize: is.entsize as usize,
                            strings: flags & SHF_STRINGS != 0,
                            entries: Vec::new(),
                            by_content: FxHashMap::default(),
                            first_kept: None,
                        });
                        members.push(Vec::new());
                        merges.groups.len() - 1
                    });
                members[gi].push((key, is));
            }
        }
        for (gi, inputs) in members.iter().enumerate() {
            merges.lay_out_group(gi, inputs);
        }
        merges
    }

    /// Records the group's input sections in order and gives each its output contents.
    fn lay_out_group(&mut self, gi: usize, inputs: &[(Key, &InputSection)]) {
        let group = &mut self.groups[gi];
        // Pad the output as the inputs were padded: only if every input size was a multiple
        // of the alignment.
        let mut pad_to = inputs[0].1.align;
        for &(k, is) in inputs {
            group.record(k, is);
            if is.size % is.align != 0 {
                pad_to = 0;
            }
        }
        if group.strings {
            group.merge_suffixes();
        }
        // Offsets in each owner, in first-appearance order.
        let mut sizes: FxHashMap<Key, u64> = FxHashMap::default();
        let mut last_owner = None;
        for e in &mut group.entries {
            last_owner = Some(e.owner);
            if e.align == 0 {
                continue;
            }
            let size = sizes.entry(e.owner).or_insert(0);
            *size = size.next_multiple_of(e.align);
            e.index = *size;
            *size += e.bytes.len() as u64;
        }
        for i in 0..group.entries.len() {
            if let Some(s) = group.entries[i].suffix_of {
                let (owner, index, slen) = {
                    let t = &group.entries[s];
                    (t.owner, t.index, t.bytes.len())
                };
                let e = &mut group.entries[i];
                e.owner = owner;
                e.index = index + (slen - e.bytes.len()) as u64;
            }
        }
        group.first_kept = group
            .entries
            .iter()
            .position(|e| e.align != 0 && !e.replaced);
        let mut contents: FxHashMap<Key, Vec<u8>> = FxHashMap::default();
        for e in group.entries.iter().filter(|e| e.align != 0) {
            let out = contents.entry(e.owner).or_default();
            out.resize(e.index as usize, 0);
            out.extend_from_slice(&e.bytes);
        }
        if let (Some(last), true) = (last_owner, pad_to > 1) {
            if let Some(out) = contents.get_mut(&last) {
                out.resize((out.len() as u64).next_multiple_of(pad_to) as usize, 0);
            }
        }
        for &(k, _) in inputs {
            let bytes = contents.remove(&k);
            self.inputs.insert(
                k,
                MergedInput {
                    group: gi,
                    kept: bytes.is_some(),
                    contents: bytes.unwrap_or_default(),
                },
            );
        }
    }

    /// Gives the first of `keys` the whole contents `bytes` and leaves the others out: a
    /// section GNU ld builds from scratch rather than from its inputs (`.ARM.attributes`).
    pub fn replace(&mut self, keys: &[Key], bytes: Vec<u8>) {
        for (n, &k) in keys.iter().enumerate() {
            let contents = if n == 0 { bytes.clone() } else { Vec::new() };
            self.inputs.insert(
                k,
                MergedInput {
                    group: usize::MAX,
                    kept: n == 0,
                    contents,
                },
            );
        }
    }

    /// Output size of a merged input section (None: not merged).
    pub fn size(&self, key: Key) -> Option<u64> {
        self.inputs.get(&key).map(|m| m.contents.len() as u64)
    }

    /// Output bytes of a merged input section (None: not merged).
    pub fn contents(&self, key: Key) -> Option<&[u8]> {
        self.inputs.get(&key).map(|m| &m.contents[..])
    }

    /// A merged input section that owns nothing: it is left out of the output (no alignment).
    pub fn left_out(&self, key: Key) -> bool {
        self.inputs.get(&key).is_some_and(|m| !m.kept)
    }

    /// Where input offset `offset` of section `key` went: the owning input section and the
    /// offset in its output contents (None: `key` is not merged). As GNU ld, an offset inside
    /// a string follows that string; past the end it is the end of this section's output.
    pub fn map(&self, is: &InputSection, key: Key, offset: u64) -> Option<(Key, u64)> {
        let m = self.inputs.get(&key)?;
        let data = &is.data[..];
        if offset >= data.len() as u64 {
            return Some((key, m.contents.len() as u64));
        }
        // Replaced sections have no group: offsets stay where they are.
        let group = self.groups.get(m.group)?;
        let es = group.entsize;
        let offset = offset as usize;
        let start = if !group.strings {
            offset / es * es
        } else {
            // Back to the character after the previous terminator.
            let mut p = (offset / es) * es;
            while p >= es && data[p - es..p].iter().any(|&b| b != 0) {
                p -= es;
            }
            p
        };
        let bytes = if group.strings {
            string_at(data, start, es)
        } else {
            std::borrow::Cow::Borrowed(&data[start..start + es])
        };
        match group.by_content.get(&*bytes) {
            Some(&i) => {
                let e = &group.entries[i];
                Some((e.owner, e.index + (offset - start) as u64))
            }
            // Only an offset into padding NULs (GNU ld then uses the group's first string's
            // terminator).
            None => {
                let e = &group.entries[group.first_kept?];
                Some((e.owner, e.index + (e.bytes.len() - es) as u64))
            }
        }
    }
}
