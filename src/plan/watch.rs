//! The steps that watch a just-started container: it must not die at
//! once, and its on-create commands must finish (their status file is in
//! the agent's worktree, so it is read without following links).

use std::path::Path;
use std::sync::atomic::Ordering;

use super::{Classify, INTERRUPTED, interrupted};
use crate::error::{Error, Result};
use crate::exec::Cmd;

/// How long a container must survive its start to count as started.
const START_GRACE: std::time::Duration = std::time::Duration::from_millis(1000);

pub(super) fn verify_started(state: &Cmd, logs: &Cmd, classify: Classify) -> Result<()> {
    let deadline = std::time::Instant::now() + START_GRACE;
    loop {
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
        if std::time::Instant::now() >= deadline || INTERRUPTED.load(Ordering::SeqCst) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
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
    state: &Cmd,
    logs: &Cmd,
    classify: Classify,
) -> Result<()> {
    eprintln!("clauderon: running the on-create commands (the session log shows their output)...");
    let mut last_state_check = std::time::Instant::now();
    loop {
        if let Ok(text) = crate::safe_fs::read_below(root, status, 64) {
            let text = text.trim();
            if text == "ok" {
                return Ok(());
            }
            if let Some(code) = text.strip_prefix("failed ") {
                let engine = logs.argv.first().map(String::as_str).unwrap_or("docker");
                let mut err = Error::failed(format!(
                    "an on-create command failed with exit code {code}; its last output:\n  {}",
                    output_tail(logs, 15)
                ))
                .with_fix(format!(
                    "fix the command (try it in the image: {engine} run --rm -it --entrypoint bash IMAGE), then create the session again"
                ));
                // clauderon exits with the command's own code.
                err.code = code
                    .trim()
                    .parse()
                    .ok()
                    .filter(|c| *c > 0 && *c < 256)
                    .unwrap_or(1);
                return Err(err);
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
