//! One row per session, as `list`, `status`, `list --watch` and the
//! attention notifier see it: the records joined with what the engines say
//! (`backend::observe`) and the agents' hook statuses.

use serde::{Serialize, Serializer};

use crate::backend::observe::{EngineView, observe};
use crate::backend::oci::ENGINES;
use crate::error::Result;
use crate::hooks::{AgentStatus, derive_status, events};
use crate::proxy::usage::view::{HomeBooks, RowUsage};
use crate::session::{self, Agent, BackendKind, SessionSpec, container_name};
use crate::store::Home;
use crate::usd::Usd;

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub id: Option<String>,
    /// None for an interrupted create (written `""`).
    #[serde(serialize_with = "name_or_empty")]
    pub backend: Option<BackendKind>,
    pub state: State,
    /// The engine's own words for the container ("Up 3 minutes", "Exited
    /// (0) 2 minutes ago"), or what is wrong and its fix. The table's
    /// STATUS column is `agent_status`, not this.
    #[serde(rename = "engine_status")]
    pub status: String,
    /// What the agent is doing, from its hook events and the container state
    /// (`starting`, `working`, `waiting-approval`, `waiting-input`, `ended`,
    /// `stopped`); None when the engine could not be asked.
    pub agent_status: Option<AgentStatus>,
    /// When the agent status last changed (Unix seconds).
    pub agent_status_since: Option<u64>,
    /// No event for a long while although the agent should be busy.
    pub agent_status_stale: bool,
    /// None for an interrupted create or an orphan (written `""`).
    #[serde(serialize_with = "name_or_empty")]
    pub agent: Option<Agent>,
    pub image: String,
    pub created_at: Option<u64>,
    pub repo: String,
    pub branch: String,
    pub worktree: String,
    /// The session's model calls, their cost and its budget (the ledger's).
    pub usage: RowUsage,
    /// What the proxy says of the session, if anything is wrong: a request
    /// held for approval, its requests denied or failed in the last minute
    /// (`blocked: 3 denied (example.com)`, `offline: HOST unreachable`), or
    /// (from `list`) a daemon without the agent's credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The session's pull request: "URL (state, checks, review)", as last
    /// seen (refreshed in the background at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<String>,
}

/// A session's container (or pod) as `list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// As the engine or cluster reports it: `running`, `exited`,
    /// `created`, `stopped` (a pod deleted, its volume kept), ...
    Engine(String),
    /// The record is there, the container is not.
    Missing,
    /// The engine could not be asked.
    Unknown,
    /// Creation was interrupted.
    Incomplete,
    /// A container without a record.
    Orphaned,
}

impl State {
    pub fn as_str(&self) -> &str {
        match self {
            State::Engine(s) => s,
            State::Missing => "missing",
            State::Unknown => "unknown",
            State::Incomplete => "incomplete",
            State::Orphaned => "orphaned",
        }
    }

    pub fn is_running(&self) -> bool {
        self.as_str() == "running"
    }

    /// Shown under the table with its status line (the fix).
    pub fn needs_a_word(&self) -> bool {
        matches!(self, State::Incomplete | State::Orphaned | State::Missing)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A kind's name, or `""` for none (as `list --json` has always written it).
fn name_or_empty<S: Serializer, T: std::fmt::Display>(
    kind: &Option<T>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match kind {
        Some(k) => s.collect_str(k),
        None => s.serialize_str(""),
    }
}

/// Every session of this home as a row, and what could not be asked;
/// `daily`: `[budget] daily_usd`, for the budget-exhausted status.
pub fn rows(home: &Home, daily: Option<Usd>) -> Result<(Vec<Row>, Vec<String>)> {
    let (specs, incomplete) = home.load_all()?;
    let books = HomeBooks::load(home, &specs, daily);
    let mut view = observe(home, &specs, !incomplete.is_empty());
    let mut warnings: Vec<String> = view
        .unreachable
        .iter()
        .map(|(kind, e)| format!("cannot ask {kind} for container states: {e}"))
        .collect();
    warnings.append(&mut view.warnings);
    let mut rows: Vec<Row> = specs
        .iter()
        .map(|s| row_for(s, home, &mut view, &books))
        .collect();
    proxy_notes(home, &mut rows);
    for name in incomplete {
        for engine in ENGINES {
            view.containers
                .remove(&(engine.kind, container_name(&name)));
        }
        rows.push(Row {
            state: State::Incomplete,
            status: format!("creation was interrupted: clauderon delete --force {name}"),
            ..empty_row(name)
        });
    }
    // A marked engine that answered with no container left is clear again.
    for engine in ENGINES {
        let answered = !view.unreachable.contains_key(&engine.kind);
        let left = view.containers.keys().any(|(kind, _)| *kind == engine.kind);
        if answered && !left && home.leftover_marked(engine.kind) {
            home.clear_leftover(engine.kind);
        }
    }
    for ((kind, container), (state, status, label)) in view.containers {
        let name = if label.is_empty() {
            container.clone()
        } else {
            label
        };
        rows.push(Row {
            state: State::Orphaned,
            status: if kind == BackendKind::Kubernetes {
                format!("pod {container} ({state}, {status}) has no session record: clauderon delete --discard cannot, use kubectl delete pod {container}")
            } else {
                format!("container {container} ({state}, {status}) has no session record: {kind} rm -f {container}")
            },
            backend: Some(kind),
            ..empty_row(name)
        });
    }
    Ok((rows, warnings))
}

/// The session's container as the engine sees it: its state and the
/// engine's words, or what is wrong and its fix; Unknown when the engine
/// could not be asked.
fn engine_state(spec: &SessionSpec, view: &mut EngineView) -> (State, String) {
    match view
        .containers
        .remove(&(spec.backend, spec.container_name()))
    {
        Some((state, status, _)) => (State::Engine(state), status),
        None if view.unreachable.contains_key(&spec.backend) => (State::Unknown, String::new()),
        None => (
            State::Missing,
            format!(
                "container is gone: clauderon refresh {} recreates it",
                spec.name
            ),
        ),
    }
}

/// The agent's status from its hook events (a pod's come from its cluster's
/// daemon, through the view);
/// None when the engine or the cluster's events could not be read.
fn agent_status(
    spec: &SessionSpec,
    home: &Home,
    view: &mut EngineView,
    state: &State,
) -> Option<crate::hooks::Status> {
    let kube = spec.backend == BackendKind::Kubernetes;
    let known = !(kube && view.no_events.contains(&spec.name));
    (*state != State::Unknown && known).then(|| {
        let events = if kube {
            let key = (spec.name.clone(), spec.id.clone());
            view.hook_events.remove(&key).unwrap_or_default()
        } else {
            events::read(&events::log_path(home, &spec.name))
        };
        let derive = if spec.prompt.is_empty() {
            crate::hooks::derive_status_unprompted
        } else {
            derive_status
        };
        derive(&events, state.is_running(), session::now())
    })
}

fn row_for(spec: &SessionSpec, home: &Home, view: &mut EngineView, books: &HomeBooks) -> Row {
    let (state, status) = engine_state(spec, view);
    let agent = agent_status(spec, home, view, &state);
    // A finished --print run is done or failed, not merely stopped.
    let finished = (spec.agent_options.print && state.as_str() == "exited")
        .then(|| print_outcome(&status))
        .flatten();
    let usage = books.row(spec);
    // A spent budget is what the agent waits on while it runs.
    let exhausted = usage.budget_exhausted && state.as_str().eq_ignore_ascii_case("running");
    Row {
        agent_status: match exhausted {
            true => Some(AgentStatus::BudgetExhausted),
            false => finished.or_else(|| agent.as_ref().map(|a| a.status)),
        },
        agent_status_since: agent.as_ref().and_then(|a| a.since),
        agent_status_stale: agent.as_ref().is_some_and(|a| a.stale),
        name: spec.name.clone(),
        id: Some(spec.id.clone()),
        backend: Some(spec.backend),
        state,
        status,
        agent: Some(spec.agent),
        image: spec.image.clone(),
        created_at: Some(spec.created_at),
        repo: spec.repo_root.display().to_string(),
        branch: spec.branch.clone(),
        worktree: spec.worktree.display().to_string(),
        usage,
        proxy: None,
        pr: crate::pull_request::view(home, &spec.name)
            .map(|p| format!("{} ({})", p.url, p.short())),
    }
}

/// The proxy's word on each session: requests held for approval (the
/// agent is then `waiting-approval`, which `[notify]` hears of), else its
/// denials and failures of the last minute.
fn proxy_notes(home: &Home, rows: &mut [Row]) {
    let now_ms = session::now() * 1000;
    let mut trouble = crate::proxy::health::recent(home, now_ms);
    for row in rows {
        row.proxy = trouble.remove(&row.name).map(|t| t.summary());
        let held = crate::proxy::approvals::held(home, &row.name, now_ms);
        if !held.is_empty() && row.state.is_running() {
            let hosts: Vec<&str> = held.iter().map(|h| h.host.as_str()).collect();
            row.agent_status = Some(AgentStatus::WaitingApproval);
            row.proxy = Some(format!(
                "held: {} (clauderon approve {} HOST, or deny)",
                hosts.join(", "),
                row.name
            ));
        }
    }
}

/// A finished --print run's outcome from the engine's status text
/// (`Exited (N) ...`): `Done` for 0, else `Failed(N)`.
pub fn print_outcome(engine_status: &str) -> Option<AgentStatus> {
    let code = engine_status
        .strip_prefix("Exited (")?
        .split_once(')')?
        .0
        .parse::<i64>()
        .ok()?;
    Some(match code {
        0 => AgentStatus::Done,
        n => AgentStatus::Failed(n),
    })
}

fn empty_row(name: String) -> Row {
    Row {
        name,
        id: None,
        backend: None,
        state: State::Engine(String::new()),
        status: String::new(),
        agent_status: None,
        agent_status_since: None,
        agent_status_stale: false,
        agent: None,
        image: String::new(),
        created_at: None,
        repo: String::new(),
        branch: String::new(),
        worktree: String::new(),
        usage: RowUsage::default(),
        proxy: None,
        pr: None,
    }
}

#[cfg(test)]
mod print_tests {
    use super::*;

    #[test]
    fn a_finished_print_run_is_done_or_failed_with_its_code() {
        assert_eq!(
            print_outcome("Exited (0) 3 minutes ago"),
            Some(AgentStatus::Done)
        );
        let failed = print_outcome("Exited (2) 1 second ago").unwrap();
        assert_eq!(failed.to_string(), "failed (exit 2)");
        assert_eq!(print_outcome("Up 3 minutes"), None);
        assert_eq!(print_outcome("Exited (x) now"), None);
    }
}
