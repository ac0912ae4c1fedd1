//! `GET /health` (no token: it says nothing secret), `GET /claude/status`
//! and `GET /secrets` (credentials by name, never a value).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::backend::oci::Engine;
use crate::serve::Body;
use crate::session::BackendKind;

/// How long an answer of the engines is reused: `/health` needs no token,
/// so it must not start an engine call per request.
const FRESH: Duration = Duration::from_secs(5);
/// An engine that does not answer in this time is reported down.
const ENGINE_TIME: Duration = Duration::from_secs(5);

/// The last components' answer, and when it was made.
#[derive(Default)]
pub struct Cache(Mutex<Option<(Instant, Value)>>);

/// One engine's health: `{"name", "status": "ok"|"unavailable", "error"}`.
fn engine(kind: BackendKind) -> Value {
    let checked = Engine::for_kind(kind).and_then(|engine| {
        engine
            .version()
            .time_limit(ENGINE_TIME)
            .run()
            .map_err(|f| engine.classify(f))
    });
    match checked {
        Ok(_) => json!({"name": kind.as_str(), "status": "ok", "error": ""}),
        // The kind's message only: it names the engine, never a secret.
        Err(e) => json!({"name": kind.as_str(), "status": "unavailable", "error": e.message}),
    }
}

async fn components() -> Value {
    let engines =
        tokio::task::spawn_blocking(|| [BackendKind::Docker, BackendKind::Podman].map(engine))
            .await
            .unwrap_or_else(|_| {
                [BackendKind::Docker, BackendKind::Podman]
            .map(|k| json!({"name": k.as_str(), "status": "unavailable", "error": "not checked"}))
            });
    let mut all: Vec<Value> = engines.into();
    // This answer comes from the daemon, which runs the proxy beside it.
    all.push(json!({"name": "daemon", "status": "ok", "error": ""}));
    all.push(json!({"name": "proxy", "status": "ok", "error": ""}));
    Value::Array(all)
}

pub async fn health(cache: &Cache) -> Response<Body> {
    let cached = {
        let held = cache.0.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref()
            .filter(|(at, _)| at.elapsed() < FRESH)
            .map(|(_, v)| v.clone())
    };
    let components = match cached {
        Some(c) => c,
        None => {
            let fresh = components().await;
            let mut held = cache.0.lock().unwrap_or_else(|p| p.into_inner());
            *held = Some((Instant::now(), fresh.clone()));
            fresh
        }
    };
    let ok = components.as_array().is_some_and(|c| {
        c.iter()
            .any(|e| e["status"] == "ok" && e["name"] != "daemon")
    });
    crate::serve::json(
        StatusCode::OK,
        &json!({
            "name": "clauderon",
            "version": env!("CARGO_PKG_VERSION"),
            "status": if ok { "ok" } else { "degraded" },
            "components": components,
        }),
    )
}

/// The credential variables the proxy can inject now (set in the daemon).
fn injectable() -> Vec<String> {
    crate::proxy::credentials::credential_env_vars()
        .into_iter()
        .filter(|v| std::env::var(v).is_ok_and(|x| !x.trim().is_empty()))
        .collect()
}

/// Whether the proxy has Claude Code's credential, by name.
pub fn claude_status() -> Response<Body> {
    let names = ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"];
    let have: Vec<String> = injectable()
        .into_iter()
        .filter(|v| names.contains(&v.as_str()))
        .collect();
    let answer = match have.first() {
        Some(name) => json!({
            "configured": true,
            "message": format!("the proxy injects Claude's credential from {name}"),
        }),
        None => json!({
            "configured": false,
            "message": "the daemon has neither ANTHROPIC_API_KEY nor CLAUDE_CODE_OAUTH_TOKEN: export one and run `clauderon daemon restart`",
        }),
    };
    crate::serve::json(StatusCode::OK, &answer)
}

/// The names of the credentials the proxy can inject.
pub fn secrets() -> Response<Body> {
    crate::serve::json(StatusCode::OK, &json!({"secrets": injectable()}))
}
