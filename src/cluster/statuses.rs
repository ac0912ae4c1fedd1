//! Hook events as the in-cluster daemon keeps them (one log per session
//! name and id, in its own home), and the statuses `list` asks it for:
//! `clauderon daemon statuses`, run in the daemon's pod by `kubectl exec`,
//! one call however many sessions there are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::hooks::{HookEvent, status_after};
use crate::store::Home;

/// How many events one session's answer holds at most.
const MAX_EVENTS: usize = 200;

fn root(home: &Home) -> PathBuf {
    home.root.join("cluster-events")
}

/// The log of session `name` with id `id` (both checked by the token).
pub fn log_path(home: &Home, name: &str, id: &str) -> PathBuf {
    root(home).join(name).join(format!("{id}.jsonl"))
}

/// The events that change the status, and the last one: enough for
/// `derive_status` to give the same status, time and staleness as the
/// whole log does.
pub fn transitions(events: &[HookEvent]) -> Vec<HookEvent> {
    let mut kept: Vec<HookEvent> = Vec::new();
    let mut current = None;
    for e in events {
        if let Some(s) = status_after(e)
            && current != Some(s)
        {
            current = Some(s);
            kept.push(e.clone());
        }
    }
    if let Some(last) = events.last()
        && kept.last() != Some(last)
    {
        kept.push(last.clone());
    }
    let from = kept.len().saturating_sub(MAX_EVENTS);
    kept.split_off(from)
}

/// Every session's log (`session`: only that one, with all its recent
/// events) as `{"sessions": [{"name", "id", "events"}]}`.
pub fn collect(home: &Home, session: Option<&str>) -> Value {
    let mut sessions = Vec::new();
    let names = std::fs::read_dir(root(home))
        .into_iter()
        .flatten()
        .flatten();
    for dir in names {
        let name = dir.file_name().to_string_lossy().into_owned();
        if session.is_some_and(|s| s != name) {
            continue;
        }
        for log in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let file = log.file_name().to_string_lossy().into_owned();
            let Some(id) = file.strip_suffix(".jsonl") else {
                continue;
            };
            let all = crate::hooks::events::read(&log.path());
            let events = if session.is_some() {
                all[all.len().saturating_sub(MAX_EVENTS)..].to_vec()
            } else {
                transitions(&all)
            };
            sessions.push(json!({ "name": name, "id": id, "events": events }));
        }
    }
    json!({ "sessions": sessions })
}

/// `clauderon daemon statuses [--session NAME]`: the answer, on stdout.
pub fn print(home: &Home, session: Option<&str>) -> crate::error::Result<()> {
    if let Some(name) = session {
        crate::session::validate_name(name)?;
    }
    println!("{}", collect(home, session));
    Ok(())
}

/// The answer, on the host: (name, id) -> events.
pub fn parse(stdout: &str) -> Option<BTreeMap<(String, String), Vec<HookEvent>>> {
    let v: Value = serde_json::from_str(stdout.trim()).ok()?;
    let mut out = BTreeMap::new();
    for s in v["sessions"].as_array()? {
        let (Some(name), Some(id)) = (s["name"].as_str(), s["id"].as_str()) else {
            continue;
        };
        let events: Vec<HookEvent> =
            serde_json::from_value(s["events"].clone()).unwrap_or_default();
        out.insert((name.to_string(), id.to_string()), events);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{derive_status, ev};

    #[test]
    fn transitions_give_the_status_the_whole_log_gives() {
        let log = [
            ev("SessionStart", 1),
            ev("UserPromptSubmit", 2),
            ev("PreToolUse", 3),
            ev("PostToolUse", 4),
            ev("Stop", 5),
            ev("UserPromptSubmit", 6),
            ev("PreToolUse", 7),
            ev("SubagentStop", 9),
        ];
        let kept = transitions(&log);
        assert_eq!(kept.len(), 5, "{kept:?}");
        for now in [10, 10 + crate::hooks::STALE_AFTER_SECS + 5] {
            for running in [true, false] {
                assert_eq!(
                    derive_status(&kept, running, now),
                    derive_status(&log, running, now)
                );
            }
        }
        assert!(transitions(&[]).is_empty());
    }
}
