//! Stromboli's `session_id`, `resume` and `continue`: a run that goes on
//! with an earlier run's conversation. A Stromboli session is a clauderon
//! session (its container, worktree and the agent's transcript), so the new
//! prompt is delivered exactly as `clauderon send` delivers a follow-up:
//! the container restarts and the agent resumes its conversation with its
//! own flag (`claude -p --continue`, `codex exec resume --last`), once more
//! to completion. The answer is read from that run as a new run's is.
//!
//! A session that does not exist is a 404; one that is running another run
//! (or whose agent is working) is a 409, as are options a resumed run cannot
//! take: the session keeps the options, image and engine it was made with.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::claude_options::{Target, is_uuid};
use super::run_request::Validated;
use crate::error::{Error, ErrorKind, Result};
use crate::session::SessionSpec;
use crate::store::Home;

/// The sessions with a run going on now (new or resumed), so a second
/// run into one of them is refused rather than cutting the first short.
#[derive(Default, Clone)]
pub struct Running(Arc<Mutex<HashSet<String>>>);

/// A session's place in `Running`, given back when the run ends.
pub struct Claim {
    running: Running,
    name: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut set = self.running.0.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.name);
    }
}

impl Running {
    fn has(&self, name: &str) -> bool {
        let set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.contains(name)
    }

    /// Claims `name` for a run; a 409 while another run has it.
    pub fn claim(&self, name: &str) -> Result<Claim> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(name.to_string()) {
            return Err(busy(name));
        }
        Ok(Claim {
            running: self.clone(),
            name: name.to_string(),
        })
    }
}

fn busy(name: &str) -> Error {
    Error::conflict(format!(
        "session '{name}' is running another run: a new prompt now would cut it short"
    ))
    .with_fix("wait for that run to end (GET /jobs shows it), then resume the session")
}

/// The session a resumed run goes on with.
pub struct Resumed {
    /// What `finish` reads of a new run's session: its id, branch, worktree.
    pub session: Value,
}

/// The parts of a run's body a resumed run takes; anything else would be
/// an option the session was not made with.
const RESUME_KEYS: [&str; 7] = [
    "prompt",
    "workdir",
    "repo",
    "webhook_url",
    "claude",
    "podman",
    "docker",
];
const RESUME_CLAUDE_KEYS: [&str; 5] = [
    "session_id",
    "resume",
    "continue",
    "fork_session",
    "dangerously_skip_permissions",
];
const RESUME_ENGINE_KEYS: [&str; 2] = ["timeout", "volumes"];

/// The options in `body` a resumed run cannot take, dotted
/// (`claude.model`, `podman.image`, `podman.volumes` other than /workspace).
fn options_not_taken(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(top) = body.as_object() else {
        return out;
    };
    for (key, value) in top {
        let allowed: &[&str] = match key.as_str() {
            "claude" => &RESUME_CLAUDE_KEYS,
            "podman" | "docker" => &RESUME_ENGINE_KEYS,
            k if RESUME_KEYS.contains(&k) => continue,
            _ => {
                out.push(key.clone());
                continue;
            }
        };
        for (inner, v) in value.as_object().into_iter().flatten() {
            let mounts_more = inner == "volumes"
                && v.as_array().into_iter().flatten().any(|vol| {
                    vol.as_str()
                        .and_then(|s| s.split(':').nth(1))
                        .is_some_and(|c| c != "/workspace")
                });
            if !allowed.contains(&inner.as_str()) || mounts_more {
                out.push(format!("{key}.{inner}"));
            }
        }
    }
    out
}

/// The session `target` names, as a run may resume it: a print-mode
/// (run) session on docker or podman.
fn find(home: &Home, target: &Target, repo: Option<&str>) -> Result<Option<SessionSpec>> {
    let spec = match target {
        Target::Session(id) => home.load(id)?,
        Target::SessionOrNew(id) => match home.load(id) {
            Ok(spec) => spec,
            Err(e) if e.kind == ErrorKind::NotFound && is_uuid(id) => return Ok(None),
            Err(e) => {
                return Err(e.with_fix(
                    "name a session (a run's session_id; GET /sessions lists them), or give a UUID for a new conversation",
                ));
            }
        },
        Target::Latest => latest(home, repo)?,
    };
    if spec.kubernetes.is_some() || !spec.agent_options.print {
        return Err(Error::conflict(format!(
            "session '{}' is not a run's session (it is interactive{}), so a run cannot resume it",
            spec.name,
            if spec.kubernetes.is_some() {
                ", on kubernetes"
            } else {
                ""
            }
        ))
        .with_fix(format!(
            "POST /v1/sessions/{}/messages sends it a follow-up",
            spec.name
        )));
    }
    Ok(Some(spec))
}

/// `continue`: the newest run session of the run's repository.
fn latest(home: &Home, repo: Option<&str>) -> Result<SessionSpec> {
    let none = || {
        Error::not_found("no conversation to continue in this workspace")
            .with_fix("give the workspace as `repo` (or a HOST:/workspace volume), or the session as claude.session_id")
    };
    let repo = repo
        .and_then(|r| std::fs::canonicalize(r).ok())
        .ok_or_else(none)?;
    let (specs, _) = home.load_all()?;
    let of_repo = |s: &SessionSpec| {
        let root = std::fs::canonicalize(&s.repo_root).unwrap_or_default();
        repo == root || repo == root.join(&s.subdir)
    };
    specs
        .into_iter()
        .filter(|s| s.agent_options.print && s.kubernetes.is_none() && of_repo(s))
        .max_by_key(|s| s.created_at)
        .ok_or_else(none)
}

/// Resolves the run's target: a resumed run becomes a run of that session
/// (its name, engine and agent). Every run claims its session in `running`.
pub fn resolve(running: &Running, home: &Home, body: &Value, run: &mut Validated) -> Result<()> {
    let target = run.resume_target();
    let found = match &target {
        Some(t) => find(home, t, run.repo.as_deref()).map_err(|e| match t {
            // A run still making the session it names: busy, not missing.
            Target::Session(id) | Target::SessionOrNew(id) if running.has(id) => busy(id),
            _ => e,
        })?,
        None => None,
    };
    let Some(spec) = found else {
        run.claim = Some(running.claim(&run.name)?);
        return Ok(());
    };
    let extra = options_not_taken(body);
    if !extra.is_empty() {
        return Err(Error::conflict(format!(
            "session '{}' keeps the options it was made with; a resumed run takes only its prompt, workdir and timeout, not {}",
            spec.name,
            extra.join(", ")
        ))
        .with_fix("leave those out, or start a new run (without session_id/resume/continue) to change them"));
    }
    if run.engine_named.is_some_and(|b| b != spec.backend) {
        return Err(Error::conflict(format!(
            "session '{}' runs on {}",
            spec.name,
            spec.backend.as_str()
        ))
        .with_fix("name its engine, or none"));
    }
    run.claim = Some(running.claim(&spec.name)?);
    run.name = spec.name.clone();
    run.backend = spec.backend;
    run.delivered
        .store(false, std::sync::atomic::Ordering::SeqCst);
    run.resumed = Some(Resumed {
        session: json!({"id": spec.id, "branch": spec.branch, "worktree": spec.worktree}),
    });
    Ok(())
}

/// Delivers the run's prompt to its session (`clauderon send`), which
/// restarts its container; `Ok` once the agent has it.
pub async fn deliver(home: &Home, run: &Validated) -> Result<()> {
    let sent = super::send::send_text(home, &run.name, run.prompt(), false).await?;
    match sent.into_error() {
        None => {
            run.delivered
                .store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        Some(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_takes_only_its_prompt_and_where_and_how_long() {
        let taken = json!({"prompt": "x", "workdir": "/workspace", "repo": "/r",
            "claude": {"session_id": "s", "resume": true, "dangerously_skip_permissions": true},
            "podman": {"timeout": "5m", "volumes": ["/r:/workspace"]}});
        assert!(options_not_taken(&taken).is_empty());
        let more = json!({"prompt": "x", "agent": "codex",
            "claude": {"session_id": "s", "model": "opus"},
            "docker": {"image": "i", "volumes": ["/r:/workspace", "/d:/data:ro"]}});
        assert_eq!(
            options_not_taken(&more),
            ["agent", "claude.model", "docker.image", "docker.volumes"]
        );
    }

    #[test]
    fn session_id_resume_and_continue_name_what_a_run_goes_on_with() {
        let target = |v: Value| {
            serde_json::from_value::<super::super::claude_options::ClaudeOptions>(v)
                .unwrap()
                .resume_target()
        };
        let s = || "s".to_string();
        assert_eq!(target(json!({})), None);
        assert_eq!(
            target(json!({"session_id": "s"})),
            Some(Target::SessionOrNew(s()))
        );
        let resume = json!({"session_id": "s", "resume": true});
        assert_eq!(target(resume), Some(Target::Session(s())));
        assert_eq!(target(json!({"resume": true})), Some(Target::Latest));
        let cont = json!({"session_id": "s", "continue": true});
        assert_eq!(target(cont), Some(Target::Latest));
        let running = Running::default();
        let claim = running.claim("a").unwrap();
        assert_eq!(
            running.claim("a").err().map(|e| e.kind),
            Some(ErrorKind::Conflict)
        );
        drop(claim);
        assert!(running.claim("a").is_ok());
    }
}
