//! `GET /v1/sessions/{name}/messages?offset&limit`: the agent's
//! conversation, read from its own transcript (JSON lines) in the worktree.
//! Read by `crate::transcript`, the parser `clauderon transcript` shares;
//! the worktree is the agent's, so nothing there is followed through a link.

use std::path::PathBuf;

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::refuse;
use super::routes::Query;
use crate::error::Error;
use crate::serve::Body;
use crate::store::Home;

/// `?offset=&limit=`: whole numbers, limit 1 to 1000 (50 unless given).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

pub const MAX_LIMIT: usize = 1000;

impl Page {
    pub fn parse(query: &Query) -> Result<Page, Error> {
        let number = |key: &str, default: usize| match query.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| Error::input(format!("?{key}={v}: a whole number, 0 or more"))),
        };
        let page = Page {
            offset: number("offset", 0)?,
            limit: number("limit", 50)?,
        };
        if !(1..=MAX_LIMIT).contains(&page.limit) {
            let why = format!("?limit={}: between 1 and {MAX_LIMIT}", page.limit);
            return Err(Error::input(why));
        }
        Ok(page)
    }
}

/// The session's transcript lines (JSON), oldest first, or why not.
fn lines(home: &Home, name: &str) -> Result<(Option<PathBuf>, Vec<Value>), Error> {
    let spec = home.load(name)?;
    let Some((root, rel)) = crate::transcript::locate(home, &spec) else {
        return Ok((None, Vec::new()));
    };
    let all = crate::transcript::records(&root, &rel)
        .map_err(|e| Error::failed(format!("the transcript cannot be read: {e}")))?;
    Ok((Some(rel), all))
}

/// `GET /v1/sessions/{name}/messages`: the transcript's own lines.
pub fn transcript(home: &Home, name: &str, page: Page) -> Response<Body> {
    let (rel, all) = match lines(home, name) {
        Ok(found) => found,
        Err(e) => return refuse(&e),
    };
    let shown: Vec<&Value> = all.iter().skip(page.offset).take(page.limit).collect();
    let answer = json!({
        "session": name,
        "transcript": rel,
        "total": all.len(),
        "offset": page.offset,
        "limit": page.limit,
        "has_more": page.offset.saturating_add(shown.len()) < all.len(),
        "messages": shown,
    });
    crate::serve::json(StatusCode::OK, &answer)
}

/// A Stromboli error answer (the spec's message routes say 400, 404, 500).
fn stromboli_refuse(e: &Error) -> Response<Body> {
    crate::serve::json(super::stromboli_status(e.kind), &e.to_json())
}

/// `GET /sessions/{id}/messages`: Stromboli's message items.
pub fn stromboli_page(home: &Home, name: &str, page: Page) -> Response<Body> {
    let all: Vec<Value> = match lines(home, name) {
        Ok((_, all)) => all.iter().filter_map(super::history::message).collect(),
        Err(e) => return stromboli_refuse(&e),
    };
    let shown: Vec<&Value> = all.iter().skip(page.offset).take(page.limit).collect();
    let answer = json!({
        "messages": shown,
        "total": all.len(),
        "offset": page.offset,
        "limit": page.limit,
        "has_more": page.offset.saturating_add(shown.len()) < all.len(),
    });
    crate::serve::json(StatusCode::OK, &answer)
}

/// `GET /sessions/{id}/messages/{message_id}`: one item, by its uuid.
pub fn stromboli_message(home: &Home, name: &str, id: &str) -> Response<Body> {
    let found = match lines(home, name) {
        Ok((_, all)) => all
            .iter()
            .filter_map(super::history::message)
            .find(|m| m["uuid"] == id),
        Err(e) => return stromboli_refuse(&e),
    };
    match found {
        Some(message) => crate::serve::json(StatusCode::OK, &json!({"message": message})),
        None => stromboli_refuse(&Error::not_found(format!(
            "session {name:?} has no message {id:?}"
        ))),
    }
}
