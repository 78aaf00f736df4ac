//! The envelope hotlink's JSON files share (profiles, plans, run reports): a `format` name and a
//! `version`. Reading one checks both before anything else, so that a file of another kind, a
//! newer version or a truncated file gets a message saying exactly that.

use anyhow::{bail, Result};
use serde::de::DeserializeOwned;

/// Parses `text` as the hotlink format `format` (described to people as `what`), accepting
/// versions up to `version`.
pub fn parse<T: DeserializeOwned>(text: &str, format: &str, version: u32, what: &str) -> Result<T> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "not valid JSON at line {}, column {}: {e} (truncated or corrupt?)",
            e.line(),
            e.column()
        )
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(format) {
        bail!("not a hotlink {what} (its \"format\" field is not \"{format}\")");
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(version) => bail!(
            "{what} version {v} is newer than this hotlink reads (up to {version}); upgrade hotlink"
        ),
        Some(_) => {}
        None => bail!("the \"version\" field is missing or not a number"),
    }
    serde_json::from_value(value).map_err(|e| anyhow::anyhow!("malformed {what}: {e}"))
}
