//! The audit log's hash chain: each entry carries its number (`seq`) and
//! the SHA-256 of the line before it (`prev`), the line as written; the
//! newest line's hash is kept in `audit.head`. Rotation renames the file
//! and the chain goes on in the new one, so `verify` reads the kept old
//! file and the current one as one chain and names the first line that
//! was changed, removed or moved.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::Entry;

/// Where the chain stands: the last entry's number and its line's hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

pub fn head_path(log: &Path) -> PathBuf {
    log.with_extension("head")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The head as the log ends now: its last line (of the current file, else
/// the rotated one).
pub fn resume(log: &Path) -> Head {
    for p in [log.to_path_buf(), crate::jsonl::rotated(log)] {
        let Ok(text) = std::fs::read(&p) else {
            continue;
        };
        let Some(line) = text.split(|b| *b == b'\n').rfind(|l| !l.is_empty()) else {
            continue;
        };
        let seq = serde_json::from_slice::<Entry>(line)
            .map(|e| e.seq)
            .unwrap_or(0);
        return Head {
            seq,
            hash: sha256_hex(line),
        };
    }
    Head::default()
}

/// Appends the entries, each linked to the one before, rotating a file
/// that reached `max_bytes` first; then records the new head.
pub fn append(
    log: &Path,
    head: &mut Head,
    batch: Vec<Entry>,
    max_bytes: u64,
) -> std::io::Result<()> {
    if std::fs::metadata(log).is_ok_and(|m| m.len() >= max_bytes) {
        std::fs::rename(log, crate::jsonl::rotated(log))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)?;
    let mut out = std::io::BufWriter::new(file);
    for mut entry in batch {
        entry.seq = head.seq + 1;
        entry.prev = head.hash.clone();
        let line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        out.write_all(&line)?;
        out.write_all(b"\n")?;
        *head = Head {
            seq: entry.seq,
            hash: sha256_hex(&line),
        };
    }
    out.flush()?;
    let head_json = serde_json::to_vec(head).map_err(std::io::Error::other)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".audit-head")
        .tempfile_in(log.parent().unwrap_or(Path::new(".")))?;
    tmp.write_all(&head_json)?;
    tmp.persist(head_path(log)).map_err(|e| e.error)?;
    Ok(())
}

/// Where the chain breaks: the file, its line (from 1), and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Broken {
    pub file: PathBuf,
    pub line: usize,
    pub why: String,
}

/// Checks the kept files as one chain; Ok(number of entries).
pub fn verify(log: &Path) -> Result<u64, Broken> {
    let mut previous: Option<(Head, PathBuf, usize)> = None;
    let mut count = 0;
    for file in [crate::jsonl::rotated(log), log.to_path_buf()] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let at = |why: String| Broken {
                file: file.clone(),
                line: i + 1,
                why,
            };
            let entry: Entry = serde_json::from_slice(line)
                .map_err(|_| at("is not an audit entry: it was changed".into()))?;
            if let Some((prev, prev_file, prev_line)) = &previous {
                check_link(prev, (prev_file, *prev_line), &entry).map_err(at)?;
            }
            previous = Some((
                Head {
                    seq: entry.seq,
                    hash: sha256_hex(line),
                },
                file.clone(),
                i + 1,
            ));
            count += 1;
        }
    }
    check_head(log, previous)?;
    Ok(count)
}

/// One link: this entry follows `prev` (its number, and its hash).
fn check_link(prev: &Head, (file, line): (&PathBuf, usize), entry: &Entry) -> Result<(), String> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if entry.seq <= prev.seq {
        return Err(format!(
            "is entry {} after entry {}: entries were reordered",
            entry.seq, prev.seq
        ));
    }
    if entry.seq > prev.seq + 1 {
        return Err(format!(
            "is entry {} right after entry {}: {} entr(y/ies) before it were removed or moved",
            entry.seq,
            prev.seq,
            entry.seq - prev.seq - 1
        ));
    }
    if entry.prev != prev.hash {
        return Err(format!(
            "records another hash for the line before it: line {line} of {name} (entry {}) was changed",
            prev.seq
        ));
    }
    Ok(())
}

/// The newest line is the one `audit.head` names (a change to the last
/// line, or its removal, has no line after it to tell).
fn check_head(log: &Path, last: Option<(Head, PathBuf, usize)>) -> Result<(), Broken> {
    let Ok(bytes) = std::fs::read(head_path(log)) else {
        return Ok(()); // a log written before the chain had a head
    };
    let Ok(head) = serde_json::from_slice::<Head>(&bytes) else {
        return Ok(());
    };
    match last {
        Some((h, file, line)) if h.seq == head.seq && h.hash != head.hash => Err(Broken {
            file,
            line,
            why: format!("(entry {}, the newest) was changed", h.seq),
        }),
        Some((h, file, line)) if h.seq < head.seq => Err(Broken {
            file,
            line,
            why: format!(
                "is entry {} but the log ended at entry {}: the newest entries were removed",
                h.seq, head.seq
            ),
        }),
        _ => Ok(()),
    }
}
