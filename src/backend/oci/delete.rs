//! The plan of a delete on Docker or Podman: the container (or the whole
//! compose project), the worktree without running git in it, the branch
//! when asked, and the directories clauderon made for the session.

use std::path::Path;
use std::sync::Mutex;

use super::Engine;
use crate::backend::ContainerState;
use crate::backend::compose::OVERRIDE_NAME;
use crate::git;
use crate::plan::{Plan, Step, Tolerate, Verdict};
use crate::session::{SessionSpec, container_name};
use crate::store::Home;
use crate::worktree;

/// Set when --force removed everything but the container, because the
/// engine did not answer (one delete per process: the API runs each
/// request as a child).
static CONTAINER_LEFT: Mutex<Option<String>> = Mutex::new(None);

/// Why --force left the container, once: delete's error says it.
pub fn take_container_left() -> Option<String> {
    CONTAINER_LEFT.lock().ok().and_then(|mut l| l.take())
}

/// Removing a container not asked about first (--force): gone is fine,
/// and an engine that fails leaves it, said, while the rest is removed.
fn removal_tolerance(state: &ContainerState) -> Tolerate {
    match state {
        ContainerState::Unknown => Tolerate::Judge(|f| {
            if !Engine::is_no_such_container(f)
                && let Ok(mut left) = CONTAINER_LEFT.lock()
            {
                // Said once, as delete's error (see `container_left`).
                let last = f.stderr_tail().lines().last().unwrap_or("").to_string();
                *left = Some(format!("`{}` failed: {last}", f.shown));
            }
            Verdict::Pass
        }),
        _ => Tolerate::If(Engine::is_no_such_container),
    }
}

pub fn delete_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    state: &ContainerState,
    delete_branch: bool,
) -> Plan {
    let mut plan = Plan::default();
    let tolerate = removal_tolerance(state);
    if let Some(c) = &spec.compose {
        // The project's containers, networks and volumes, whatever state
        // the agent's container is in.
        let from_override = !c.files_exist();
        if from_override {
            plan.note("the session's compose file is gone: the project is taken down from clauderon's override alone");
        }
        for step in c.down_steps(spec, engine, from_override) {
            plan.push(step);
        }
    } else if *state != ContainerState::Missing {
        plan.push(Step::Run {
            cmd: engine.remove(&spec.container_name()),
            classify: engine.classifier(),
            tolerate: Some(tolerate),
        });
    }
    let repo = &spec.repo_root;
    let repo_exists = repo.exists();
    // Without git: an agent's repository may make any git command run its
    // programs (see `worktree`).
    let common = repo_exists.then_some(spec.git_common_dir.as_path());
    for step in worktree::removal(common, &spec.worktree) {
        plan.push(step);
    }
    if repo_exists && delete_branch {
        plan.push(Step::Run {
            cmd: git::git(repo).args(["branch", "-D", &spec.branch]),
            classify: git::classify,
            tolerate: Some(Tolerate::If(|f| f.stderr.contains("not found"))),
        });
    }
    if !repo_exists {
        plan.note(format!(
            "repository {} is gone: only removing files clauderon owns",
            repo.display()
        ));
    }
    remove_owned_dirs(&mut plan, spec, home, repo_exists && delete_branch);
    plan
}

/// The directories clauderon made for the session: its scratch repository
/// (when its branch goes), its uploads and its session directory.
fn remove_owned_dirs(plan: &mut Plan, spec: &SessionSpec, home: &Home, branch_goes: bool) {
    // An API run without a repository got a scratch one of its own; once
    // its branch goes, nothing in it is anyone's work.
    if branch_goes && is_scratch_repo(home, &spec.repo_root) {
        plan.push(Step::RemoveDir {
            path: spec.repo_root.clone(),
        });
    }
    if spec.uploads {
        plan.push(Step::RemoveDir {
            path: crate::uploads::host_dir(home, &spec.id),
        });
    }
    plan.push(Step::RemoveDir {
        path: home.session_dir(&spec.name),
    });
}

/// A repository `POST /run` made for one run (`$CLAUDERON_HOME/scratch/*`).
fn is_scratch_repo(home: &Home, repo: &Path) -> bool {
    let scratch = std::fs::canonicalize(home.root.join("scratch"));
    let parent = repo.parent().map(std::fs::canonicalize);
    matches!((scratch, parent), (Ok(s), Some(Ok(p))) if s == p)
}

/// A session without a readable record (an interrupted create, or a
/// record someone broke): remove the container, the worktree, its
/// registration and the session directory. `branch`: the repository's
/// `.git` when git may run there, and whether the branch goes with it.
pub fn incomplete_plan(
    name: &str,
    home: &Home,
    containers: &[(Engine, ContainerState)],
    branch: Option<(&Path, bool)>,
) -> Plan {
    let mut plan = Plan::default();
    let why = if home.record_path(name).exists() {
        "has a record clauderon cannot read"
    } else {
        "has no record (its creation was interrupted)"
    };
    plan.note(format!("session '{name}' {why}: removing what exists"));
    let compose = home.session_dir(name).join(OVERRIDE_NAME);
    for (engine, state) in containers {
        // A compose session's project (the override is written before `up`).
        if compose.is_file() {
            for step in crate::backend::compose::down_unrecorded(engine, name, &compose) {
                plan.push(step);
            }
        }
        if *state == ContainerState::Missing {
            continue;
        }
        plan.push(Step::Run {
            cmd: engine.remove(&container_name(name)),
            classify: engine.classifier(),
            tolerate: Some(Tolerate::If(Engine::is_no_such_container)),
        });
    }
    for step in worktree::removal(branch.map(|(c, _)| c), &home.worktree_path(name)) {
        plan.push(step);
    }
    match branch {
        Some((common, true)) => {
            plan.push(Step::Run {
                cmd: git::git(common).args(["branch", "-D", name]),
                classify: git::classify,
                tolerate: Some(Tolerate::If(|f| f.stderr.contains("not found"))),
            });
        }
        Some(_) => plan.note(format!(
            "branch '{name}' has commits no other branch has: it is kept (--delete-branch removes it)"
        )),
        None => {}
    }
    plan.push(Step::RemoveDir {
        path: home.session_dir(name),
    });
    plan
}
