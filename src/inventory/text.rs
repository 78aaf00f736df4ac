//! The human-readable rendering of an inventory for `hotlink inspect`.

use std::fmt::Write;

use super::{Definition, FileKind, Inventory, RefTarget, SectionKind};
use crate::board::Board;
use crate::units::Bytes;

/// Which parts of the inventory to print.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    pub summary_only: bool,
    pub symbols: bool,
    pub references: bool,
}

impl Inventory {
    /// Renders the inventory as text; with a board, images also get their region use.
    pub fn to_text(&self, options: TextOptions, board: Option<&Board>) -> String {
        let mut out = String::new();
        self.write_summary(&mut out);
        if !options.summary_only && !self.sections.is_empty() {
            self.write_sections(&mut out);
        }
        if options.symbols && !options.summary_only {
            self.write_symbols(&mut out);
        }
        if options.references && !options.summary_only {
            self.write_references(&mut out);
        }
        for image in &self.images {
            let _ = writeln!(
                out,
                "\nImage {}: entry {:#010x}, {} functions",
                image.path,
                image.entry,
                image.functions.len()
            );
            let _ = writeln!(
                out,
                "  {:<24} {:>10} {:>10} {:>9} flags",
                "output section", "run", "load", "size"
            );
            for s in &image.sections {
                let _ = writeln!(
                    out,
                    "  {:<24} 0x{:08x} 0x{:08x} {:>9} {}{}",
                    s.name,
                    s.address,
                    s.load_address,
                    s.size,
                    s.flags,
                    if s.nobits { " nobits" } else { "" }
                );
            }
            if let Some(board) = board {
                let _ = writeln!(out, "\n  Region use on {}", board.name);
                for region in image.region_use(board) {
                    let parts: Vec<String> = region
                        .contributors
                        .iter()
                        .map(|(name, bytes, load)| {
                            format!("{name} {bytes}{}", if *load { " (load copy)" } else { "" })
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "  {:<9} {:>9} of {:>5} {:>6.2}%  {}",
                        region.region,
                        region.used,
                        Bytes(region.size).to_string(),
                        region.percent(),
                        parts.join(", ")
                    );
                }
                for stray in image.outside_regions(board) {
                    let _ = writeln!(
                        out,
                        "  warning: {} at {:#010x} is outside every {} region: was the image linked for this board?",
                        stray.name, stray.address, board.name
                    );
                }
            }
        }
        out
    }

    fn write_summary(&self, out: &mut String) {
        for file in &self.files {
            let what = match file.kind {
                FileKind::Object => "object".to_string(),
                FileKind::Archive => format!("archive, {} members", file.objects),
                FileKind::Image => "linked image".to_string(),
            };
            let _ = writeln!(out, "{} ({what})", file.path);
        }
        if self.sections.is_empty() {
            return;
        }
        let mut totals = [0u64; 7];
        let mut counts = [0usize; 7];
        for s in &self.sections {
            totals[s.kind as usize] += s.size;
            counts[s.kind as usize] += 1;
        }
        let _ = write!(out, "{} input sections:", self.sections.len());
        for kind in [
            SectionKind::Code,
            SectionKind::Rodata,
            SectionKind::Data,
            SectionKind::Bss,
            SectionKind::Unwind,
            SectionKind::Debug,
        ] {
            let _ = write!(
                out,
                " {} {} ({} B),",
                counts[kind as usize],
                kind.as_str(),
                totals[kind as usize]
            );
        }
        let _ = writeln!(
            out,
            " {} symbols, {} references",
            self.symbols.len(),
            self.references.len()
        );
    }

    fn write_sections(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n  {:<32} {:<36} {:>8} {:>5} {:<5} kind",
            "object", "section", "size", "align", "flags"
        );
        for s in &self.sections {
            let _ = writeln!(
                out,
                "  {:<32} {:<36} {:>8} {:>5} {:<5} {}",
                s.origin.to_string(),
                s.name,
                s.size,
                s.align,
                s.flags,
                s.kind.as_str()
            );
        }
    }

    fn write_symbols(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n  {:<40} {:>10} {:>6} {:<6} {:<8} where",
            "symbol", "value", "size", "bind", "type"
        );
        for s in &self.symbols {
            let place = match s.definition {
                Definition::Section(id) => {
                    let section = &self.sections[id];
                    format!("{} {}", section.origin, section.name)
                }
                Definition::Undefined => "undefined".into(),
                Definition::Absolute => "absolute".into(),
                Definition::Common => "common".into(),
            };
            let _ = writeln!(
                out,
                "  {:<40} 0x{:08x} {:>6} {:<6} {:<8} {}",
                s.name,
                s.value,
                s.size,
                format!("{:?}", s.binding).to_lowercase(),
                format!("{:?}", s.typ).to_lowercase(),
                place
            );
        }
    }

    fn write_references(&self, out: &mut String) {
        let _ = writeln!(out, "\n  References (relocations)");
        for r in &self.references {
            let from = &self.sections[r.from];
            let target = match &r.target {
                RefTarget::Symbol(name) => name.clone(),
                RefTarget::Section(id) => format!("[{}]", self.sections[*id].name),
            };
            let _ = writeln!(
                out,
                "  {}({})+{:#x} -> {} {} {}",
                from.origin,
                from.name,
                r.offset,
                target,
                r.kind.as_str(),
                super::relocs::name(r.r_type)
            );
        }
    }
}
