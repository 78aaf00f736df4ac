//! Include lists: the files of input-section lines a project INCLUDEs into its ITCM output
//! section (PX4's `itcm_functions_includes.ld`: one `*(.text.<function>)` per line), written from
//! a plan, and the check that every section a list names still exists in a build.
//!
//! A list rots silently: GNU ld and LLD accept a pattern that matches nothing, so a renamed
//! function just stays in flash. PX4 checks its list with `Tools/itcm_check.py` (function names
//! from the ELF's symbols and DWARF); [`missing`] does the same from the ELF's symbols, or exactly
//! from a link map, which also knows sections that are not named after a function.

use anyhow::{bail, Result};
use object::{Object, ObjectSymbol};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::linkmap::{section_label, LinkMap, MapInputSection};
use crate::plan::Plan;

/// A line a list carries that its checker skips, as PX4's `itcm_check.py` does.
pub const IGNORE_MARKER: &str = "itcm-check-ignore";

/// An input section that runs from a region under a plan, and what moving it there saves.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub object: String,
    pub member: Option<String>,
    pub section: String,
    pub size: u64,
    /// Predicted cycles the plan saves by it (0 for a section that was already there).
    pub cycles_saved: f64,
}

impl Listed {
    pub fn label(&self) -> String {
        section_label(&self.object, self.member.as_deref(), &self.section)
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn same_section(s: &MapInputSection, object: &str, member: Option<&str>, section: &str) -> bool {
    s.section == section && s.member.as_deref() == member && base(&s.object) == base(object)
}

/// The code sections that run from `region` once a project's list holds the plan: those a list
/// can name (`.text*`) that run there in the baseline link (`map`), less those the plan moves
/// out, plus those it moves in. The list replaces the project's own, so it must keep what stays.
pub fn region_contents(plan: &Plan, map: &LinkMap, region: &str) -> Result<Vec<Listed>> {
    let Some(r) = plan
        .regions
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(region))
    else {
        bail!(
            "the plan has no region `{region}` (it has {})",
            plan.regions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let moves_out = |s: &MapInputSection| {
        plan.placements.iter().any(|p| {
            p.from == r.name
                && p.to != r.name
                && same_section(s, &p.object, p.member.as_deref(), &p.section)
        })
    };
    let mut listed: Vec<Listed> = map
        .input_sections
        .iter()
        .filter(|s| s.size > 0 && s.section.starts_with(".text"))
        .filter(|s| s.address >= r.base && s.address < r.base + r.size)
        .filter(|s| !moves_out(s))
        .map(|s| Listed {
            object: s.object.clone(),
            member: s.member.clone(),
            section: s.section.clone(),
            size: s.size,
            cycles_saved: 0.0,
        })
        .collect();
    for p in plan.placements.iter().filter(|p| p.to == r.name) {
        listed.push(Listed {
            object: p.object.clone(),
            member: p.member.clone(),
            section: p.section.clone(),
            size: p.size,
            cycles_saved: p.cycles_saved,
        });
    }
    Ok(listed)
}

/// A PX4-style list for `region`: `*(.text.<function>)` where the name is unique in the link,
/// the file-qualified line otherwise (a static function whose name another object also uses,
/// a plain `.text`). Returns the file's text and notes for the user.
pub fn write_list(plan: &Plan, map: &LinkMap, region: &str) -> Result<(String, Vec<String>)> {
    let listed = region_contents(plan, map, region)?;
    let mut owners: FxHashMap<&str, usize> = FxHashMap::default();
    for s in map.input_sections.iter().filter(|s| s.size > 0) {
        *owners.entry(s.section.as_str()).or_default() += 1;
    }
    let mut notes = Vec::new();
    let mut lines: Vec<String> = listed
        .iter()
        .map(|l| {
            let unique = owners.get(l.section.as_str()).copied().unwrap_or(0) <= 1;
            if l.section.starts_with(".text.") && unique {
                format!("*({})", l.section)
            } else {
                notes.push(format!(
                    "{}: named with its file ({}), which PX4's itcm_check.py does not read; `hotlink check-list` does",
                    l.label(),
                    if unique { "not a .text.<function> section" } else { "its section name is not unique in the link" }
                ));
                match &l.member {
                    Some(m) => format!("*{}:{m}({})", base(&l.object), l.section),
                    None => format!("*{}({})", base(&l.object), l.section),
                }
            }
        })
        .collect();
    lines.sort();
    lines.dedup();
    let bytes: u64 = listed.iter().map(|l| l.size).sum();
    let text = format!(
        "/* Generated by hotlink from a {} plan for {}: {} sections, {bytes} bytes run from {region}.\n   INCLUDE it in the {region} output section that comes before .text; check it with\n   hotlink check-list. */\n{}\n",
        plan.strategy,
        plan.board,
        listed.len(),
        lines.join("\n")
    );
    Ok((text, notes))
}

/// One input-section line of a list.
#[derive(Clone, Debug, PartialEq)]
pub struct ListEntry {
    /// 1-based line number.
    pub line: usize,
    /// The file pattern (`*`, `*main.o`, `*libc.a:lib_a-memcpy.o`).
    pub file: String,
    pub section: String,
    /// The line carries [`IGNORE_MARKER`].
    pub ignored: bool,
}

/// The input-section lines of a list: `*(.text.a)`, `*file.o(.text.b .text.c)`,
/// `KEEP(*x.c.obj(".text.d"))`; comments and other statements are skipped.
pub fn parse_list(text: &str) -> Vec<ListEntry> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let ignored = raw.contains(IGNORE_MARKER);
        let mut line = raw.trim().to_string();
        while let Some(start) = line.find("/*") {
            let end = line[start..]
                .find("*/")
                .map_or(line.len(), |e| start + e + 2);
            line.replace_range(start..end, " ");
        }
        let mut spec = line.trim();
        while let Some(inner) = spec
            .strip_prefix("KEEP")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.trim_end().strip_suffix(')'))
        {
            spec = inner.trim();
        }
        let (Some(open), Some(close)) = (spec.find('('), spec.rfind(')')) else {
            continue;
        };
        let file = spec[..open].trim();
        if close < open || !file.starts_with('*') || file.contains(char::is_whitespace) {
            continue;
        }
        for section in spec[open + 1..close].split_whitespace() {
            entries.push(ListEntry {
                line: i + 1,
                file: file.to_string(),
                section: section.trim_matches('"').to_string(),
                ignored,
            });
        }
    }
    entries
}

/// Where a check looks for the sections a list names.
pub enum Build<'a> {
    /// A link map: every input section, exactly.
    Map(&'a LinkMap),
    /// An ELF image's symbol names: `.text.<name>` exists if a symbol `<name>` does.
    Symbols(&'a FxHashSet<String>),
}

/// The names of an ELF image's symbols, for [`Build::Symbols`].
pub fn elf_symbols(elf: &[u8]) -> Result<FxHashSet<String>> {
    let file = object::File::parse(elf)?;
    Ok(file
        .symbols()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect())
}

/// GCC's prefixes for hot/cold/startup placement: `.text.unlikely.foo` holds `foo`.
const GCC_SUBSECTIONS: &[&str] = &["unlikely.", "startup.", "hot.", "exit."];

/// What a check found: the entries that name nothing in the build, and those it cannot judge
/// from an ELF's symbols (not named after a function).
#[derive(Debug, Default)]
pub struct CheckResult {
    pub missing: Vec<ListEntry>,
    pub unchecked: Vec<ListEntry>,
    pub checked: usize,
}

/// Checks every entry (but the ignored ones) against a build.
pub fn check(entries: &[ListEntry], build: &Build<'_>) -> CheckResult {
    let mut result = CheckResult::default();
    for e in entries.iter().filter(|e| !e.ignored) {
        let found = match build {
            Build::Map(map) => Some(map.input_sections.iter().any(|s| names(e, s))),
            Build::Symbols(symbols) => e.section.strip_prefix(".text.").map(|name| {
                symbols.contains(name)
                    || GCC_SUBSECTIONS
                        .iter()
                        .any(|p| name.strip_prefix(p).is_some_and(|n| symbols.contains(n)))
            }),
        };
        match found {
            Some(true) => result.checked += 1,
            Some(false) => {
                result.checked += 1;
                result.missing.push(e.clone());
            }
            None => result.unchecked.push(e.clone()),
        }
    }
    result
}

/// True when `entry`'s file and section patterns match input section `s` (as ld matches them).
fn names(entry: &ListEntry, s: &MapInputSection) -> bool {
    use crate::link::script::glob_match;
    if !glob_match(&entry.section, &s.section) {
        return false;
    }
    match entry.file.split_once(':') {
        Some((archive, member)) => {
            s.member.as_deref().is_some_and(|m| glob_match(member, m))
                && glob_match(archive, base(&s.object))
        }
        None => {
            let file = s.member.as_deref().unwrap_or(&s.object);
            glob_match(&entry.file, file) || glob_match(&entry.file, base(file))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_section(
        object: &str,
        member: Option<&str>,
        section: &str,
        address: u64,
    ) -> MapInputSection {
        MapInputSection {
            object: object.into(),
            member: member.map(Into::into),
            section: section.into(),
            output_section: ".text".into(),
            region: None,
            load_region: None,
            address,
            load_address: address,
            size: 16,
            align: 4,
            kind: "code".into(),
            symbols: Vec::new(),
        }
    }

    #[test]
    fn lists_are_read_as_ld_reads_them() {
        let text = "/* header */\n*(.text.a)\n  *(.text.b) /* itcm-check-ignore */\n*main.o(.text.c .text.d)\nKEEP(*x.c.obj(\".text.e\"))\n. = ALIGN(8);\n*libc.a:lib_a-memcpy.o(.text)\n";
        let entries = parse_list(text);
        let got: Vec<(usize, &str, &str, bool)> = entries
            .iter()
            .map(|e| (e.line, e.file.as_str(), e.section.as_str(), e.ignored))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "*", ".text.a", false),
                (3, "*", ".text.b", true),
                (4, "*main.o", ".text.c", false),
                (4, "*main.o", ".text.d", false),
                (5, "*x.c.obj", ".text.e", false),
                (7, "*libc.a:lib_a-memcpy.o", ".text", false),
            ]
        );
    }

    #[test]
    fn a_renamed_function_is_missing_from_the_map_and_from_the_symbols() {
        let entries = parse_list("*(.text.kept)\n*(.text.unlikely.cold)\n*(.text.renamed)\n*libc.a:lib_a-memcpy.o(.text)\n*(.text.gone) /* itcm-check-ignore */\n");
        let map = LinkMap {
            version: 1,
            input_sections: vec![
                map_section("build/a.o", None, ".text.kept", 0),
                map_section("build/a.o", None, ".text.unlikely.cold", 0),
                map_section("/usr/lib/libc.a", Some("lib_a-memcpy.o"), ".text", 0),
            ],
            ..LinkMap::default()
        };
        let by_map = check(&entries, &Build::Map(&map));
        assert_eq!(by_map.checked, 4);
        assert_eq!(by_map.missing.len(), 1);
        assert_eq!(by_map.missing[0].section, ".text.renamed");

        let symbols: FxHashSet<String> = ["kept", "cold", "memcpy"]
            .map(String::from)
            .into_iter()
            .collect();
        let by_symbols = check(&entries, &Build::Symbols(&symbols));
        assert_eq!(by_symbols.checked, 3);
        assert_eq!(by_symbols.missing[0].section, ".text.renamed");
        assert_eq!(
            by_symbols.unchecked.len(),
            1,
            "a plain .text names no function"
        );
    }
}
