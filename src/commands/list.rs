//! `clauderon list`: session records joined with ONE engine call per engine.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::oci::ENGINES;
use crate::commands::Ctx;
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
    /// The session's pull request: "URL (state, checks, review)", as last
    /// seen (refreshed in the background at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<String>,
}

/// What the engines say: (backend, container name) -> (state, status text, session label).
pub struct EngineView {
    pub containers: BTreeMap<(BackendKind, String), (String, String, String)>,
    /// Engines that could not be asked, with why.
    pub unreachable: BTreeMap<BackendKind, String>,
    /// Kubernetes sessions' hook events, from the in-cluster daemons:
    /// (session, id) -> the events that set its status.
    pub hook_events: BTreeMap<(String, String), Vec<crate::hooks::HookEvent>>,
    /// Kubernetes sessions whose daemon could not be asked.
    pub no_events: std::collections::BTreeSet<String>,
    /// What else went wrong, one line each.
    pub warnings: Vec<String>,
}

/// One `ps` per engine in use (the engines of the sessions; every installed
/// one when an interrupted create left a session of unknown backend), run
/// concurrently, for all sessions of this home.
pub fn observe(ctx: &Ctx, specs: &[SessionSpec], any_incomplete: bool) -> EngineView {
    let mut view = EngineView {
        containers: BTreeMap::new(),
        unreachable: BTreeMap::new(),
        hook_events: BTreeMap::new(),
        no_events: Default::default(),
        warnings: Vec::new(),
    };
    let engines: Vec<_> = ENGINES
        .into_iter()
        .map(|e| (e, specs.iter().any(|s| s.backend == e.kind)))
        .filter(|(e, needed)| *needed || (any_incomplete && installed(e.program)))
        .collect();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asks: Vec<_> = engines
            .iter()
            .map(|(engine, _)| scope.spawn(|| engine.list_sessions(&ctx.home).run()))
            .collect();
        asks.into_iter()
            .map(|a| a.join().expect("ps thread"))
            .collect()
    });
    for ((engine, needed), answer) in engines.into_iter().zip(answers) {
        match answer {
            Ok(out) => {
                for (name, state, status, label) in engine.parse_sessions(&out.stdout) {
                    view.containers
                        .insert((engine.kind, name), (state, status, label));
                }
            }
            Err(f) if needed => {
                view.unreachable
                    .insert(engine.kind, engine.classify(f).to_string());
            }
            Err(_) => {} // an engine with no sessions here is not our business
        }
    }
    view
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

pub fn rows(ctx: &Ctx) -> Result<(Vec<Row>, Vec<String>)> {
    let (specs, incomplete) = ctx.home.load_all()?;
    let mut view = observe(ctx, &specs, !incomplete.is_empty());
    crate::commands::kube::list::observe(&specs, &mut view);
    let mut warnings: Vec<String> = view
        .unreachable
        .iter()
        .map(|(kind, e)| format!("cannot ask {kind} for container states: {e}"))
        .collect();
    warnings.append(&mut view.warnings);
    let mut rows: Vec<Row> = specs
        .iter()
        .map(|s| row_for(s, &ctx.home, &mut view))
        .collect();
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
        pr: crate::commands::land::pr_status::view(home, &spec.name)
            .map(|p| format!("{} ({})", p.url, p.short())),
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
        pr: None,
    }
}

/// `list`, or with `watch` the live table (see `watch`).
pub fn run(ctx: &Ctx, json: bool, watch: bool) -> Result<()> {
    if watch {
        return crate::commands::watch::run(ctx, json);
    }
    let (rows, warnings) = rows(ctx)?;
    for w in &warnings {
        eprintln!("clauderon: warning: {w}");
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialize")
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No sessions. Create one with: clauderon create --repo . --prompt \"...\"");
        return Ok(());
    }
    print!("{}", table(&rows, session::now()));
    Ok(())
}

pub fn table(rows: &[Row], now: u64) -> String {
    let mut header = vec![
        "NAME", "BACKEND", "STATE", "STATUS", "CHANGED", "AGENT", "IMAGE", "AGE", "REPO",
    ];
    // A PR column once a session has a pull request (before REPO, the last).
    let with_pr = rows.iter().any(|r| r.pr.is_some());
    if with_pr {
        header.insert(8, "PR");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.name.clone(),
                r.backend.clone(),
                r.state.clone(),
                match (&r.agent_status, r.agent_status_stale) {
                    (Some(s), true) => format!("{s} (stale?)"),
                    (Some(s), false) => s.clone(),
                    (None, _) => "-".into(),
                },
                r.agent_status_since
                    .map(|t| format!("{} ago", session::age(t, now)))
                    .unwrap_or_else(|| "-".into()),
                r.agent.clone(),
                r.image.clone(),
                r.created_at
                    .map(|t| session::age(t, now))
                    .unwrap_or_default(),
                r.repo.clone(),
            ];
            if with_pr {
                cells.insert(8, r.pr.clone().unwrap_or_else(|| "-".into()));
            }
            cells
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.clone());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    for r in rows
        .iter()
        .filter(|r| matches!(r.state.as_str(), "incomplete" | "orphaned" | "missing"))
    {
        out.push_str(&format!("  {}: {}\n", r.name, r.status));
    }
    out
}
