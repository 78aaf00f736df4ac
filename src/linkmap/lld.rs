//! A parser for LLD's `-Map` files (ld.lld, and rust-lld, Rust's default linker for Cortex-M).
//!
//! Written by hand because no crate reads them. The format is a table: a header naming the
//! columns (`VMA LMA Size Align Out In Symbol`; older LLDs have no LMA column), then one row per
//! output section, input section, symbol or script assignment, all numbers in hex without `0x`.
//! What a row is follows from how far its text is indented past the numbers: output sections and
//! top-level assignments at 0, input sections (`file:(section)`, `lib.a(member.o):(section)`)
//! and assignments inside an output section at 8, symbols at 16. LLD prints no MEMORY regions,
//! so the sections of an LLD map carry no region names.

use anyhow::{bail, Context, Result};

use super::gnu::{kind_of, split_origin};
use super::{LinkMap, MapInputSection, MapOutputSection, MapSectionSymbol, FORMAT, VERSION};

/// True when `text` starts like an LLD map (its column header).
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|header| header.split_whitespace().next() == Some("VMA"))
}

/// The numeric columns of a row and the text after them.
struct Row<'a> {
    vma: u64,
    lma: u64,
    size: u64,
    align: u64,
    indent: usize,
    text: &'a str,
}

/// Column layout from the header line.
struct Columns {
    /// Byte offset where the `Out` column starts.
    text_at: usize,
    has_lma: bool,
}

impl Columns {
    fn from_header(header: &str) -> Result<Columns> {
        let names: Vec<&str> = header.split_whitespace().collect();
        let (Some(text_at), true) = (
            header.find("Out"),
            names.starts_with(&["VMA", "LMA", "Size", "Align"])
                || names.starts_with(&["VMA", "Size", "Align"]),
        ) else {
            bail!("line 1: expected LLD's column header `VMA LMA Size Align Out In Symbol`, found `{header}`");
        };
        Ok(Columns {
            text_at,
            has_lma: names[1] == "LMA",
        })
    }

    fn row<'a>(&self, line: &'a str) -> Option<Row<'a>> {
        let (numbers, text) = (line.get(..self.text_at)?, line.get(self.text_at..)?);
        let numbers: Vec<u64> = numbers
            .split_whitespace()
            .map(|n| u64::from_str_radix(n, 16).ok())
            .collect::<Option<_>>()?;
        let (vma, lma, size, align) = match (self.has_lma, &numbers[..]) {
            (true, &[vma, lma, size, align]) => (vma, lma, size, align),
            (false, &[vma, size, align]) => (vma, vma, size, align),
            _ => return None,
        };
        let trimmed = text.trim_start();
        Some(Row {
            vma,
            lma,
            size,
            align,
            indent: text.len() - trimmed.len(),
            text: trimmed.trim_end(),
        })
    }
}

/// Parses an LLD map file.
pub fn parse(text: &str) -> Result<LinkMap> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or("");
    let columns = Columns::from_header(header)?;
    let mut map = LinkMap {
        format: FORMAT.to_string(),
        version: VERSION,
        ..LinkMap::default()
    };
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let row = columns
            .row(line)
            .with_context(|| format!("line {}: not an LLD map row: `{line}`", number + 1))?;
        let assignment = row.text.contains(" = ") || row.text.starts_with(". =");
        match row.indent {
            0 if !assignment => map.output_sections.push(MapOutputSection {
                name: row.text.to_string(),
                address: row.vma,
                load_address: row.lma,
                size: row.size,
                align: row.align,
                kind: kind_of(row.text).to_string(),
                region: None,
                load_region: None,
            }),
            8 if !assignment => input_section(&mut map, &row),
            16 => symbol(&mut map, &row),
            _ => {}
        }
    }
    Ok(map)
}

/// An input section row: `path:(section)` or `lib.a(member.o):(section)`. Linker-made content
/// (`<internal>`: merged strings, the exception index, the symbol table) is no one's to move.
fn input_section(map: &mut LinkMap, row: &Row<'_>) {
    let Some((origin, section)) = row.text.strip_suffix(')').and_then(|t| t.rsplit_once(":("))
    else {
        return;
    };
    let Some(output) = map.output_sections.last() else {
        return;
    };
    if origin == "<internal>" {
        return;
    }
    let (object, member) = split_origin(origin);
    map.input_sections.push(MapInputSection {
        object,
        member,
        kind: kind_of(section).to_string(),
        section: section.to_string(),
        output_section: output.name.clone(),
        region: None,
        load_region: None,
        address: row.vma,
        load_address: row.lma,
        size: row.size,
        align: row.align,
        symbols: Vec::new(),
    });
}

/// A symbol row inside the last input section; mapping symbols (`$t`, `$d`) are not functions.
fn symbol(map: &mut LinkMap, row: &Row<'_>) {
    if row.text.starts_with('$') {
        return;
    }
    let Some(section) = map.input_sections.last_mut() else {
        return;
    };
    if row.vma >= section.address && row.vma <= section.address + section.size {
        section.symbols.push(MapSectionSymbol {
            name: row.text.to_string(),
            address: row.vma,
            size: row.size,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "     VMA      LMA     Size Align Out     In      Symbol
       0        0        0     1 HEAP_SIZE = 0x00000400
60002000 60002000      194    64 .text
60002000 60002000        0     1         __text_start__ = .
60002000 60002000       60     4         /usr/lib/libc.a(lib_a-memcmp.o):(.text)
60002000 60002000        0     1                 $t
60002001 60002001       60     1                 memcmp
6000564c 6000564c       20     4         <internal>:(.rodata)
6000566c 6000566c       34     4         ../vm/interp.o:(.text.vm_step)
6000566d 6000566d       34     1                 vm_step
       0 600059d4       30     8 .itcm
       0 600059d4       30     4         ../flashwrite/flash.o:(.ramfunc.flash_erase)
       1 600059d5       30     1                 flash_erase
       0        0     b71b     1 .debug_info
";

    #[test]
    fn parses_sections_members_symbols_and_load_addresses() {
        assert!(looks_like(SAMPLE));
        let map = parse(SAMPLE).unwrap();
        let names: Vec<&str> = map
            .output_sections
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, [".text", ".itcm", ".debug_info"]);
        assert_eq!(map.output_sections[2].kind, "debug");
        assert_eq!(map.input_sections.len(), 3, "<internal> is skipped");
        let memcmp = &map.input_sections[0];
        assert_eq!(memcmp.object, "/usr/lib/libc.a");
        assert_eq!(memcmp.member.as_deref(), Some("lib_a-memcmp.o"));
        assert_eq!((memcmp.address, memcmp.size), (0x6000_2000, 0x60));
        assert_eq!(memcmp.symbols.len(), 1, "mapping symbols are skipped");
        assert_eq!(memcmp.symbols[0].code_address(), 0x6000_2000);
        let erase = &map.input_sections[2];
        assert_eq!(erase.section, ".ramfunc.flash_erase");
        assert_eq!((erase.address, erase.load_address), (0, 0x6000_59d4));
        assert_eq!(erase.output_section, ".itcm");
    }

    #[test]
    fn a_malformed_row_names_its_line() {
        let text = format!("{SAMPLE}garbage here\n");
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("line 15"), "{err}");
        assert!(parse("VMA\n").is_err());
    }
}
