//! MCP servers with their tokens kept outside, on a REAL Docker engine: a
//! local HTTPS stand-in plays a remote MCP server that wants a bearer
//! token; the container holds only a placeholder, and the stand-in gets
//! the real token through the proxy. A stdio server whose command the
//! image lacks gets a warning naming both.

use crate::common::upstream::{Upstream, test_pki_for};
use crate::common::{Env, docker, docker_ok, docker_ready, unique};

const REAL: &str = "Bearer mcp-REAL-token-4242";

/// The stand-in (its own CA, named mcp.test through `[proxy.resolve]`),
/// and a user whose ~/.claude.json has a remote and a stdio server.
struct Setup {
    env: Env,
    _upstream: Upstream,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki_for(dir.path(), &["mcp.test"]);
    let git_root = dir.path().join("git");
    std::fs::create_dir_all(&git_root).unwrap();
    let upstream = Upstream::start(dir.path(), &cert, &key, &git_root, "unused");
    let mut env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        format!(
            "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\nupstream_ca_file = {:?}\n[proxy.resolve]\n\"mcp.test\" = \"127.0.0.1:{}\"\n",
            ca.to_str().unwrap(),
            upstream.port
        ),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let servers = serde_json::json!({"mcpServers": {
        "docs": {"type": "http", "url": "https://mcp.test/mcp", "headers": {"Authorization": REAL}},
        "local": {"command": "no-such-mcp-server", "args": ["--stdio"]}
    }});
    std::fs::write(home.path().join(".claude.json"), servers.to_string()).unwrap();
    env.use_user_home(home.path());
    Setup {
        env,
        _upstream: upstream,
        _dirs: (dir, home),
    }
}

/// The placeholder the session's .claude.json holds for the server's token.
fn placeholder(c: &str) -> String {
    let state: serde_json::Value = serde_json::from_str(&docker_ok(&[
        "exec",
        c,
        "cat",
        "/clauderon/claude/.claude.json",
    ]))
    .unwrap();
    assert_eq!(state["mcpServers"]["docs"]["url"], "https://mcp.test/mcp");
    let p = state["mcpServers"]["docs"]["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(p.starts_with("clauderon-mcp-"), "{state}");
    p
}

#[test]
fn a_remote_mcp_servers_token_stays_outside() {
    if !docker_ready() {
        return;
    }
    let Setup { env, .. } = &setup();
    let name = unique("mcp");
    let run = env.create(&name, "hi", &[]).ok();
    assert!(
        run.stderr
            .contains("MCP server \"local\" runs `no-such-mcp-server`"),
        "{}",
        run.stderr
    );
    let c = format!("clauderon-{name}");
    let placeholder = placeholder(&c);
    // As Claude Code would call it: the header from its config.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let auth = format!("Authorization: {placeholder}");
    let out = docker_ok(&[
        "exec",
        &c,
        "curl",
        "-sS",
        "--fail",
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "https://mcp.test/mcp",
        "-d",
        body,
    ]);
    let seen: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        seen["headers"]["authorization"], REAL,
        "the stand-in gets the real token"
    );
    let found = docker(&[
        "exec",
        &c,
        "sh",
        "-c",
        "grep -rlsF mcp-REAL-token / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; true",
    ]);
    assert_eq!(String::from_utf8_lossy(&found.stdout).trim(), "");
    assert!(!docker_ok(&["container", "inspect", &c]).contains("mcp-REAL-token"));
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains(
            "docs (user, http): through the proxy, https://mcp.test/mcp, its token kept outside"
        ),
        "{status}"
    );
    assert!(
        status.contains("local (user, stdio): in the container: `no-such-mcp-server`"),
        "{status}"
    );
    env.run(&["delete", "--force", &name]).ok();
}
