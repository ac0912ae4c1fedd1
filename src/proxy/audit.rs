//! The audit log: one JSON line per proxied request in `audit.jsonl`.
//! Never a secret, never a body.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

use serde::{Deserialize, Serialize};

use crate::store::Home;

/// The log rotates past this size; one older file is kept.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// After writing, the writer sleeps this long before it waits for the next
/// entry: entries queued meanwhile cost their request no wake-up of the
/// writer (a sleeping thread is not woken by a send), and go out together.
const GATHER: std::time::Duration = std::time::Duration::from_millis(25);

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

/// The audit log's writer: requests hand their entry to a background
/// thread and go on (the disk is never on a request's path); the thread
/// writes what has queued up in one go, flushes, and gathers for GATHER
/// before it waits again, so a busy proxy wakes it a few dozen times a
/// second rather than once per request.
/// Dropping the `Audit` (the daemon's clean shutdown) writes everything
/// still queued before it returns.
pub struct Audit {
    queue: Mutex<Option<mpsc::Sender<Entry>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Audit {
    pub fn new(home: &Home) -> Audit {
        let (tx, rx) = mpsc::channel::<Entry>();
        let path = path(home);
        let writer = std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || write_until_closed(&path, rx))
            .ok();
        Audit {
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(writer),
        }
    }

    pub fn record(&self, entry: Entry) {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = queue.as_ref() {
            let _ = tx.send(entry);
        }
    }
}

impl Audit {
    /// Writes what is still queued and stops the writer; later entries are
    /// dropped. (The daemon's clean shutdown; also done on drop.)
    pub fn close(&self) {
        // Closing the queue ends the writer once it has written the rest.
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(writer) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_until_closed(path: &Path, rx: mpsc::Receiver<Entry>) {
    while let Ok(first) = rx.recv() {
        // Everything queued meanwhile goes out with it.
        let batch: Vec<Entry> = std::iter::once(first).chain(rx.try_iter()).collect();
        let _ = crate::jsonl::append(path, &batch, MAX_BYTES);
        std::thread::sleep(GATHER);
    }
}

pub fn read(path: &Path) -> Vec<Entry> {
    crate::jsonl::read(path)
}

pub fn describe(e: &Entry) -> String {
    let t = crate::clock::rfc3339(e.time_ms / 1000);
    let mut line = format!(
        "{t}  {:<16} {:<7} {} {}{}  {}  {:<8} {}ms",
        e.session, e.method, e.status, e.host, e.path, "", e.credential, e.duration_ms
    );
    if let Some(err) = &e.error {
        line.push_str(&format!("  error: {err}"));
    }
    crate::hooks::events::printable(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_entries_are_all_written_by_the_time_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        let audit = Audit::new(&home);
        for i in 0..500 {
            audit.record(Entry {
                time_ms: i,
                session: "s".into(),
                method: "GET".into(),
                host: "h".into(),
                path: format!("/{i}"),
                status: 200,
                credential: "none".into(),
                duration_ms: 0,
                error: None,
            });
        }
        drop(audit);
        let entries = read(&path(&home));
        assert_eq!(entries.len(), 500);
        assert_eq!(entries[499].path, "/499");
    }
}
