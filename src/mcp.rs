//! MCP servers in a session. Remote ones (HTTP, SSE) from the user's Claude
//! Code configuration (user scope, `~/.claude.json`) and the repository's
//! `.mcp.json` go through the proxy: each header that holds a token becomes
//! a proxy rule for the server's host, the container holds a placeholder,
//! and the host is allowed only while the server is still configured.
//! Stdio ones run in the container when their command is in the image.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::proxy::rules::{Format, Rule, Source};

// The record's part (data) lives in spec/, which the session imports.
pub use crate::spec::mcp::{Scope, Server, Token};

/// What `create` found: the servers, the container's variables (a
/// `.mcp.json` header's `${VAR}` set to its placeholder), and notes.
#[derive(Debug, Default)]
pub struct Found {
    pub servers: Vec<Server>,
    pub env: Vec<(String, String)>,
    pub stdio_commands: Vec<(String, String)>,
    /// What `create` says about servers it leaves out.
    pub warnings: Vec<String>,
}

/// The user's Claude Code state file on this machine.
pub fn user_file() -> Option<PathBuf> {
    match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(Path::new(&dir).join(".claude.json")),
        None => std::env::var_os("HOME").map(|h| Path::new(&h).join(".claude.json")),
    }
}

fn servers_in(file: &Path) -> serde_json::Map<String, Value> {
    let read = std::fs::metadata(file)
        .ok()
        .filter(|m| m.is_file() && m.len() <= 16 * 1024 * 1024)
        .and_then(|_| std::fs::read(file).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    match read {
        Some(Value::Object(mut top)) => match top.remove("mcpServers") {
            Some(Value::Object(servers)) => servers,
            _ => serde_json::Map::new(),
        },
        _ => serde_json::Map::new(),
    }
}

/// Reads both scopes. `repo_root` holds `.mcp.json`.
pub fn gather(user: Option<&Path>, repo_root: &Path) -> Found {
    let mut found = Found::default();
    if let Some(file) = user {
        for (name, def) in servers_in(file) {
            one(&mut found, Scope::User, file, &name, &def);
        }
    }
    let project = repo_root.join(".mcp.json");
    for (name, def) in servers_in(&project) {
        one(&mut found, Scope::Project, &project, &name, &def);
    }
    found
}

fn placeholder() -> String {
    format!("clauderon-mcp-{}", &crate::session::new_token()[..24])
}

/// Does this header carry a credential?
fn holds_token(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || crate::session::looks_secret(&n)
        || crate::session::looks_like_token(value.trim_start_matches("Bearer "))
}

fn one(found: &mut Found, scope: Scope, file: &Path, name: &str, def: &Value) {
    let url = def["url"].as_str();
    let transport = def["type"]
        .as_str()
        .unwrap_or(if url.is_some() { "http" } else { "stdio" })
        .to_string();
    let mut server = Server {
        name: name.to_string(),
        scope,
        transport: transport.clone(),
        reached: String::new(),
        file: file.to_path_buf(),
        host: None,
        tokens: Vec::new(),
        definition: None,
    };
    if transport == "stdio" {
        return stdio(found, server, def);
    }
    let Some(host) = url.and_then(host_of) else {
        server.reached = "not reached: no http(s) URL".into();
        found.servers.push(server);
        return;
    };
    if scope == Scope::User && url.is_some_and(crate::session::url_has_credential) {
        left_out_for_its_url(found, server, file);
        return;
    }
    let mut definition = def.clone();
    if let Some(Value::Object(headers)) = def.get("headers") {
        for (header, value) in headers {
            let value = value.as_str().unwrap_or_default();
            if !holds_token(header, value) {
                continue;
            }
            token(found, &mut server, &mut definition, header, value);
        }
    }
    let kept = if server.tokens.is_empty() {
        String::new()
    } else {
        ", its token kept outside".into()
    };
    server.reached = format!("through the proxy, {}{kept}", url.unwrap_or_default());
    server.host = Some(host);
    if scope == Scope::User {
        server.definition = Some(definition);
    }
    found.servers.push(server);
}

/// A stdio server runs in the container: its command, and (user scope)
/// its definition without the variables that look like credentials.
fn stdio(found: &mut Found, mut server: Server, def: &Value) {
    let command = def["command"].as_str().unwrap_or_default().to_string();
    server.reached = format!("in the container: `{command}`");
    if server.scope == Scope::User {
        let (definition, dropped) = stdio_definition(def);
        server.definition = Some(definition);
        if !dropped.is_empty() {
            let said = secrets_left_out(&server.name, &server.file, &dropped);
            found.warnings.push(said);
        }
    }
    found.stdio_commands.push((server.name.clone(), command));
    found.servers.push(server);
}

/// A user's server whose URL holds its credential (`?token=`, `user:pw@`):
/// the container would hold it, so the session goes without the server.
fn left_out_for_its_url(found: &mut Found, mut server: Server, file: &Path) {
    server.reached = "left out: its URL holds a credential, which the container would hold".into();
    found.warnings.push(format!(
        "MCP server {:?} in {} is left out: its URL holds a credential (a password or a `token=`/`key=` parameter), which would be inside the container; give the credential in a header (\"headers\": {{\"Authorization\": ...}}), which the proxy keeps outside",
        server.name,
        file.display()
    ));
    found.servers.push(server);
}

/// A header's token: user scope, the whole value read from the user's
/// file at request time; project scope, the `${VAR}` it names, read from
/// the daemon's environment (the container's VAR holds the placeholder).
fn token(
    found: &mut Found,
    server: &mut Server,
    definition: &mut Value,
    header: &str,
    value: &str,
) {
    let placeholder = placeholder();
    let source = match server.scope {
        Scope::User => {
            definition["headers"][header] = Value::String(placeholder.clone());
            Source::McpHeader {
                file: server.file.clone(),
                server: server.name.clone(),
                header: header.to_string(),
            }
        }
        Scope::Project => {
            let Some(var) = env_reference(value) else {
                // A literal token committed to the repository: the agent has it already.
                return;
            };
            found.env.push((var.clone(), placeholder.clone()));
            Source::Env(vec![var])
        }
    };
    server.tokens.push(Token {
        header: header.to_ascii_lowercase(),
        placeholder,
        source,
    });
}

/// `Bearer ${GITHUB_TOKEN}` -> `GITHUB_TOKEN` (also `${VAR:-default}`).
fn env_reference(value: &str) -> Option<String> {
    let start = value.find("${")? + 2;
    let end = value[start..].find('}')? + start;
    let var = value[start..end].split(":-").next()?.to_string();
    let ok = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(var)
}

/// A stdio server's definition, without environment values that look like
/// credentials (the container holds none), and the names left out.
fn stdio_definition(def: &Value) -> (Value, Vec<String>) {
    let mut def = def.clone();
    let mut dropped = Vec::new();
    if let Some(Value::Object(env)) = def.get_mut("env") {
        env.retain(|k, v| {
            let secret = crate::session::looks_secret(k)
                || v.as_str().is_some_and(crate::session::looks_like_token);
            if secret {
                dropped.push(k.clone());
            }
            !secret
        });
    }
    (def, dropped)
}

/// Said at create: without them the server may fail inside the session.
fn secrets_left_out(name: &str, file: &Path, dropped: &[String]) -> String {
    format!(
        "MCP server {name:?} in {}: variables left out of the session as credentials: {} (a container holds no secrets), so the server may fail there; a remote (http) server's token in a header is kept outside by the proxy instead",
        file.display(),
        dropped.join(", ")
    )
}

/// The host of an `http(s)://` URL, lower-case.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_string(),
        None => host_port.split(':').next()?.to_string(),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A session's MCP servers as the proxy uses them.
#[derive(Debug, Default)]
pub struct SessionRules {
    pub servers: Vec<Server>,
    pub rules: Vec<Rule>,
    pub worktree: PathBuf,
}

impl SessionRules {
    pub fn of(spec: &crate::session::SessionSpec) -> SessionRules {
        SessionRules {
            rules: rules(&spec.mcp_servers),
            servers: spec.mcp_servers.clone(),
            worktree: spec.worktree.clone(),
        }
    }

    /// A host the policy does not allow is allowed while one of the
    /// session's servers on it is still configured (`deny_hosts` wins).
    pub fn allows(&self, host: &str, deny_hosts: &[String]) -> bool {
        !self.servers.is_empty()
            && !deny_hosts
                .iter()
                .any(|p| crate::proxy::rules::host_matches(p, host))
            && still_configured(&self.servers, host, &self.worktree)
    }
}

/// The proxy rules of a session's servers.
pub fn rules(servers: &[Server]) -> Vec<Rule> {
    servers
        .iter()
        .filter_map(|s| s.host.as_ref().map(|h| (s, h)))
        .flat_map(|(s, host)| {
            s.tokens.iter().map(move |t| Rule {
                host: host.clone(),
                header: t.header.clone(),
                format: Format::Text,
                placeholder: t.placeholder.clone(),
                source: t.source.clone(),
                scope: crate::proxy::rules::RuleScope::Bounds(Default::default()),
            })
        })
        .collect()
}

/// Is a server on `host` still configured where it was found (the user's
/// file, or `.mcp.json` in the session's worktree), with that host?
pub fn still_configured(servers: &[Server], host: &str, worktree: &Path) -> bool {
    servers.iter().any(|s| {
        s.host.as_deref() == Some(host) && {
            let file = match s.scope {
                Scope::User => s.file.clone(),
                Scope::Project => worktree.join(".mcp.json"),
            };
            servers_in(&file)
                .get(&s.name)
                .and_then(|d| d["url"].as_str().and_then(host_of))
                .is_some_and(|h| h == host)
        }
    })
}

/// A user-scope server's header, as the user's file has it now (`${VAR}`
/// expanded from this process's environment).
pub fn header_value(file: &Path, server: &str, header: &str) -> Option<String> {
    let servers = servers_in(file);
    let value = servers.get(server)?["headers"][header]
        .as_str()?
        .to_string();
    Some(expand_env(&value))
}

fn expand_env(value: &str) -> String {
    let mut out = value.to_string();
    while let Some(var) = env_reference(&out) {
        let pattern_start = out.find("${").unwrap_or(0);
        let end = out[pattern_start..]
            .find('}')
            .map(|e| e + pattern_start + 1)
            .unwrap_or(out.len());
        let replacement = std::env::var(&var).unwrap_or_default();
        out.replace_range(pattern_start..end, &replacement);
    }
    out
}

/// The container's variables for project-scope tokens: `VAR=placeholder`.
pub fn container_env(servers: &[Server]) -> Vec<(String, String)> {
    servers
        .iter()
        .filter(|s| s.scope == Scope::Project)
        .flat_map(|s| &s.tokens)
        .filter_map(|t| match &t.source {
            Source::Env(vars) => Some((vars.first()?.clone(), t.placeholder.clone())),
            _ => None,
        })
        .collect()
}

/// The `mcpServers` the session's `.claude.json` gets: the user's, with
/// placeholders (the repository's `.mcp.json` is in the worktree already).
pub fn user_definitions(servers: &[Server]) -> serde_json::Map<String, Value> {
    servers
        .iter()
        .filter(|s| s.scope == Scope::User)
        .filter_map(|s| Some((s.name.clone(), s.definition.clone()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("https://MCP.example.com:8443/mcp").as_deref(),
            Some("mcp.example.com")
        );
        assert_eq!(host_of("http://u:p@h.test/x").as_deref(), Some("h.test"));
        assert_eq!(host_of("ftp://x"), None);
    }

    #[test]
    fn tokens_stay_outside_and_hosts_only_while_configured() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join(".claude.json");
        let body = serde_json::json!({"mcpServers": {
            "docs": {"type": "http", "url": "https://mcp.test/mcp",
                     "headers": {"Authorization": "Bearer real-secret", "X-Client": "cli"}},
            "local": {"command": "mcp-local", "env": {"API_TOKEN": "ghp_x", "MODE": "a"}}
        }});
        std::fs::write(&user, body.to_string()).unwrap();
        std::fs::write(
            dir.path().join(".mcp.json"),
            r#"{"mcpServers": {"proj": {"type": "sse", "url": "https://p.test/sse", "headers": {"Authorization": "Bearer ${PROJ_TOKEN}"}}}}"#,
        )
        .unwrap();
        let found = gather(Some(&user), dir.path());
        let docs = found.servers.iter().find(|s| s.name == "docs").unwrap();
        let def = docs.definition.as_ref().unwrap();
        assert!(!def.to_string().contains("real-secret"));
        assert_eq!(def["headers"]["X-Client"], "cli");
        assert_eq!(
            header_value(&user, "docs", "Authorization").as_deref(),
            Some("Bearer real-secret")
        );
        let local = found.servers.iter().find(|s| s.name == "local").unwrap();
        assert_eq!(
            local.definition.as_ref().unwrap()["env"],
            serde_json::json!({"MODE": "a"})
        );
        let said = format!(
            "MCP server \"local\" in {}: variables left out of the session as credentials: API_TOKEN (a container holds no secrets), so the server may fail there; a remote (http) server's token in a header is kept outside by the proxy instead",
            user.display()
        );
        assert_eq!(found.warnings, [said]);
        assert_eq!(found.env[0].0, "PROJ_TOKEN");
        assert_eq!(rules(&found.servers).len(), 2);
        assert!(still_configured(&found.servers, "mcp.test", dir.path()));
        std::fs::write(&user, "{}").unwrap();
        assert!(!still_configured(&found.servers, "mcp.test", dir.path()));
        assert!(still_configured(&found.servers, "p.test", dir.path()));
        assert!(!still_configured(&found.servers, "other.test", dir.path()));
    }
}
