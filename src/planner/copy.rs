//! Which RAM output sections the startup code copies: the sections a plan may fill.
//!
//! An output section in ITCM or OCRAM only receives code if something copies it there at boot.
//! The copy reads the linker-script symbols that bound the section's run and load addresses
//! (`__itcm_start__`, `__ram_function_flash_start`…), so a section none of whose symbols any
//! object references is not copied: the SDK's `.ram_function` without
//! `__STARTUP_INITIALIZE_RAMFUNCTION`. The same symbols tell the startup-safe rules where the
//! copy happens.

use object::{Object, ObjectSymbol, SymbolKind};
use rustc_hash::FxHashSet;

use crate::board::{Board, Region, RegionKind};
use crate::inventory::{Inventory, RefTarget};
use crate::linkmap::{gnu::kind_of, LinkMap};

/// A RAM output section that could receive code.
#[derive(Debug)]
pub struct Section {
    pub name: String,
    pub address: u64,
    pub size: u64,
    /// Linker-script symbols at its run or load addresses, and whether code references each.
    pub symbols: Vec<(String, bool)>,
}

impl Section {
    /// True when some code reads one of its bounds: the startup copies it.
    pub fn copied(&self) -> bool {
        self.symbols.iter().any(|(_, used)| *used)
    }
}

/// The receiving sections of an image.
#[derive(Debug, Default)]
pub struct Receiving {
    pub sections: Vec<Section>,
}

impl Receiving {
    pub fn in_region<'a>(&'a self, region: &'a Region) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| region.contains(s.address))
    }

    /// The referenced bounds of every copied section: what the startup copy reads.
    pub fn copied_symbols(&self) -> Vec<String> {
        self.sections
            .iter()
            .flat_map(|s| s.symbols.iter())
            .filter(|(_, used)| *used)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Finds the code output sections in ITCM and OCRAM and the script symbols that bound them.
pub fn receiving_sections(
    board: &Board,
    map: &LinkMap,
    elf: &[u8],
    inventory: &Inventory,
) -> Receiving {
    let Ok(file) = object::File::parse(elf) else {
        return Receiving::default();
    };
    let index = inventory.symbol_index();
    // Script symbols: global, untyped, defined in the image but by no object.
    let script_symbols: Vec<(String, u64)> = file
        .symbols()
        .filter(|s| s.is_global() && s.kind() == SymbolKind::Unknown && !s.is_undefined())
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .filter(|(name, _)| index.lookup(name).is_none())
        .collect();
    let referenced: FxHashSet<&str> = inventory
        .references
        .iter()
        .filter_map(|r| match &r.target {
            RefTarget::Symbol(name) => Some(name.as_str()),
            RefTarget::Section(_) => None,
        })
        .collect();
    let in_ram = |address: u64| {
        board
            .regions
            .iter()
            .any(|r| matches!(r.kind, RegionKind::Itcm | RegionKind::Ocram) && r.contains(address))
    };
    // An empty section shares its address with the end of the one before it: a bound of that
    // neighbour (imxrt-rt's `__ebss`, which its reset code reads, at the start of the empty
    // NOLOAD `.uninit`) says nothing about copying the empty one.
    let ends: FxHashSet<u64> = map
        .output_sections
        .iter()
        .filter(|o| o.size > 0)
        .map(|o| o.address + o.size)
        .collect();
    let sections = map
        .output_sections
        .iter()
        // Dynamic relocations (`.rel.dyn`, an empty orphan GNU ld lists at 0) are never code.
        .filter(|s| !s.name.starts_with(".rel"))
        .filter(|s| in_ram(s.address) && (s.kind == "code" || kind_of(&s.name) == "code"))
        .map(|s| {
            // Run addresses from start to end; load addresses only inside a non-empty load
            // image (an empty one shares its address with the next section's, e.g. `.data`'s).
            let bounds = |value: u64| {
                (value >= s.address && value <= s.address + s.size)
                    || (s.load_address != s.address
                        && value >= s.load_address
                        && value < s.load_address + s.size)
            };
            Section {
                name: s.name.clone(),
                address: s.address,
                size: s.size,
                symbols: script_symbols
                    .iter()
                    .filter(|(_, value)| bounds(*value))
                    .filter(|(_, value)| s.size > 0 || !ends.contains(value))
                    .map(|(name, _)| (name.clone(), referenced.contains(name.as_str())))
                    .collect(),
            }
        })
        .collect();
    Receiving { sections }
}
