//! A parser for GNU ld's `-Map` files: memory regions, output sections, the input sections in
//! each with their addresses, sizes and objects, the symbols defined in them, and discarded
//! sections.
//!
//! Written by hand because no crate reads GNU ld map files. The format is line-oriented: output
//! sections start in column 0, input sections at column 1 (with the address, size and object on
//! the same line, or on the next line when the name is long), symbols and script assignments on
//! lines indented by 16 spaces.

use anyhow::{bail, Result};

use super::{
    LinkMap, MapDiscarded, MapInputSection, MapOutputSection, MapRegion, MapSectionSymbol, FORMAT,
    VERSION,
};

/// Which part of the map file a line is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Preamble,
    Discarded,
    Memory,
    Script,
}

/// Parses a GNU ld map file.
pub fn parse(text: &str) -> Result<LinkMap> {
    let mut map = LinkMap {
        format: FORMAT.to_string(),
        version: VERSION,
        ..LinkMap::default()
    };
    let mut part = Part::Preamble;
    let mut saw_script = false;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        match line.trim_end() {
            "Discarded input sections" => {
                part = Part::Discarded;
                continue;
            }
            "Memory Configuration" => {
                part = Part::Memory;
                continue;
            }
            "Linker script and memory map" => {
                part = Part::Script;
                saw_script = true;
                continue;
            }
            _ => {}
        }
        match part {
            Part::Preamble => {}
            Part::Memory => {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() >= 3 && fields[0] != "Name" {
                    if let (Some(origin), Some(length)) = (hex(fields[1]), hex(fields[2])) {
                        map.regions.push(MapRegion {
                            name: fields[0].to_string(),
                            origin,
                            length,
                            attributes: fields.get(3).unwrap_or(&"").to_string(),
                            used: 0,
                        });
                    }
                }
            }
            Part::Discarded => {
                if let Some((section, _, size, object, consumed)) = input_line(line, lines.get(i)) {
                    i += consumed;
                    let (object, member) = split_origin(&object);
                    map.discarded.push(MapDiscarded {
                        object,
                        member,
                        section,
                        size,
                        reason: "discarded".into(),
                    });
                }
            }
            Part::Script => i += script_line(&mut map, line, lines.get(i)),
        }
    }
    if !saw_script {
        bail!("no \"Linker script and memory map\" part: is this a GNU ld -Map file?");
    }
    finish(&mut map);
    Ok(map)
}

/// Handles one line of the script part; returns how many following lines it consumed.
fn script_line(map: &mut LinkMap, line: &str, next: Option<&&str>) -> usize {
    if line.is_empty() {
        return 0;
    }
    let first = line.as_bytes()[0];
    if first != b' ' {
        // An output section: `name addr size [load address X]`, or the name alone with the
        // numbers on the next line.
        let name = line.split_whitespace().next().unwrap_or("");
        // Zephyr's scripts name output sections without a dot (`rom_start`, `text`).
        if !name.starts_with('.') && name != "COMMON" && !plain_section_name(name) {
            return 0; // LOAD, OUTPUT(...) and the like
        }
        let (rest, consumed) = match line[name.len()..].trim() {
            "" => (next.map_or("", |n| n.trim()), 1),
            rest => (rest, 0),
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(address), Some(size)) = (
            fields.first().and_then(|f| hex(f)),
            fields.get(1).and_then(|f| size(f)),
        ) else {
            return consumed;
        };
        let load_address = match fields.get(2..5) {
            Some(["load", "address", value]) => hex(value).unwrap_or(address),
            _ => address,
        };
        map.output_sections.push(MapOutputSection {
            name: name.to_string(),
            address,
            load_address,
            size,
            align: 1,
            kind: kind_of(name).to_string(),
            region: None,
            load_region: None,
        });
        return consumed;
    }
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    if indent == 1 {
        if trimmed.starts_with("*fill*") || trimmed.starts_with('*') {
            return 0;
        }
        let Some((section, address, size, object, consumed)) = input_line(line, next) else {
            return 0;
        };
        let Some(output) = map.output_sections.last() else {
            return consumed;
        };
        let load_address = output.load_address + (address.saturating_sub(output.address));
        // GNU ld lists the long-branch veneers it adds as input sections of `linker stubs`:
        // they are no one's code to move.
        let kind = if object == "linker stubs" {
            "veneer"
        } else {
            kind_of(&section)
        };
        let (object, member) = split_origin(&object);
        map.input_sections.push(MapInputSection {
            object,
            member,
            kind: kind.to_string(),
            section,
            output_section: output.name.clone(),
            region: None,
            load_region: None,
            address,
            load_address,
            size,
            align: 1,
            symbols: Vec::new(),
        });
        return consumed;
    }
    // A symbol defined in the current input section: `0xADDR  name` with nothing else.
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if let [address, name] = fields[..] {
        if let (Some(address), Some(section)) = (hex(address), map.input_sections.last_mut()) {
            if address >= section.address && address <= section.address + section.size {
                section.symbols.push(MapSectionSymbol {
                    name: name.to_string(),
                    address,
                    size: 0,
                });
            }
        }
    }
    0
}

/// Parses ` name addr size object` (or ` name` with the rest on the next line). Returns the
/// section name, address, size, object and how many extra lines were consumed.
fn input_line(line: &str, next: Option<&&str>) -> Option<(String, u64, u64, String, usize)> {
    let trimmed = line.trim();
    let mut fields = trimmed.splitn(2, char::is_whitespace);
    let name = fields.next()?.to_string();
    if !(name.starts_with('.') || name == "COMMON" || plain_section_name(&name)) {
        return None;
    }
    let (rest, consumed) = match fields.next().map(str::trim) {
        Some(rest) if !rest.is_empty() => (rest, 0),
        _ => (next?.trim(), 1),
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let address = hex(fields.first()?)?;
    let size = size(fields.get(1)?)?;
    let object = fields[2..].join(" ");
    if object.is_empty() {
        return None;
    }
    Some((name, address, size, object, consumed))
}

/// A section named without a leading dot, as the SDK's `CodeQuickAccess` and `NonCacheable`
/// (not a keyword GNU ld prints in that column: those lines have no address and size after).
fn plain_section_name(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "LONG",
        "SHORT",
        "BYTE",
        "QUAD",
        "SQUAD",
        "FILL",
        "KEEP",
        "ASSERT",
        "PROVIDE",
        "PROVIDE_HIDDEN",
        "SORT",
        "LOAD",
        "OUTPUT",
    ];
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
        && !KEYWORDS.contains(&name)
}

fn hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// A size column: hex, with `0x` as GNU ld prints it or without as hotlink's `-Map` does (an
/// empty `.ram_function` is `0` there).
fn size(text: &str) -> Option<u64> {
    hex(text).or_else(|| u64::from_str_radix(text, 16).ok())
}

/// Splits `lib.a(member.o)` into the archive and the member.
pub(super) fn split_origin(origin: &str) -> (String, Option<String>) {
    match origin.strip_suffix(')').and_then(|o| o.split_once('(')) {
        Some((file, member)) => (file.to_string(), Some(member.to_string())),
        None => (origin.to_string(), None),
    }
}

/// A section's kind guessed from its name (map files carry no flags); sections that are not
/// loaded (debug information, the symbol tables LLD lists at address 0) are `debug`.
pub fn kind_of(name: &str) -> &'static str {
    let has = |prefix: &str| name == prefix || name.starts_with(&format!("{prefix}."));
    if has(".bss") || has(".sbss") || name == "COMMON" || name.starts_with(".noinit") {
        "bss"
    } else if name.starts_with(".ARM.ex") {
        "unwind"
    } else if has(".data") || has(".sdata") {
        "data"
    } else if has(".rodata") || name.starts_with(".init_array") || name.starts_with(".fini_array") {
        "rodata"
    } else if name.starts_with(".debug")
        || name.starts_with(".stab")
        || name == ".comment"
        // GNU ld lists it (at address 0, empty) but only reads it, for the stack's execute
        // flag: read as code, it was an empty "code" section at ITCM's start in Rust links.
        || name == ".note.GNU-stack"
        || name.starts_with(".ARM.attributes")
        || matches!(name, ".symtab" | ".strtab" | ".shstrtab")
    {
        "debug"
    } else {
        "code"
    }
}

/// Fills in regions and region use from the addresses.
fn finish(map: &mut LinkMap) {
    let region_of = |regions: &[MapRegion], address: u64| {
        regions
            .iter()
            .find(|r| r.name != "*default*" && address >= r.origin && address - r.origin < r.length)
            .map(|r| r.name.clone())
    };
    for s in &mut map.output_sections {
        s.region = region_of(&map.regions, s.address);
        s.load_region = region_of(&map.regions, s.load_address);
    }
    for s in &mut map.input_sections {
        s.region = region_of(&map.regions, s.address);
        s.load_region = region_of(&map.regions, s.load_address);
    }
    let mut used = vec![0u64; map.regions.len()];
    for s in map
        .output_sections
        .iter()
        .filter(|s| s.size > 0 && s.kind != "debug")
    {
        for (address, region) in [(s.address, &s.region), (s.load_address, &s.load_region)] {
            if let Some(i) = map
                .regions
                .iter()
                .position(|r| Some(&r.name) == region.as_ref())
            {
                used[i] = used[i].max(address + s.size - map.regions[i].origin);
            }
        }
    }
    for (region, used) in map.regions.iter_mut().zip(used) {
        region.used = used;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Archive member included to satisfy reference by file (symbol)

Discarded input sections

 .text          0x00000000        0x0 ../common/startup.o
 .text.unused_function_with_a_long_name
                0x00000000       0x24 ../vm/interp.o

Memory Configuration

Name             Origin             Length             Attributes
m_itcm           0x00000000         0x00020000         xrw
m_flash          0x60000000         0x00800000         xr
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD ../common/startup.o
.text           0x60002000      0x200
 *(.text)
 .text          0x60002000       0x60 /usr/lib/libc.a(lib_a-memcmp.o)
                0x60002000                memcmp
 .text.vm_step_with_long_name
                0x60002060       0x40 ../vm/interp.o
                0x60002060                vm_step_with_long_name
                0x60002100                __text_end__ = .
 *fill*         0x600020a0        0x8 

.itcm           0x00000000       0x30 load address 0x60002200
 *(.ramfunc*)
 .ramfunc.flash_erase
                0x00000000       0x30 ../flashwrite/flash.o
                0x00000000                flash_erase
";

    /// Not-loaded sections sit at address 0, which is ITCM: read as code, newlib's `.stab`
    /// (libnosys) looked like ITCM code to move, and plans from text maps differed from the JSON
    /// map's.
    #[test]
    fn sections_that_are_not_loaded_are_debug_not_code() {
        for name in [
            ".stab",
            ".stabstr",
            ".comment",
            ".debug_info",
            ".ARM.attributes",
            ".note.GNU-stack",
        ] {
            assert_eq!(kind_of(name), "debug", "{name}");
        }
        assert_eq!(kind_of(".text.stable_sort"), "code");
    }

    /// The SDK's `.ram_function` takes `*(CodeQuickAccess)`: without a leading dot the section
    /// was not read, so text maps and the JSON map gave different plans.
    #[test]
    fn input_sections_named_without_a_dot_are_read() {
        let line = " CodeQuickAccess";
        let next = "                0x00000000       0x10 console.o";
        let (name, address, size, object, consumed) = input_line(line, Some(&next)).unwrap();
        assert_eq!(
            (name.as_str(), address, size, object.as_str()),
            ("CodeQuickAccess", 0, 16, "console.o")
        );
        assert_eq!(consumed, 1);
        let one = " NonCacheable   0x2000006c       0x40 main.o";
        assert_eq!(input_line(one, None).unwrap().0, "NonCacheable");
        assert!(input_line(" KEEP (*(.isr_vector))", None).is_none());

        // An output section named without a dot (Zephyr's `rom_start`) holds what follows.
        let text = SAMPLE.replace(".itcm           0x00000000", "itcm_text       0x00000000");
        let map = parse(&text).unwrap();
        let erase = map
            .input_sections
            .iter()
            .find(|s| s.section == ".ramfunc.flash_erase")
            .unwrap();
        assert_eq!(erase.output_section, "itcm_text");
        assert!(input_line(" *(CodeQuickAccess)", None).is_none());
    }

    #[test]
    fn parses_regions_sections_symbols_and_load_addresses() {
        let map = parse(SAMPLE).unwrap();
        assert_eq!(map.regions.len(), 3);
        assert_eq!(map.output_sections.len(), 2);
        let itcm = &map.output_sections[1];
        assert_eq!((itcm.address, itcm.load_address), (0, 0x6000_2200));
        assert_eq!(itcm.region.as_deref(), Some("m_itcm"));
        assert_eq!(itcm.load_region.as_deref(), Some("m_flash"));
        assert_eq!(map.input_sections.len(), 3);
        let memcmp = &map.input_sections[0];
        assert_eq!(memcmp.object, "/usr/lib/libc.a");
        assert_eq!(memcmp.member.as_deref(), Some("lib_a-memcmp.o"));
        assert_eq!(memcmp.symbols[0].name, "memcmp");
        let step = &map.input_sections[1];
        assert_eq!(step.section, ".text.vm_step_with_long_name");
        assert_eq!((step.address, step.size), (0x6000_2060, 0x40));
        assert_eq!(step.symbols.len(), 1, "assignments are not symbols");
        let erase = &map.input_sections[2];
        assert_eq!(erase.load_address, 0x6000_2200);
        assert_eq!(erase.region.as_deref(), Some("m_itcm"));
        assert_eq!(map.discarded.len(), 2);
        assert_eq!(
            map.discarded[1].section,
            ".text.unused_function_with_a_long_name"
        );
        assert_eq!(map.discarded[1].size, 0x24);
        let flash = map.regions.iter().find(|r| r.name == "m_flash").unwrap();
        assert_eq!(flash.used, 0x2230);
    }

    #[test]
    fn reads_hotlinks_own_map_with_sizes_without_0x() {
        let text = SAMPLE.replace("0x200\n", "200\n").replace(
            ".itcm           0x00000000       0x30",
            ".ram_function   0x00000000          0\n.itcm           0x00000000         30",
        );
        let map = parse(&text).unwrap();
        let names: Vec<(&str, u64)> = map
            .output_sections
            .iter()
            .map(|s| (s.name.as_str(), s.size))
            .collect();
        assert_eq!(
            names,
            [(".text", 0x200), (".ram_function", 0), (".itcm", 0x30)]
        );
    }

    #[test]
    fn rejects_files_that_are_not_maps() {
        assert!(parse("hello\nworld\n")
            .unwrap_err()
            .to_string()
            .contains("GNU ld -Map"));
    }
}
