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
use crate::store::Home;

/// Where the API and the proxy found it before it moved to the `ids` leaf.
pub use crate::ids::constant_time_eq;

/// Hook bodies are a few hundred bytes; anything bigger is refused.
pub const MAX_BODY: usize = 64 * 1024;
/// A body must arrive within this.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The events Claude Code and Codex send that clauderon records
/// (`agent-turn-complete` is Codex's `notify`).
const KNOWN_EVENTS: &[&str] = &[
    "agent-turn-complete",
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
    auth: crate::cluster::Auth,
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
    pub fn new(home: Home, auth: crate::cluster::Auth) -> Listener {
        Listener {
            home,
            auth,
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
        let (name, id) = match self.authenticate(req.headers()) {
            Ok(found) => found,
            Err(refused) => return *refused,
        };
        let mut event = match read_event(req.into_body()).await {
            Ok(event) => event,
            Err(refused) => return *refused,
        };
        event.received_at = crate::clock::now();
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let log = match self.auth {
            crate::cluster::Auth::Records => events::log_path(&self.home, &name),
            crate::cluster::Auth::Derived(_) => {
                crate::cluster::statuses::log_path(&self.home, &name, &id)
            }
        };
        if let Some(dir) = log.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
        match events::append(&log, &event) {
            Ok(()) => reply(StatusCode::OK, "recorded"),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.message),
        }
    }

    /// The session (name, id) a request is for, if its id and token match
    /// the record on disk (the truth) or, in the cluster, the token derived
    /// for that name and id; else the refusal to send.
    fn authenticate(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<(String, String), Box<Response<Body>>> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let Some(token) =
            header("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        else {
            return Err(Box::new(reply(
                StatusCode::UNAUTHORIZED,
                "missing session token",
            )));
        };
        let (Some(id), Some(name)) = (
            header("x-clauderon-session"),
            header("x-clauderon-session-name"),
        ) else {
            return Err(Box::new(reply(
                StatusCode::BAD_REQUEST,
                "missing X-Clauderon-Session or X-Clauderon-Session-Name header",
            )));
        };
        if let crate::cluster::Auth::Derived(key) = &self.auth {
            return match key.verify(&name, &token) {
                Some(signed) if signed == id => Ok((name, id)),
                _ => Err(Box::new(reply(
                    StatusCode::FORBIDDEN,
                    "wrong session token",
                ))),
            };
        }
        match self.home.load(&name) {
            Ok(spec) if spec.id == id => {
                if spec.hook_token.is_empty()
                    || !constant_time_eq(token.as_bytes(), spec.hook_token.as_bytes())
                {
                    return Err(Box::new(reply(
                        StatusCode::FORBIDDEN,
                        "wrong session token",
                    )));
                }
                Ok((name, id))
            }
            _ => Err(Box::new(reply(StatusCode::NOT_FOUND, "unknown session"))),
        }
    }
}

/// The event in a request body: bounded in size and time, a known event.
async fn read_event(body: Incoming) -> Result<HookEvent, Box<Response<Body>>> {
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await;
    let bytes = match collected {
        Err(_) => {
            return Err(Box::new(reply(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            )));
        }
        Ok(Err(_)) => {
            let too_large = format!("body larger than {MAX_BODY} bytes");
            return Err(Box::new(reply(StatusCode::PAYLOAD_TOO_LARGE, too_large)));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let event: HookEvent = serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(reply(
            StatusCode::BAD_REQUEST,
            format!("malformed event: {e}"),
        ))
    })?;
    if !KNOWN_EVENTS.contains(&event.event.as_str()) {
        return Err(Box::new(reply(
            StatusCode::BAD_REQUEST,
            "malformed event: unknown event name",
        )));
    }
    Ok(event)
}
