//! The steps that watch a just-started container: it must not die at
//! once, and its on-create commands must finish (their status file is in
//! the agent's worktree, so it is read without following links).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{INTERRUPTED, interrupted};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Check, Classify, Poll};

/// How long a container must survive its start to count as started, when
/// it gives no readiness signal (an entrypoint that never gets there).
const START_GRACE: Duration = Duration::from_millis(1000);
/// How often the readiness marker (a file read) and the container's state
/// (an engine call) are looked at.
const MARKER_POLL: Duration = Duration::from_millis(10);
const STATE_POLL: Duration = Duration::from_millis(200);

/// The container counts as started once its entrypoint has handed over to
/// the agent (it writes `ready`, relative to the worktree, just before), or
/// once it has stayed up for `START_GRACE`; it fails if it exits with an
/// error first.
pub(super) fn verify_started(
    ready: Option<(&Path, &Path)>,
    state: &Cmd,
    logs: &Cmd,
    classify: Classify,
) -> Result<()> {
    let started = Instant::now();
    let mut next_state_check = started + STATE_POLL;
    loop {
        if ready.is_some_and(|(root, marker)| crate::safe_fs::read_below(root, marker, 64).is_ok())
        {
            return Ok(());
        }
        let now = Instant::now();
        let last_look = now >= started + START_GRACE;
        if now >= next_state_check || last_look {
            next_state_check = now + STATE_POLL;
            let out = state.run().map_err(classify)?;
            let mut fields = out.stdout.split_whitespace();
            let status = fields.next().unwrap_or("");
            let code = fields.next().unwrap_or("0");
            if matches!(status, "exited" | "dead") && code != "0" {
                let tail = output_tail(logs, 5);
                return Err(Error::failed(format!(
                    "the container exited right after starting (exit code {code}); its last output:\n  {tail}"
                ))
                .with_fix("the output above says why: a failing --post-start/--on-create command, or an image without bash or the agent CLI (`clauderon image check <image>` checks an image)"));
            }
            if last_look || matches!(status, "exited" | "dead") {
                return Ok(());
            }
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Ok(());
        }
        std::thread::sleep(MARKER_POLL);
    }
}

fn output_tail(logs: &Cmd, lines: usize) -> String {
    let output = logs
        .run()
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .unwrap_or_default();
    let all: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n  ")
}

pub(super) fn wait_on_create(
    root: &Path,
    status: &Path,
    timeout: Duration,
    state: &Cmd,
    logs: &Cmd,
    classify: Classify,
) -> Result<()> {
    crate::output::note("running the on-create commands (the session log shows their output)...");
    let began = Instant::now();
    let mut last_state_check = began;
    loop {
        if began.elapsed() > timeout {
            return Err(Error::failed(format!(
                "the on-create commands did not finish within {} s; their last output:\n  {}",
                timeout.as_secs(),
                output_tail(logs, 15)
            ))
            .with_fix("make the command finish (it must not wait for input), or raise [lifecycle] on_create_timeout (seconds) in config.toml"));
        }
        if let Ok(text) = crate::safe_fs::read_below(root, status, 64) {
            let text = text.trim();
            if text == "ok" {
                return Ok(());
            }
            if let Some(code) = text.strip_prefix("failed ") {
                return Err(on_create_failed(code, logs));
            }
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(interrupted());
        }
        if last_state_check.elapsed() > std::time::Duration::from_secs(1) {
            last_state_check = std::time::Instant::now();
            let out = state.run().map_err(classify)?;
            let status_word = out.stdout.split_whitespace().next().unwrap_or("");
            if matches!(status_word, "exited" | "dead" | "stopped")
                && crate::safe_fs::read_below(root, status, 64).is_err()
            {
                return Err(Error::failed(format!(
                    "the container stopped before its on-create commands finished; its last output:\n  {}",
                    output_tail(logs, 15)
                )));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// An on-create command failed: its code (clauderon exits with it) and the
/// tail of the container's output.
fn on_create_failed(code: &str, logs: &Cmd) -> Error {
    let engine = logs.argv.first().map(String::as_str).unwrap_or("docker");
    let mut err = Error::failed(format!(
        "an on-create command failed with exit code {code}; its last output:\n  {}",
        output_tail(logs, 15)
    ))
    .with_fix(format!(
        "fix the command (try it in the image: {engine} run --rm -it --entrypoint bash IMAGE), then create the session again"
    ));
    let code = code
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|c| *c > 0)
        .unwrap_or(1);
    err.kind = crate::error::ErrorKind::CommandFailed(code);
    err
}

/// Runs `cmd` until `check` says ready or failed, or `timeout` passes.
pub(super) fn poll(
    cmd: &Cmd,
    what: &str,
    check: Check,
    timeout: Duration,
    interval: Duration,
    timeout_fix: &str,
) -> Result<()> {
    let began = Instant::now();
    loop {
        let last = match cmd.run() {
            Ok(out) => check(Ok(&out.stdout)),
            Err(f) => check(Err(f)),
        };
        match last {
            Poll::Ready => return Ok(()),
            Poll::Failed(e) => return Err(e),
            Poll::Waiting(state) if began.elapsed() >= timeout => {
                return Err(Error::failed(format!(
                    "timed out after {} s waiting for {what} (last seen: {state})",
                    timeout.as_secs()
                ))
                .with_fix(timeout_fix));
            }
            Poll::Waiting(_) => {}
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(interrupted());
        }
        std::thread::sleep(interval);
    }
}
