//! `POST /run`, Stromboli's synchronous run: a session in print mode (the
//! agent runs once, to completion) made exactly as `clauderon create
//! --print` makes one, waited for, and answered with the agent's output.
//! The session stays, so the caller can find the agent's commits on its
//! branch; `DELETE /v1/sessions/{name}` removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::run_request::{RunRequest, Validated};
use super::{Api, child};
use crate::backend::oci::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::proxy::usage::ledger;
use crate::serve::Body;
use crate::store::Home;

pub async fn run(api: &Arc<Api>, body: &[u8]) -> Response<Body> {
    // Bad input is a 400 before a full house is a 429.
    let run = match prepare(api, body) {
        Ok(run) => run,
        Err(e) => return refused(&e),
    };
    if run.webhook_url.is_some() {
        let why =
            "webhook_url goes with POST /run/async (a synchronous run answers in its response)";
        return refused(&Error::input(why));
    }
    let Ok(permit) = Arc::clone(&api.runs).try_acquire_owned() else {
        return busy();
    };
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut hang_up = StopOnHangUp {
        home: api.home.clone(),
        session: run.name.clone(),
        cancelled: Arc::clone(&cancelled),
        armed: true,
    };
    // The run is a task of its own, holding the slot: if the client hangs
    // up, this handler is dropped, `hang_up` stops the session, and the
    // task ends (freeing the slot) as soon as its container has stopped.
    let home = api.home.clone();
    let task = tokio::spawn(async move {
        let _permit = permit;
        execute(&home, &run, &cancelled).await
    });
    let outcome = task.await;
    hang_up.armed = false;
    let e = match outcome {
        Ok(Ok(answer)) => return crate::serve::json(StatusCode::OK, &answer),
        Ok(Err(e)) => e,
        Err(_) => Error::failed("the run ended unexpectedly"),
    };
    // Refused (4xx) or no engine (503) as Stromboli says; a run that was
    // tried and failed is a run that ended `failed`.
    match super::stromboli_status(e.kind) {
        StatusCode::INTERNAL_SERVER_ERROR => {
            crate::serve::json(StatusCode::OK, &failed_run(&e, &hang_up.session))
        }
        _ => refused(&e),
    }
}

/// The answer of a run whose session could not be made (rolled back).
pub(super) fn failed_run(e: &Error, session: &str) -> Value {
    let mut answer = e.to_json();
    answer["status"] = json!("failed");
    answer["clauderon_status"] = json!(match e.kind {
        ErrorKind::Timeout => "timed_out",
        _ => "error",
    });
    answer["output"] = json!("");
    answer["session_id"] = json!(session);
    answer["crash_info"] = json!({"reason": e.message});
    answer
}

/// Dropped before the run answered: the client went away. The session is
/// stopped (a session still being made is stopped once it exists), so
/// the slot is freed at once rather than at the run's timeout.
struct StopOnHangUp {
    home: Home,
    session: String,
    cancelled: Arc<AtomicBool>,
    armed: bool,
}

impl Drop for StopOnHangUp {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.cancelled.store(true, Ordering::SeqCst);
        let (home, session) = (self.home.clone(), self.session.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { stop(&home, &session).await });
        }
    }
}

/// Stops a run's session (`clauderon stop`); its worktree keeps the work.
pub(super) async fn stop(home: &Home, session: &str) -> child::Finished {
    child::run(home, &["stop".into(), "--".into(), session.into()], &[]).await
}

/// A Stromboli route's error answer: `{"status": "failed", "error",
/// "kind", "fix"}` (RunResponse's fields), with Stromboli's status.
pub(super) fn refused(e: &Error) -> Response<Body> {
    let mut body = e.to_json();
    body["status"] = json!("failed");
    crate::serve::json(super::stromboli_status(e.kind), &body)
}

pub(super) fn busy() -> Response<Body> {
    super::error(
        ErrorKind::Busy,
        "as many runs as [api] max_concurrent_runs allows are running; try again later",
    )
}

/// The request, checked against the home's config.toml (its proxy rules
/// name the credentials `secrets_env` may ask for), and the session it
/// resumes found (`resume`); the run holds its session's claim.
pub(super) fn prepare(api: &Api, body: &[u8]) -> Result<Validated> {
    let config = crate::config::Config::load(&api.home.root)?;
    let mut run = parse(body, &config.proxy.rules)?;
    let raw: Value = serde_json::from_slice(body).unwrap_or_default();
    super::resume::resolve(&api.running, &api.home, &raw, &mut run)?;
    Ok(run)
}

/// The request, checked (bad input, otherwise).
pub(super) fn parse(body: &[u8], rules: &[crate::proxy::rules::Rule]) -> Result<Validated> {
    let request: RunRequest = serde_json::from_slice(body)
        .map_err(|e| Error::input(format!("invalid request body: {e}")))?;
    request.validate(rules)
}

/// Makes the session, waits for its agent, and answers in Stromboli's
/// shape (`completed` or `failed`, the detail in `clauderon_status`). An
/// error is a run whose session was never made (rolled back).
/// `cancelled`, set while the session is being made, stops it as soon as
/// it exists.
pub(super) async fn execute(home: &Home, run: &Validated, cancelled: &AtomicBool) -> Result<Value> {
    let name = run.name.as_str();
    let deadline = tokio::time::Instant::now() + run.timeout;
    if let Some(resumed) = &run.resumed {
        super::resume::deliver(home, run).await?;
        if cancelled.load(Ordering::SeqCst) {
            stop(home, name).await;
        }
        let mut answer = finish(home, run, name, &resumed.session, deadline).await;
        // Each run has its own id (Stromboli: "unique run identifier"); the
        // session's own stays `session_id`'s.
        answer["id"] = json!(crate::ids::new_uuid());
        return Ok(answer);
    }
    let repo = match &run.repo {
        Some(repo) => repo.clone(),
        None => scratch_repo(home).await.map_err(Error::failed)?,
    };
    let args = run.create_args(name, &repo);
    let created = child::run_until(home, &args, &run.env, Some(run.prompt()), Some(deadline)).await;
    if created.code != Some(0) && run.repo.is_none() {
        let _ = std::fs::remove_dir_all(&repo);
    }
    let session = created.json().unwrap_or_default();
    if let Some(e) = created.into_error() {
        return Err(match e.kind {
            ErrorKind::Timeout => Error::new(
                ErrorKind::Timeout,
                format!(
                    "timed out after {} s while the session was being made (it is rolled back)",
                    run.timeout.as_secs()
                ),
            ),
            _ => e,
        });
    }
    if cancelled.load(Ordering::SeqCst) {
        stop(home, name).await;
    }
    Ok(finish(home, run, name, &session, deadline).await)
}

/// How the agent ended: Stromboli's status, clauderon's, and the detail.
fn outcome(
    waited: std::result::Result<
        std::result::Result<
            std::result::Result<crate::exec::Output, crate::exec::Failure>,
            tokio::task::JoinError,
        >,
        tokio::time::error::Elapsed,
    >,
    engine: &Engine,
    run: &Validated,
    output: &str,
) -> (&'static str, String, Value) {
    match waited {
        Err(_) => {
            let why = format!(
                "timed out after {} s; the session was stopped",
                run.timeout.as_secs()
            );
            (
                "timed_out",
                why.clone(),
                json!({"reason": why, "partial_output": tail(output)}),
            )
        }
        Ok(Ok(Ok(out))) if out.stdout.trim() == "0" => ("completed", String::new(), Value::Null),
        Ok(Ok(Ok(out))) => {
            let code = out.stdout.trim().parse::<i64>().ok();
            let why = format!("the agent exited with code {}", out.stdout.trim());
            let mut info =
                json!({"reason": why, "partial_output": tail(output), "task_completed": false});
            if let Some(code) = code {
                info["exit_code"] = json!(code);
            }
            ("crashed", why, info)
        }
        Ok(Ok(Err(f))) => {
            let why = engine.classify(f).message;
            ("error", why.clone(), json!({"reason": why}))
        }
        Ok(Err(_)) => {
            let why = "waiting for the container failed".to_string();
            ("error", why.clone(), json!({"reason": why}))
        }
    }
}

/// Waits for the agent to finish (or the run's timeout), and answers.
async fn finish(
    home: &Home,
    run: &Validated,
    name: &str,
    session: &Value,
    deadline: tokio::time::Instant,
) -> Value {
    let Ok(engine) = Engine::for_kind(run.backend) else {
        return json!({"status": "failed", "clauderon_status": "error", "error": "runs go to docker or podman", "session_id": name});
    };
    let wait = engine.wait(&crate::session::container_name(name));
    let waited =
        tokio::time::timeout_at(deadline, tokio::task::spawn_blocking(move || wait.run())).await;
    if waited.is_err() {
        // Stopped, not deleted: its worktree keeps what the agent did.
        stop(home, name).await;
    }
    let worktree = PathBuf::from(session["worktree"].as_str().unwrap_or_default());
    let output = crate::safe_fs::read_below(&worktree, Path::new(".clauderon/output"), 16 << 20)
        .unwrap_or_default();
    let (status, error, crash_info) = outcome(waited, &engine, run, &output);
    let parsed: Value = serde_json::from_str(output.trim()).unwrap_or_default();
    let mut answer = json!({
        "id": session["id"],
        "status": if status == "completed" { "completed" } else { "failed" },
        // clauderon's own word: completed, crashed, timed_out or error.
        "clauderon_status": status,
        "output": output,
        "error": error,
        // The id /sessions/{id} takes; the agent's own conversation id beside it.
        "session_id": name,
        "agent_session_id": parsed.get("session_id"),
        "usage": parsed.get("usage"),
        // What the proxy counted, which the agent cannot misreport.
        "cost_usd": ledger::summary(home, name).total().cost_json(),
        "session": name,
        "branch": session["branch"],
        "worktree": session["worktree"],
    });
    if !crash_info.is_null() {
        answer["crash_info"] = crash_info;
    }
    answer
}

fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A run with no repository works in a new, empty one of its own under
/// the home (`scratch/`), so its work is still a branch someone can read.
async fn scratch_repo(home: &Home) -> Result<String, String> {
    let dir = home
        .root
        .join("scratch")
        .join(crate::session::random_suffix(12));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let d = dir.to_string_lossy().to_string();
    for args in [
        vec!["init", "-q", "-b", "main", &d],
        vec![
            "-C",
            &d,
            "-c",
            "user.name=clauderon",
            "-c",
            "user.email=clauderon@localhost",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "empty workspace for an API run",
        ],
    ] {
        let ok = tokio::process::Command::new("git")
            .args(&args)
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "could not make a scratch repository in {d} (git {})",
                args.join(" ")
            ));
        }
    }
    Ok(d)
}
