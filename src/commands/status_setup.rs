//! `status`'s part about the user's setup: the devcontainer.json the
//! session came from, the agent configuration brought in, the MCP servers.

use serde_json::{Value, json};

use crate::session::SessionSpec;

pub fn view(spec: &SessionSpec) -> Value {
    json!({
        "devcontainer": spec.devcontainer,
        "user_config": spec.user_config.as_ref().map(|u| json!({
            "from": u.from,
            "container_dir": crate::user_config::container_dir(spec.agent),
            "brought": u.brought,
            "left_out": u.left_out,
        })),
        "mcp_servers": spec.mcp_servers.iter().map(|m| json!({
            "name": m.name,
            "scope": m.scope,
            "transport": m.transport,
            "host": m.host,
            "reached": m.reached,
            "token_headers": m.tokens.iter().map(|t| &t.header).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

pub fn print(v: &Value) {
    let lines = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(String::from))
            .collect()
    };
    let dc = &v["devcontainer"];
    if let Some(file) = dc["file"].as_str() {
        let built = dc["built_image"]
            .as_str()
            .map(|t| format!(", image built as {t}"))
            .unwrap_or_default();
        println!("\nDevcontainer {file}{built}");
        for l in lines(&dc["left_out"]) {
            println!("  {}", l.trim_start_matches("devcontainer.json: "));
        }
    }
    let uc = &v["user_config"];
    if let Some(from) = uc["from"].as_str() {
        let brought = lines(&uc["brought"]);
        let what = if brought.is_empty() {
            "nothing found".to_string()
        } else {
            brought.join(", ")
        };
        println!(
            "\nYour config {from} -> {} (this session's own copy): {what}",
            uc["container_dir"].as_str().unwrap_or_default()
        );
        for l in lines(&uc["left_out"]) {
            println!("  left out: {l}");
        }
    }
    let servers = v["mcp_servers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !servers.is_empty() {
        println!("\nMCP servers");
    }
    for m in servers {
        println!(
            "  {} ({}, {}): {}",
            m["name"].as_str().unwrap_or_default(),
            m["scope"].as_str().unwrap_or_default(),
            m["transport"].as_str().unwrap_or_default(),
            m["reached"].as_str().unwrap_or_default()
        );
    }
}
