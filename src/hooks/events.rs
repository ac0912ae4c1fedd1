//! The per-session event log: JSON lines under the session's directory,
//! kept bounded by rotating into one older file.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hooks::HookEvent;
use crate::store::Home;

/// The log rotates when it grows past this; one rotated file is kept.
pub const MAX_LOG_BYTES: u64 = 256 * 1024;

pub fn log_path(home: &Home, session: &str) -> PathBuf {
    home.session_dir(session).join("events.jsonl")
}

pub fn append(path: &Path, event: &HookEvent) -> Result<()> {
    crate::jsonl::append(path, [event], MAX_LOG_BYTES)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

/// All events still on disk, oldest first.
pub fn read(path: &Path) -> Vec<HookEvent> {
    crate::jsonl::read(path)
}

/// One event as a line for humans: time, event, and what it was about.
pub fn describe(e: &HookEvent) -> String {
    let when = e
        .timestamp
        .clone()
        .unwrap_or_else(|| crate::clock::rfc3339(e.received_at));
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

/// Notes in the session's event log that `start` or `refresh` (`how`)
/// started its container again, so the last run's `SessionEnd` stops
/// standing for the agent's status. Only logged if it fails.
pub fn note_restart(home: &Home, session: &str, how: &str) {
    note(home, session, super::RESTARTED, how);
}

/// Notes in the event log that `stop` stopped the container, so a stopped
/// session's status counts from then. Only logged if it fails.
pub fn note_stop(home: &Home, session: &str) {
    note(home, session, super::STOPPED, "stop");
}

fn note(home: &Home, session: &str, what: &str, how: &str) {
    let event = HookEvent {
        event: what.into(),
        reason: Some(how.into()),
        received_at: crate::session::now(),
        ..Default::default()
    };
    if let Err(e) = append(&log_path(home, session), &event) {
        eprintln!("clauderon: warning: could not note the restart in the event log: {e}");
    }
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
        let on_disk: u64 = [path.clone(), crate::jsonl::rotated(&path)]
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
