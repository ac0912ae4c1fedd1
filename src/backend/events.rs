//! A session's hook events, asked of its backend: this host's daemon logs
//! them in the session's directory; a Kubernetes session's go to its
//! namespace's in-cluster daemon, which keeps the most recent ones.

use std::time::Duration;

use super::Backend;
use crate::error::Result;
use crate::hooks::{HookEvent, events};
use crate::session::SessionSpec;
use crate::store::Home;

/// What `events -f` has printed of a session's events so far.
#[derive(Default)]
pub struct EventsSeen {
    /// How many events of this host's log.
    count: usize,
    /// The time of the in-cluster daemon's last event, and how many of
    /// that second.
    last: Option<(u64, usize)>,
}

/// How `events -f` follows a session's events.
pub struct EventsFollow {
    /// How long it waits before it asks again.
    pub every: Duration,
    /// It ends with an error once the session's directory is gone.
    pub ends_with_the_session: bool,
}

impl Backend<'_> {
    /// The session's hook events, oldest first: those this host's daemon
    /// logged in `home`, or those its namespace's in-cluster daemon keeps.
    pub fn hook_events(&self, spec: &SessionSpec, home: &Home) -> Result<Vec<HookEvent>> {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => {
                Ok(events::read(&events::log_path(home, &spec.name)))
            }
            Backend::Kube(kubectl, _) => super::kubernetes::observe::hook_events(spec, kubectl),
        }
    }

    /// The session's hook events that `seen` has not had yet, and `seen`
    /// moved past them: counted in this host's log (which starts over when
    /// it is rotated); after the last one had from the in-cluster daemon,
    /// which keeps the most recent events only.
    pub fn new_hook_events(
        &self,
        spec: &SessionSpec,
        home: &Home,
        seen: &mut EventsSeen,
    ) -> Result<Vec<HookEvent>> {
        let mut all = self.hook_events(spec, home)?;
        if let Backend::Kube(..) = self {
            let new = unseen(&all, seen.last).into_iter().cloned().collect();
            if let Some(last) = all.last() {
                let n = (all.iter())
                    .filter(|e| e.received_at == last.received_at)
                    .count();
                seen.last = Some((last.received_at, n));
            }
            return Ok(new);
        }
        // After a rotation the count shrinks: start over from what is there.
        let from = if all.len() < seen.count {
            0
        } else {
            seen.count
        };
        seen.count = all.len();
        Ok(all.split_off(from))
    }

    /// How `events -f` follows: this host's log, read every 300 ms, until
    /// the session is deleted; the in-cluster daemon, asked every 2 s.
    pub fn events_follow(&self) -> EventsFollow {
        match self {
            Backend::Oci(_) | Backend::Compose(..) => EventsFollow {
                every: Duration::from_millis(300),
                ends_with_the_session: true,
            },
            Backend::Kube(..) => EventsFollow {
                every: Duration::from_secs(2),
                ends_with_the_session: false,
            },
        }
    }
}

/// The events not had yet: after the last one had (at `at`, with `n`
/// events had in that second). The daemon keeps the most recent events
/// only, so counting from the start would not do.
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
