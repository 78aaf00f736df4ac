//! What is inside relocatable objects, archives and linked images: input sections, symbols, and
//! the reference graph that relocations imply.
//!
//! This is the ground truth every later stage works on: the heat map attributes samples to these
//! input sections, the solver places them, and the flash-disabled audit walks their references.
//! Reading is done with the `object` crate; the ARM-specific parts it leaves open (relocation
//! names and meaning, Thumb symbol bit 0) are in [`relocs`].

pub mod diff;
mod image;
mod read;
pub mod relocs;
mod text;

pub use text::TextOptions;

use serde::Serialize;

pub use image::{Image, OutputSection, RegionUse};
pub use read::InventoryError;
pub use relocs::RefKind;

/// Index of an input section in [`Inventory::sections`].
pub type SectionId = usize;

/// Where an input section or symbol came from: a file, or a member of an archive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.member {
            Some(member) => write!(f, "{}({member})", self.file),
            None => write!(f, "{}", self.file),
        }
    }
}

/// What an input section holds, which decides where it may be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    Code,
    Rodata,
    Data,
    Bss,
    /// `.ARM.exidx` / `.ARM.extab`: unwind tables that follow their functions.
    Unwind,
    Debug,
    Other,
}

impl SectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Code => "code",
            SectionKind::Rodata => "rodata",
            SectionKind::Data => "data",
            SectionKind::Bss => "bss",
            SectionKind::Unwind => "unwind",
            SectionKind::Debug => "debug",
            SectionKind::Other => "other",
        }
    }
}

/// One input section of a relocatable object.
#[derive(Clone, Debug, Serialize)]
pub struct InputSection {
    pub origin: Origin,
    pub name: String,
    /// Index in its object's section header table.
    pub index: usize,
    pub size: u64,
    pub align: u64,
    /// `a` alloc, `w` write, `x` exec, as readelf prints them.
    pub flags: String,
    pub kind: SectionKind,
}

/// Symbol binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    Local,
    Global,
    Weak,
}

/// What a symbol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolType {
    Function,
    Object,
    Section,
    File,
    None,
}

/// Where a symbol is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "where", content = "section")]
pub enum Definition {
    /// In an input section of the inventory.
    Section(SectionId),
    Undefined,
    Absolute,
    /// A COMMON block (tentative definition); the value is its alignment.
    Common,
}

/// A symbol of a relocatable object.
#[derive(Clone, Debug, Serialize)]
pub struct Symbol {
    pub name: String,
    /// Value with the Thumb bit cleared (offset within its section in an object).
    pub value: u64,
    pub size: u64,
    pub binding: Binding,
    #[serde(rename = "type")]
    pub typ: SymbolType,
    /// A Thumb function (bit 0 of the raw value set).
    pub thumb: bool,
    pub definition: Definition,
    pub origin: Origin,
}

/// What a relocation refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefTarget {
    /// A named symbol, resolved later by name (it may be defined in another object).
    Symbol(String),
    /// A section of the same object, through its section symbol.
    Section(SectionId),
}

/// One relocation, seen as an edge of the reference graph.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub from: SectionId,
    /// Offset of the relocated place within `from`.
    pub offset: u64,
    pub target: RefTarget,
    pub kind: RefKind,
    pub r_type: u32,
}

/// The inventory of one or more relocatable inputs (objects and archive members).
#[derive(Debug, Default, Serialize)]
pub struct Inventory {
    /// The files read, in order, with what each turned out to be.
    pub files: Vec<FileSummary>,
    pub sections: Vec<InputSection>,
    pub symbols: Vec<Symbol>,
    pub references: Vec<Reference>,
    /// Linked images among the inputs.
    pub images: Vec<Image>,
}

/// What one file on the command line was.
#[derive(Clone, Debug, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub kind: FileKind,
    /// Archive members read (1 for an object).
    pub objects: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Object,
    Archive,
    Image,
}

impl Inventory {
    /// Reads every file (objects, archives and linked images) into one inventory.
    pub fn load(paths: &[impl AsRef<std::path::Path>]) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::default();
        for path in paths {
            read::read_path(&mut inventory, path.as_ref())?;
        }
        Ok(inventory)
    }

    /// The section a reference lands in: directly, or through the global (else any) definition
    /// of its symbol among the inputs.
    pub fn resolve_target(&self, target: &RefTarget, index: &SymbolIndex) -> Option<SectionId> {
        match target {
            RefTarget::Section(id) => Some(*id),
            RefTarget::Symbol(name) => index.lookup(name),
        }
    }

    /// An index of defined global and weak symbols by name (globals win over weak ones).
    pub fn symbol_index(&self) -> SymbolIndex {
        let mut by_name = rustc_hash::FxHashMap::default();
        for symbol in &self.symbols {
            let Definition::Section(id) = symbol.definition else {
                continue;
            };
            if symbol.binding == Binding::Local {
                continue;
            }
            let strong = symbol.binding == Binding::Global;
            by_name
                .entry(symbol.name.clone())
                .and_modify(|slot: &mut (SectionId, bool)| {
                    if strong && !slot.1 {
                        *slot = (id, true);
                    }
                })
                .or_insert((id, strong));
        }
        SymbolIndex { by_name }
    }

    /// Section-to-section edges: each reference resolved to the section it lands in, merged per
    /// (from, to, kind) with the number of relocations behind it.
    pub fn section_graph(&self) -> Vec<SectionEdge> {
        let index = self.symbol_index();
        let mut edges: rustc_hash::FxHashMap<(SectionId, SectionId, RefKind), u32> =
            rustc_hash::FxHashMap::default();
        for reference in &self.references {
            if let Some(to) = self.resolve_target(&reference.target, &index) {
                if to != reference.from {
                    *edges
                        .entry((reference.from, to, reference.kind))
                        .or_default() += 1;
                }
            }
        }
        let mut edges: Vec<SectionEdge> = edges
            .into_iter()
            .map(|((from, to, kind), relocations)| SectionEdge {
                from,
                to,
                kind,
                relocations,
            })
            .collect();
        edges.sort_by_key(|e| (e.from, e.to, e.kind));
        edges
    }
}

/// Defined non-local symbols by name.
pub struct SymbolIndex {
    by_name: rustc_hash::FxHashMap<String, (SectionId, bool)>,
}

impl SymbolIndex {
    pub fn lookup(&self, name: &str) -> Option<SectionId> {
        self.by_name.get(name).map(|(id, _)| *id)
    }
}

/// A resolved edge of the section reference graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionEdge {
    pub from: SectionId,
    pub to: SectionId,
    pub kind: RefKind,
    /// How many relocations make this edge.
    pub relocations: u32,
}
