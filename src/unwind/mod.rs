//! Call-stack unwinding of Cortex-M code on a target's memory: one unwinder for hardware (through
//! a debug probe) and for the virtual board.
//!
//! The unwind information of an image — DWARF CFI (`.debug_frame`), ARM EHABI
//! (`.ARM.exidx`/`.ARM.extab`) or, as a fallback, the frames decoded from the code itself (r7
//! frame pointers from `-fno-omit-frame-pointer`, SP arithmetic elsewhere) — is compiled once into a [`Table`] of address ranges, each with one
//! [`Rule`]: "the caller's stack pointer (CFA) is register + offset, these registers were saved
//! at these offsets from it". One unwind step is then a binary search and, typically, one memory
//! read (the saved LR); saved registers are read only when a later rule needs them. This is
//! what makes DWARF unwinding as cheap as walking frame pointers: no CFI program is interpreted
//! while the target is halted.
//!
//! Exception frames (an `EXC_RETURN` value as return address) are unwound through the hardware
//! stack frame the core pushed, on the main or process stack as the value says.

mod analysis;
mod calls;
mod dwarf;
mod ehabi;
mod walk;

use std::fmt;

use anyhow::{Context, Result};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

pub use calls::ReturnAddress;
pub use walk::{unwind, Limits, TargetMemory, Truncated, Unwound, MSP, PSP};

/// Offset marker in [`Rule::saved`]: the register keeps its value across the call.
pub const NOT_SAVED: i16 = i16::MIN;
/// Offset marker for LR in [`Rule::saved`]: there is no caller (the outermost frame).
pub const END_OF_STACK: i16 = i16::MAX;
/// Index of LR in [`Rule::saved`] (r4..r11 come first).
pub const SAVED_LR: usize = 8;

/// How to recover the caller's registers at one address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The register the CFA is computed from: 13 (SP), or a frame pointer (r7, r11).
    pub cfa_register: u8,
    pub cfa_offset: i32,
    /// Where r4..r11 and LR were saved, as offsets from the CFA ([`NOT_SAVED`]: not saved).
    pub saved: [i16; 9],
}

impl Rule {
    /// The state at a function's first instruction: nothing pushed, return address in LR.
    pub const ENTRY: Rule = Rule {
        cfa_register: 13,
        cfa_offset: 0,
        saved: [NOT_SAVED; 9],
    };
}

/// Where a table's rules come from; also the order they are tried in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// DWARF call frame information (`.debug_frame`): exact at every instruction.
    Dwarf,
    /// ARM EHABI tables: exact after the prologue; the first instruction is handled as an entry.
    Ehabi,
    /// Decoded from the code: the r7 frame pointer GCC sets up with `-fno-omit-frame-pointer`
    /// (`push {.., r7, lr}; sub sp; add r7, sp`), and the SP arithmetic of every prologue and
    /// epilogue, so that frames without a frame pointer (libraries) unwind too.
    FramePointer,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Dwarf, Source::Ehabi, Source::FramePointer];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Dwarf => "dwarf",
            Source::Ehabi => "ehabi",
            Source::FramePointer => "frame-pointer",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Disjoint, sorted address ranges of one source, each with its rule.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    starts: Vec<u32>,
    ends: Vec<u32>,
    rules: Vec<Rule>,
}

impl Rows {
    /// Builds from (start, end, rule) in any order; overlapping ranges keep the first one seen.
    fn from_ranges(mut ranges: Vec<(u32, u32, Rule)>) -> Rows {
        ranges.sort_by_key(|r| r.0);
        let mut rows = Rows::default();
        for (start, end, rule) in ranges {
            let start = start.max(rows.ends.last().copied().unwrap_or(0));
            if start >= end {
                continue;
            }
            // Adjacent ranges with the same rule merge: fewer rows, faster searches.
            if rows.ends.last() == Some(&start) && rows.rules.last() == Some(&rule) {
                *rows.ends.last_mut().expect("non-empty") = end;
                continue;
            }
            rows.starts.push(start);
            rows.ends.push(end);
            rows.rules.push(rule);
        }
        rows
    }

    fn lookup(&self, pc: u32) -> Option<&Rule> {
        let i = self.starts.partition_point(|&s| s <= pc).checked_sub(1)?;
        (pc < self.ends[i]).then(|| &self.rules[i])
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

/// A function of the image (from its symbol table), for sources keyed by function.
#[derive(Clone, Copy, Debug)]
struct Function {
    start: u32,
    end: u32,
}

/// The precomputed unwind rules of one image, per source.
#[derive(Clone, Debug, Default)]
pub struct Table {
    sources: Vec<(Source, Rows)>,
    /// Where the image's calls return to: a return address elsewhere ends the stack.
    calls: calls::CallReturns,
    /// The outermost functions, sorted: the one holding the ELF entry point (the reset
    /// handler), which nothing calls, and those it reaches by tail branches, transitively (a
    /// reset handler that ends `b _start` hands over its missing caller: crt0's `_start`). A
    /// frame in one of them is the outermost, unwind information or not (startup code is often
    /// assembly without CFI).
    outermost: Vec<Function>,
    /// Problems met while reading unwind information (the affected ranges have no rows).
    pub warnings: Vec<String>,
}

impl Table {
    /// Reads every source the ELF image has.
    pub fn from_elf(bytes: &[u8], path: &str) -> Result<Table> {
        Table::from_elf_with(bytes, path, &Source::ALL)
    }

    /// Reads only `sources`, in that order of preference.
    pub fn from_elf_with(bytes: &[u8], path: &str, sources: &[Source]) -> Result<Table> {
        let file = object::File::parse(bytes)
            .with_context(|| format!("{path}: not an ELF file hotlink can read"))?;
        let functions = functions(&file);
        let section = |name: &str| {
            file.section_by_name(name)
                .and_then(|s| Some((s.address() as u32, s.data().ok()?)))
        };
        let mut table = Table {
            calls: calls::CallReturns::scan(&file, &functions),
            outermost: outermost(&functions, (file.entry() as u32) & !1, |a| {
                code_at(&file, a)
            }),
            ..Table::default()
        };
        for &source in sources {
            let ranges = match source {
                Source::Dwarf => match section(".debug_frame") {
                    Some((_, data)) => dwarf::rows(data, &mut table.warnings),
                    None => continue,
                },
                Source::Ehabi => match exidx(&file) {
                    Some((address, data)) => {
                        let extab = section(".ARM.extab");
                        ehabi::rows(address, data, extab, &functions, &mut table.warnings)
                    }
                    None => continue,
                },
                Source::FramePointer => {
                    analysis::rows(&functions, |a| code_at(&file, a), &mut table.warnings)
                }
            };
            let rows = Rows::from_ranges(ranges);
            if !rows.is_empty() {
                table.sources.push((source, rows));
            }
        }
        for w in &mut table.warnings {
            *w = format!("{path}: {w}");
        }
        Ok(table)
    }

    /// The sources that have rows, in order of preference.
    pub fn sources(&self) -> impl Iterator<Item = (Source, usize)> + '_ {
        self.sources.iter().map(|(s, rows)| (*s, rows.len()))
    }

    /// What `ra` is as a return address of this image (see [`calls`]).
    pub fn return_address(&self, ra: u32) -> ReturnAddress {
        self.calls.classify(ra)
    }

    /// Whether `pc` lies in the reset handler or a function it tail-branches to: the
    /// outermost frame.
    pub fn is_entry_function(&self, pc: u32) -> bool {
        let i = self.outermost.partition_point(|f| f.start <= pc);
        i > 0 && pc < self.outermost[i - 1].end
    }

    /// The rule for `pc`, from the first source that covers it.
    pub fn lookup(&self, pc: u32) -> Option<(Source, &Rule)> {
        self.sources
            .iter()
            .find_map(|(source, rows)| rows.lookup(pc).map(|r| (*source, r)))
    }
}

/// The image's functions, from its symbol table, sorted. Assembly routines declared as functions
/// without a size (libgcc's `__aeabi_uldivmod`, `__aeabi_uidiv`) end where the next function
/// starts, at most [`UNSIZED_FUNCTION_LIMIT`] bytes on; where two symbols share an address, the
/// sized one counts.
fn functions(file: &object::File<'_>) -> Vec<Function> {
    let mut symbols: Vec<(u32, u32)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text)
        .map(|s| ((s.address() as u32) & !1, s.size() as u32))
        .collect();
    symbols.sort_by_key(|&(start, size)| (start, std::cmp::Reverse(size)));
    symbols.dedup_by_key(|s| s.0);
    let mut functions = Vec::with_capacity(symbols.len());
    for (k, &(start, size)) in symbols.iter().enumerate() {
        let end = match size {
            0 => match symbols.get(k + 1) {
                Some(&(next, _)) if next - start <= UNSIZED_FUNCTION_LIMIT => next,
                _ => continue,
            },
            _ => start.saturating_add(size),
        };
        functions.push(Function { start, end });
    }
    functions
}

/// The function holding `entry` and every function it reaches by tail branches, transitively,
/// sorted by address. Only branches to a function's first instruction count: a branch into
/// the middle of another symbol is not a tail call.
fn outermost<'a>(
    functions: &[Function],
    entry: u32,
    code_at: impl Fn(u32) -> Option<&'a [u8]>,
) -> Vec<Function> {
    let Some(&first) = functions.iter().find(|f| (f.start..f.end).contains(&entry)) else {
        return Vec::new();
    };
    let mut found = vec![first];
    let mut k = 0;
    while let Some(&f) = found.get(k) {
        k += 1;
        let Some(code) = code_at(f.start) else {
            continue;
        };
        let size = ((f.end - f.start) as usize).min(code.len());
        for target in analysis::tail_branch_targets(f.start, &code[..size]) {
            let Ok(i) = functions.binary_search_by_key(&target, |g| g.start) else {
                continue;
            };
            if !found.iter().any(|g| g.start == target) {
                found.push(functions[i]);
            }
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

/// The longest a function without a size in the symbol table is taken to be.
const UNSIZED_FUNCTION_LIMIT: u32 = 4096;

/// The EHABI index table, found by its section type: linker scripts name the output section
/// freely (`.ARM.exidx`, or `.ARM` as in the fixtures' and NXP's scripts).
fn exidx<'a>(file: &object::File<'a>) -> Option<(u32, &'a [u8])> {
    use object::read::elf::SectionHeader;
    let object::File::Elf32(elf) = file else {
        return None;
    };
    let section = elf
        .sections()
        .find(|s| s.elf_section_header().sh_type(elf.endian()) == object::elf::SHT_ARM_EXIDX)?;
    Some((section.address() as u32, section.data().ok()?))
}

/// The bytes of code at `address` (up to the end of its section), for code analysis.
fn code_at<'a>(file: &object::File<'a>, address: u32) -> Option<&'a [u8]> {
    file.sections().find_map(|s| {
        let start = s.address() as u32;
        let end = start.checked_add(s.size() as u32)?;
        if s.kind() != object::SectionKind::Text || !(start..end).contains(&address) {
            return None;
        }
        s.data().ok()?.get((address - start) as usize..)
    })
}
