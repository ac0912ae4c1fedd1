//! The audit log: one JSON line per proxied request in `audit.jsonl`.
//! Never a secret, never a body.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::store::Home;

/// The log rotates past this size; one older file is kept.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds.
    pub time_ms: u64,
    pub session: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: u16,
    /// `injected`, `none`, `missing` (placeholder seen, secret unavailable),
    /// `tunnel` (not intercepted), `denied`.
    pub credential: String,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn path(home: &Home) -> PathBuf {
    home.root.join("audit.jsonl")
}

pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    pub fn new(home: &Home) -> Audit {
        Audit {
            path: path(home),
            lock: Mutex::new(()),
        }
    }

    pub fn record(&self, entry: &Entry) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= MAX_BYTES) {
            let _ = std::fs::rename(&self.path, self.path.with_extension("jsonl.1"));
        }
        let mut line = serde_json::to_vec(entry).expect("entries serialize");
        line.push(b'\n');
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
        {
            let _ = f.write_all(&line);
        }
    }
}

pub fn read(path: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    for p in [path.with_extension("jsonl.1"), path.to_path_buf()] {
        if let Ok(text) = std::fs::read_to_string(&p) {
            entries.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
    }
    entries
}

pub fn describe(e: &Entry) -> String {
    let secs = e.time_ms / 1000;
    let t = time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default();
    let mut line = format!(
        "{t}  {:<16} {:<7} {} {}{}  {}  {:<8} {}ms",
        e.session, e.method, e.status, e.host, e.path, "", e.credential, e.duration_ms
    );
    if let Some(err) = &e.error {
        line.push_str(&format!("  error: {err}"));
    }
    crate::hooks::events::printable(&line)
}
