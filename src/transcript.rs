//! The agent's conversation, read from its own transcript: Claude Code's
//! session file (`.claude/projects/*/*.jsonl`) or Codex's rollout file
//! (`.codex/sessions/YYYY/MM/DD/*.jsonl`) in the worktree. One parser for
//! `clauderon transcript` and the HTTP API's `/messages`. The worktree is
//! the agent's, so nothing there is followed through a link.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::session::Agent;

/// The largest transcript read.
pub const MAX_BYTES: u64 = 64 << 20;

/// Where the agent keeps its conversations: the worktree (`HOME`), and the
/// session's copy of the user's agent configuration when it has one (the
/// agent's `CLAUDE_CONFIG_DIR` / `CODEX_HOME`); with the path below each.
fn state_dirs(
    home: &crate::store::Home,
    spec: &crate::session::SessionSpec,
) -> Vec<(PathBuf, &'static str)> {
    let (in_worktree, in_config) = match spec.agent {
        Agent::Claude => (".claude/projects", "projects"),
        Agent::Codex => (".codex/sessions", "sessions"),
    };
    let mut dirs = vec![(spec.worktree.clone(), in_worktree)];
    if spec.user_config.is_some() {
        dirs.push((
            crate::user_config::host_dir(home, &spec.name, spec.agent),
            in_config,
        ));
    }
    dirs
}

/// The session's newest transcript: (the directory it is below, its path
/// relative to that directory).
pub fn locate(
    home: &crate::store::Home,
    spec: &crate::session::SessionSpec,
) -> Option<(PathBuf, PathBuf)> {
    let depth = match spec.agent {
        Agent::Claude => 1,
        Agent::Codex => 3,
    };
    let mut newest: Option<(std::time::SystemTime, PathBuf, PathBuf)> = None;
    for (root, base) in state_dirs(home, spec) {
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        collect(&root, Path::new(base), depth, &mut found);
        if let Some((t, rel)) = found.into_iter().max()
            && newest.as_ref().is_none_or(|(n, _, _)| t > *n)
        {
            newest = Some((t, root, rel));
        }
    }
    newest.map(|(_, root, rel)| (root, rel))
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

/// The transcript's records (one JSON value per line; a line that is not
/// JSON, such as one still being written, is left out).
pub fn records(worktree: &Path, rel: &Path) -> std::io::Result<Vec<Value>> {
    let text = crate::safe_fs::read_below(worktree, rel, MAX_BYTES)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Prompt,
    Assistant,
    ToolCall,
    ToolResult,
}

/// One readable item of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The tool's name (tool calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The text; a tool call's one-line summary of its input; a tool
    /// result's output, cut to `RESULT_LINES` lines with a marker.
    pub text: String,
}

/// Lines of a tool result shown before the cut.
pub const RESULT_LINES: usize = 8;
const RESULT_CHARS: usize = 800;
const SUMMARY_CHARS: usize = 120;

pub fn entries(agent: Agent, records: &[Value]) -> Vec<Entry> {
    let mut out = Vec::new();
    for r in records {
        let time = r["timestamp"].as_str().map(String::from);
        match agent {
            Agent::Claude => claude_record(r, time, &mut out),
            Agent::Codex => codex_record(r, time, &mut out),
        }
    }
    out
}

fn push(
    out: &mut Vec<Entry>,
    kind: Kind,
    time: &Option<String>,
    tool: Option<String>,
    text: String,
) {
    let text = match kind {
        Kind::ToolResult => truncate(&clean(&text)),
        Kind::ToolCall => one_line(&clean(&text)),
        _ => clean(&text),
    };
    if text.trim().is_empty() && kind != Kind::ToolResult && kind != Kind::ToolCall {
        return;
    }
    out.push(Entry {
        kind,
        time: time.clone(),
        tool,
        text,
    });
}

/// Claude Code: `{"type":"user"|"assistant","message":{"content":...}}`.
fn claude_record(r: &Value, time: Option<String>, out: &mut Vec<Entry>) {
    let role = r["type"].as_str().unwrap_or("");
    if !matches!(role, "user" | "assistant") || r["isMeta"] == Value::Bool(true) {
        return;
    }
    let content = &r["message"]["content"];
    if let Some(text) = content.as_str() {
        let kind = if role == "user" {
            Kind::Prompt
        } else {
            Kind::Assistant
        };
        return push(out, kind, &time, None, text.to_string());
    }
    for block in content.as_array().into_iter().flatten() {
        match block["type"].as_str().unwrap_or("") {
            "text" if role == "user" => push(out, Kind::Prompt, &time, None, text_of(block)),
            "text" => push(out, Kind::Assistant, &time, None, text_of(block)),
            "tool_use" => {
                let name = block["name"].as_str().unwrap_or("tool").to_string();
                let summary = summarize(&name, &block["input"]);
                push(out, Kind::ToolCall, &time, Some(name), summary)
            }
            "tool_result" => push(
                out,
                Kind::ToolResult,
                &time,
                None,
                flatten(&block["content"]),
            ),
            _ => {}
        }
    }
}

/// Codex: `{"type":"response_item","payload":{...}}` (messages, function
/// calls and their output); its other records repeat these or are metadata.
fn codex_record(r: &Value, time: Option<String>, out: &mut Vec<Entry>) {
    if r["type"] != "response_item" {
        return;
    }
    let p = &r["payload"];
    match p["type"].as_str().unwrap_or("") {
        "message" => {
            let kind = match p["role"].as_str() {
                Some("user") => Kind::Prompt,
                Some("assistant") => Kind::Assistant,
                _ => return,
            };
            let text = flatten(&p["content"]);
            // Codex hands the model its context as tagged user messages.
            if kind == Kind::Prompt && text.trim_start().starts_with('<') {
                return;
            }
            push(out, kind, &time, None, text)
        }
        "function_call" | "custom_tool_call" | "local_shell_call" => {
            let name = p["name"].as_str().unwrap_or("shell").to_string();
            let input = match &p["arguments"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
                Value::Null => p["input"].clone(),
                v => v.clone(),
            };
            let input = if input.is_null() {
                p["action"].clone()
            } else {
                input
            };
            push(
                out,
                Kind::ToolCall,
                &time,
                Some(name.clone()),
                summarize(&name, &input),
            )
        }
        "function_call_output" | "custom_tool_call_output" => {
            let output = &p["output"];
            let text = match output {
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .ok()
                    .and_then(|v| v["output"].as_str().map(String::from))
                    .unwrap_or_else(|| s.clone()),
                v => flatten(v),
            };
            push(out, Kind::ToolResult, &time, None, text)
        }
        _ => {}
    }
}

fn text_of(block: &Value) -> String {
    block["text"].as_str().unwrap_or("").to_string()
}

/// Text from a string, or from an array of blocks with `text`.
fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b["text"].as_str().or(b.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A tool call's input in one line: the command, the file, the pattern.
fn summarize(tool: &str, input: &Value) -> String {
    let field = |k: &str| input[k].as_str().map(String::from);
    let command = match &input["command"] {
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        v => v.as_str().map(String::from),
    };
    let text = command
        .or_else(|| field("file_path"))
        .or_else(|| field("path"))
        .or_else(|| field("pattern"))
        .or_else(|| field("url"))
        .or_else(|| field("description"))
        .or_else(|| input.as_str().map(String::from))
        .unwrap_or_else(|| input.to_string());
    let _ = tool;
    let mut line = one_line(&text);
    if line.chars().count() > SUMMARY_CHARS {
        line = line.chars().take(SUMMARY_CHARS).collect::<String>() + "…";
    }
    line
}

fn one_line(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("").trim().to_string();
    match lines.next() {
        Some(_) => format!("{first} …"),
        None => first,
    }
}

fn truncate(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown: String = lines
        .iter()
        .take(RESULT_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let mut cut = lines.len().saturating_sub(RESULT_LINES);
    if shown.chars().count() > RESULT_CHARS {
        shown = shown.chars().take(RESULT_CHARS).collect();
        cut = cut.max(1);
    }
    if cut > 0 || shown.len() < text.trim_end().len() {
        shown.push_str(&format!(
            "\n[… output truncated: {} line(s) in all]",
            lines.len()
        ));
    }
    shown
}

/// The agent's text without terminal escape sequences or other control
/// characters (newlines and tabs kept).
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Skips the rest of an escape sequence: CSI (`ESC [ ... final`), OSC
/// (`ESC ] ... BEL|ESC \`), or one character.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_removed_and_results_cut() {
        assert_eq!(
            clean("a\u{1b}[31mred\u{1b}[0m\u{1b}]0;title\u{7}b\r\n"),
            "aredb\n"
        );
        let long: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let cut = truncate(&long);
        assert!(cut.contains("line 7") && !cut.contains("line 8"), "{cut}");
        assert!(
            cut.ends_with("[… output truncated: 20 line(s) in all]"),
            "{cut}"
        );
        assert_eq!(truncate("short"), "short");
    }
}
