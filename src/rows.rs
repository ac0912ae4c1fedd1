//! One row per session, as `list`, `status`, `list --watch` and the
//! attention notifier see it: the records joined with what the engines say
//! (`backend::observe`) and the agents' hook statuses.

use serde::Serialize;

use crate::backend::observe::{EngineView, observe};
use crate::backend::oci::ENGINES;
use crate::error::Result;
use crate::hooks::{derive_status, events};
use crate::session::{self, BackendKind, SessionSpec, container_name};
use crate::store::Home;

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub id: Option<String>,
    pub backend: String,
    /// The container's state as the engine reports it, or `missing`,
    /// `unknown` (engine unreachable), `incomplete` (creation interrupted),
    /// `orphaned` (a container without a record).
    pub state: String,
    pub status: String,
    /// What the agent is doing, from its hook events and the container state
    /// (`starting`, `working`, `waiting-approval`, `waiting-input`, `ended`,
    /// `stopped`); None when the engine could not be asked.
    pub agent_status: Option<String>,
    /// When the agent status last changed (Unix seconds).
    pub agent_status_since: Option<u64>,
    /// No event for a long while although the agent should be busy.
    pub agent_status_stale: bool,
    pub agent: String,
    pub image: String,
    pub created_at: Option<u64>,
    pub repo: String,
    pub branch: String,
    pub worktree: String,
}

/// Every session of this home as a row, and what could not be asked.
pub fn rows(home: &Home) -> Result<(Vec<Row>, Vec<String>)> {
    let (specs, incomplete) = home.load_all()?;
    let mut view = observe(home, &specs, !incomplete.is_empty());
    crate::backend::kubernetes::observe::observe(&specs, &mut view);
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
            state: "incomplete".into(),
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
            state: "orphaned".into(),
            status: if kind == BackendKind::Kubernetes {
                format!("pod {container} ({state}, {status}) has no session record: clauderon delete --discard cannot, use kubectl delete pod {container}")
            } else {
                format!("container {container} ({state}, {status}) has no session record: {kind} rm -f {container}")
            },
            backend: kind.as_str().into(),
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
        Some((state, status, _)) => (state, status),
        None if view.unreachable.contains_key(&spec.backend) => ("unknown".into(), String::new()),
        None => (
            "missing".into(),
            format!(
                "container is gone: clauderon refresh {} recreates it",
                spec.name
            ),
        ),
    };
    let kube = spec.backend == BackendKind::Kubernetes;
    let known = !(kube && view.no_events.contains(&spec.name));
    let agent = (state != "unknown" && known).then(|| {
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
        derive(&events, state == "running", session::now())
    });
    Row {
        agent_status: agent.as_ref().map(|a| a.status.as_str().to_string()),
        agent_status_since: agent.as_ref().and_then(|a| a.since),
        agent_status_stale: agent.as_ref().is_some_and(|a| a.stale),
        name: spec.name.clone(),
        id: Some(spec.id.clone()),
        backend: spec.backend.as_str().into(),
        state,
        status,
        agent: spec.agent.as_str().into(),
        image: spec.image.clone(),
        created_at: Some(spec.created_at),
        repo: spec.repo_root.display().to_string(),
        branch: spec.branch.clone(),
        worktree: spec.worktree.display().to_string(),
    }
}

fn empty_row(name: String) -> Row {
    Row {
        name,
        id: None,
        backend: String::new(),
        state: String::new(),
        status: String::new(),
        agent_status: None,
        agent_status_since: None,
        agent_status_stale: false,
        agent: String::new(),
        image: String::new(),
        created_at: None,
        repo: String::new(),
        branch: String::new(),
        worktree: String::new(),
    }
}
