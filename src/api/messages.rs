//! `GET /v1/sessions/{name}/messages?offset&limit`: the agent's
//! conversation, read from its own transcript (JSON lines) in the worktree.
//! Read by `crate::transcript`, the parser `clauderon transcript` shares;
//! the worktree is the agent's, so nothing there is followed through a link.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::error;
use crate::serve::Body;
use crate::store::Home;

pub fn messages(home: &Home, name: &str, offset: usize, limit: usize) -> Response<Body> {
    let spec = match home.load(name) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::NOT_FOUND, e.message),
    };
    let Some(rel) = crate::transcript::locate(&spec.worktree, spec.agent) else {
        let empty = json!({"session": name, "total": 0, "offset": offset, "messages": []});
        return crate::serve::json(StatusCode::OK, &empty);
    };
    let all = match crate::transcript::records(&spec.worktree, &rel) {
        Ok(records) => records,
        Err(e) => {
            return error(
                StatusCode::CONFLICT,
                format!("the transcript cannot be read: {e}"),
            );
        }
    };
    let page: Vec<&Value> = all.iter().skip(offset).take(limit).collect();
    crate::serve::json(
        StatusCode::OK,
        &json!({"session": name, "transcript": rel, "total": all.len(), "offset": offset, "messages": page}),
    )
}
