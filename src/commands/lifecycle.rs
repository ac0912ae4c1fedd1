//! attach, logs, stop, start: one container, its state decides the plan.

use crate::backend::Backend;
use crate::backend::oci::Engine;
use crate::commands::{ContainerState, Ctx, observe_container, print_or_execute};
use crate::error::{Error, Result};
use std::io::IsTerminal;

use crate::commands::flow;
use crate::plan::{Mode, Plan, Step};
use crate::session::SessionSpec;

/// The worktree is mounted at /workspace: without it the container cannot start.
pub fn require_worktree(spec: &SessionSpec) -> Result<()> {
    if spec.worktree.is_dir() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "the worktree of session '{}' ({}) is gone",
        spec.name,
        spec.worktree.display()
    ))
    .with_fix(format!(
        "`clauderon delete {}` removes what is left of the session",
        spec.name
    )))
}

/// The agent's only way out (and its hooks' listener) is the daemon: a
/// session started after a reboot must find it running. It is shared and
/// outlives the session, so its start has no undo.
pub(crate) fn ensure_daemon(ctx: &Ctx, plan: &mut Plan) {
    if crate::daemon::running(&ctx.home).is_none() {
        plan.push(Step::StartDaemon {
            home: ctx.home.clone(),
            port: ctx.config.http_port.value,
            exact_port: false,
        });
    }
}

pub fn attach(ctx: &Ctx, name: &str, mode: Mode) -> Result<i32> {
    let spec = ctx.home.load(name)?;
    flow::of(spec.backend).attach(ctx, &spec, mode)
}

/// `attach` on this host: the container started first if it is stopped.
pub(crate) fn attach_on_host(ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<i32> {
    let name = spec.name.as_str();
    require_worktree(spec)?;
    if !mode.is_dry_run() && !std::io::stdin().is_terminal() {
        return Err(
            Error::input("attach needs a terminal (stdin is not one)").with_fix(format!(
                "`clauderon logs -f {name}` follows the agent's output without one"
            )),
        );
    }
    let engine = Engine::for_kind(spec.backend)?;
    let backend = Backend::of(spec)?;
    let container = spec.container_name();
    let mut plan = Plan::default();
    let state = observe_container(&engine, &container, mode, &mut plan)?;
    if state == ContainerState::Missing {
        return Err(backend.missing(spec));
    }
    // The daemon first: the agent's first hook event must find it.
    ensure_daemon(ctx, &mut plan);
    if !mode.is_dry_run() {
        crate::commands::wiring::warn_agent_credential(ctx, spec);
        if !state.is_running() {
            crate::hooks::events::note_restart(&ctx.home, name, "attach");
        }
    }
    if matches!(state, ContainerState::Present(_)) && !state.is_running() {
        for step in backend.start_for_attach(spec) {
            plan.push(step);
        }
    }
    plan.push(backend.attach(spec));
    if !mode.is_dry_run() {
        crate::output::note(format!(
            "attaching to {name}; detach with Ctrl-P Ctrl-Q (the agent keeps running)"
        ));
    }
    let code = print_or_execute(&format!("attach {name}"), &plan, mode)?;
    if mode.is_dry_run() {
        return Ok(0);
    }
    // Detaching makes `docker attach` exit 1; a container still running
    // means that is what happened, not a failure.
    let running = engine
        .container_state(&container)
        .run()
        .is_ok_and(|o| o.stdout.trim() == "running");
    if running {
        crate::output::note(format!("detached from {name}; the agent keeps running"));
        return Ok(0);
    }
    Ok(code)
}

pub fn logs(ctx: &Ctx, name: &str, follow: bool, tail: Option<u64>) -> Result<i32> {
    let spec = ctx.home.load(name)?;
    let backend = Backend::of(&spec)?;
    let state = backend.observe_session(&spec, Mode::Execute, &mut Plan::default())?;
    if state == ContainerState::Missing {
        return Err(backend.missing(&spec));
    }
    let mut plan = Plan::default();
    plan.push(backend.logs(&spec, follow, tail));
    plan.execute()
}

pub fn stop(ctx: &Ctx, name: &str, mode: Mode) -> Result<()> {
    let spec = ctx.home.load(name)?;
    let backend = Backend::of(&spec)?;
    // One call, run or shown (stopping a stopped container, or a pod that
    // is gone, is a no-op); a missing container or engine is told from
    // its own stderr.
    let plan = backend.stop(&spec);
    print_or_execute(&backend.title("stop", name), &plan, mode).map_err(|e| {
        let lower = e.message.to_lowercase();
        if lower.contains("no such container") {
            backend.missing(&spec)
        } else {
            e
        }
    })?;
    if !mode.is_dry_run() {
        crate::hooks::events::note_stop(&ctx.home, name);
        crate::output::info(backend.stopped(name));
    }
    Ok(())
}

/// A `--print` run whose agent has answered (the entrypoint's marker in
/// the worktree): starting it again would only print the answer again.
fn finished_print_run(spec: &crate::session::SessionSpec) -> bool {
    spec.agent_options.print
        && std::fs::symlink_metadata(spec.worktree.join(".clauderon/print.done")).is_ok()
}

fn print_run_finished(name: &str) -> crate::error::Error {
    crate::error::Error::conflict(format!(
        "session '{name}' was a --print run and has answered: start would only print the same answer again"
    ))
    .with_fix(format!(
        "clauderon send {name} MESSAGE resumes it with a new message; clauderon logs {name} shows the answer"
    ))
}

pub fn start(ctx: &Ctx, name: &str, mode: Mode) -> Result<()> {
    let spec = ctx.home.load(name)?;
    flow::of(spec.backend).start(ctx, &spec, mode)
}

/// `start` on this host: its container, or its compose project.
pub(crate) fn start_on_host(ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<()> {
    let name = spec.name.as_str();
    require_worktree(spec)?;
    let backend = Backend::of(spec)?;
    let mut plan = Plan::default();
    let state = backend.observe_session(spec, mode, &mut plan)?;
    match state {
        ContainerState::Missing => return Err(backend.missing(spec)),
        _ if state.is_running() && !mode.is_dry_run() => {
            crate::output::info(format!("Session {name} is already running."));
            return Ok(());
        }
        _ if state.is_running() => plan.note(format!("session {name} is running: nothing to do")),
        _ if finished_print_run(spec) => return Err(print_run_finished(name)),
        _ => {
            // The daemon first: the agent's first hook event must find it.
            ensure_daemon(ctx, &mut plan);
            let start = backend.start(spec, None, false)?;
            plan.steps.extend(start.steps);
        }
    };
    print_or_execute(&format!("start {name}"), &plan, mode)?;
    if !mode.is_dry_run() {
        if !state.is_running() {
            crate::hooks::events::note_restart(&ctx.home, name, "start");
        }
        crate::commands::wiring::warn_agent_credential(ctx, spec);
        crate::output::info(format!(
            "Started {name}. `clauderon attach {name}` to talk to the agent."
        ));
    }
    Ok(())
}
