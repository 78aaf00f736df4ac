//! `hotlink patch-script`: a copy of the user's linker script with a plan applied, so that GNU ld
//! and LLD place the planned input sections themselves.
//!
//! Both linkers give an input section to the first input section description, in script order,
//! that matches it, and neither warns when a later, more specific description never gets
//! anything: an `INCLUDE` of the plan inside `.ram_function`, which the script lists after
//! `.text` and its `*(.text*)`, does nothing. So the planned patterns go first inside the
//! receiving output section, and that section's statement moves ahead of the first statement
//! whose patterns would claim a planned section. The statement moves whole, with its `AT(...)`:
//! the load address stays where the startup copy reads it (the SDK's
//! `AT(__ram_function_flash_start)`, a forward reference both linkers resolve), and symbols
//! computed from `LOADADDR(...)` follow a region-relative `AT> FLASH`.
//!
//! The patched text is parsed again and every planned section is checked to be claimed first by
//! its receiving section, so a script this does not understand is refused, not silently wrong.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::board::RegionKind;
use crate::link::layout::{section_matches, spec_matches_file};
use crate::link::place::receiving_section;
use crate::link::regions::eval_regions;
use crate::link::script::{parse_str, Command, OutputItem, OutputSection, Script, SectionsItem};
use crate::plan::{Placement, Plan};

/// The patched script and what was done to it, for people.
#[derive(Debug)]
pub struct Patched {
    pub text: String,
    pub notes: Vec<String>,
}

/// Applies `plan` to the script `text` read from `path`. `place_into` names receiving output
/// sections by plan region (`ITCM=.ram_function`), as `hotlink link --place-into` does; it is
/// needed for placements into flash, whose receiving section cannot be told from the regions.
pub fn patch_script(
    path: &Path,
    text: &str,
    plan: &Plan,
    place_into: &[(String, String)],
) -> Result<Patched> {
    let file = path.display().to_string();
    let mut text = text.to_string();
    let mut notes = Vec::new();
    // (load region, section) of the sections given an explicit load address, in order.
    let mut chained: Vec<(String, String)> = Vec::new();
    for (region_name, placements) in by_region(plan) {
        let script = parse(&file, &text)?;
        let regions = eval_regions(&script).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let region = plan
            .regions
            .iter()
            .find(|r| r.name == region_name)
            .with_context(|| {
                format!("the plan places sections in {region_name} but lists no such region")
            })?;
        let named = place_into
            .iter()
            .any(|(r, _)| r.eq_ignore_ascii_case(region_name));
        if region.kind == RegionKind::Xip && !named {
            bail!(
                "the plan moves {} sections to {region_name} (flash): name the output section that receives them with --place-into {region_name}=.SECTION",
                placements.len()
            );
        }
        let receiver = receiving_section(region, place_into, &script, &regions)
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let outputs = output_statements(&script);
        let at = outputs
            .iter()
            .position(|o| o.name == receiver)
            .expect("the receiving section is a statement of the script");
        let claimer = outputs
            .iter()
            .position(|o| placements.iter().any(|p| claims(o, p).is_some()));
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let span = statement_lines(&lines, outputs[at])
            .with_context(|| format!("{file}: cannot find the end of output section {receiver}"))?;
        insert_patterns(&mut lines, outputs[at], &placements, region_name)?;
        let span = (span.0, span.1 + placements.len() + 1);
        notes.push(format!(
            "{} planned sections for {region_name} go first in {receiver}",
            placements.len()
        ));
        let mut pinned = None;
        if let Some(c) = claimer.filter(|&c| c < at) {
            let mut block: Vec<String> = lines.drain(span.0..=span.1).collect();
            let load_note = match region_relative_load(outputs[at]) {
                Some(lma_region) => {
                    let symbol = load_symbol(&receiver);
                    let last = last_loaded_into(&outputs, at, lma_region, &script).with_context(|| {
                        format!("{file}: no other output section loads into {lma_region}, after which {receiver}'s load image could go")
                    })?;
                    pin_load_address(&mut block, outputs[at], lma_region, &symbol)
                        .with_context(|| format!("{file}: output section {receiver}"))?;
                    // A section pinned earlier in this region loads after `last` already.
                    let after = chained
                        .iter()
                        .rev()
                        .find(|(r, _)| r == lma_region)
                        .map_or(last.name.clone(), |(_, s)| s.clone());
                    chained.push((lma_region.to_string(), receiver.clone()));
                    let note = format!(
                        "its `AT> {lma_region}` would put its load image where the section now stands, so it loads at {symbol}, after {after}'s (the last load image in {lma_region}); what the startup copy reads (LOADADDR({receiver})) follows it, but a symbol the script computes for the image's end does not count it"
                    );
                    pinned = Some((symbol, last.name.clone(), after));
                    note
                }
                None => "its load address expression is unchanged".to_string(),
            };
            let before = outputs[c].loc.line as usize - 1;
            lines.splice(before..before, block);
            notes.push(format!(
                "{receiver} moved ahead of {} (whose patterns would claim the planned sections first); {load_note}",
                outputs[c].name
            ));
        }
        text = lines.join("\n") + "\n";
        if let Some((symbol, last, after)) = pinned {
            text = assign_after(&file, &text, &last, &symbol, &after)?;
        }
    }
    let (discarded, note) = discard_unreachable_unwind_entries(&file, &text, plan, place_into)?;
    text = discarded;
    notes.extend(note);
    check_first_match(&file, &text, plan, place_into)?;
    Ok(Patched { text, notes })
}

/// The `AT> REGION` of a section that names no `AT(...)` load address: moved ahead, its load
/// image would follow the sections now before it in that region (into the gap before a `.text`
/// at a fixed address, overlapping it), so it gets an explicit one.
fn region_relative_load(o: &OutputSection) -> Option<&str> {
    match (&o.lma, &o.lma_region) {
        (None, Some(r)) if o.region.as_ref() != Some(r) => Some(r),
        _ => None,
    }
}

/// The symbol a moved section's load address is assigned to.
fn load_symbol(section: &str) -> String {
    let name: String = section
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("__hotlink{name}_load")
}

/// The last output section other than `outputs[skip]` whose load image is in `region` (or in
/// a `REGION_ALIAS` of it, as imxrt-rt's `REGION_LOAD_TEXT` and `REGION_LOAD_RODATA`).
fn last_loaded_into<'a>(
    outputs: &[&'a OutputSection],
    skip: usize,
    region: &str,
    script: &Script,
) -> Option<&'a OutputSection> {
    let canonical = |name: &str| -> String {
        let mut name = name.to_string();
        for _ in 0..8 {
            let alias = script.commands.iter().find_map(|c| match c {
                Command::RegionAlias { alias, region } if *alias == name => Some(region.clone()),
                _ => None,
            });
            match alias {
                Some(r) => name = r,
                None => break,
            }
        }
        name
    };
    let region = canonical(region);
    let same = |name: &str| canonical(name) == region;
    outputs
        .iter()
        .enumerate()
        .filter(|&(i, o)| {
            i != skip
                && match (&o.lma, &o.lma_region) {
                    (None, Some(r)) => same(r),
                    (None, None) => o.region.as_deref().is_some_and(same),
                    _ => false,
                }
        })
        .map(|(_, o)| *o)
        .next_back()
}

/// Rewrites the statement in `block` (its lines, from its name) from `... } > RUN AT> LOAD` to
/// `NAME ... : AT(symbol) ... } > RUN`.
fn pin_load_address(
    block: &mut [String],
    o: &OutputSection,
    lma_region: &str,
    symbol: &str,
) -> Result<()> {
    let name_col = o.loc.col as usize - 1;
    let colon = block[0]
        .get(name_col + o.name.len()..)
        .and_then(|rest| rest.find(':'))
        .map(|i| i + name_col + o.name.len())
        .context("its `:` is not on the line of its name; give it an `AT(...)` load address and patch again")?;
    let mut removed = false;
    for line in block.iter_mut().rev() {
        if let Some(i) = find_at_region(line, lma_region) {
            line.replace_range(i.0..i.1, "");
            removed = true;
            break;
        }
    }
    if !removed {
        bail!(
            "cannot find its `AT> {lma_region}`; give it an `AT(...)` load address and patch again"
        );
    }
    block[0].insert_str(colon + 1, &format!(" AT({symbol})"));
    Ok(())
}

/// The byte range of `AT> region` (any blanks around `>`) in `line`.
fn find_at_region(line: &str, region: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = line[from..].find("AT").map(|i| i + from) {
        let rest = &line[i + 2..];
        let after_gt = rest.trim_start().strip_prefix('>').map(str::trim_start);
        if let Some(tail) = after_gt.and_then(|t| t.strip_prefix(region)) {
            if !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                let end = line.len() - tail.len();
                let start = if line[..i].ends_with(' ') { i - 1 } else { i };
                return Some((start, end));
            }
        }
        from = i + 2;
    }
    None
}

/// `text` with `symbol = ALIGN(LOADADDR(after) + SIZEOF(after), 8);` after output section
/// `last`.
fn assign_after(file: &str, text: &str, last: &str, symbol: &str, after: &str) -> Result<String> {
    let script = parse(file, text)?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let o = output_statements(&script)
        .into_iter()
        .rfind(|o| o.name == last)
        .with_context(|| format!("{file}: output section {last} is gone after patching"))?;
    let end = statement_lines(&lines, o)
        .with_context(|| format!("{file}: cannot find the end of output section {last}"))?;
    lines.insert(
        end.1 + 1,
        format!("  {symbol} = ALIGN(LOADADDR({after}) + SIZEOF({after}), 8); /* hotlink */"),
    );
    Ok(lines.join("\n") + "\n")
}

/// R_ARM_PREL31, which `.ARM.exidx` entries use to name their code, spans ±1 GB; ITCM at 0 is
/// 1.5 GB below XIP flash. A planned section's unwind entries left in a flash `.ARM.exidx` make
/// GNU ld and LLD fail ("relocation truncated to fit"), so they are discarded, as hotlink's own
/// linker leaves them out: the unwinder stops at that function, as it does for C code built
/// without unwind tables. Returns the script with a `/DISCARD/` statement ahead of the output
/// section that takes `.ARM.exidx`, and a note, when any entry is out of reach.
fn discard_unreachable_unwind_entries(
    file: &str,
    text: &str,
    plan: &Plan,
    place_into: &[(String, String)],
) -> Result<(String, Option<String>)> {
    let script = parse(file, text)?;
    let regions = eval_regions(&script).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let outputs = output_statements(&script);
    let mut patterns = Vec::new();
    let mut table: Option<&OutputSection> = None;
    for p in &plan.placements {
        let Some(region) = plan.regions.iter().find(|r| r.name == p.to) else {
            continue;
        };
        if region.kind == RegionKind::Xip && !place_into.iter().any(|(r, _)| *r == p.to) {
            continue;
        }
        let suffix = p.section.strip_prefix(".text").unwrap_or("");
        let unwind = Placement {
            section: format!(".ARM.exidx.text{suffix}"),
            ..p.clone()
        };
        let unwind = if suffix.is_empty() {
            Placement {
                section: ".ARM.exidx".into(),
                ..unwind
            }
        } else {
            unwind
        };
        let Some(o) = outputs.iter().find(|o| claims(o, &unwind).is_some()) else {
            continue;
        };
        let Some(origin) = o
            .region
            .as_ref()
            .and_then(|r| regions.iter().find(|x| &x.name == r))
            .map(|r| r.origin)
        else {
            continue;
        };
        if origin.abs_diff(region.base) >= 1 << 30 {
            patterns.push(unwind.ld_pattern());
            table.get_or_insert(o);
        }
    }
    let Some(table) = table else {
        return Ok((text.to_string(), None));
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = table.loc.line as usize - 1;
    let mut block = vec!["  /DISCARD/ :".to_string(), "  {".to_string()];
    block.extend(patterns.iter().map(|p| format!("    {p}")));
    block.push("  }".to_string());
    let note = format!(
        "the unwind entries (`.ARM.exidx*`, where there are any) of {} planned sections are discarded ahead of {}: R_ARM_PREL31 cannot reach their code from there (±1 GB); hotlink's linker leaves them out too",
        patterns.len(),
        table.name
    );
    lines.splice(at..at, block);
    Ok((lines.join("\n") + "\n", Some(note)))
}

/// Placements grouped by their destination region, in plan order.
fn by_region(plan: &Plan) -> Vec<(&str, Vec<&Placement>)> {
    let mut groups: Vec<(&str, Vec<&Placement>)> = Vec::new();
    for p in &plan.placements {
        match groups.iter_mut().find(|(r, _)| *r == p.to) {
            Some((_, list)) => list.push(p),
            None => groups.push((&p.to, vec![p])),
        }
    }
    groups
}

fn parse(file: &str, text: &str) -> Result<Script> {
    parse_str(file, text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {} (patch-script reads one script file: patch the file that holds SECTIONS, INCLUDEs are not followed)",
            e.loc.file,
            e.loc.line,
            e.loc.col,
            e.msg
        )
    })
}

fn output_statements(script: &Script) -> Vec<&OutputSection> {
    script
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Sections(items) => Some(items),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            SectionsItem::Output(o) => Some(&**o),
            _ => None,
        })
        .collect()
}

/// The index of the input section description of `o` that would take `p`, if any.
fn claims(o: &OutputSection, p: &Placement) -> Option<usize> {
    o.items.iter().position(|item| match item {
        OutputItem::Input(spec) => {
            spec_matches_file(spec, &p.object, p.member.as_deref())
                && section_matches(spec, &p.object, p.member.as_deref(), &p.section).is_some()
        }
        _ => false,
    })
}

/// The 0-based first and last line of an output section statement: from its name to the line
/// of its closing brace, plus following lines that only continue it (`> ITCM AT> FLASH`).
fn statement_lines(lines: &[String], o: &OutputSection) -> Option<(usize, usize)> {
    let start = o.loc.line as usize - 1;
    let mut depth = 0usize;
    let mut in_comment = false;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate().skip(start) {
        let bytes = line.as_bytes();
        let mut i = if n == start {
            o.loc.col as usize - 1
        } else {
            0
        };
        while i < bytes.len() {
            if in_comment {
                if bytes[i..].starts_with(b"*/") {
                    in_comment = false;
                    i += 1;
                }
            } else if bytes[i..].starts_with(b"/*") {
                in_comment = true;
                i += 1;
            } else if bytes[i] == b'{' {
                depth += 1;
                opened = true;
            } else if bytes[i] == b'}' {
                depth = depth.checked_sub(1)?;
                if opened && depth == 0 {
                    let mut end = n;
                    while lines.get(end + 1).is_some_and(|l| {
                        let t = l.trim_start();
                        t.starts_with('>') || t.starts_with("AT>") || t.starts_with(":")
                    }) {
                        end += 1;
                    }
                    return Some((start, end));
                }
            }
            i += 1;
        }
    }
    None
}

/// Puts the plan's patterns ahead of the receiving section's first input section description.
fn insert_patterns(
    lines: &mut Vec<String>,
    receiver: &OutputSection,
    placements: &[&Placement],
    region: &str,
) -> Result<()> {
    let first = receiver
        .items
        .iter()
        .find_map(|item| match item {
            OutputItem::Input(spec) => Some(spec.loc.line as usize - 1),
            _ => None,
        })
        .with_context(|| {
            format!(
                "output section {} has no input section description to put the plan's sections beside",
                receiver.name
            )
        })?;
    let indent: String = lines[first]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    let mut block = vec![format!(
        "{indent}/* hotlink plan: {} sections for {region} */",
        placements.len()
    )];
    block.extend(
        placements
            .iter()
            .map(|p| format!("{indent}{}", p.ld_pattern())),
    );
    lines.splice(first..first, block);
    Ok(())
}

/// Every planned section must be claimed first by its receiving output section.
fn check_first_match(
    file: &str,
    text: &str,
    plan: &Plan,
    place_into: &[(String, String)],
) -> Result<()> {
    let script = parse(file, text)?;
    let regions = eval_regions(&script).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let outputs = output_statements(&script);
    let mut wrong = Vec::new();
    for p in &plan.placements {
        let Some(region) = plan.regions.iter().find(|r| r.name == p.to) else {
            continue;
        };
        let receiver = receiving_section(region, place_into, &script, &regions)
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let first = outputs.iter().find(|o| claims(o, p).is_some());
        if first.map(|o| o.name.as_str()) != Some(receiver.as_str()) {
            wrong.push(format!(
                "{} would go to {} (planned: {receiver})",
                p.ld_pattern(),
                first.map_or("no output section (an orphan)", |o| o.name.as_str())
            ));
        }
    }
    if !wrong.is_empty() {
        bail!(
            "{file}: after patching, {} planned sections would still not be placed as planned (an earlier, specific pattern claims them?):\n  {}",
            wrong.len(),
            wrong.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanRegion;

    const SCRIPT: &str = "MEMORY
{
  m_text (RX) : ORIGIN = 0x60002000, LENGTH = 0x1000000
  m_itcm (RX) : ORIGIN = 0x00000000, LENGTH = 0x20000
  m_data (RW) : ORIGIN = 0x20000000, LENGTH = 0x20000
}
SECTIONS
{
  .text :
  {
    *(.text)
    *(.text*) /* { a brace in a comment } */
  } > m_text

  .data : AT(__DATA_ROM)
  {
    *(.data*)
  } > m_data

  __ram_function_flash_start = __DATA_ROM + SIZEOF(.data);
  .ram_function : AT(__ram_function_flash_start)
  {
    __ram_function_start__ = .;
    *(CodeQuickAccess)
    __ram_function_end__ = .;
  } > m_itcm
}
";

    fn plan_moving(sections: &[(&str, Option<&str>, &str)]) -> Plan {
        let mut plan = Plan::parse(
            r#"{"format":"hotlink-plan","version":1,"board":"imxrt1062","strategy":"ilp",
            "regions":[],"placements":[],"prediction":{"baseline_cycles":1,"planned_cycles":1}}"#,
        )
        .unwrap();
        plan.regions.push(PlanRegion {
            name: "ITCM".into(),
            kind: RegionKind::Itcm,
            base: 0,
            size: 0x20000,
            budget: 0x10000,
            used: 0,
            veneer_bytes: 0,
        });
        for (object, member, section) in sections {
            plan.placements.push(Placement {
                object: object.to_string(),
                member: member.map(str::to_string),
                section: section.to_string(),
                size: 4,
                from: "FLASH".into(),
                to: "ITCM".into(),
                reason: "hot".into(),
                cycles_saved: 1.0,
            });
        }
        plan
    }

    #[test]
    fn the_receiving_section_moves_ahead_with_its_load_address_and_patterns_first() {
        let plan = plan_moving(&[
            ("work.o", None, ".text.hot"),
            ("/lib/libc.a", Some("memcpy.o"), ".text.memcpy"),
        ]);
        let patched = patch_script(Path::new("t.ld"), SCRIPT, &plan, &[]).unwrap();
        let text = &patched.text;
        let ram = text
            .find(".ram_function : AT(__ram_function_flash_start)")
            .unwrap();
        assert!(ram < text.find(".text :").unwrap(), "{text}");
        let hot = text.find("*work.o(.text.hot)").unwrap();
        let member = text.find("*libc.a:memcpy.o(.text.memcpy)").unwrap();
        let start = text.find("__ram_function_start__ = .;").unwrap();
        let quick = text.find("*(CodeQuickAccess)").unwrap();
        assert!(start < hot && hot < member && member < quick, "{text}");
        assert!(text.contains("} > m_itcm\n"), "{text}");
        assert_eq!(text.matches(".ram_function").count(), 1, "{text}");
        assert!(patched
            .notes
            .iter()
            .any(|n| n.contains("moved ahead of .text")));
    }

    /// The fixtures' `.itcm : { … } > m_itcm AT> m_flash` after a `.text` at a fixed address:
    /// moved ahead as it was, its load image would overlap `.text` (both linkers refuse), so it
    /// gets an explicit one after the last load image in flash.
    #[test]
    fn a_region_relative_load_address_is_pinned_after_the_last_load_image() {
        let script = "MEMORY
{
  m_flash (RX) : ORIGIN = 0x60000000, LENGTH = 0x800000
  m_itcm (RWX) : ORIGIN = 0x00000000, LENGTH = 0x20000
  m_dtcm (RW) : ORIGIN = 0x20000000, LENGTH = 0x20000
}
SECTIONS
{
  .text ORIGIN(m_flash) + 0x2000 :
  {
    *(.text*)
  } > m_flash
  .itcm :
  {
    *(.itcm*)
  } > m_itcm AT > m_flash
  __itcm_load__ = LOADADDR(.itcm);
  .data :
  {
    *(.data*)
  } > m_dtcm AT> m_flash
}
";
        let plan = plan_moving(&[("work.o", None, ".text.hot")]);
        let patched = patch_script(Path::new("t.ld"), script, &plan, &[]).unwrap();
        let text = &patched.text;
        let itcm = text.find(".itcm : AT(__hotlink_itcm_load)").unwrap();
        assert!(itcm < text.find(".text ORIGIN").unwrap(), "{text}");
        assert!(text.contains("} > m_itcm\n"), "{text}");
        assert_eq!(text.matches("AT> m_flash").count(), 1, "{text}");
        let pin = text
            .find("__hotlink_itcm_load = ALIGN(LOADADDR(.data) + SIZEOF(.data), 8);")
            .unwrap();
        assert!(pin > text.find(".data :").unwrap(), "{text}");
        assert!(
            patched.notes.iter().any(|n| n.contains("after .data's")),
            "{:?}",
            patched.notes
        );
        assert!(!text.contains("/DISCARD/"), "no unwind table: {text}");

        // With one in flash, 1.5 GB from ITCM: the planned section's entries are discarded first.
        let script = script.replace(
            "  .itcm :",
            "  .ARM.exidx :\n  {\n    *(.ARM.exidx*)\n  } > m_flash\n  .itcm :",
        );
        let text = patch_script(Path::new("t.ld"), &script, &plan, &[])
            .unwrap()
            .text;
        let discard = text.find("/DISCARD/ :").unwrap();
        let entry = text.find("*work.o(.ARM.exidx.text.hot)").unwrap();
        assert!(
            discard < entry && entry < text.find(".ARM.exidx :").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn flash_destinations_need_a_named_section_and_unknown_regions_fail() {
        let mut plan = plan_moving(&[("work.o", None, ".text.cold")]);
        plan.regions[0].kind = RegionKind::Xip;
        let e = patch_script(Path::new("t.ld"), SCRIPT, &plan, &[]).unwrap_err();
        assert!(format!("{e:#}").contains("--place-into ITCM="), "{e:#}");
        let mut plan = plan_moving(&[("work.o", None, ".text.hot")]);
        plan.placements[0].to = "OCRAM9".into();
        let e = patch_script(Path::new("t.ld"), SCRIPT, &plan, &[]).unwrap_err();
        assert!(format!("{e:#}").contains("OCRAM9"), "{e:#}");
    }

    #[test]
    fn it_moves_ahead_of_the_first_statement_that_claims_a_planned_section() {
        let script = SCRIPT.replace(
            "  .text :\n",
            "  .keep :\n  {\n    KEEP(*work.o(.text.hot))\n  } > m_text\n\n  .text :\n",
        );
        let plan = plan_moving(&[("work.o", None, ".text.hot")]);
        let text = patch_script(Path::new("t.ld"), &script, &plan, &[])
            .unwrap()
            .text;
        assert!(
            text.find(".ram_function :").unwrap() < text.find(".keep :").unwrap(),
            "{text}"
        );
    }

    #[test]
    fn the_unpatched_script_fails_the_first_match_check_naming_the_claimer() {
        let plan = plan_moving(&[("work.o", None, ".text.hot")]);
        let e = check_first_match("t.ld", SCRIPT, &plan, &[]).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("*work.o(.text.hot) would go to .text (planned: .ram_function)"),
            "{e}"
        );
    }
}
