//! MEMORY regions: their evaluation from the script and the queries on them (which region holds
//! an address, which attributes hold). They come before layout because the plan's moves are
//! resolved against the regions before anything is laid out, and the RAM-only check reads them
//! again after.

use rustc_hash::FxHashMap;

use super::script::{AssignOp, Command, EvalContext, Script, ScriptError, Visibility};

/// One MEMORY region and, during layout, how far it is filled.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub origin: u64,
    pub length: u64,
    pub attrs: String,
    /// Next free run address.
    pub current: u64,
}

/// Evaluates the MEMORY regions. Their expressions may use symbols assigned by the script
/// before them when those assignments are constant (the MCUXpresso SDK's `FLASH_BASE`,
/// `TEXT_SIZE = FLASH_SIZE - ...`, `HEAP_SIZE = DEFINED(__heap_size__) ? ... : ...`), as GNU ld and
/// LLD allow; anything else (a section address, `.`) is an error naming the symbol.
pub fn eval_regions(script: &Script) -> Result<Vec<Region>, ScriptError> {
    struct RegionCx<'a> {
        regions: &'a [Region],
        constants: &'a FxHashMap<String, u64>,
    }
    impl EvalContext for RegionCx<'_> {
        fn dot(&self) -> Result<u64, String> {
            Err("`.` cannot be used in MEMORY".into())
        }
        fn symbol(&self, name: &str) -> Result<u64, String> {
            self.constants.get(name).copied().ok_or_else(|| {
                format!(
                    "symbol `{name}` cannot be used in MEMORY: only symbols the script assigns a \
                     constant value before MEMORY can (assign it above MEMORY, without section \
                     addresses or `.`)"
                )
            })
        }
        fn defined(&self, name: &str) -> bool {
            self.constants.contains_key(name)
        }
        fn section_addr(&self, n: &str) -> Result<u64, String> {
            Err(format!("section `{n}` cannot be used in MEMORY"))
        }
        fn section_load_addr(&self, n: &str) -> Result<u64, String> {
            self.section_addr(n)
        }
        fn section_size(&self, n: &str) -> Result<u64, String> {
            self.section_addr(n)
        }
        fn section_align(&self, n: &str) -> Result<u64, String> {
            self.section_addr(n)
        }
        fn region_origin(&self, n: &str) -> Result<u64, String> {
            self.regions
                .iter()
                .find(|r| r.name == n)
                .map(|r| r.origin)
                .ok_or_else(|| format!("no memory region `{n}`"))
        }
        fn region_length(&self, n: &str) -> Result<u64, String> {
            self.regions
                .iter()
                .find(|r| r.name == n)
                .map(|r| r.length)
                .ok_or_else(|| format!("no memory region `{n}`"))
        }
    }
    let mut regions: Vec<Region> = Vec::new();
    let mut constants: FxHashMap<String, u64> = FxHashMap::default();
    for c in &script.commands {
        match c {
            Command::Assign(a) => {
                let cx = RegionCx {
                    regions: &regions,
                    constants: &constants,
                };
                let provide_only = matches!(a.vis, Visibility::Provide | Visibility::ProvideHidden);
                if provide_only && constants.contains_key(&a.target) {
                    continue;
                }
                // Not constant (uses `.`, a section or a later symbol): not usable in MEMORY,
                // and evaluated with the sections as before.
                let Ok(value) = a.expr.eval(&cx) else {
                    constants.remove(&a.target);
                    continue;
                };
                let old = constants.get(&a.target).copied();
                let value = match (a.op, old) {
                    (AssignOp::Set, _) => Some(value),
                    (op, Some(old)) => op.apply(old, value),
                    (_, None) => None,
                };
                match value {
                    Some(v) => constants.insert(a.target.clone(), v),
                    None => constants.remove(&a.target),
                };
            }
            Command::Memory(list) => {
                for m in list {
                    if regions.iter().any(|r| r.name == m.name) {
                        return Err(ScriptError {
                            loc: m.loc.clone(),
                            msg: format!("memory region `{}` defined twice", m.name),
                            text: String::new(),
                        });
                    }
                    let cx = RegionCx {
                        regions: &regions,
                        constants: &constants,
                    };
                    let origin = m.origin.eval(&cx)?;
                    let length = m.length.eval(&cx)?;
                    regions.push(Region {
                        name: m.name.clone(),
                        origin,
                        length,
                        attrs: m.attrs.clone(),
                        current: origin,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(regions)
}

/// The MEMORY attributes that hold (those before a `!`), lower-cased.
pub fn region_attrs(attrs: &str) -> String {
    attrs
        .split('!')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The script MEMORY region whose address range holds `address`.
pub fn region_covering(regions: &[Region], address: u64) -> Option<usize> {
    regions
        .iter()
        .position(|m| address >= m.origin && address - m.origin < m.length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::script::parse_str;

    /// MEMORY may use symbols the script assigns constants before it, `DEFINED()` ternaries and
    /// compound assignments included (MCUXpresso SDK scripts); a symbol that is not such a constant
    /// is an error naming it.
    #[test]
    fn memory_uses_constant_symbols_assigned_before_it() {
        let script = parse_str(
            "sdk.ld",
            "HEAP_SIZE = DEFINED(__heap_size__) ? __heap_size__ : 0x1000;\n\
             FLASH_BASE = 0x60000000;\n\
             TEXT_SIZE = 0x800000;\n\
             TEXT_SIZE -= 0x2000 + HEAP_SIZE;\n\
             MEMORY {\n\
               m_text (RX) : ORIGIN = FLASH_BASE + 0x2000, LENGTH = TEXT_SIZE\n\
               m_data (RW) : ORIGIN = ORIGIN(m_text) + LENGTH(m_text), LENGTH = HEAP_SIZE\n\
             }\n",
        )
        .unwrap();
        let regions = eval_regions(&script).unwrap();
        assert_eq!(
            (regions[0].origin, regions[0].length),
            (0x6000_2000, 0x80_0000 - 0x3000)
        );
        assert_eq!(
            (regions[1].origin, regions[1].length),
            (0x6000_2000 + 0x80_0000 - 0x3000, 0x1000)
        );

        let script = parse_str(
            "bad.ld",
            "END = ADDR(.text);\nMEMORY { m (RX) : ORIGIN = END, LENGTH = 4 }\n",
        )
        .unwrap();
        let err = eval_regions(&script)
            .expect_err("a section address is not a constant")
            .to_string();
        assert!(err.contains("bad.ld:2") && err.contains("`END`"), "{err}");
    }
}
