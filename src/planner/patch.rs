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
        if let Some(c) = claimer.filter(|&c| c < at) {
            let block: Vec<String> = lines.drain(span.0..=span.1).collect();
            let before = outputs[c].loc.line as usize - 1;
            lines.splice(before..before, block);
            notes.push(format!(
                "{receiver} moved ahead of {} (whose patterns would claim the planned sections first); its load address expression is unchanged",
                outputs[c].name
            ));
        }
        text = lines.join("\n") + "\n";
    }
    check_first_match(&file, &text, plan, place_into)?;
    Ok(Patched { text, notes })
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
