//! Writing a file so that readers see the old one or the new one, never half
//! of one. A leaf: it imports nothing of clauderon but the error type.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes via a temp file in the same directory and a rename, so readers see
/// the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Error::io(format!("could not write {}", path.display()), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".clauderon-tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(fail)?;
    tmp.write_all(contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
