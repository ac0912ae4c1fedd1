//! The HTTP API (`[api] listen`): clauderon's sessions and images over
//! HTTP for CI jobs and scripts. Every request but `GET /health` carries
//! `Authorization: Bearer <token>` (`clauderon api token`). A request runs
//! as the `clauderon` command a user would type (see `child`), so the API
//! and the CLI cannot disagree.

mod child;
#[cfg(test)]
mod fuzz;
mod job_store;
mod jobs;
mod messages;
mod routes;
mod run;
mod run_request;
mod send;
pub mod settings;
mod sse;
pub mod token;
mod webhook;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::hooks::listener::constant_time_eq;
use crate::serve::{Body, Conn};
use crate::store::Home;

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
        }
    }
}

/// A JSON error answer: `{"error": ..., "fix": ...}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    crate::serve::json(status, &json!({"error": message.into()}))
}

impl Api {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, _conn: Conn) -> Response<Body> {
        let path = req.uri().path().to_string();
        if path == "/health" {
            return match *req.method() {
                Method::GET => crate::serve::json(StatusCode::OK, &json!({"status": "ok"})),
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET /health"),
            };
        }
        if let Err(refused) = self.authorize(req.headers()) {
            return *refused;
        }
        if path == "/openapi.json" && req.method() != Method::GET {
            return error(StatusCode::METHOD_NOT_ALLOWED, "GET /openapi.json");
        }
        if path == "/openapi.json" {
            let mut resp = crate::serve::text(StatusCode::OK, OPENAPI);
            resp.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            return resp;
        }
        let (parts, body) = req.into_parts();
        let body = match read_body(body).await {
            Ok(bytes) => bytes,
            Err(refused) => return *refused,
        };
        if let Some(answer) = self.runs_and_jobs(&parts, &body).await {
            return answer;
        }
        routes::route(&self.home, &parts.method, &parts.uri, &body).await
    }

    /// `/run`, `/run/async` and `/jobs...`, or None for other paths.
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
                _ => error(StatusCode::METHOD_NOT_ALLOWED, "GET it"),
            });
        }
        let job = path
            .strip_prefix("/jobs/")
            .filter(|id| !id.is_empty() && !id.contains('/'));
        Some(match (method, path, job) {
            (&Method::POST, "/run", _) => run::run(&self.home, &self.runs, body).await,
            (&Method::POST, "/run/async", _) => jobs::start(Arc::clone(self), body).await,
            (_, "/run" | "/run/async", _) => error(StatusCode::METHOD_NOT_ALLOWED, "POST it"),
            (&Method::GET, "/jobs", _) => jobs::list(self),
            (&Method::GET, _, Some(id)) => jobs::get(self, id),
            (&Method::DELETE, _, Some(id)) => jobs::cancel(self, id).await,
            (_, "/jobs", _) | (_, _, Some(_)) => {
                error(StatusCode::METHOD_NOT_ALLOWED, "GET or DELETE")
            }
            _ => return None,
        })
    }

    /// The token is read at every request, so `api token --rotate` takes
    /// effect at once; compared in constant time.
    fn authorize(&self, headers: &http::HeaderMap) -> Result<(), Box<Response<Body>>> {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token);
        let Some(given) = given else {
            return Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "missing Authorization: Bearer <token> (`clauderon api token` prints it)",
            )));
        };
        match token::load_or_create(&self.home) {
            Ok(token) if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) => Ok(()),
            Ok(_) => Err(Box::new(error(StatusCode::UNAUTHORIZED, "wrong token"))),
            Err(e) => Err(Box::new(error(StatusCode::SERVICE_UNAVAILABLE, e.message))),
        }
    }
}

/// The body, bounded in size (413) and time (408).
async fn read_body(body: Incoming) -> Result<Bytes, Box<Response<Body>>> {
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(Box::new(error(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        ))),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body larger than {MAX_BODY} bytes"),
        ))),
        Ok(Err(e)) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("the body could not be read: {e}"),
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}
