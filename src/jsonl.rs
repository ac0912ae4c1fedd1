//! The JSON-lines logs (hook events, the proxy's audit log): appended to,
//! rotated once past a size (one old file kept, `*.jsonl.1`), read back
//! oldest first, skipping lines that do not parse (a torn write, a hand edit).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn rotated(path: &Path) -> PathBuf {
    path.with_extension("jsonl.1")
}

/// Appends one line per item (mode 0600), after rotating a file that has
/// reached `max_bytes`.
pub fn append<'a, T: Serialize + 'a>(
    path: &Path,
    items: impl IntoIterator<Item = &'a T>,
    max_bytes: u64,
) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= max_bytes) {
        std::fs::rename(path, rotated(path))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let mut out = std::io::BufWriter::new(file);
    for item in items {
        let mut line = serde_json::to_vec(item).map_err(std::io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()
}

/// Every entry still on disk, oldest first.
pub fn read<T: DeserializeOwned>(path: &Path) -> Vec<T> {
    let mut entries = Vec::new();
    for p in [rotated(path), path.to_path_buf()] {
        if let Ok(text) = std::fs::read_to_string(&p) {
            entries.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
    }
    entries
}
