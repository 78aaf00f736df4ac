//! The identity of the ELF a profile was taken on.

use std::path::Path;

use anyhow::{Context, Result};
use object::Object;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which exact file a profile belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ElfIdentity {
    /// Path as given when the profile was taken (informative only).
    pub path: String,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// GNU build-id (`.note.gnu.build-id`), lowercase hex, when the image has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// File size in bytes.
    pub size: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ElfIdentity {
    /// Hashes an ELF file and reads its build-id.
    pub fn of_file(path: &Path) -> Result<ElfIdentity> {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(ElfIdentity::of_bytes(&path.display().to_string(), &data))
    }

    /// The identity of ELF bytes; a file that does not parse simply has no build-id.
    pub fn of_bytes(path: &str, data: &[u8]) -> ElfIdentity {
        let build_id = object::File::parse(data)
            .ok()
            .and_then(|f| f.build_id().ok().flatten().map(hex));
        ElfIdentity {
            path: path.to_string(),
            sha256: hex(&Sha256::digest(data)),
            build_id,
            size: data.len() as u64,
        }
    }

    /// Whether two identities name the same program: same build-id if both have one, otherwise
    /// the same bytes.
    pub fn same_program(&self, other: &ElfIdentity) -> bool {
        match (&self.build_id, &other.build_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.sha256 == other.sha256,
        }
    }
}
