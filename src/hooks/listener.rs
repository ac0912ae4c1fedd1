//! The daemon's hook listener: `POST /api/hooks` from the sessions' hook
//! scripts, `GET /health`. Every hook request names its session and carries
//! that session's id and token, checked against the session's record on
//! disk each time (so a deleted or re-created session is never confused
//! with an old one); anything else gets a 4xx and changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::hooks::{HookEvent, events};
use crate::serve::{Body, Conn, json};
use crate::session;
use crate::store::Home;

/// Hook bodies are a few hundred bytes; anything bigger is refused.
pub const MAX_BODY: usize = 64 * 1024;
/// A body must arrive within this.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The events Claude Code sends that clauderon records.
const KNOWN_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionRequest",
    "Notification",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "SessionEnd",
];

pub struct Listener {
    home: Home,
    /// Serializes appends to event logs.
    write: Mutex<()>,
}

fn reply(status: StatusCode, message: impl Into<serde_json::Value>) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "ok": status.is_success(), "message": message.into() }),
    )
}

impl Listener {
    pub fn new(home: Home) -> Listener {
        Listener {
            home,
            write: Mutex::new(()),
        }
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, conn: Conn) -> Response<Body> {
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/health") => reply(
                StatusCode::OK,
                format!("clauderon daemon {} is running", std::process::id()),
            ),
            // Names (never values) of the credential variables this daemon
            // has, for `create`'s warnings; asked over loopback only.
            (&Method::GET, "/api/credentials") if conn.from_loopback() => {
                reply(StatusCode::OK, crate::proxy::credentials::available_here())
            }
            (&Method::POST, "/api/hooks") => self.hook(req).await,
            (_, "/health" | "/api/hooks") => {
                reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            }
            _ => reply(StatusCode::NOT_FOUND, "not found"),
        }
    }

    async fn hook(&self, req: Request<Incoming>) -> Response<Body> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let Some(token) =
            header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        else {
            return reply(StatusCode::UNAUTHORIZED, "missing session token");
        };
        let (Some(id), Some(name)) = (
            header("x-clauderon-session"),
            header("x-clauderon-session-name"),
        ) else {
            return reply(
                StatusCode::BAD_REQUEST,
                "missing X-Clauderon-Session or X-Clauderon-Session-Name header",
            );
        };
        // The record on disk is the truth: its id and token must both match.
        let Ok(spec) = self.home.load(&name) else {
            return reply(StatusCode::NOT_FOUND, "unknown session");
        };
        if spec.id != id {
            return reply(StatusCode::NOT_FOUND, "unknown session");
        }
        if spec.hook_token.is_empty()
            || !constant_time_eq(token.as_bytes(), spec.hook_token.as_bytes())
        {
            return reply(StatusCode::FORBIDDEN, "wrong session token");
        }
        let body = match tokio::time::timeout(
            BODY_TIMEOUT,
            Limited::new(req.into_body(), MAX_BODY).collect(),
        )
        .await
        {
            Err(_) => {
                return reply(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body did not arrive in time",
                );
            }
            Ok(Err(_)) => {
                return reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("body larger than {MAX_BODY} bytes"),
                );
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        let mut event: HookEvent = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(e) => return reply(StatusCode::BAD_REQUEST, format!("malformed event: {e}")),
        };
        if !KNOWN_EVENTS.contains(&event.event.as_str()) {
            return reply(
                StatusCode::BAD_REQUEST,
                "malformed event: unknown event name",
            );
        }
        event.received_at = session::now();
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        match events::append(&events::log_path(&self.home, &name), &event) {
            Ok(()) => reply(StatusCode::OK, "recorded"),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.message),
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
