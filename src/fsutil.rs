//! Writing output files so that a crash or Ctrl-C never leaves a truncated one behind: the bytes
//! go to a temporary file in the same directory, which is then renamed over the target.
//!
//! A target that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written
//! in place: renaming over it would replace the device node with a plain file — as root, a
//! `-Map=/dev/null` would otherwise break `/dev/null` for every later program on the machine.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically (same-directory temporary file, fsync, rename), or
/// straight into it if it is a device or FIFO.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, true)
}

/// As [`write_atomic`] (temporary file, rename) but without the fsync: for build outputs that
/// are made again from their inputs, as GNU ld and LLD write them; the flush cost a link of
/// `big`×10 ~60 ms of wall time.
pub fn write_build_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_replacing(path, bytes, false)
}

fn write_replacing(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| {
            if sync {
                file.as_file().sync_all()
            } else {
                Ok(())
            }
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
    // A temporary file is private (0600); the output gets the permissions of the file it
    // replaces, or those of a newly created file.
    let permissions = match std::fs::metadata(path) {
        Ok(existing) => existing.permissions(),
        Err(_) => default_permissions(),
    };
    file.as_file()
        .set_permissions(permissions)
        .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> std::fs::Permissions {
    tempfile::tempfile()
        .and_then(|f| f.metadata())
        .map(|m| m.permissions())
        .expect("a temporary file's permissions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, b"first").unwrap();
        write_build_output(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "outputs are not left private");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        let is_device = || std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device());
        assert!(
            is_device(),
            "/dev/null is not a character device on this machine"
        );
        write_atomic(null, b"discarded").unwrap();
        assert!(is_device(), "write_atomic replaced /dev/null");
    }
}
