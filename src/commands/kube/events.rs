//! `events` and `status` of kubernetes sessions: their hook events are
//! sent to the namespace's in-cluster daemon, so they are read from it,
//! by the same `kubectl exec ... clauderon daemon statuses` call `list`
//! makes (here for one session, with all its recent events).

use std::io::Write;
use std::time::Duration;

use crate::error::Result;
use crate::hooks::{HookEvent, events};
use crate::session::SessionSpec;
use crate::store::Home;

/// The session's recent hook events, from the in-cluster daemon.
fn hook_events(spec: &SessionSpec, home: &Home) -> Result<Vec<HookEvent>> {
    crate::backend::Backend::of(spec)?.hook_events(spec, home)
}

/// The events not printed yet: after the last one printed (at `at`, with
/// `n` events printed in that second). The daemon keeps the most recent
/// events only, so counting from the start would not do.
fn unseen(all: &[HookEvent], seen: Option<(u64, usize)>) -> Vec<&HookEvent> {
    let Some((at, mut skip)) = seen else {
        return all.iter().collect();
    };
    all.iter()
        .filter(|e| {
            if e.received_at == at && skip > 0 {
                skip -= 1;
                return false;
            }
            e.received_at >= at
        })
        .collect()
}

/// `clauderon events <name> [-f] [--json]` of a kubernetes session; `-f`
/// asks the daemon again every 2 s.
pub fn run(spec: &SessionSpec, home: &Home, follow: bool, json: bool) -> Result<()> {
    // One-shot --json is one document (an array); --follow prints JSON Lines.
    if json && !follow {
        let all = serde_json::to_value(hook_events(spec, home)?).unwrap_or_default();
        crate::output::print_json(&all);
        return Ok(());
    }
    let mut seen: Option<(u64, usize)> = None;
    loop {
        let all = hook_events(spec, home)?;
        let new = unseen(&all, seen);
        let mut out = std::io::stdout().lock();
        for e in new {
            let line = if json {
                serde_json::to_string(e).expect("json")
            } else {
                events::describe(e)
            };
            // A closed pipe (`| head`) just ends the output.
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return Ok(());
            }
        }
        if let Some(last) = all.last() {
            let n = all
                .iter()
                .filter(|e| e.received_at == last.received_at)
                .count();
            seen = Some((last.received_at, n));
        }
        if !follow {
            return Ok(());
        }
        drop(out);
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::ev;

    #[test]
    fn follow_prints_each_event_once_even_in_the_same_second() {
        let first = [ev("PreToolUse", 10), ev("PostToolUse", 10)];
        assert_eq!(unseen(&first, None).len(), 2);
        // The daemon now keeps a third event in that second, and a later one.
        let next = [
            ev("PreToolUse", 10),
            ev("PostToolUse", 10),
            ev("Stop", 10),
            ev("UserPromptSubmit", 11),
        ];
        let new: Vec<&str> = unseen(&next, Some((10, 2)))
            .iter()
            .map(|e| e.event.as_str())
            .collect();
        assert_eq!(new, ["Stop", "UserPromptSubmit"]);
        assert!(unseen(&next, Some((11, 1))).is_empty());
    }
}
