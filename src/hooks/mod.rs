//! Agent hooks (Claude Code's, and Codex's hooks and `notify`): the files
//! that make every session report its events,
//! the events as the daemon stores them, and the agent status they imply.

pub mod events;
pub mod listener;

use serde::{Deserialize, Serialize};

/// The script each hook runs (see templates/send_status.sh).
pub const SEND_STATUS: &str = include_str!("../../templates/send_status.sh");

/// Claude Code's managed settings, mounted read-only at
/// `/etc/claude-code/managed-settings.json`: hooks registered there work
/// beside the project's own `.claude/settings.json`, and nothing is written
/// into the worktree. Claude Code ignores (with a warning) events it does not
/// know, so `PermissionRequest` is safe on versions without it.
pub const MANAGED_SETTINGS: &str = include_str!("../../templates/managed-settings.json");

/// Where Claude Code reads managed settings inside the container.
pub const MANAGED_SETTINGS_PATH: &str = "/etc/claude-code/managed-settings.json";

/// One hook event, as the hook script sends it and the event log keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEvent {
    pub event: String,
    #[serde(default)]
    pub agent_session_id: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub notification_type: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// SessionStart: `startup`, `resume`, `clear` or `compact`.
    #[serde(default)]
    pub source: Option<String>,
    /// UTC time in the container when the hook ran.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Unix seconds when the daemon received it (set by the daemon).
    #[serde(default)]
    pub received_at: u64,
}

/// Written as its `Display` (`working`, `failed (exit 3)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentStatus {
    /// No event yet.
    Starting,
    Working,
    WaitingApproval,
    WaitingInput,
    Ended,
    /// The container is not running, whatever the last event said.
    Stopped,
    /// A finished --print run that exited 0.
    Done,
    /// A finished --print run that exited with this code.
    Failed(i64),
    /// The proxy refuses the session's model calls: its budget (or the
    /// day's) is spent. Set by `rows`, from the ledgers, not by an event.
    BudgetExhausted,
}

impl std::fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentStatus::Failed(code) => write!(f, "failed (exit {code})"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl Serialize for AgentStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Starting => "starting",
            AgentStatus::Working => "working",
            AgentStatus::WaitingApproval => "waiting-approval",
            AgentStatus::WaitingInput => "waiting-input",
            AgentStatus::Ended => "ended",
            AgentStatus::Stopped => "stopped",
            AgentStatus::Done => "done",
            AgentStatus::Failed(_) => "failed",
            AgentStatus::BudgetExhausted => "budget-exhausted",
        }
    }
}

/// The event `clauderon send` records when it hands the agent a message
/// (the agent then resumes: its `SessionStart` that follows is the send's).
pub const MESSAGE_SENT: &str = "MessageSent";

/// The status one event implies, or None for events that say nothing about
/// it (e.g. SessionStart, or an unrelated notification).
pub fn status_after(event: &HookEvent) -> Option<AgentStatus> {
    match event.event.as_str() {
        // A resumed conversation waits for the user; a fresh one gets its prompt next.
        "SessionStart" if event.source.as_deref() == Some("resume") => {
            Some(AgentStatus::WaitingInput)
        }
        // clauderon's own, written when start or refresh starts the
        // container again: an earlier run's SessionEnd no longer stands.
        "SessionStart" | RESTARTED => Some(AgentStatus::Starting),
        "UserPromptSubmit" | "PreToolUse" | "PostToolUse" | MESSAGE_SENT => {
            Some(AgentStatus::Working)
        }
        "PermissionRequest" => Some(AgentStatus::WaitingApproval),
        // Codex's `notify` when a turn is done, as Stop is for its hooks.
        "Stop" | "agent-turn-complete" => Some(AgentStatus::WaitingInput),
        "SessionEnd" => Some(AgentStatus::Ended),
        "Notification" => notification_status(event),
        _ => None,
    }
}

/// The event `start` and `refresh` add to a session's log.
pub const RESTARTED: &str = "clauderon-restarted";

/// The event `stop` adds: a stopped session's "since" is when it stopped.
pub const STOPPED: &str = "clauderon-stopped";

fn notification_status(event: &HookEvent) -> Option<AgentStatus> {
    match event.notification_type.as_deref() {
        Some("permission_prompt") => return Some(AgentStatus::WaitingApproval),
        Some("idle_prompt") => return Some(AgentStatus::WaitingInput),
        Some(_) => return None,
        None => {}
    }
    // Older Claude Code versions send only the message text.
    let message = event.message.as_deref().unwrap_or("").to_ascii_lowercase();
    if message.contains("permission") {
        Some(AgentStatus::WaitingApproval)
    } else if message.contains("waiting for your input") || message.contains("waiting for input") {
        Some(AgentStatus::WaitingInput)
    } else {
        None
    }
}

/// A status event older than this, while the agent should be busy, is shown as stale.
pub const STALE_AFTER_SECS: u64 = 30 * 60;

/// The status from the event log, combined with the container's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub status: AgentStatus,
    /// When the status last changed (Unix seconds), if an event set it.
    pub since: Option<u64>,
    /// No event for a long time while `working` or `starting`: the agent may have died.
    pub stale: bool,
}

/// The status of an agent that was given no prompt: once it has started,
/// it waits for the user.
pub fn derive_status_unprompted(events: &[HookEvent], running: bool, now: u64) -> Status {
    let mut s = derive_status(events, running, now);
    let only_started = events
        .iter()
        .filter_map(status_after)
        .all(|st| st == AgentStatus::Starting);
    if s.status == AgentStatus::Starting && only_started && !events.is_empty() {
        s.status = AgentStatus::WaitingInput;
        s.stale = false;
    }
    s
}

pub fn derive_status(events: &[HookEvent], container_running: bool, now: u64) -> Status {
    let mut status = AgentStatus::Starting;
    let mut since = None;
    let mut stopped_at = None;
    let mut sent = false;
    for e in events {
        if e.event == STOPPED {
            stopped_at = Some(e.received_at);
        }
        // The resume a sent message caused: the agent works on the message.
        let resumed_by_send = sent && e.event == "SessionStart";
        sent = e.event == MESSAGE_SENT || (sent && status_after(e).is_none());
        if resumed_by_send {
            continue;
        }
        // A sent message or a restart begins a new turn even when the
        // status it implies is the one before (working after working).
        let new_turn = e.event == MESSAGE_SENT || e.event == RESTARTED;
        if let Some(s) = status_after(e)
            && (s != status || since.is_none() || new_turn)
        {
            status = s;
            since = Some(e.received_at);
        }
    }
    if !container_running {
        // Stopped by `stop` after the last status change: since then.
        let since = match (since, stopped_at) {
            (Some(s), Some(t)) if t >= s => Some(t),
            (None, t) => t,
            (s, _) => s,
        };
        return Status {
            status: AgentStatus::Stopped,
            since,
            stale: false,
        };
    }
    let last = events.last().map(|e| e.received_at);
    let busy = matches!(status, AgentStatus::Working | AgentStatus::Starting);
    let stale = busy && last.is_some_and(|t| now.saturating_sub(t) > STALE_AFTER_SECS);
    Status {
        status,
        since,
        stale,
    }
}

/// An event named `name`, received at `at` (for tests).
#[cfg(test)]
pub(crate) fn ev(name: &str, at: u64) -> HookEvent {
    HookEvent {
        event: name.into(),
        received_at: at,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_counts_from_a_stop_and_from_a_sent_message() {
        let working = [ev("UserPromptSubmit", 10), ev(STOPPED, 70)];
        assert_eq!(derive_status(&working, false, 80).since, Some(70));
        assert_eq!(derive_status(&working[..1], false, 80).since, Some(10));
        let sent = [ev("UserPromptSubmit", 10), ev(MESSAGE_SENT, 50)];
        let s = derive_status(&sent, true, 60);
        assert_eq!((s.status, s.since), (AgentStatus::Working, Some(50)));
    }

    #[test]
    fn events_map_to_statuses() {
        let mut n = ev("Notification", 1);
        n.message = Some("Claude needs your permission to use Bash".into());
        assert_eq!(status_after(&n), Some(AgentStatus::WaitingApproval));
        n.message = Some("Claude is waiting for your input".into());
        assert_eq!(status_after(&n), Some(AgentStatus::WaitingInput));
        n.notification_type = Some("permission_prompt".into());
        assert_eq!(status_after(&n), Some(AgentStatus::WaitingApproval));
        n.notification_type = Some("auth_success".into());
        assert_eq!(status_after(&n), None);
        assert_eq!(
            status_after(&ev("PreToolUse", 1)),
            Some(AgentStatus::Working)
        );
        assert_eq!(
            status_after(&ev("Stop", 1)),
            Some(AgentStatus::WaitingInput)
        );
        assert_eq!(status_after(&ev("SessionEnd", 1)), Some(AgentStatus::Ended));
        assert_eq!(
            status_after(&ev("agent-turn-complete", 1)),
            Some(AgentStatus::WaitingInput)
        );
        assert_eq!(
            status_after(&ev("PermissionRequest", 1)),
            Some(AgentStatus::WaitingApproval)
        );
    }

    #[test]
    fn status_keeps_the_time_it_changed_and_goes_stale() {
        let events = [
            ev("UserPromptSubmit", 10),
            ev("PreToolUse", 20),
            ev("PostToolUse", 30),
        ];
        let s = derive_status(&events, true, 40);
        assert_eq!(
            s,
            Status {
                status: AgentStatus::Working,
                since: Some(10),
                stale: false
            }
        );
        assert!(derive_status(&events, true, 30 + STALE_AFTER_SECS + 1).stale);
        assert_eq!(
            derive_status(&events, false, 40).status,
            AgentStatus::Stopped
        );
        assert_eq!(derive_status(&[], true, 40).status, AgentStatus::Starting);
        let waiting = [ev("PreToolUse", 10), ev("Stop", 50)];
        let s = derive_status(&waiting, true, 50 + STALE_AFTER_SECS + 1);
        assert_eq!(
            (s.status, s.since, s.stale),
            (AgentStatus::WaitingInput, Some(50), false)
        );
    }
}
