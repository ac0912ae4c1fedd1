//! The plan of a refresh on Docker or Podman: pull (unless told not to),
//! new session files, the old container set aside, the new one created
//! and started, the old one removed. A failure puts the old one back.

use super::Engine;
use crate::agent;
use crate::backend::{ContainerState, Wiring};
use crate::plan::{Plan, Step, Tolerate};
use crate::session::{PullPolicy, SessionSpec};
use crate::store::Home;

/// The refresh of a container whose state is `state` (Missing: created
/// anew, nothing set aside).
pub fn refresh_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    state: &ContainerState,
    pull: bool,
    wiring: &Wiring,
) -> Plan {
    let classify = engine.classifier();
    let container = spec.container_name();
    let aside = format!("{container}-refresh-old");
    let mut plan = Plan::default();
    if pull {
        plan.push(pull_step(spec, engine));
    }
    // Newer clauderon versions may render a newer entrypoint.
    for step in agent::write_session_files(spec, home) {
        plan.push(step);
    }
    let exists = !matches!(state, ContainerState::Missing);
    if exists {
        set_old_aside(&mut plan, engine, state, &container, &aside);
    }
    plan.push_undoable(
        Step::run_cmd(engine.create(spec, home, wiring), classify),
        vec![Step::run_cmd(engine.remove(&container), classify)],
    );
    for step in engine.start_steps(&container, &spec.worktree) {
        plan.push(step);
    }
    if exists {
        plan.push(remove_old(engine, &aside));
    }
    plan
}

/// With if-not-present a failed pull falls back to the local image (the
/// create after it fails clearly if there is none); with always it is an
/// error.
fn pull_step(spec: &SessionSpec, engine: &Engine) -> Step {
    let tolerate = match spec.pull_policy {
        PullPolicy::Always => None,
        // The engine's own words were shown as it pulled: not again.
        _ => Some(Tolerate::Warn(|_| {
            "could not pull the image (the engine said why above); recreating from the local one"
                .to_string()
        })),
    };
    Step::Run {
        cmd: engine.pull(&spec.image),
        classify: engine.classifier(),
        tolerate,
    }
}

/// Stops the old container and renames it aside. Each step undoes itself:
/// a failure right after the stop starts the old container again, one
/// after the rename renames it back.
fn set_old_aside(
    plan: &mut Plan,
    engine: &Engine,
    state: &ContainerState,
    container: &str,
    aside: &str,
) {
    let classify = engine.classifier();
    let was_running = state.is_running() || *state == ContainerState::Unknown;
    let restart = if was_running {
        vec![Step::run_cmd(engine.start(container), classify)]
    } else {
        Vec::new()
    };
    plan.push_undoable(Step::run_cmd(engine.stop(container), classify), restart);
    plan.push_undoable(
        Step::run_cmd(engine.rename(container, aside), classify),
        vec![Step::run_cmd(engine.rename(aside, container), classify)],
    );
}

/// The new container runs by now: failing to remove the old one must not
/// roll the refresh back.
fn remove_old(engine: &Engine, aside: &str) -> Step {
    Step::Run {
        cmd: engine.remove(aside),
        classify: engine.classifier(),
        tolerate: Some(Tolerate::Warn(|f| {
            format!(
                "the refreshed session runs, but its old container could not be removed ({}); remove it by hand: {}",
                f.stderr_tail().lines().last().unwrap_or(""),
                f.shown
            )
        })),
    }
}
