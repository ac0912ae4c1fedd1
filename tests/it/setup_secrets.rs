//! The user's logins stay outside a session whatever the user's setup
//! says: a repository's devcontainer.json that mounts the agent's or
//! `gh`'s login directory is refused even when `[mounts] allowed_roots`
//! covers the home; the user's settings.json `env` loses the credentials
//! a header or a URL carries.

use crate::common::{BASE_IMAGE, Env};

/// A temporary HOME holding the logins a devcontainer.json might mount.
fn home_with_logins(env: &mut Env) -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix("clauderon-user")
        .tempdir()
        .unwrap();
    for dir in [".claude", ".codex", ".config/gh"] {
        std::fs::create_dir_all(home.path().join(dir)).unwrap();
    }
    std::fs::write(home.path().join(".claude/.credentials.json"), "{}").unwrap();
    std::fs::write(home.path().join(".claude.json"), "{}").unwrap();
    std::fs::write(home.path().join(".netrc"), "machine x password y\n").unwrap();
    env.append_config(&format!(
        "[mounts]\nallowed_roots = [\"{}\"]\n",
        home.path().display()
    ));
    env.use_user_home(home.path());
    home
}

/// Each login directory or file, mounted by the repository's
/// devcontainer.json under an allowed root, is refused naming the store.
#[test]
fn devcontainer_mounts_of_the_users_logins_are_refused() {
    let mut env = Env::new();
    let home = home_with_logins(&mut env);
    let repo = env.repo().display().to_string();
    for store in [
        "~/.claude",
        "~/.claude.json",
        "~/.codex",
        "~/.config/gh",
        "~/.netrc",
    ] {
        let rel = store.trim_start_matches("~/");
        let body = format!(
            r#"{{ "image": "{BASE_IMAGE}", "mounts": ["source=${{localEnv:HOME}}/{rel},target=/mnt/login,type=bind"] }}"#
        );
        std::fs::create_dir_all(env.repo().join(".devcontainer")).unwrap();
        std::fs::write(env.repo().join(".devcontainer/devcontainer.json"), body).unwrap();
        let r = env
            .run(&["create", "--repo", &repo, "--prompt", "hi", "--dry-run"])
            .fails();
        let host = home.path().join(rel);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_eq!(
            r.stderr,
            format!(
                "clauderon: error: .devcontainer/devcontainer.json: --mount \"{host}:/mnt/login\": {host} is, is in or holds the secret store {store}, which sessions do not get\n  fix: use something else; or, if the agent must have it, add it to config.toml: [mounts] allow_secret_stores = [\"{store}\"]\n",
                host = host.display()
            )
        );
    }
}

/// settings.json `env` entries whose values carry a credential (a header,
/// a URL's password) are removed like the ones named like a credential:
/// neither in the dry run nor in the session's copy; the others stay.
#[test]
fn settings_env_credentials_in_headers_and_urls_stay_outside() {
    let mut env = Env::new();
    let home = home_with_logins(&mut env);
    let settings = serde_json::json!({"env": {
        "ANTHROPIC_CUSTOM_HEADERS": "Authorization: Bearer hdr-secret-1",
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer otel-secret-2",
        "ANTHROPIC_BASE_URL": "https://bob:url-secret-3@gw.example.com/v1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318",
        "EDITOR": "vim"
    }});
    std::fs::write(
        home.path().join(".claude/settings.json"),
        settings.to_string(),
    )
    .unwrap();
    let dry = env.create("s", "hi", &["--dry-run"]).ok().stdout;
    for secret in ["hdr-secret-1", "otel-secret-2", "url-secret-3"] {
        assert!(!dry.contains(secret), "{secret} in the dry run:\n{dry}");
    }
    let start = dry.find("agent-config/claude/settings.json <<").unwrap();
    let copied = &dry[start..];
    let copied = &copied[copied.find('\n').unwrap() + 1..copied.find("CLAUDERON_EOF\n").unwrap()];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(copied).unwrap(),
        serde_json::json!({"env": {
            "EDITOR": "vim",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318"
        }})
    );
}

/// A user's MCP server whose URL holds its credential is left out, with
/// a warning saying why and how to keep it outside; a server with the
/// token in a header still comes, with a placeholder.
#[test]
fn mcp_server_with_a_credential_in_its_url_is_left_out() {
    let mut env = Env::new();
    let home = home_with_logins(&mut env);
    let user_file = home.path().join(".claude.json");
    let servers = serde_json::json!({"mcpServers": {
        "q": {"type": "sse", "url": "https://sse.example.com/sse?api_key=url-secret-4"},
        "h": {"type": "http", "url": "https://h.example.com/mcp",
              "headers": {"Authorization": "Bearer hdr-secret-5"}}
    }});
    std::fs::write(&user_file, servers.to_string()).unwrap();
    let r = env.create("m", "hi", &["--dry-run"]).ok();
    for secret in ["url-secret-4", "hdr-secret-5"] {
        assert!(!r.stdout.contains(secret), "{secret}:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("\"url\": \"https://h.example.com/mcp\""));
    let warning = format!(
        "clauderon: warning: MCP server \"q\" in {} is left out: its URL holds a credential (a password or a `token=`/`key=` parameter), which would be inside the container; give the credential in a header (\"headers\": {{\"Authorization\": ...}}), which the proxy keeps outside\n",
        user_file.display()
    );
    assert!(r.stderr.contains(&warning), "{}", r.stderr);
}

/// `[agent] user_config = false` leaves out your MCP servers too, as
/// `--no-user-config` does: they are part of your configuration.
#[test]
fn user_config_off_in_config_leaves_out_your_mcp_servers() {
    let mut env = Env::new();
    let home = home_with_logins(&mut env);
    let servers = serde_json::json!({"mcpServers": {
        "h": {"type": "http", "url": "https://h.example.com/mcp",
              "headers": {"Authorization": "Bearer hdr-secret-6"}}
    }});
    std::fs::write(home.path().join(".claude.json"), servers.to_string()).unwrap();
    let on = env.create("m", "hi", &["--dry-run"]).ok();
    assert!(
        on.stdout.contains("https://h.example.com/mcp"),
        "{}",
        on.stdout
    );
    env.append_config("[agent]\nuser_config = false\n");
    let off = env.create("m", "hi", &["--dry-run"]).ok();
    assert!(!off.stdout.contains("h.example.com"), "{}", off.stdout);
}

/// An engine socket that CONTAINER_HOST names keeps its directory out of
/// a session, as the engines' usual sockets do.
#[test]
fn a_directory_holding_the_socket_container_host_names_is_refused() {
    let mut env = Env::new();
    let home = home_with_logins(&mut env);
    let dir = home.path().join("engine");
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("podman.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    env.extra_env.push((
        "CONTAINER_HOST".into(),
        format!("unix://{}", socket.display()),
    ));
    let mount = format!("{}:/engine", dir.display());
    let r = env
        .create("s", "hi", &["--mount", &mount, "--dry-run"])
        .fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let expected = format!(
        "clauderon: error: --mount {mount:?}: {0} is or holds the socket {1}: a socket reaches a service of this host (an engine's gives root on it), which sessions do not get\n  fix: leave the socket out of the session (mount a directory that does not hold one)\n",
        dir.display(),
        socket.display()
    );
    assert_eq!(r.stderr, expected);
}
