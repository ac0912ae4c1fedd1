//! The HTTP API (`[api] listen`): clauderon's sessions and images over
//! HTTP for CI jobs and scripts, and Stromboli's routes as Stromboli serves
//! them. Every request but `GET /health`, `GET /openapi.json` and `POST
//! /auth/refresh` carries `Authorization: Bearer <token>` (`clauderon api
//! token`, or an access token from `/auth/token`). A request runs as the
//! `clauderon` command a user would type (see `child`), so the API and the
//! CLI cannot disagree; its errors are typed (`error::ErrorKind`), and the
//! kind alone picks the HTTP status.

mod auth;
pub mod child;
mod claude_options;
#[cfg(test)]
mod fuzz;
mod health;
mod history;
mod job_store;
mod jobs;
mod messages;
mod metrics;
mod policy;
mod resume;
mod routes;
mod run;
mod run_request;
mod send;
pub mod settings;
mod sse;
mod stream;
mod stromboli;
pub mod token;
mod webhook;
mod whole_number;

use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::hooks::listener::constant_time_eq;
use crate::serve::{Body, Conn};
use crate::store::Home;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 1 << 20;
/// A body must arrive within this.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// OpenAPI description of every route, kept in the repository.
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub struct Api {
    pub home: Home,
    /// `POST /run`s at once (`[api] max_concurrent_runs`); more get 429.
    pub runs: Arc<tokio::sync::Semaphore>,
    jobs: jobs::Jobs,
    webhooks: settings::Webhooks,
    /// Revoked signed tokens (`/auth/logout`).
    auth: auth::Revoked,
    /// The engines' health, asked at most every few seconds.
    health: health::Cache,
    /// The sessions with a run going on (a second run into one is a 409).
    running: resume::Running,
}

impl Api {
    /// The API with the jobs stored in `home`; call inside the runtime: the
    /// sessions of jobs the last daemon left running are stopped beside it.
    pub fn new(home: Home, max_runs: usize, webhooks: settings::Webhooks) -> Api {
        let (jobs, interrupted) = jobs::Jobs::load(&home);
        jobs::stop_interrupted(home.clone(), interrupted);
        Api {
            home,
            runs: Arc::new(tokio::sync::Semaphore::new(max_runs)),
            jobs,
            webhooks,
            auth: Default::default(),
            health: Default::default(),
            running: Default::default(),
        }
    }
}

/// The HTTP status of an error kind (the table in `error.rs`).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// The status of an error on one of Stromboli's routes, whose spec knows
/// 400 for bad input and 500 for a failure (503: the engine is not there);
/// 401, 403 (a policy's refusal), 404, 413 and 429 keep their own.
pub fn stromboli_status(kind: ErrorKind) -> StatusCode {
    let own = status_of(kind);
    match kind {
        ErrorKind::Unauthorized
        | ErrorKind::Refused
        | ErrorKind::Busy
        | ErrorKind::TooLarge
        | ErrorKind::SlowRequest
        | ErrorKind::MethodNotAllowed
        | ErrorKind::Conflict
        | ErrorKind::NotFound => own,
        ErrorKind::EngineUnavailable | ErrorKind::Interrupted => StatusCode::SERVICE_UNAVAILABLE,
        _ if own.is_client_error() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error's answer: `{"error", "kind", "fix"}` with its kind's status.
pub fn refuse(err: &Error) -> Response<Body> {
    crate::serve::json(status_of(err.kind), &err.to_json())
}

/// An error answer of this kind.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response<Body> {
    refuse(&Error::new(kind, message))
}

/// A 405 with the `Allow` header naming the methods the route takes.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = error(
        ErrorKind::MethodNotAllowed,
        format!("this route takes {allow} (see /openapi.json)"),
    );
    resp.headers_mut()
        .insert("allow", http::HeaderValue::from_static(allow));
    resp
}

impl Api {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, _conn: Conn) -> Response<Body> {
        let path = req.uri().path().to_string();
        if matches!(path.as_str(), "/health" | "/openapi.json") {
            // The body is read (and dropped) before the answer: a connection
            // closed with unread bytes is reset, and the client can lose
            // the answer it was reading (seen with a large /openapi.json).
            let (parts, body) = req.into_parts();
            if let Err(refused) = read_body(body).await {
                return *refused;
            }
            return self.public(&parts.method, &path).await;
        }
        let refresh = path == "/auth/refresh";
        let bearer = match refresh {
            true => None,
            false => match self.authorize(req.headers()) {
                Ok(bearer) => Some(bearer),
                Err(refused) => return *refused,
            },
        };
        if path == "/metrics" && !refresh {
            let (parts, body) = req.into_parts();
            if let Err(refused) = read_body(body).await {
                return *refused;
            }
            return self.metrics(&parts.method).await;
        }
        let (parts, body) = req.into_parts();
        let body = match read_body(body).await {
            Ok(bytes) => bytes,
            Err(refused) => return *refused,
        };
        if let Some(answer) = auth::route(&self, &parts, &body, bearer.as_ref()) {
            return answer;
        }
        if let Some(answer) = self.runs_and_jobs(&parts, &body).await {
            return answer;
        }
        routes::route(&self.home, &parts.method, &parts.uri, &body).await
    }

    /// `GET /metrics` (behind the token like every route but /health).
    async fn metrics(&self, method: &Method) -> Response<Body> {
        if method != Method::GET {
            return method_not_allowed("GET");
        }
        let home = self.home.clone();
        let page = tokio::task::spawn_blocking(move || {
            let config = crate::config::Config::load(&home.root)
                .unwrap_or_else(|_| crate::config::Config::defaults(&home.root));
            metrics::render(&crate::config::Ctx { home, config })
        })
        .await
        .unwrap_or_default();
        let mut resp = crate::serve::text(StatusCode::OK, page.trim_end());
        resp.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        resp
    }

    /// The routes that answer without a token: `/health` (which says
    /// nothing secret) and `/openapi.json`.
    async fn public(&self, method: &Method, path: &str) -> Response<Body> {
        match (method, path) {
            (&Method::GET, "/health") => health::health(&self.health).await,
            (&Method::GET, "/openapi.json") => {
                let mut resp = crate::serve::text(StatusCode::OK, OPENAPI);
                resp.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                resp
            }
            _ => method_not_allowed("GET"),
        }
    }

    /// `/run`, `/run/async`, `/run/stream` and `/jobs...`, or None for other paths.
    async fn runs_and_jobs(
        self: &Arc<Self>,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Option<Response<Body>> {
        let (method, path) = (&parts.method, parts.uri.path());
        if let Some(id) = path
            .strip_prefix("/jobs/")
            .and_then(|p| p.strip_suffix("/events"))
        {
            // Replay after the last event the client saw (SSE's reconnect).
            let last = parts
                .headers
                .get("last-event-id")
                .map(|v| v.to_str().unwrap_or("?"));
            return Some(match *method {
                Method::GET => sse::stream(Arc::clone(self), id.to_string(), last),
                _ => method_not_allowed("GET"),
            });
        }
        let job = path
            .strip_prefix("/jobs/")
            .filter(|id| !id.is_empty() && !id.contains('/'));
        Some(match (method, path, job) {
            (&Method::POST, "/run", _) => run::run(self, body).await,
            (&Method::POST, "/run/async", _) => jobs::start(Arc::clone(self), body).await,
            (&Method::GET, "/run/stream", _) => stream::run_stream(Arc::clone(self), &parts.uri),
            (_, "/run" | "/run/async", _) => method_not_allowed("POST"),
            (_, "/run/stream", _) => method_not_allowed("GET"),
            (&Method::GET, "/jobs", _) => jobs::list(self),
            (&Method::GET, _, Some(id)) => jobs::get(self, id),
            (&Method::DELETE, _, Some(id)) => jobs::cancel(self, id).await,
            (_, "/jobs", _) => method_not_allowed("GET"),
            (_, _, Some(_)) => method_not_allowed("GET, DELETE"),
            _ => return None,
        })
    }

    /// The API token, or a short-lived access token `/auth/token` signed
    /// (and `/auth/logout` did not revoke). The token file is read at every
    /// request, so `api token --rotate` takes effect at once (and ends
    /// every signed token: they are signed with a key made from it).
    fn authorize(&self, headers: &http::HeaderMap) -> Result<auth::Bearer, Box<Response<Body>>> {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(given) = given else {
            return Err(Box::new(error(
                ErrorKind::Unauthorized,
                "missing Authorization: Bearer <token> (`clauderon api token` prints it)",
            )));
        };
        let token = token::load_or_create(&self.home).map_err(|e| Box::new(refuse(&e)))?;
        if constant_time_eq(given.as_bytes(), token.as_bytes()) {
            return Ok(auth::Bearer::ApiToken);
        }
        self.auth
            .check(&token, given, auth::Use::Access)
            .map(auth::Bearer::Signed)
            .map_err(|why| Box::new(error(ErrorKind::Unauthorized, why)))
    }
}

/// The body, bounded in size (413) and time (408).
async fn read_body(body: Incoming) -> Result<Bytes, Box<Response<Body>>> {
    // A declared length over the limit is refused at once, not after
    // waiting for bytes that would be refused anyway.
    if hyper::body::Body::size_hint(&body).lower() > MAX_BODY as u64 {
        return Err(Box::new(error(
            ErrorKind::TooLarge,
            format!("body larger than {MAX_BODY} bytes"),
        )));
    }
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(Box::new(error(
            ErrorKind::SlowRequest,
            "the body did not arrive in time",
        ))),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Box::new(error(
            ErrorKind::TooLarge,
            format!("body larger than {MAX_BODY} bytes"),
        ))),
        Ok(Err(e)) => Err(Box::new(error(
            ErrorKind::BadInput,
            format!("the body could not be read: {e}"),
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}
