//! Entry points for fuzzing: the cargo-fuzz targets in `fuzz/` and the stable, seeded smoke loop
//! in `tests/link_fuzz.rs` feed arbitrary bytes through the same functions. Each must return
//! (with an error or not) for every input, never panic or hang.

use std::path::Path;
use std::sync::Arc;

use super::{attributes, load, script};

/// Parses `data` as a GNU ld linker script (bytes that are not UTF-8 are replaced, as they would
/// fail at the first such byte anyway), then evaluates its MEMORY regions. INCLUDE finds nothing.
pub fn script_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = script::parse("fuzz.ld", &text, &[], &mut |name, _| {
        Err(format!("INCLUDE {name}: no files while fuzzing"))
    });
    if let Ok(s) = parsed {
        let _ = super::regions::eval_regions(&s);
    }
}

/// Reads `data` as an input file: an archive (index and every member) or a relocatable object,
/// including its `.ARM.attributes`.
pub fn object_input(data: &[u8]) {
    let path = Path::new("fuzz.o");
    let objects = if load::is_archive(data) {
        let Ok(archive) = load::Archive::parse(path, Arc::from(data)) else {
            return;
        };
        (0..archive.members.len())
            .filter_map(|m| archive.load_member(m).ok())
            .collect()
    } else {
        let origin = load::Origin {
            path: path.to_path_buf(),
            member: None,
        };
        load::parse_object(origin, data)
            .into_iter()
            .collect::<Vec<_>>()
    };
    for o in &objects {
        for s in &o.sections {
            if s.sh_type == object::elf::SHT_ARM_ATTRIBUTES.0 {
                let _ = attributes::parse(&s.data);
            }
        }
    }
}
