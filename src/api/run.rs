//! `POST /run`, Stromboli's synchronous run: a session in print mode (the
//! agent runs once, to completion) made exactly as `clauderon create
//! --print` makes one, waited for, and answered with the agent's output.
//! The session stays, so the caller can find the agent's commits on its
//! branch; `DELETE /v1/sessions/{name}` removes it.

use std::path::{Path, PathBuf};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::child;
use super::run_request::{RunRequest, Validated};
use crate::backend::oci::Engine;
use crate::serve::Body;
use crate::store::Home;

pub async fn run(home: &Home, runs: &Arc<Semaphore>, body: &[u8]) -> Response<Body> {
    let run = match prepare(body) {
        Ok(run) => run,
        Err(refused) => return *refused,
    };
    if run.webhook_url.is_some() {
        let why =
            "webhook_url goes with POST /run/async (a synchronous run answers in its response)";
        return super::error(StatusCode::BAD_REQUEST, why);
    }
    let Ok(permit) = Arc::clone(runs).try_acquire_owned() else {
        return busy();
    };
    // The run is a task of its own: a client that hangs up neither frees
    // its slot nor escapes its timeout.
    let home = home.clone();
    let task = tokio::spawn(async move {
        let _permit = permit;
        execute(&home, &run, &Default::default()).await
    });
    match task.await {
        Ok((status, answer)) => crate::serve::json(status, &answer),
        Err(_) => super::error(StatusCode::BAD_GATEWAY, "the run ended unexpectedly"),
    }
}

pub(super) fn busy() -> Response<Body> {
    super::error(
        StatusCode::TOO_MANY_REQUESTS,
        "as many runs as [api] max_concurrent_runs allows are running; try again later",
    )
}

/// The request, checked (a 400 that says why, otherwise).
pub(super) fn prepare(body: &[u8]) -> Result<Validated, Box<Response<Body>>> {
    let request: RunRequest = super::routes::parse(body)?;
    request
        .validate()
        .map_err(|m| Box::new(super::error(StatusCode::BAD_REQUEST, m)))
}

/// Makes the session, waits for its agent, and says how it went: the
/// status a synchronous caller gets, and the answer (Stromboli's shape).
/// `cancelled`, set while the session is being made, stops it as soon as
/// it exists.
pub(super) async fn execute(
    home: &Home,
    run: &Validated,
    cancelled: &std::sync::atomic::AtomicBool,
) -> (StatusCode, Value) {
    let name = run.name.as_str();
    let repo = match &run.repo {
        Some(repo) => repo.clone(),
        None => match scratch_repo(home).await {
            Ok(repo) => repo,
            Err(m) => return (StatusCode::OK, json!({"status": "error", "error": m})),
        },
    };
    let deadline = tokio::time::Instant::now() + run.timeout;
    let args = run.create_args(name, &repo);
    let created = child::run_until(home, &args, &run.env, Some(deadline)).await;
    if created.code != Some(0) && run.repo.is_none() {
        let _ = std::fs::remove_dir_all(&repo);
    }
    if created.code == Some(124) {
        let why = format!(
            "timed out after {} s while the session was being made (it is rolled back)",
            run.timeout.as_secs()
        );
        return (
            StatusCode::OK,
            json!({"status": "error", "error": why, "crash_info": {"reason": why}}),
        );
    }
    if created.code != Some(0) {
        let (status, reason) = created.failure();
        if status.is_client_error() {
            return (status, reason);
        }
        let answer =
            json!({"status": "error", "error": reason["error"], "crash_info": reason["error"]});
        return (StatusCode::OK, answer);
    }
    let session = created.json().unwrap_or_default();
    if cancelled.load(std::sync::atomic::Ordering::SeqCst) {
        let _ = child::run(home, &["stop".into(), "--".into(), name.into()], &[]).await;
    }
    (
        StatusCode::OK,
        finish(home, run, name, &session, deadline).await,
    )
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
        return json!({"status": "error", "error": "runs go to docker or podman"});
    };
    let wait = engine.wait(&crate::session::container_name(name));
    let waited =
        tokio::time::timeout_at(deadline, tokio::task::spawn_blocking(move || wait.run())).await;
    let worktree = PathBuf::from(session["worktree"].as_str().unwrap_or_default());
    let output = crate::safe_fs::read_below(&worktree, Path::new(".clauderon/output"), 16 << 20)
        .unwrap_or_default();
    let (status, crash_info) = match waited {
        Err(_) => {
            // Stopped, not deleted: its worktree keeps what the agent did.
            let _ = child::run(home, &["stop".into(), "--".into(), name.into()], &[]).await;
            (
                "error",
                json!({"reason": format!("timed out after {} s; the session was stopped", run.timeout.as_secs())}),
            )
        }
        Ok(Ok(Ok(out))) if out.stdout.trim() == "0" => ("completed", Value::Null),
        Ok(Ok(Ok(out))) => (
            "crashed",
            json!({"exit_code": out.stdout.trim().parse::<i64>().ok(), "output_tail": tail(&output)}),
        ),
        Ok(Ok(Err(f))) => ("error", json!({"reason": engine.classify(f).message})),
        Ok(Err(_)) => (
            "error",
            json!({"reason": "waiting for the container failed"}),
        ),
    };
    let parsed: Value = serde_json::from_str(output.trim()).unwrap_or_default();
    json!({
        "id": session["id"],
        "status": status,
        "output": output,
        // The id /sessions/{id} takes; the agent's own conversation id beside it.
        "session_id": name,
        "agent_session_id": parsed.get("session_id"),
        "usage": parsed.get("usage"),
        "crash_info": crash_info,
        "session": name,
        "branch": session["branch"],
        "worktree": session["worktree"],
    })
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
