//! A line of Claude Code's transcript as Stromboli's message item
//! (`stromboli_internal_history.Message`): the user's and the agent's
//! turns and queue operations, with their content blocks, usage and tool
//! results. Lines of other kinds (summaries, snapshots) are not messages.
//! A field the line does not have is left out, never `null`.

use serde_json::{Map, Value, json};

/// Copies `from[src]` into `to[dst]` when it has the JSON type `keep` wants.
fn copy(to: &mut Map<String, Value>, dst: &str, from: &Value, src: &str, keep: fn(&Value) -> bool) {
    if let Some(v) = from.get(src).filter(|v| keep(v)) {
        to.insert(dst.to_string(), v.clone());
    }
}

fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// One content block: text, tool_use (id, name, input), tool_result
/// (tool_use_id, content as text, is_error), thinking.
fn block(b: &Value) -> Value {
    if let Value::String(text) = b {
        return json!({"type": "text", "text": text});
    }
    let mut out = Map::new();
    copy(&mut out, "type", b, "type", Value::is_string);
    copy(&mut out, "text", b, "text", Value::is_string);
    copy(&mut out, "text", b, "thinking", Value::is_string);
    copy(&mut out, "id", b, "id", Value::is_string);
    copy(&mut out, "name", b, "name", Value::is_string);
    copy(&mut out, "input", b, "input", Value::is_object);
    copy(&mut out, "tool_use_id", b, "tool_use_id", Value::is_string);
    copy(&mut out, "is_error", b, "is_error", Value::is_boolean);
    if let Some(text) = b.get("content").and_then(text_of) {
        out.insert("content".into(), json!(text));
    }
    Value::Object(out)
}

fn usage(u: &Value) -> Value {
    let mut out = Map::new();
    for k in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        copy(&mut out, k, u, k, Value::is_i64);
    }
    Value::Object(out)
}

/// The line's `message` as Stromboli's `MessageContent`.
fn content(m: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, "role", m, "role", Value::is_string);
    copy(&mut out, "model", m, "model", Value::is_string);
    copy(&mut out, "message_id", m, "id", Value::is_string);
    copy(&mut out, "stop_reason", m, "stop_reason", Value::is_string);
    if let Some(u) = m.get("usage").filter(|u| u.is_object()) {
        out.insert("usage".into(), usage(u));
    }
    let blocks = match m.get("content") {
        Some(Value::Array(items)) => items.iter().map(block).collect(),
        Some(text @ Value::String(_)) => vec![block(text)],
        _ => Vec::new(),
    };
    out.insert("content".into(), Value::Array(blocks));
    Value::Object(out)
}

fn tool_result(r: &Value) -> Value {
    let mut out = Map::new();
    copy(&mut out, "stdout", r, "stdout", Value::is_string);
    copy(&mut out, "stderr", r, "stderr", Value::is_string);
    copy(&mut out, "interrupted", r, "interrupted", Value::is_boolean);
    copy(&mut out, "is_image", r, "isImage", Value::is_boolean);
    Value::Object(out)
}

/// The transcript line as a message item, or None when it is not one.
pub fn message(line: &Value) -> Option<Value> {
    let kind = line.get("type")?.as_str()?;
    if !matches!(kind, "user" | "assistant" | "queue-operation") {
        return None;
    }
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    let fields = [
        ("uuid", "uuid"),
        ("parent_uuid", "parentUuid"),
        ("session_id", "sessionId"),
        ("timestamp", "timestamp"),
        ("cwd", "cwd"),
        ("git_branch", "gitBranch"),
        ("version", "version"),
        ("permission_mode", "permissionMode"),
    ];
    for (dst, src) in fields {
        copy(&mut out, dst, line, src, Value::is_string);
    }
    if let Some(m) = line.get("message").filter(|m| m.is_object()) {
        out.insert("content".into(), content(m));
    }
    if let Some(r) = line.get("toolUseResult").filter(|r| r.is_object()) {
        out.insert("tool_result".into(), tool_result(r));
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_become_stromboli_items_without_nulls() {
        let line = json!({
            "type": "assistant", "uuid": "u2", "parentUuid": "u1", "sessionId": "s",
            "timestamp": "2026-01-24T10:06:42.906Z", "cwd": "/workspace", "gitBranch": "main",
            "version": "2.1.19", "permissionMode": "bypassPermissions",
            "message": {"role": "assistant", "model": "m", "id": "msg_1", "stop_reason": null,
                "usage": {"input_tokens": 3, "output_tokens": 4, "service_tier": "standard"},
                "content": [{"type": "text", "text": "hi"},
                    {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]},
        });
        let item = message(&line).unwrap();
        assert_eq!(item["parent_uuid"], "u2".replace('2', "1"));
        assert_eq!(item["content"]["message_id"], "msg_1");
        assert!(item["content"].get("stop_reason").is_none());
        assert_eq!(
            item["content"]["usage"],
            json!({"input_tokens": 3, "output_tokens": 4})
        );
        assert_eq!(item["content"]["content"][1]["name"], "Bash");
        let result = json!({"type": "user", "uuid": "u3", "parentUuid": null,
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                "content": [{"type": "text", "text": "a.txt"}], "is_error": false}]},
            "toolUseResult": {"stdout": "a.txt", "stderr": "", "interrupted": false, "isImage": false}});
        let item = message(&result).unwrap();
        assert!(item.get("parent_uuid").is_none());
        assert_eq!(item["content"]["content"][0]["content"], "a.txt");
        assert_eq!(item["tool_result"]["is_image"], false);
        assert!(message(&json!({"type": "summary"})).is_none());
    }
}
