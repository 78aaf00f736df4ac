//! A plan as Zephyr's `zephyr_code_relocate()` calls, for an application's CMakeLists.txt.
//!
//! Zephyr relocates code at build time: CMake collects the calls, and
//! `scripts/build/gen_relocate_app.py` writes a linker fragment (`.itcm_text_reloc > ITCM AT>
//! FLASH`, included ahead of `text`) and the copy code (`data_copy_xip_relocation`). A call names
//! source files (`FILES`, mapped to their objects through CMake) or a CMake library target
//! (`LIBRARY`, all its sources), and a `FILTER` regex on section names narrows it to functions.
//! Facts this module relies on, from that script: only sections whose name contains `.text.`
//! are text (a plain `.text` never moves); the filter is searched (`re.search`) in each section
//! name; a library's filter applies to every object of the library.
//!
//! So the granularity is the plan's when calls carry `FILTER` (one per file or library), with
//! two costs reported: a library's filter also moves a same-named static function of another of
//! its objects, and sections that are not `.text.<name>` or not in a CMake-built object cannot be
//! named at all. Without `FILTER` (whole files, as older Zephyr releases allow), each file moves
//! with all its functions: [`relocate_calls`] says how many bytes that adds and, when the
//! region's budget cannot take them, which files it leaves out and the predicted cycles lost.

use std::collections::BTreeMap;

use anyhow::Result;

use super::include_list::{region_contents, Listed};
use crate::board::RegionKind;
use crate::linkmap::LinkMap;
use crate::plan::Plan;

/// Libraries of the toolchain, which are no CMake target a `LIBRARY` argument can name.
const TOOLCHAIN_LIBRARIES: &[&str] = &[
    "c",
    "c_nano",
    "g",
    "g_nano",
    "m",
    "gcc",
    "nosys",
    "stdc++",
    "stdc++_nano",
    "supc++",
    "supc++_nano",
];

/// What one call relocates: source files of the application (`FILES`) or a CMake library.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    /// A source path as the application's CMakeLists.txt names it (`src/main.c`).
    File(String),
    /// A CMake library target (`kernel` for `libkernel.a`).
    Library(String),
}

impl Unit {
    /// The unit a section's object belongs to, or why no `zephyr_code_relocate()` call can name it.
    pub fn of(object: &str, member: Option<&str>) -> Result<Unit, String> {
        let file = object.rsplit('/').next().unwrap_or(object);
        if member.is_some() {
            let name = file
                .strip_prefix("lib")
                .and_then(|f| f.strip_suffix(".a"))
                .ok_or_else(|| {
                    format!("{file} is not named lib<target>.a, as CMake names a library")
                })?;
            if TOOLCHAIN_LIBRARIES.contains(&name) {
                return Err(format!(
                    "{file} is the toolchain's library, not a CMake target LIBRARY can name"
                ));
            }
            return Ok(Unit::Library(name.to_string()));
        }
        // CMake: <binary dir>/CMakeFiles/<target>.dir/<source path, `..` written `__`>.obj
        let not_cmake = || {
            format!("{object} is not named as CMake names objects (CMakeFiles/<target>.dir/<source>.obj): name its source yourself")
        };
        let (_, rest) = object.split_once("CMakeFiles/").ok_or_else(not_cmake)?;
        let (target, source) = rest.split_once(".dir/").ok_or_else(not_cmake)?;
        let source = source
            .strip_suffix(".obj")
            .or_else(|| source.strip_suffix(".o"))
            .ok_or_else(not_cmake)?;
        if target == "app" {
            Ok(Unit::File(source.replace("__/", "../")))
        } else {
            Ok(Unit::Library(target.to_string()))
        }
    }

    fn argument(&self) -> String {
        match self {
            Unit::File(path) => format!("FILES {path}"),
            Unit::Library(name) => format!("LIBRARY {name}"),
        }
    }

    /// True when input section `object(member)` is one of the unit's objects.
    fn holds(&self, object: &str, member: Option<&str>) -> bool {
        Unit::of(object, member).as_ref() == Ok(self)
    }
}

/// A regex that matches exactly these section names (each character that is not a letter, digit
/// or `_` in a class, so no backslash has to survive CMake's quoting).
pub fn exact_filter(sections: &[&str]) -> String {
    let escape = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c.to_string()
                } else {
                    format!("[{c}]")
                }
            })
            .collect()
    };
    let names: Vec<String> = sections.iter().map(|s| escape(s)).collect();
    format!("^({})$", names.join("|"))
}

/// The calls for a plan, and what the user must know about them.
pub struct Calls {
    pub text: String,
    pub notes: Vec<String>,
}

/// Options of [`relocate_calls`].
pub struct CallOptions {
    /// One `FILTER` per call (function granularity); false: whole files.
    pub filter: bool,
    /// `REGION=LOCATION` overrides; the default location of region R is `R_TEXT`.
    pub locations: Vec<(String, String)>,
}

/// The `zephyr_code_relocate()` calls that run from each RAM region what the plan runs there.
pub fn relocate_calls(plan: &Plan, map: &LinkMap, options: &CallOptions) -> Result<Calls> {
    let mut text = format!(
        "# Generated by hotlink from a {} plan for {}\n# ({}).\n# These calls replace the application's own zephyr_code_relocate() calls for these\n# locations; CONFIG_CODE_DATA_RELOCATION=y.\n",
        plan.strategy,
        plan.board,
        if options.filter {
            "FILTER: one call per file or library, exactly the plan's functions"
        } else {
            "whole files: every function of each file moves"
        }
    );
    let mut notes = Vec::new();
    for region in plan
        .regions
        .iter()
        .filter(|r| matches!(r.kind, RegionKind::Itcm | RegionKind::Ocram))
    {
        let listed = region_contents(plan, map, &region.name)?;
        if listed.is_empty() {
            continue;
        }
        let location = options
            .locations
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(&region.name))
            .map_or_else(
                || format!("{}_TEXT", region.name.to_uppercase()),
                |(_, l)| l.clone(),
            );
        let (units, unnamed) = group(&listed);
        for (l, why) in &unnamed {
            notes.push(format!(
                "{location}: {} ({} bytes, {:.0} cycles of the plan's saving) cannot be relocated: {why}",
                l.label(),
                l.size,
                l.cycles_saved
            ));
        }
        let limit = region.budget.saturating_sub(region.veneer_bytes);
        let whole = whole_files(map, &units, limit);
        let planned: u64 = units.values().flatten().map(|l| l.size).sum();
        let cost = format!(
            "{location}: whole files would move {} bytes for the plan's {planned}{}",
            whole.bytes,
            if whole.dropped.is_empty() {
                String::new()
            } else {
                format!(
                    "; over the {limit}-byte budget, so {} stay out, losing {:.0} of the plan's predicted cycles (sections there before the plan count 0)",
                    whole.dropped.iter().map(Unit::argument).collect::<Vec<_>>().join(", "),
                    whole.cycles_lost
                )
            }
        );
        for (unit, members) in &units {
            if whole.dropped.contains(unit) && !options.filter {
                continue;
            }
            let filter = if options.filter {
                let mut names: Vec<&str> = members.iter().map(|l| l.section.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                if let Unit::Library(_) = unit {
                    let extra = same_named_elsewhere(map, unit, members, &names);
                    if extra > 0 {
                        notes.push(format!(
                            "{location}: the filter of {} also moves {extra} bytes of same-named sections of its other objects",
                            unit.argument()
                        ));
                    }
                }
                format!(" FILTER \"{}\"", exact_filter(&names))
            } else {
                String::new()
            };
            text.push_str(&format!(
                "zephyr_code_relocate({} LOCATION {location}{filter})\n",
                unit.argument()
            ));
        }
        notes.push(if options.filter {
            format!("{cost} (without FILTER)")
        } else {
            cost
        });
    }
    Ok(Calls { text, notes })
}

type Units<'a> = BTreeMap<Unit, Vec<&'a Listed>>;

/// The sections by the call that can name them, and those none can, with why.
fn group(listed: &[Listed]) -> (Units<'_>, Vec<(&Listed, String)>) {
    let mut units: Units<'_> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for l in listed {
        if !l.section.contains(".text.") {
            unnamed.push((
                l,
                "only sections whose name contains `.text.` are relocated (build with -ffunction-sections)".to_string(),
            ));
            continue;
        }
        match Unit::of(&l.object, l.member.as_deref()) {
            Ok(unit) => units.entry(unit).or_default().push(l),
            Err(why) => unnamed.push((l, why)),
        }
    }
    (units, unnamed)
}

/// Bytes of sections named like `names` in the unit's objects that the plan does not list.
fn same_named_elsewhere(map: &LinkMap, unit: &Unit, members: &[&Listed], names: &[&str]) -> u64 {
    map.input_sections
        .iter()
        .filter(|s| {
            names.contains(&s.section.as_str()) && unit.holds(&s.object, s.member.as_deref())
        })
        .filter(|s| {
            !members
                .iter()
                .any(|l| l.section == s.section && l.member == s.member && l.object == s.object)
        })
        .map(|s| s.size)
        .sum()
}

/// What whole-file relocation would do.
struct WholeFiles {
    bytes: u64,
    dropped: Vec<Unit>,
    cycles_lost: f64,
}

/// Every `.text.` section of each unit's objects moves; units leave (least saving per byte
/// first) until the rest fits `limit`.
fn whole_files(map: &LinkMap, units: &Units<'_>, limit: u64) -> WholeFiles {
    let mut sizes: Vec<(&Unit, u64, f64)> = units
        .iter()
        .map(|(unit, members)| {
            let bytes = map
                .input_sections
                .iter()
                .filter(|s| s.size > 0 && s.section.contains(".text."))
                .filter(|s| unit.holds(&s.object, s.member.as_deref()))
                .map(|s| s.size)
                .sum::<u64>();
            let saved = members.iter().map(|l| l.cycles_saved).sum::<f64>();
            (unit, bytes, saved)
        })
        .collect();
    let mut bytes: u64 = sizes.iter().map(|(_, b, _)| b).sum();
    let full = bytes;
    sizes.sort_by(|a, b| (a.2 / a.1.max(1) as f64).total_cmp(&(b.2 / b.1.max(1) as f64)));
    let mut dropped = Vec::new();
    let mut cycles_lost = 0.0;
    for (unit, b, saved) in sizes {
        if bytes <= limit {
            break;
        }
        bytes -= b;
        cycles_lost += saved;
        dropped.push(unit.clone());
    }
    WholeFiles {
        bytes: full,
        dropped,
        cycles_lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_map_to_the_call_that_names_them() {
        assert_eq!(
            Unit::of("CMakeFiles/app.dir/src/main.c.obj", None),
            Ok(Unit::File("src/main.c".into()))
        );
        assert_eq!(
            Unit::of("CMakeFiles/app.dir/__/common/semihost.c.obj", None),
            Ok(Unit::File("../common/semihost.c".into()))
        );
        assert_eq!(
            Unit::of("zephyr/kernel/libkernel.a", Some("work.c.obj")),
            Ok(Unit::Library("kernel".into()))
        );
        assert_eq!(
            Unit::of(
                "zephyr/drivers/CMakeFiles/drivers__serial.dir/uart.c.obj",
                None
            ),
            Ok(Unit::Library("drivers__serial".into()))
        );
        assert!(Unit::of("/usr/lib/libc_nano.a", Some("lib_a-memcpy.o"))
            .unwrap_err()
            .contains("toolchain"));
        assert!(Unit::of("build/main.o", None)
            .unwrap_err()
            .contains("CMake"));
    }

    #[test]
    fn the_filter_names_exactly_the_sections() {
        let filter = exact_filter(&[".text.startup.main", ".text.k_work_submit"]);
        assert_eq!(
            filter,
            "^([.]text[.]startup[.]main|[.]text[.]k_work_submit)$"
        );
        assert!(!filter.contains('\\'));
    }

    #[test]
    fn whole_files_leave_out_the_least_saving_per_byte_until_the_rest_fits() {
        let section = |object: &str, name: &str, size: u64| crate::linkmap::MapInputSection {
            object: object.into(),
            member: None,
            section: name.into(),
            output_section: "text".into(),
            region: None,
            load_region: None,
            address: 0,
            load_address: 0,
            size,
            align: 4,
            kind: "code".into(),
            symbols: Vec::new(),
        };
        let map = LinkMap {
            version: 1,
            input_sections: vec![
                section("CMakeFiles/app.dir/a.c.obj", ".text.hot", 100),
                section("CMakeFiles/app.dir/a.c.obj", ".text.cold", 900),
                section("CMakeFiles/app.dir/b.c.obj", ".text.warm", 200),
            ],
            ..LinkMap::default()
        };
        let listed = [
            Listed {
                object: "CMakeFiles/app.dir/a.c.obj".into(),
                member: None,
                section: ".text.hot".into(),
                size: 100,
                cycles_saved: 500.0,
            },
            Listed {
                object: "CMakeFiles/app.dir/b.c.obj".into(),
                member: None,
                section: ".text.warm".into(),
                size: 200,
                cycles_saved: 300.0,
            },
        ];
        let (units, unnamed) = group(&listed);
        assert!(unnamed.is_empty());
        let fits = whole_files(&map, &units, 2000);
        assert_eq!((fits.bytes, fits.dropped.len()), (1200, 0));
        // 400 bytes: a.c (500 cycles / 1000 bytes) saves less per byte than b.c (300 / 200).
        let tight = whole_files(&map, &units, 400);
        assert_eq!(tight.dropped, vec![Unit::File("a.c".into())]);
        assert_eq!(tight.cycles_lost, 500.0);
    }
}
