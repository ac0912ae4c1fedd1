//! Stromboli's `/sessions` routes: `GET /sessions` (`{"sessions": [names]}`),
//! `GET /sessions/{id}` (clauderon's status of it), `DELETE /sessions/{id}`
//! (`{"success", "session_id", "error"}`), `GET /sessions/{id}/messages`
//! and `GET /sessions/{id}/messages/{message_id}` (Stromboli's items). A
//! session's id is its name: a run's `session_id`.

use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::child;
use super::messages::{self, Page};
use super::routes::{Query, action, delete_args, json_result};
use super::{method_not_allowed, stromboli_status};
use crate::serve::Body;
use crate::store::Home;

pub async fn sessions(
    home: &Home,
    method: &Method,
    rest: &[&str],
    query: &Query,
) -> Response<Body> {
    match (method, rest) {
        (&Method::GET, []) => list(home).await,
        (_, []) => method_not_allowed("GET"),
        (&Method::GET, [id]) => {
            json_result(
                home,
                vec![
                    "status".into(),
                    "--json".into(),
                    "--".into(),
                    id.to_string(),
                ],
            )
            .await
        }
        (&Method::DELETE, [id]) if query.flag("dry_run") => {
            action(home, delete_args(query), id, "deleted", true).await
        }
        (&Method::DELETE, [id]) => delete(home, id, query).await,
        (_, [_]) => method_not_allowed("GET, DELETE"),
        (&Method::GET, [id, "messages"]) => match Page::parse(query) {
            Ok(page) => messages::stromboli_page(home, id, page),
            Err(e) => crate::serve::json(stromboli_status(e.kind), &e.to_json()),
        },
        (&Method::GET, [id, "messages", message]) => messages::stromboli_message(home, id, message),
        (_, [_, "messages"] | [_, "messages", _]) => method_not_allowed("GET"),
        _ => super::error(
            crate::error::ErrorKind::NotFound,
            "no such route (see /openapi.json)",
        ),
    }
}

/// The sessions' names, oldest first.
async fn list(home: &Home) -> Response<Body> {
    let finished = child::run(home, &["list".into(), "--json".into()], &[]).await;
    if let Some(e) = finished.error() {
        let mut body = e.to_json();
        body["sessions"] = json!([]);
        return crate::serve::json(stromboli_status(e.kind), &body);
    }
    let rows = finished.json().unwrap_or_default();
    let names: Vec<Value> = rows
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r.get("name").cloned()).collect())
        .unwrap_or_default();
    crate::serve::json(StatusCode::OK, &json!({"sessions": names}))
}

/// Removes the session (`delete --force`), answered in Stromboli's shape.
async fn delete(home: &Home, id: &str, query: &Query) -> Response<Body> {
    let mut args = delete_args(query);
    // A run without a repository worked in a scratch one of its own:
    // Stromboli's delete "removes a session and all its stored data", so
    // its branch (and with it that repository) goes too.
    let scratch = home.root.join("scratch");
    let in_scratch = home
        .load(id)
        .is_ok_and(|s| s.repo_root.starts_with(&scratch));
    if in_scratch && !args.iter().any(|a| a == "--delete-branch") {
        args.push("--delete-branch".into());
    }
    args.extend(["--".into(), id.to_string()]);
    let finished = child::run(home, &args, &[]).await;
    match finished.error() {
        None => crate::serve::json(
            StatusCode::OK,
            &json!({"success": true, "session_id": id, "error": ""}),
        ),
        Some(e) => {
            let mut body = e.to_json();
            body["success"] = json!(false);
            body["session_id"] = json!(id);
            crate::serve::json(stromboli_status(e.kind), &body)
        }
    }
}
