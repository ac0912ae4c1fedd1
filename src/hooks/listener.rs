//! The daemon's hook listener: `POST /api/hooks` from the sessions' hook
//! scripts, `GET /health`. Every hook request carries its session's id and
//! token; anything else gets a 4xx and changes nothing.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use tiny_http::{Header, Request, Response};

use crate::hooks::{HookEvent, events};
use crate::session;
use crate::store::Home;

/// Hook bodies are a few hundred bytes; anything bigger is refused.
pub const MAX_BODY: usize = 64 * 1024;

pub struct Listener {
    home: Home,
    /// session id -> (name, token), reloaded from the records on a miss.
    sessions: Mutex<HashMap<String, (String, String)>>,
    /// Serializes appends to event logs across listener threads.
    write: Mutex<()>,
}

/// A reply: status code and a short body saying why.
type Reply = (u16, serde_json::Value);

impl Listener {
    pub fn new(home: Home) -> Listener {
        Listener {
            home,
            sessions: Mutex::new(HashMap::new()),
            write: Mutex::new(()),
        }
    }

    pub fn handle(&self, mut req: Request) {
        let (code, body) = self.route(&mut req);
        let content_type =
            Header::from_bytes("Content-Type", "application/json").expect("valid header");
        let body = serde_json::json!({ "ok": code < 300, "message": body }).to_string();
        let _ = req.respond(
            Response::from_string(body)
                .with_status_code(code)
                .with_header(content_type),
        );
    }

    fn route(&self, req: &mut Request) -> Reply {
        let path = req.url().split('?').next().unwrap_or("").to_string();
        match (req.method().as_str(), path.as_str()) {
            ("GET", "/health") => (
                200,
                format!("clauderon daemon {} is running", std::process::id()).into(),
            ),
            // Names (never values) of the credential variables this daemon
            // has, for `create`'s warnings; asked over loopback only.
            ("GET", "/api/credentials")
                if req.remote_addr().is_some_and(|a| a.ip().is_loopback()) =>
            {
                (200, crate::proxy::credentials::available_here().into())
            }
            ("POST", "/api/hooks") => self.hook(req),
            (_, "/health") | (_, "/api/hooks") => (405, "method not allowed".into()),
            _ => (404, "not found".into()),
        }
    }

    fn hook(&self, req: &mut Request) -> Reply {
        let header = |name: &str| {
            req.headers()
                .iter()
                .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str().to_string())
        };
        let Some(token) =
            header("Authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        else {
            return (401, "missing session token".into());
        };
        let Some(id) = header("X-Clauderon-Session") else {
            return (400, "missing X-Clauderon-Session header".into());
        };
        if req.body_length().is_some_and(|n| n > MAX_BODY) {
            return (413, format!("body larger than {MAX_BODY} bytes").into());
        }
        let Some((name, expected)) = self.lookup(&id) else {
            return (404, "unknown session".into());
        };
        if !constant_time_eq(token.as_bytes(), expected.as_bytes()) {
            return (403, "wrong session token".into());
        }
        let mut body = Vec::new();
        if req
            .as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .is_err()
        {
            return (400, "could not read the body".into());
        }
        if body.len() > MAX_BODY {
            return (413, format!("body larger than {MAX_BODY} bytes").into());
        }
        let mut event: HookEvent = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(e) => return (400, format!("malformed event: {e}").into()),
        };
        if event.event.is_empty() || event.event.len() > 64 {
            return (400, "malformed event: no event name".into());
        }
        event.received_at = session::now();
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        match events::append(&events::log_path(&self.home, &name), &event) {
            Ok(()) => (200, "recorded".into()),
            Err(e) => (500, e.message.into()),
        }
    }

    fn lookup(&self, id: &str) -> Option<(String, String)> {
        let mut cache = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.contains_key(id) {
            // A session created since the last look, or deleted: re-read the records.
            if let Ok((specs, _)) = self.home.load_all() {
                *cache = specs
                    .into_iter()
                    .filter(|s| !s.hook_token.is_empty())
                    .map(|s| (s.id, (s.name, s.hook_token)))
                    .collect();
            }
        }
        let found = cache.get(id).cloned()?;
        // A deleted session's events must not recreate its directory.
        self.home.session_dir(&found.0).is_dir().then_some(found)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
