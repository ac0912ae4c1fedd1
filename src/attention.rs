//! Which sessions just started needing you: the statuses `list` shows,
//! compared between two looks. The daemon looks (the event logs, one `ps`
//! per engine in use) when an event log changes, at most once a second,
//! and every 3 s anyway for the containers' states (see `wake`), and runs
//! `[notify] command`; `list --watch` rings the bell.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::Ctx;
use crate::notify::{self, ATTENTION, Debouncer, Transition};
use crate::rows::Row;
use crate::session::BackendKind;

/// What one look saw of a session, compared with the next look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// See `status_of`.
    pub status: String,
    /// None for a row without one (an interrupted create).
    pub backend: Option<BackendKind>,
    /// The prompt's first line.
    pub prompt: String,
}

/// Per session, what one look saw.
pub type Snapshot = BTreeMap<String, Seen>;

/// The status a row stands for: the agent's while its container runs,
/// `stopped` once it has stopped; None while it is being made or is gone
/// (`created`, `missing`, ...), which is nobody's cue.
pub fn status_of(row: &Row) -> Option<String> {
    let state = row.state.as_str().to_ascii_lowercase();
    match state.as_str() {
        "running" => Some(row.agent_status.map_or(state, |s| s.to_string())),
        "exited" | "stopped" | "dead" | "succeeded" | "failed" => Some("stopped".into()),
        _ => None,
    }
}

pub fn snapshot(rows: &[Row], prompts: &BTreeMap<String, String>) -> Snapshot {
    rows.iter()
        .filter_map(|r| {
            let status = status_of(r)?;
            let prompt = prompts.get(&r.name).cloned().unwrap_or_default();
            let seen = Seen {
                status,
                backend: r.backend,
                prompt,
            };
            Some((r.name.clone(), seen))
        })
        .collect()
}

/// Sessions that entered one of the attention statuses between two looks
/// (a session that is new since the first look counts as entering).
pub fn transitions(before: &Snapshot, after: &Snapshot) -> Vec<Transition> {
    after
        .iter()
        .filter(|(_, seen)| ATTENTION.contains(&seen.status.as_str()))
        .filter_map(|(name, seen)| {
            let previous = before.get(name).map(|s| s.status.clone());
            (previous.as_ref() != Some(&seen.status)).then(|| Transition {
                session: name.clone(),
                previous,
                status: seen.status.clone(),
                backend: seen.backend.map(|k| k.to_string()).unwrap_or_default(),
                prompt: seen.prompt.clone(),
            })
        })
        .collect()
}

/// One look at every session of the home.
/// The rows, `list`'s warnings (an engine that does not answer) and the
/// snapshot of what notifications compare.
pub fn look(ctx: &Ctx) -> Option<(Vec<Row>, Vec<String>, Snapshot)> {
    let (rows, warnings) = crate::rows::rows(&ctx.home).ok()?;
    let (specs, _) = ctx.home.load_all().ok()?;
    let prompts = specs
        .into_iter()
        .map(|s| {
            let first: String = s
                .prompt
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(100)
                .collect();
            (s.name, first)
        })
        .collect();
    let snap = snapshot(&rows, &prompts);
    Some((rows, warnings, snap))
}

/// The daemon's watcher: runs `[notify] command` on every transition,
/// debounced per session, for as long as the daemon lives.
pub fn notify_in_background(ctx: Ctx) {
    let section = ctx.config.notify.clone();
    if section.command.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        let wake = crate::wake::EventWake::open(&ctx.home);
        wake.watch_sessions(&ctx.home);
        let mut before = look(&ctx).map(|(_, _, s)| s).unwrap_or_default();
        let mut debouncer = Debouncer::default();
        let mut looked = Instant::now();
        loop {
            wake.wait(looked);
            looked = Instant::now();
            wake.watch_sessions(&ctx.home);
            let Some((_, _, after)) = look(&ctx) else {
                continue;
            };
            for t in transitions(&before, &after) {
                if debouncer.admit(&t, section.debounce(), Instant::now()) {
                    notify::spawn(&section.command, &t, section.timeout());
                }
            }
            before = after;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(entries: &[(&str, &str)]) -> Snapshot {
        entries
            .iter()
            .map(|(n, s)| {
                let seen = Seen {
                    status: s.to_string(),
                    backend: Some(BackendKind::Docker),
                    prompt: String::new(),
                };
                (n.to_string(), seen)
            })
            .collect()
    }

    #[test]
    fn only_entering_an_attention_status_counts() {
        let before = snap(&[("a", "working"), ("b", "waiting-input"), ("c", "working")]);
        let after = snap(&[
            ("a", "waiting-approval"),
            ("b", "waiting-input"),
            ("c", "working"),
            ("d", "waiting-input"),
        ]);
        let t = transitions(&before, &after);
        let got: Vec<_> = t
            .iter()
            .map(|t| (t.session.as_str(), t.previous.as_deref()))
            .collect();
        assert_eq!(got, [("a", Some("working")), ("d", None)]);
    }
}
