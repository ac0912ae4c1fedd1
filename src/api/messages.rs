//! `GET /v1/sessions/{name}/messages?offset&limit`: the agent's
//! conversation, read from its own transcript (JSON lines) in the worktree.
//! The worktree is the agent's, so nothing there is followed through a link.

use std::path::{Path, PathBuf};

use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::error;
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

pub fn messages(home: &Home, name: &str, offset: usize, limit: usize) -> Response<Body> {
    let spec = match home.load(name) {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::NOT_FOUND, e.message),
    };
    let Some(rel) = newest_transcript(&spec.worktree, spec.agent) else {
        let empty = json!({"session": name, "total": 0, "offset": offset, "messages": []});
        return crate::serve::json(StatusCode::OK, &empty);
    };
    let text = match crate::safe_fs::read_below(&spec.worktree, &rel, 64 << 20) {
        Ok(t) => t,
        Err(e) => {
            return error(
                StatusCode::CONFLICT,
                format!("the transcript cannot be read: {e}"),
            );
        }
    };
    let all: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let page: Vec<&Value> = all.iter().skip(offset).take(limit).collect();
    crate::serve::json(
        StatusCode::OK,
        &json!({"session": name, "transcript": rel, "total": all.len(), "offset": offset, "messages": page}),
    )
}
