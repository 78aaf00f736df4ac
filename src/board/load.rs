//! Reading and validating board files.
//!
//! serde (with `deny_unknown_fields`) catches syntax, type, unknown-key and missing-key errors with
//! a byte span; a second, lenient pass over the same text finds the span of each `[[region]]` and
//! `[flexram]` table so that the semantic checks (overlaps, FlexRAM bank sums) can name a line too.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;

use super::{BankUse, Board, RegionKind};

/// Why a board could not be used. Every variant names the file and, where there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("cannot read board file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}\n  {text}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
        text: String,
    },
    #[error("{file}:{line}: {key}: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
    #[error("unknown board `{name}`; built-in boards: {known}{hint}")]
    Unknown {
        name: String,
        known: String,
        hint: String,
    },
}

impl BoardError {
    pub(super) fn unknown<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> BoardError {
        let known: Vec<&str> = known.collect();
        let close = closest_names(name, &known);
        let hint = if close.is_empty() {
            "; or pass the path of a board file (see docs/boards.md)".to_string()
        } else {
            format!("; did you mean {}?", close.join(" or "))
        };
        BoardError::Unknown {
            name: name.to_string(),
            known: known.join(", "),
            hint,
        }
    }
}

/// The candidates nearest to `name` by edit distance, if any is within two edits.
pub fn closest_names<'a>(name: &str, candidates: &[&'a str]) -> Vec<&'a str> {
    let distance =
        |c: &str| strsim::levenshtein(&name.to_ascii_lowercase(), &c.to_ascii_lowercase());
    let best = candidates
        .iter()
        .map(|c| distance(c))
        .min()
        .unwrap_or(usize::MAX);
    if best > 2 {
        return Vec::new();
    }
    candidates
        .iter()
        .copied()
        .filter(|c| distance(c) == best)
        .collect()
}

/// Byte spans of the tables the semantic checks talk about.
#[derive(Deserialize, Default)]
struct TableSpans {
    #[serde(default)]
    region: Vec<toml::Spanned<toml::Table>>,
    #[serde(default)]
    flexram: Option<toml::Spanned<toml::Table>>,
    #[serde(default)]
    cache: Option<toml::Spanned<toml::Table>>,
}

/// Where in the file a semantic problem is.
enum Place {
    Top,
    Region(usize),
    FlexRam,
    Cache,
}

impl Board {
    /// Reads and validates a board file.
    pub fn load(path: &Path) -> Result<Board, BoardError> {
        let text = std::fs::read_to_string(path).map_err(|source| BoardError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Board::parse(&text, &path.display().to_string())
    }

    /// Parses and validates board TOML; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Board, BoardError> {
        let board: Board = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let (line, column) = line_column(text, span.start);
            BoardError::Syntax {
                file: file.to_string(),
                line,
                column,
                message: e.message().to_string(),
                text: text.lines().nth(line - 1).unwrap_or("").trim().to_string(),
            }
        })?;
        let spans: TableSpans = toml::from_str(text).unwrap_or_default();
        board.validate().map_err(|(place, key, message)| {
            let span: Range<usize> = match place {
                Place::Top => 0..0,
                Place::Region(i) => spans.region.get(i).map(|s| s.span()).unwrap_or(0..0),
                Place::FlexRam => spans.flexram.as_ref().map(|s| s.span()).unwrap_or(0..0),
                Place::Cache => spans.cache.as_ref().map(|s| s.span()).unwrap_or(0..0),
            };
            BoardError::Invalid {
                file: file.to_string(),
                line: line_column(text, span.start).0,
                key,
                message,
            }
        })?;
        Ok(board)
    }

    /// Semantic checks serde cannot express.
    fn validate(&self) -> Result<(), (Place, String, String)> {
        let top = |key: &str, msg: String| Err((Place::Top, key.to_string(), msg));
        if self.name.trim().is_empty() {
            return top("name", "must not be empty".into());
        }
        if self.core_clock_hz == 0 {
            return top("core_clock_hz", "must be positive".into());
        }
        if self.regions.is_empty() {
            return top("region", "a board needs at least one [[region]]".into());
        }
        self.validate_regions()?;
        self.validate_flexram()?;
        for (which, cache) in [
            ("cache.instruction", &self.cache.instruction),
            ("cache.data", &self.cache.data),
        ] {
            let ok = cache.ways > 0
                && cache.line.is_power_of_two()
                && cache.size.0.is_power_of_two()
                && cache.size.0 % (u64::from(cache.ways) * u64::from(cache.line)) == 0;
            if !ok {
                return Err((
                    Place::Cache,
                    which.to_string(),
                    format!(
                        "size {} with {} ways of {}-byte lines is not a valid cache geometry",
                        cache.size, cache.ways, cache.line
                    ),
                ));
            }
        }
        if self.branch.call_range.0 == 0 || self.branch.conditional_range.0 == 0 {
            return top("branch", "branch ranges must be positive".into());
        }
        if self.veneers.is_empty() {
            return top("veneer", "at least one [[veneer]] form is needed".into());
        }
        if let Some(v) = self
            .veneers
            .iter()
            .find(|v| v.bytes == 0 || !v.align.is_power_of_two())
        {
            return top(
                "veneer",
                format!(
                    "veneer `{}` needs a positive size and a power-of-two alignment",
                    v.name
                ),
            );
        }
        Ok(())
    }

    fn validate_regions(&self) -> Result<(), (Place, String, String)> {
        for (i, region) in self.regions.iter().enumerate() {
            let bad = |key: &str, msg: String| Err((Place::Region(i), key.to_string(), msg));
            if region.name.trim().is_empty() {
                return bad("name", "a region needs a name".into());
            }
            if self.regions[..i].iter().any(|r| r.name == region.name) {
                return bad("name", format!("region `{}` is defined twice", region.name));
            }
            if region.size.0 == 0 {
                return bad("size", format!("region `{}` has size 0", region.name));
            }
            if region.end() > 1 << 32 {
                return bad(
                    "size",
                    format!(
                        "region `{}` ({:#x} + {}) runs past the 4 GB address space",
                        region.name, region.base.0, region.size
                    ),
                );
            }
            if region.access.is_empty() || !region.access.chars().all(|c| "rwx".contains(c)) {
                return bad(
                    "access",
                    format!(
                        "region `{}`: access `{}` must be letters from r, w, x",
                        region.name, region.access
                    ),
                );
            }
            if let Some(other) = self.regions[..i]
                .iter()
                .find(|o| o.base.0 < region.end() && region.base.0 < o.end())
            {
                return bad(
                    "base",
                    format!(
                        "region `{}` ({:#010x}..{:#010x}) overlaps region `{}` ({:#010x}..{:#010x})",
                        region.name,
                        region.base.0,
                        region.end(),
                        other.name,
                        other.base.0,
                        other.end()
                    ),
                );
            }
        }
        for kind in [RegionKind::Itcm, RegionKind::Dtcm] {
            if self.regions_of_kind(kind).count() > 1 {
                return Err((
                    Place::Top,
                    "region".into(),
                    format!("more than one {} region", kind.as_str()),
                ));
            }
        }
        Ok(())
    }

    /// The FlexRAM-backed regions must be exactly as large as the banks assigned to them.
    fn validate_flexram(&self) -> Result<(), (Place, String, String)> {
        let flex = &self.flexram;
        let bad = |key: &str, msg: String| Err((Place::FlexRam, format!("flexram.{key}"), msg));
        if flex.bank_count == 0 || !flex.bank_size.0.is_power_of_two() {
            return bad(
                "bank_size",
                "bank_count must be positive and bank_size a power of two".into(),
            );
        }
        let per_register = flex.registers.banks_per_register;
        if per_register == 0 || per_register > 16 {
            return bad(
                "registers.banks_per_register",
                "must be between 1 and 16 (2 bits per bank in a 32-bit register)".into(),
            );
        }
        let words_needed = flex.bank_count.div_ceil(per_register) as usize;
        if flex.registers.bank_config.len() != words_needed {
            return bad(
                "registers.bank_config",
                format!(
                    "{} banks need {} bank-configuration register(s), {} listed",
                    flex.bank_count,
                    words_needed,
                    flex.registers.bank_config.len()
                ),
            );
        }
        for (key, text) in [
            ("default_layout", Some(flex.default_layout.as_str())),
            ("layout", flex.layout.as_deref()),
        ] {
            let Some(text) = text else { continue };
            let layout = match super::BankLayout::parse(text) {
                Ok(layout) => layout,
                Err(msg) => return bad(key, msg),
            };
            if layout.0.len() != flex.bank_count as usize {
                return bad(
                    key,
                    format!(
                        "`{text}` describes {} banks but bank_count is {}",
                        layout.0.len(),
                        flex.bank_count
                    ),
                );
            }
        }
        let layout = flex
            .active_layout()
            .map_err(|m| (Place::FlexRam, "flexram.layout".into(), m))?;
        if layout.count(BankUse::Ocram) < flex.boot_rom_banks {
            return bad(
                "boot_rom_banks",
                format!(
                    "the boot ROM needs {} FlexRAM-OCRAM bank(s) but the layout `{layout}` has {}",
                    flex.boot_rom_banks,
                    layout.count(BankUse::Ocram)
                ),
            );
        }
        for (use_, kind) in [
            (BankUse::Itcm, RegionKind::Itcm),
            (BankUse::Dtcm, RegionKind::Dtcm),
            (BankUse::Ocram, RegionKind::Ocram),
        ] {
            let banked: u64 = flex.bank_size.0 * u64::from(layout.count(use_));
            let regions: Vec<(usize, &super::Region)> = self
                .regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind == kind && r.flexram)
                .collect();
            let declared: u64 = regions.iter().map(|(_, r)| r.size.0).sum();
            if declared != banked {
                let place = regions
                    .first()
                    .map_or(Place::FlexRam, |(i, _)| Place::Region(*i));
                return Err((
                    place,
                    "size".into(),
                    format!(
                        "FlexRAM-backed {} regions add up to {} bytes, but the bank layout `{layout}` gives {} × {} = {} bytes; \
                         fix the region sizes or flexram.layout",
                        kind.as_str(),
                        declared,
                        layout.count(use_),
                        flex.bank_size,
                        banked
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt1062_text() -> &'static str {
        include_str!("../../boards/imxrt1062.toml")
    }

    fn error_of(text: &str) -> String {
        Board::parse(text, "custom.toml").unwrap_err().to_string()
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = rt1062_text().replacen("core_clock_hz", "core_clok_hz", 1);
        let line = text
            .lines()
            .position(|l| l.starts_with("core_clok_hz"))
            .unwrap()
            + 1;
        let err = error_of(&text);
        assert!(err.starts_with(&format!("custom.toml:{line}:1:")), "{err}");
        assert!(err.contains("core_clok_hz"), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let text: String = rt1062_text()
            .lines()
            .filter(|l| !l.starts_with("probe_rs_target"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(error_of(&text).contains("missing field `probe_rs_target`"));
    }

    #[test]
    fn overlapping_regions_are_rejected_with_the_region_line() {
        let text = rt1062_text().replacen("base = 0x2028_0000", "base = 0x2027_0000", 1);
        let err = error_of(&text);
        assert!(err.contains("overlaps region `OCRAM2`"), "{err}");
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert_eq!(text.lines().nth(line - 1).unwrap().trim(), "[[region]]");
    }

    #[test]
    fn region_sizes_must_match_flexram_banks() {
        let text = rt1062_text().replacen(
            "default_layout = \"OOOODDIIIIDDOOOO\"",
            "default_layout = \"OOOODDIIIIIIOOOO\"",
            1,
        );
        let err = error_of(&text);
        assert!(
            err.contains("FlexRAM-backed itcm regions add up to"),
            "{err}"
        );
    }

    #[test]
    fn bad_size_text_is_a_syntax_error_with_position() {
        let text = rt1062_text().replacen("size = \"128K\"", "size = \"128Q\"", 1);
        let err = error_of(&text);
        assert!(err.contains("`128Q` is not a size"), "{err}");
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
