//! The per-session event log: JSON lines under the session's directory,
//! kept bounded by rotating into one older file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hooks::HookEvent;
use crate::store::Home;

/// The log rotates when it grows past this; one rotated file is kept.
pub const MAX_LOG_BYTES: u64 = 256 * 1024;

pub fn log_path(home: &Home, session: &str) -> PathBuf {
    home.session_dir(session).join("events.jsonl")
}

fn rotated(path: &Path) -> PathBuf {
    path.with_extension("jsonl.1")
}

pub fn append(path: &Path, event: &HookEvent) -> Result<()> {
    let fail = |e: std::io::Error| Error::io(format!("could not write {}", path.display()), e);
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= MAX_LOG_BYTES) {
        std::fs::rename(path, rotated(path)).map_err(fail)?;
    }
    let mut line = serde_json::to_vec(event).expect("events serialize");
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.write_all(&line).map_err(fail)
}

/// All events still on disk, oldest first. Lines that do not parse (a torn
/// write, a hand edit) are skipped.
pub fn read(path: &Path) -> Vec<HookEvent> {
    let mut events = Vec::new();
    for p in [rotated(path), path.to_path_buf()] {
        if let Ok(text) = std::fs::read_to_string(&p) {
            events.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
    }
    events
}

/// One event as a line for humans: time, event, and what it was about.
pub fn describe(e: &HookEvent) -> String {
    let when = e
        .timestamp
        .clone()
        .unwrap_or_else(|| format!("@{}", e.received_at));
    let mut detail = Vec::new();
    if let Some(t) = &e.tool_name {
        detail.push(t.clone());
    }
    if let Some(m) = &e.message {
        detail.push(format!("{m:?}"));
    }
    if let Some(r) = &e.reason {
        detail.push(format!("reason: {r}"));
    }
    let line = format!("{when}  {:<17} {}", e.event, detail.join("  "));
    printable(line.trim_end())
}

/// Control characters (terminal escapes) from an agent never reach the terminal as is.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_is_bounded_and_keeps_recent_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let big = HookEvent {
            event: "PreToolUse".into(),
            message: Some("x".repeat(1000)),
            ..Default::default()
        };
        for i in 0..1000 {
            append(
                &path,
                &HookEvent {
                    received_at: i,
                    ..big.clone()
                },
            )
            .unwrap();
        }
        let on_disk: u64 = [path.clone(), rotated(&path)]
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum();
        assert!(on_disk <= 2 * MAX_LOG_BYTES + 2048, "{on_disk}");
        let events = read(&path);
        assert_eq!(events.last().unwrap().received_at, 999);
        assert!(
            events
                .windows(2)
                .all(|w| w[0].received_at < w[1].received_at)
        );
    }
}
