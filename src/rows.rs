//! One row per session, as `list`, `status`, `list --watch` and the
//! attention notifier see it: the records joined with what the engines say
//! (`backend::observe`) and the agents' hook statuses.

use serde::{Serialize, Serializer};

use crate::backend::observe::{EngineView, observe};
use crate::backend::oci::ENGINES;
use crate::error::Result;
use crate::hooks::{AgentStatus, derive_status, events};
use crate::session::{self, Agent, BackendKind, SessionSpec, container_name};
use crate::store::Home;

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub id: Option<String>,
    /// None for an interrupted create (written `""`).
    #[serde(serialize_with = "name_or_empty")]
    pub backend: Option<BackendKind>,
    pub state: State,
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

/// Every session of this home as a row, and what could not be asked.
pub fn rows(home: &Home) -> Result<(Vec<Row>, Vec<String>)> {
    let (specs, incomplete) = home.load_all()?;
    let mut view = observe(home, &specs, !incomplete.is_empty());
    let mut warnings: Vec<String> = view
        .unreachable
        .iter()
        .map(|(kind, e)| format!("cannot ask {kind} for container states: {e}"))
        .collect();
    warnings.append(&mut view.warnings);
    let mut rows: Vec<Row> = specs.iter().map(|s| row_for(s, home, &mut view)).collect();
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

fn row_for(spec: &SessionSpec, home: &Home, view: &mut EngineView) -> Row {
    let (state, status) = match view
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
    };
    let kube = spec.backend == BackendKind::Kubernetes;
    let known = !(kube && view.no_events.contains(&spec.name));
    let agent = (state != State::Unknown && known).then(|| {
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
    });
    Row {
        agent_status: agent.as_ref().map(|a| a.status),
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
        pr: crate::pull_request::view(home, &spec.name)
            .map(|p| format!("{} ({})", p.url, p.short())),
    }
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
        pr: None,
    }
}
