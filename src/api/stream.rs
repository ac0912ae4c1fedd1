//! `GET /run/stream?prompt=...`: Stromboli's streamed run. The run is made
//! as `POST /run` makes it; the agent's output comes as Server-Sent Events,
//! one `data:` line per output line as it is written, then `event: done`
//! with the run's answer (`POST /run`'s body). A client that hangs up stops
//! the run's session, which frees its slot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::sse::{event_stream, new_lines};
use super::{Api, run};
use crate::error::Error;
use crate::serve::Body;

fn data(line: &str) -> Bytes {
    // A line of output holds no newline; a stray CR is a line end in SSE.
    Bytes::from(format!("data: {}\n\n", line.replace('\r', "")))
}

fn event(kind: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {value}\n\n"))
}

/// An error before the run starts, as one `event: error` (Stromboli's 400
/// and 503 are event streams too).
fn refused(e: &Error) -> Response<Body> {
    let (tx, rx) = mpsc::channel(1);
    let mut body = e.to_json();
    body["status"] = json!("failed");
    let _ = tx.try_send(event("error", &body));
    event_stream(super::stromboli_status(e.kind), rx)
}

/// The query as `POST /run`'s body: `prompt`, `workdir`; `session_id`
/// goes on with that session's conversation, as `claude.session_id` with
/// `resume` does (`resume`).
fn body_of(uri: &Uri) -> Result<Vec<u8>, Error> {
    let pairs = super::routes::query_pairs(uri)?;
    let mut body = json!({});
    for (k, v) in pairs {
        match k.as_str() {
            "prompt" | "workdir" => body[k] = json!(v),
            "session_id" => body["claude"] = json!({"session_id": v, "resume": true}),
            _ => {
                let why = format!("?{k}: /run/stream takes prompt, workdir and session_id");
                return Err(Error::input(why));
            }
        }
    }
    if body.get("prompt").is_none() {
        return Err(Error::input("?prompt= is required"));
    }
    Ok(body.to_string().into_bytes())
}

pub fn run_stream(api: Arc<Api>, uri: &Uri) -> Response<Body> {
    let validated = match body_of(uri).and_then(|b| run::prepare(&api, &b)) {
        Ok(v) => v,
        Err(e) => return refused(&e),
    };
    let Ok(permit) = Arc::clone(&api.runs).try_acquire_owned() else {
        return run::busy();
    };
    let (tx, rx) = mpsc::channel(64);
    let cancelled = Arc::new(AtomicBool::new(false));
    let name = validated.name.clone();
    let delivered = Arc::clone(&validated.delivered);
    let home = api.home.clone();
    let flag = Arc::clone(&cancelled);
    let mut running = tokio::spawn(async move {
        let _permit = permit;
        run::execute(&home, &validated, &flag).await
    });
    tokio::spawn(async move {
        let worktree = api.home.worktree_path(&name);
        let mut seen = 0;
        loop {
            let finished = tokio::time::timeout(Duration::from_millis(500), &mut running).await;
            let ended = finished.is_ok();
            // (a resumed session's output is the last run's until then)
            let fresh = delivered.load(Ordering::SeqCst);
            let lines = match fresh {
                true => new_lines(&worktree, seen, ended),
                false => Vec::new(),
            };
            for line in lines {
                seen += 1;
                if tx.send(data(&line)).await.is_err() {
                    // The client went away: stop the run, free its slot.
                    cancelled.store(true, Ordering::SeqCst);
                    run::stop(&api.home, &name).await;
                    return;
                }
            }
            let answer = match finished {
                Err(_) if tx.is_closed() => {
                    cancelled.store(true, Ordering::SeqCst);
                    run::stop(&api.home, &name).await;
                    return;
                }
                Err(_) => continue,
                Ok(Ok(Ok(answer))) => answer,
                Ok(Ok(Err(e))) => {
                    let mut body = e.to_json();
                    body["status"] = json!("failed");
                    body
                }
                Ok(Err(_)) => json!({"status": "failed", "error": "the run ended unexpectedly"}),
            };
            let _ = tx.send(event("done", &answer)).await;
            return;
        }
    });
    event_stream(StatusCode::OK, rx)
}
