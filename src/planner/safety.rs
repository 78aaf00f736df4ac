//! The startup-safe set: input sections a plan must leave where the script puts them, each with
//! the reason `hotlink plan` prints.
//!
//! Moving code to ITCM or OCRAM only works once the startup code has copied it there, and only
//! for pieces the linker does not assemble from several inputs. The rules, in one place:
//! - data in a code output section (vector tables, boot headers: the hardware reads them first);
//! - sections the boot ROM or the core finds by address (`.isr_vector`, `.boot_hdr`, `.ivt`…);
//! - linker-assembled pieces: `.init`/`.fini` (crti's prologue and crtn's epilogue make one
//!   `_init`) and everything of crti/crtn/crtbegin/crtend;
//! - the entry and everything that runs before the receiving sections are copied: everything
//!   reachable from the entry through any relocation out of code (`bl SystemInit` and
//!   `ldr r0,=SystemInit; blx r0` alike; a vector table's entries run only when taken), where in the copy routine — the code that reads the receiving sections'
//!   linker symbols — only what it uses up to the copy counts, and the first call after its last
//!   use of a copy symbol if it follows right after (the copier, e.g. `copy_words` or `memcpy`);
//!   in a function that reaches the copy routine through a call (Zephyr's `z_prep_c` calls
//!   `data_copy_xip_relocation`, then `main`), only what it uses up to that call counts.
//!
//! The order inside a function comes from relocation offsets; a literal-pool word is placed where
//! the first `ldr rX, =sym` that loads it sits (Thumb LDR-literal encodings decoded from the
//! image), so a pool at the end of `Reset_Handler` does not hide what runs first.

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::inventory::RefKind;
use crate::linkmap::MapInputSection;

/// A relocation from one item, resolved as far as the inputs allow.
#[derive(Clone, Debug)]
pub struct ItemRef {
    pub from: usize,
    /// The item it lands in, if any (a linker-script symbol lands in none).
    pub to: Option<usize>,
    /// The symbol it names, if it names one.
    pub symbol: Option<String>,
    /// Offset of the relocated place in `from`.
    pub offset: u64,
    pub kind: RefKind,
}

/// What the startup-safe rules look at.
pub struct StartupFacts<'a> {
    pub sections: &'a [&'a MapInputSection],
    /// Items whose object says they are not executable.
    pub not_code: &'a [bool],
    pub references: &'a [ItemRef],
    /// The item holding the entry point.
    pub entry: Option<usize>,
    /// Linker-script symbols that name a receiving section's run or load addresses.
    pub copy_symbols: &'a [String],
    /// Items that already run from a section the startup copies (imxrt-rt's `.text` in ITCM):
    /// the image only reaches them after the copy, so neither they nor what only they lead to
    /// run before it, and moving them to flash is safe.
    pub runs_copied: &'a [bool],
    /// Each item's bytes in the image (to find which instruction loads a literal), if readable.
    pub bytes: &'a dyn Fn(usize) -> Option<Vec<u8>>,
}

/// Section names the hardware or boot ROM finds by address.
const FIXED_ADDRESS: &[&str] = &[
    ".isr_vector",
    ".vectors",
    ".interrupts",
    ".boot_hdr",
    ".ivt",
    ".boot_data",
    ".dcd",
    ".flash_config",
    ".flashconfig",
    ".fcb",
];

/// Objects the linker stitches together with the script's own pieces.
const LINKER_ASSEMBLED_OBJECTS: &[&str] = &["crti.o", "crtn.o", "crtbegin.o", "crtend.o"];

/// The items that must stay put, with why.
pub fn startup_safe_set(facts: &StartupFacts<'_>) -> BTreeMap<usize, String> {
    let mut pinned = BTreeMap::new();
    for (i, s) in facts.sections.iter().enumerate() {
        if let Some(reason) = static_rule(s, facts.not_code[i]) {
            pinned.insert(i, reason);
        }
    }
    for (i, reason) in before_copy(facts) {
        pinned.entry(i).or_insert(reason);
    }
    pinned
}

/// The rules that need only the section itself.
fn static_rule(s: &MapInputSection, not_code: bool) -> Option<String> {
    let base = |name: &str| {
        FIXED_ADDRESS
            .iter()
            .any(|f| name == *f || name.starts_with(&format!("{f}.")))
    };
    let file = s.member.as_deref().unwrap_or(&s.object);
    let file = file.rsplit('/').next().unwrap_or(file);
    if base(&s.section) {
        Some("found by address (vector table or boot header)".into())
    } else if not_code {
        Some("data in a code section (the hardware or startup may read it first)".into())
    } else if s.section == ".init" || s.section == ".fini" {
        Some(format!(
            "linker-assembled {}: crti's prologue and crtn's epilogue make one function",
            s.section
        ))
    } else if LINKER_ASSEMBLED_OBJECTS.contains(&file) {
        Some(format!(
            "part of {file}, which the linker assembles with the script"
        ))
    } else {
        None
    }
}

/// Everything that runs before the copy, found by walking references from the entry.
fn before_copy(facts: &StartupFacts<'_>) -> Vec<(usize, String)> {
    let Some(entry) = facts.entry else {
        return Vec::new();
    };
    let mut by_item: FxHashMap<usize, Vec<&ItemRef>> = FxHashMap::default();
    for r in facts.references {
        by_item.entry(r.from).or_default().push(r);
    }
    let name = |i: usize| -> String {
        let s = facts.sections[i];
        s.symbols
            .iter()
            .find(|sym| !sym.name.starts_with('$'))
            .map_or_else(|| s.label(), |sym| sym.name.clone())
    };
    let leads = leading_to_copy(facts);
    let mut parent: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let mut copiers: BTreeMap<usize, String> = BTreeMap::new();
    parent.insert(entry, None);
    let mut queue = VecDeque::from([entry]);
    while let Some(item) = queue.pop_front() {
        // A table is read, not run: what a vector table points at runs when it is taken. The
        // entry is the exception: a Teensy-style image enters through its IVT, whose entry
        // word is the reset function.
        if facts.not_code[item] && item != entry {
            continue;
        }
        if facts.runs_copied[item] && item != entry {
            continue;
        }
        let refs = by_item.get(&item).map(Vec::as_slice).unwrap_or(&[]);
        let code = (facts.bytes)(item).unwrap_or_default();
        let followed = runs_before_copy(refs, &code, facts.copy_symbols, &leads);
        if let Some(symbol) = followed.copy_symbol {
            copiers.insert(item, symbol);
        }
        for to in followed.targets {
            if let std::collections::btree_map::Entry::Vacant(slot) = parent.entry(to) {
                slot.insert(Some(item));
                queue.push_back(to);
            }
        }
    }
    parent
        .keys()
        .filter(|&&i| i == entry || !facts.runs_copied[i])
        .map(|&i| {
            let mut chain = vec![name(i)];
            let mut at = parent[&i];
            while let Some(p) = at {
                chain.push(name(p));
                at = parent[&p];
            }
            chain.reverse();
            let reason = if i == entry {
                match copiers.get(&i) {
                    Some(symbol) => format!(
                        "the entry point, which also does the startup copy (reads {symbol})"
                    ),
                    None => "the entry point: runs before anything is copied".to_string(),
                }
            } else if let Some(symbol) = copiers.get(&i) {
                format!(
                    "the startup copy itself (reads {symbol}): {}",
                    chain.join(" -> ")
                )
            } else {
                format!("runs before the startup copy: {}", chain.join(" -> "))
            };
            (i, reason)
        })
        .collect()
}

/// How far after the last load of a copy symbol a call still counts as the copier (the loads
/// set up its arguments; `main` comes later, after the `.bss` loop).
const COPIER_WINDOW: u64 = 16;

/// Which of a function's references run before (or as) its copy of the receiving sections.
struct Followed {
    targets: Vec<usize>,
    /// The first copy symbol it uses, when it is a copy routine.
    copy_symbol: Option<String>,
}

/// Where in its item a reference is used: a literal-pool word where the instruction that loads
/// it sits, anything else where it is relocated. `loads` comes from [`literal_loads`].
fn used_at(r: &ItemRef, loads: &FxHashMap<u64, u64>) -> u64 {
    match r.kind {
        RefKind::Data => loads.get(&r.offset).copied().unwrap_or(r.offset),
        _ => r.offset,
    }
}

/// Offsets in `code` of the instructions that use one of `symbols` (the copy's set-up loads),
/// for the startup run to watch.
pub fn symbol_uses(refs: &[&ItemRef], code: &[u8], symbols: &[String]) -> Vec<u64> {
    let loads = literal_loads(code);
    refs.iter()
        .filter(|r| r.symbol.as_ref().is_some_and(|s| symbols.contains(s)))
        .map(|r| used_at(r, &loads))
        .collect()
}

/// The items from which the copy routine is reached: those that read a copy symbol and, through
/// references, everything that leads to one of them.
fn leading_to_copy(facts: &StartupFacts<'_>) -> FxHashSet<usize> {
    let mut callers: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    let mut leads = FxHashSet::default();
    let mut queue = VecDeque::new();
    for r in facts.references {
        if let Some(to) = r.to {
            callers.entry(to).or_default().push(r.from);
        }
        let copies = r
            .symbol
            .as_ref()
            .is_some_and(|s| facts.copy_symbols.contains(s));
        if copies && leads.insert(r.from) {
            queue.push_back(r.from);
        }
    }
    while let Some(item) = queue.pop_front() {
        for &from in callers.get(&item).map(Vec::as_slice).unwrap_or(&[]) {
            if leads.insert(from) {
                queue.push_back(from);
            }
        }
    }
    leads
}

fn runs_before_copy(
    refs: &[&ItemRef],
    code: &[u8],
    copy_symbols: &[String],
    leads: &FxHashSet<usize>,
) -> Followed {
    let loads = literal_loads(code);
    let used_at = |r: &ItemRef| used_at(r, &loads);
    let copy_uses: Vec<(u64, &str)> = refs
        .iter()
        .filter_map(|r| {
            let symbol = r.symbol.as_deref()?;
            copy_symbols
                .iter()
                .any(|c| c == symbol)
                .then(|| (used_at(r), symbol))
        })
        .collect();
    let Some(&(_, first_symbol)) = copy_uses.iter().min() else {
        // Up to the last reference on the way to the copy routine, if there is one; what comes
        // after it runs once the receiving sections hold their code.
        let last_on_the_way = refs
            .iter()
            .filter(|r| r.to.is_some_and(|to| leads.contains(&to) && to != r.from))
            .map(|r| used_at(r))
            .max();
        return Followed {
            targets: refs
                .iter()
                .filter(|r| last_on_the_way.is_none_or(|cut| used_at(r) <= cut))
                .filter_map(|r| r.to)
                .collect(),
            copy_symbol: None,
        };
    };
    let last_use = copy_uses.iter().map(|(at, _)| *at).max().unwrap_or(0);
    let copier = refs
        .iter()
        .filter(|r| r.kind != RefKind::Data && used_at(r) > last_use)
        .filter(|r| used_at(r) <= last_use + COPIER_WINDOW)
        .min_by_key(|r| used_at(r))
        .map(|r| used_at(r));
    let targets = refs
        .iter()
        .filter(|r| used_at(r) <= last_use || Some(used_at(r)) == copier)
        .filter_map(|r| r.to)
        .collect();
    Followed {
        targets,
        copy_symbol: Some(first_symbol.to_string()),
    }
}

/// Literal-pool offset → offset of the first Thumb `ldr rX, [pc, #imm]` that loads it.
fn literal_loads(code: &[u8]) -> FxHashMap<u64, u64> {
    let half = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes([*code.get(at)?, *code.get(at + 1)?]))
    };
    let mut loads = FxHashMap::default();
    let mut at = 0usize;
    while let Some(first) = half(at) {
        let pc = (at as u64 + 4) & !3;
        let wide = matches!(first >> 11, 0b11101..=0b11111);
        let target = if first & 0xF800 == 0x4800 {
            Some(pc + u64::from(first & 0xFF) * 4)
        } else if wide && first & 0xFF7F == 0xF85F {
            half(at + 2).and_then(|second| {
                let imm = u64::from(second & 0x0FFF);
                if first & 0x0080 != 0 {
                    Some(pc + imm)
                } else {
                    pc.checked_sub(imm)
                }
            })
        } else {
            None
        };
        if let Some(target) = target {
            loads.entry(target).or_insert(at as u64);
        }
        at += if wide { 4 } else { 2 };
    }
    loads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linkmap::MapSectionSymbol;

    fn section(object: &str, name: &str, symbol: &str) -> MapInputSection {
        MapInputSection {
            object: object.into(),
            member: None,
            section: name.into(),
            output_section: ".text".into(),
            region: None,
            load_region: None,
            address: 0,
            load_address: 0,
            size: 16,
            align: 4,
            kind: "code".into(),
            symbols: vec![MapSectionSymbol {
                name: symbol.into(),
                address: 0,
                size: 16,
            }],
        }
    }

    fn reference(
        from: usize,
        to: Option<usize>,
        symbol: &str,
        offset: u64,
        kind: RefKind,
    ) -> ItemRef {
        ItemRef {
            from,
            to,
            symbol: Some(symbol.into()),
            offset,
            kind,
        }
    }

    /// An SDK-like `Reset_Handler`: `ldr r0, =SystemInit; blx r0`, then the ITCM copy through
    /// `bl copy_words`, then `bl main`; its literal pool at the end lists the words in that order.
    fn sdk_like() -> (Vec<MapInputSection>, Vec<ItemRef>, Vec<u8>) {
        let sections = vec![
            section("startup.o", ".text.Reset_Handler", "Reset_Handler"),
            section("system.o", ".text.SystemInit", "SystemInit"),
            section("startup.o", ".text.copy_words", "copy_words"),
            section("main.o", ".text.main", "main"),
            section("crti.o", ".init", "_init"),
            section("startup.o", ".isr_vector", "__isr_vector"),
            section("work.o", ".text.helper", "helper"),
        ];
        // 0: ldr r0,[pc,#12] (pool at 16)  2: blx r0  4: ldr r1,[pc,#12] (pool at 20)
        // 6: bl copy_words (4 bytes)  10: bl main (4 bytes)  14: nop  16,20: pool words.
        let mut code = Vec::new();
        for half in [
            0x4803u16, 0x4780, 0x4903, 0xF000, 0xF800, 0xF000, 0xF800, 0xBF00,
        ] {
            code.extend_from_slice(&half.to_le_bytes());
        }
        code.extend_from_slice(&[0; 8]);
        let refs = vec![
            reference(0, Some(2), "copy_words", 6, RefKind::Call),
            reference(0, Some(3), "main", 10, RefKind::Call),
            reference(0, Some(1), "SystemInit", 16, RefKind::Data),
            reference(0, None, "__ram_function_start__", 20, RefKind::Data),
            reference(1, Some(6), "helper", 0, RefKind::Call),
            reference(3, Some(6), "helper", 0, RefKind::Call),
        ];
        (sections, refs, code)
    }

    fn pinned_set(not_code: &[bool]) -> BTreeMap<usize, String> {
        let (sections, refs, code) = sdk_like();
        let sections: Vec<&MapInputSection> = sections.iter().collect();
        let bytes = move |i: usize| (i == 0).then(|| code.clone());
        startup_safe_set(&StartupFacts {
            sections: &sections,
            not_code,
            references: &refs,
            entry: Some(0),
            copy_symbols: &["__ram_function_start__".to_string()],
            runs_copied: &[false; 7],
            bytes: &bytes,
        })
    }

    #[test]
    fn what_runs_before_the_copy_stays_and_main_may_move() {
        let pinned = pinned_set(&[false; 7]);
        assert!(pinned[&0].contains("entry"), "{pinned:?}");
        assert!(
            pinned[&1].contains("Reset_Handler -> SystemInit"),
            "blx through a register: {pinned:?}"
        );
        assert!(
            pinned[&6].contains("SystemInit -> helper"),
            "what SystemInit calls: {pinned:?}"
        );
        assert!(pinned[&2].contains("copy_words"), "the copier: {pinned:?}");
        assert!(
            !pinned.contains_key(&3),
            "main runs after the copy: {pinned:?}"
        );
        assert!(pinned[&4].contains("linker-assembled .init"), "{pinned:?}");
        assert!(pinned[&5].contains("by address"), "{pinned:?}");
    }

    #[test]
    fn data_in_code_sections_stays() {
        let mut not_code = [false; 7];
        not_code[3] = true;
        let pinned = pinned_set(&not_code);
        assert!(pinned[&3].contains("data in a code section"), "{pinned:?}");
    }

    /// A Teensy-style image enters through its IVT (data); the reset function its entry word
    /// names runs from flash before the ITCM copy, so it stays, and so does what it calls first.
    #[test]
    fn an_ivt_entry_pins_the_reset_function_it_names() {
        let (mut sections, mut refs, code) = sdk_like();
        sections.push(section("boot.o", ".ivt", "ImageVectorTable"));
        refs.push(reference(7, Some(0), "Reset_Handler", 4, RefKind::Data));
        let sections: Vec<&MapInputSection> = sections.iter().collect();
        let mut not_code = [false; 8];
        not_code[7] = true;
        let bytes = move |i: usize| (i == 0).then(|| code.clone());
        let pinned = startup_safe_set(&StartupFacts {
            sections: &sections,
            not_code: &not_code,
            references: &refs,
            entry: Some(7),
            copy_symbols: &["__ram_function_start__".to_string()],
            runs_copied: &[false; 8],
            bytes: &bytes,
        });
        assert!(
            pinned[&0].contains("ImageVectorTable -> Reset_Handler"),
            "{pinned:?}"
        );
        assert!(pinned[&2].contains("copy_words"), "the copier: {pinned:?}");
        assert!(
            !pinned.contains_key(&3),
            "main runs after the copy: {pinned:?}"
        );
    }

    /// Zephyr's shape: the entry calls `z_prep_c` (item 1 here, `SystemInit`'s slot), which calls
    /// the copy routine (`copy_words` reads the copy symbol itself) and then `main`: `main` may
    /// move, what `z_prep_c` calls before the copy may not.
    #[test]
    fn a_function_that_calls_the_copy_routine_is_followed_up_to_that_call() {
        let (sections, _, _) = sdk_like();
        let refs = vec![
            reference(0, Some(1), "z_prep_c", 0, RefKind::Call),
            reference(1, Some(6), "helper", 0, RefKind::Call),
            reference(1, Some(2), "copy_words", 4, RefKind::Call),
            reference(1, Some(3), "main", 8, RefKind::Call),
            reference(2, None, "__itcm_text_reloc_start", 0, RefKind::Data),
        ];
        let sections: Vec<&MapInputSection> = sections.iter().collect();
        let pinned = startup_safe_set(&StartupFacts {
            sections: &sections,
            not_code: &[false; 7],
            references: &refs,
            entry: Some(0),
            copy_symbols: &["__itcm_text_reloc_start".to_string()],
            bytes: &|_| None,
            runs_copied: &[false; 7],
        });
        assert!(
            pinned[&6].contains("Reset_Handler -> SystemInit -> helper"),
            "{pinned:?}"
        );
        assert!(pinned[&2].contains("the startup copy itself"), "{pinned:?}");
        assert!(
            !pinned.contains_key(&3),
            "main runs after the copy: {pinned:?}"
        );
    }

    #[test]
    fn without_a_copy_everything_reachable_stays() {
        let (sections, mut refs, _) = sdk_like();
        refs.retain(|r| r.symbol.as_deref() != Some("__ram_function_start__"));
        let sections: Vec<&MapInputSection> = sections.iter().collect();
        let pinned = startup_safe_set(&StartupFacts {
            sections: &sections,
            not_code: &[false; 7],
            references: &refs,
            entry: Some(0),
            copy_symbols: &[],
            runs_copied: &[false; 7],
            bytes: &|_| None,
        });
        assert!(pinned.contains_key(&3), "{pinned:?}");
    }

    /// imxrt-rt: `Reset` calls the copier (`__pre_init`, out of line) and later `main`, which
    /// runs from the copied ITCM `.text`; what main calls is not startup code.
    #[test]
    fn code_already_copied_is_not_startup_code() {
        let (sections, mut refs, _) = sdk_like();
        refs.retain(|r| r.symbol.as_deref() != Some("__ram_function_start__"));
        let sections: Vec<&MapInputSection> = sections.iter().collect();
        let mut runs_copied = [false; 7];
        let facts = |runs_copied: &[bool]| {
            startup_safe_set(&StartupFacts {
                sections: &sections,
                not_code: &[false; 7],
                references: &refs,
                entry: Some(0),
                copy_symbols: &[],
                runs_copied,
                bytes: &|_| None,
            })
        };
        assert!(facts(&runs_copied).contains_key(&6), "helper via main");
        runs_copied[3] = true; // main
        runs_copied[1] = true; // SystemInit
        let pinned = facts(&runs_copied);
        assert!(!pinned.contains_key(&3), "main: {pinned:?}");
        assert!(
            !pinned.contains_key(&6),
            "helper, reached only through main and SystemInit: {pinned:?}"
        );
        assert!(
            pinned.contains_key(&0) && pinned.contains_key(&2),
            "{pinned:?}"
        );
    }

    #[test]
    fn literal_loads_are_found_in_both_encodings() {
        // ldr r0,[pc,#4] at 0 -> 4 + 4 = 8; ldr.w r1,[pc,#8] at 2 -> (2+4)&!3 + 8 = 12.
        let code: Vec<u8> = [0x4801u16, 0xF8DF, 0x1008]
            .iter()
            .flat_map(|h| h.to_le_bytes())
            .collect();
        let loads = literal_loads(&code);
        assert_eq!(loads.get(&8), Some(&0));
        assert_eq!(loads.get(&12), Some(&2));
    }
}
