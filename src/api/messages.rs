//! `GET /v1/sessions/{name}/messages?offset&limit`: the agent's
//! conversation, read from its own transcript (JSON lines) in the worktree.
//! The worktree is the agent's, so nothing there is followed through a link.

use std::path::{Path, PathBuf};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::refuse;
use super::routes::Query;
use crate::error::Error;
use crate::serve::Body;
use crate::session::Agent;
use crate::store::Home;

/// The newest transcript: Claude Code's `.claude/projects/*/*.jsonl`,
/// Codex's `.codex/sessions/YYYY/MM/DD/*.jsonl` (relative to the worktree).
fn newest_transcript(worktree: &Path, agent: Agent) -> Option<PathBuf> {
    let (base, depth) = match agent {
        Agent::Claude => (".claude/projects", 1),
        Agent::Codex => (".codex/sessions", 3),
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    collect(worktree, Path::new(base), depth, &mut found);
    found.into_iter().max().map(|(_, p)| p)
}

/// `.jsonl` files `depth` real directories below `rel`, never through a link.
fn collect(root: &Path, rel: &Path, depth: u32, found: &mut Vec<(std::time::SystemTime, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let child = rel.join(entry.file_name());
        if depth > 0 && meta.is_dir() {
            collect(root, &child, depth - 1, found);
        } else if depth == 0 && meta.is_file() && child.extension().is_some_and(|e| e == "jsonl") {
            found.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), child));
        }
    }
}

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
    let Some(rel) = newest_transcript(&spec.worktree, spec.agent) else {
        return Ok((None, Vec::new()));
    };
    let text = crate::safe_fs::read_below(&spec.worktree, &rel, 64 << 20)
        .map_err(|e| Error::failed(format!("the transcript cannot be read: {e}")))?;
    let all = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
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
