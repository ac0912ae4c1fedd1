//! `clauderon send NAME MESSAGE`: a follow-up prompt for the agent.
//!
//! The mechanism: the message goes, byte for byte, into the session's
//! files (mounted read-only in the container) with a fresh id, and the
//! container is (re)started; the entrypoint sees an id it has not
//! delivered and starts the agent with its resume flag and the message
//! (`claude --continue -- MSG`, `codex resume --last -- MSG`; with `-p` /
//! `codex exec resume` for a `--print` session, which then runs once more
//! to completion). One path for a waiting, a stopped and an ended session,
//! for both agents, with the message never passing through a shell or a
//! terminal. A session that is working is not interrupted.

use crate::backend::Backend;
use crate::backend::oci::Engine;
use crate::commands::{ContainerState, Ctx, observe_container, print_or_execute};
use crate::error::{Error, Result};
use crate::hooks::{self, AgentStatus, HookEvent, events};
use crate::plan::{Mode, Plan, Step};
use crate::session::SessionSpec;

/// The hook event `send` records: the agent has a prompt, so it is working.
pub const SENT_EVENT: &str = hooks::MESSAGE_SENT;

/// The message sources: the argument, `--file F`, or `-` (stdin).
pub enum Source {
    Text(String),
    File(std::path::PathBuf),
    Stdin,
}

pub fn run(ctx: &Ctx, name: &str, source: Source, mode: Mode) -> Result<()> {
    let message = read_message(source)?;
    let _lock = (!mode.is_dry_run())
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    let spec = ctx.home.load(name)?;
    crate::commands::lifecycle::require_worktree(&spec)?;
    // (a kubernetes session has no local engine: attach talks to its agent)
    let engine = Engine::for_kind(spec.backend)
        .map_err(|e| e.with_fix(format!("`clauderon attach {name}` to talk to the agent")))?;
    let mut plan = Plan::default();
    let state = observe_container(&engine, &spec.container_name(), mode, &mut plan)?;
    if state == ContainerState::Missing {
        return Err(Error::conflict(format!(
            "the container of session '{name}' no longer exists"
        ))
        .with_fix(format!("`clauderon refresh {name}` recreates it")));
    }
    refuse_if_working(ctx, &spec, &state)?;
    let backend = Backend::of(&spec)?;
    send_plan(
        ctx,
        &spec,
        &backend,
        &state,
        message.into_bytes(),
        &mut plan,
    )?;
    print_or_execute(&format!("send {name}"), &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Sent the message to {name}; the agent resumed its conversation with it. `clauderon transcript -f {name}` follows it."
        ));
    }
    Ok(())
}

fn read_message(source: Source) -> Result<String> {
    use crate::commands::text_input;
    const WHAT: &str = "the message";
    let text = match source {
        Source::Text(t) => text_input::of_bytes(t.into_bytes(), WHAT)?,
        Source::File(p) => text_input::read(&p, WHAT)?,
        Source::Stdin => text_input::read(std::path::Path::new("-"), WHAT)?,
    };
    if text.contains('\0') {
        return Err(Error::input("the message contains a NUL byte"));
    }
    if text.trim().is_empty() {
        return Err(Error::input("the message is empty").with_fix("give the text to send"));
    }
    Ok(text)
}

/// A working agent is not cut off mid-turn.
fn refuse_if_working(ctx: &Ctx, spec: &SessionSpec, state: &ContainerState) -> Result<()> {
    let log = events::read(&events::log_path(&ctx.home, &spec.name));
    let status = hooks::derive_status(&log, state.is_running(), crate::session::now());
    if state.is_running() && status.status == AgentStatus::Working && !status.stale {
        return Err(Error::conflict(format!(
            "session '{}' is working: a message now would cut its turn short",
            spec.name
        ))
        .with_fix(format!(
            "wait until `clauderon list` shows it waiting, or `clauderon stop {0}` first (then send resumes it)",
            spec.name
        )));
    }
    Ok(())
}

fn send_plan(
    ctx: &Ctx,
    spec: &SessionSpec,
    backend: &Backend,
    state: &ContainerState,
    message: Vec<u8>,
    plan: &mut Plan,
) -> Result<()> {
    let files = ctx.home.container_files_dir(&spec.name);
    let id = crate::session::new_uuid();
    let len = message.len();
    for (file, contents) in [("message", message), ("message-id", id.into_bytes())] {
        plan.push(Step::WriteFile {
            path: files.join(file),
            contents,
            mode: 0o644,
            secret: false,
        });
    }
    if !matches!(state, ContainerState::Present(s) if s != "running") {
        plan.steps.extend(backend.stop(spec).steps);
    }
    let sent = HookEvent {
        event: SENT_EVENT.into(),
        message: Some(format!("clauderon send: a {len}-byte message")),
        received_at: crate::session::now(),
        ..Default::default()
    };
    let mut line = serde_json::to_vec(&sent).expect("json serializes");
    line.push(b'\n');
    plan.push(Step::AppendFile {
        path: events::log_path(&ctx.home, &spec.name),
        contents: line,
    });
    crate::commands::lifecycle::ensure_daemon(ctx, plan);
    if spec.agent_options.print {
        // The last run's answer goes: what is there from now on is this one's.
        plan.push(Step::RemoveBelow {
            root: spec.worktree.clone(),
            relative: std::path::PathBuf::from(".clauderon/output"),
        });
    }
    plan.steps.extend(backend.start(spec, None, false)?.steps);
    Ok(())
}
