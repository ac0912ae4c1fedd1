//! The credential proxy with REAL clients: curl and git inside a real
//! container, through the daemon's proxy, to a local HTTPS server that plays
//! the upstream (tests/support/upstream.py) with its own CA.

use std::process::Command;

use crate::common::upstream::{Upstream, test_pki};
use crate::common::{Env, docker, docker_ok, docker_ready, git, unique};
use serde_json::Value;

const SECRET: &str = "ghp_REALsecretVALUE0123456789";

struct Setup {
    env: Env,
    upstream: Upstream,
    _dir: tempfile::TempDir,
}

fn setup(extra_proxy_config: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(dir.path());
    let git_root = dir.path().join("git");
    std::fs::create_dir_all(&git_root).unwrap();
    let upstream = Upstream::start(dir.path(), &cert, &key, &git_root, SECRET);
    // A repository the upstream serves as github.com/org/repo.git.
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("hello.txt"), "from upstream\n").unwrap();
    git(&src, &["add", "."]);
    git(&src, &["commit", "-q", "-m", "upstream commit"]);
    let bare = git_root.join("org/repo.git");
    let out = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&src)
        .arg(&bare)
        .output()
        .unwrap();
    assert!(out.status.success());

    let mut env = Env::new();
    // The session's repository is github.com/org/repo: its GitHub credential opens it.
    git(
        env.repo(),
        &["remote", "add", "origin", "https://github.com/org/repo.git"],
    );
    let at = format!("127.0.0.1:{}", upstream.port);
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\nupstream_ca_file = {:?}\n{extra_proxy_config}\n[proxy.resolve]\n\"github.com\" = \"{at}\"\n\"api.github.com\" = \"{at}\"\n\"api.anthropic.com\" = \"{at}\"\n\"tunnel.test\" = \"{at}\"\n\"denied.test\" = \"{at}\"\n",
        ca.to_str().unwrap()
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    // The daemon that create starts inherits these.
    env.extra_env.push(("GH_TOKEN".into(), SECRET.into()));
    env.extra_env.push((
        "ANTHROPIC_API_KEY".into(),
        "sk-ant-api03-REALanthropicKEY".into(),
    ));
    Setup {
        env,
        upstream,
        _dir: dir,
    }
}

fn exec(container: &str, script: &str) -> (i32, String, String) {
    let out = docker(&["exec", container, "bash", "-c", script]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The container holds placeholders only, and trusts the proxy's CA.
fn assert_placeholders_only(container: &str) {
    let inspect = docker_ok(&["container", "inspect", container]);
    assert!(
        !inspect.contains(SECRET) && !inspect.contains("REALanthropicKEY"),
        "a secret is in docker inspect"
    );
    let (_, env_out, _) = exec(container, "env");
    assert!(env_out.contains("GH_TOKEN=clauderon-proxy"), "{env_out}");
    assert!(
        env_out.contains("ANTHROPIC_API_KEY=sk-ant-api03-clauderon-proxy-placeholder"),
        "{env_out}"
    );
    assert!(!env_out.contains(SECRET));
    assert!(env_out.contains("SSL_CERT_FILE=/etc/clauderon/proxy-ca-bundle.pem"));
    assert!(env_out.contains("NODE_EXTRA_CA_CERTS=/etc/clauderon/proxy-ca.pem"));
}

/// Placeholders in headers are swapped for the real secrets on the way
/// out; the Host inside the tunnel is the CONNECT target's; a request
/// with its own credential is left alone.
fn assert_headers_swapped(container: &str) {
    // curl through the proxy: GitHub API with the placeholder token.
    let (code, out, err) = exec(
        container,
        r#"curl -sS --fail -H "Authorization: token $GH_TOKEN" https://api.github.com/user"#,
    );
    assert_eq!(code, 0, "{out}{err}");
    let seen: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        seen["headers"]["authorization"],
        format!("token {SECRET}"),
        "upstream sees the real secret"
    );
    // Anthropic API key header.
    let (code, out, err) = exec(
        container,
        r#"curl -sS --fail -H "x-api-key: $ANTHROPIC_API_KEY" https://api.anthropic.com/v1/messages -d '{}'"#,
    );
    assert_eq!(code, 0, "{out}{err}");
    let seen: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        seen["headers"]["x-api-key"],
        "sk-ant-api03-REALanthropicKEY"
    );
    // The Host header inside the tunnel always names the CONNECT target.
    let (_, out, _) = exec(
        container,
        r#"curl -sS -H "Host: evil.example" -H "Authorization: token $GH_TOKEN" https://api.github.com/user"#,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["headers"]["host"],
        "api.github.com",
        "{out}"
    );
    // A request with its own credential is left alone.
    let (_, out, _) = exec(
        container,
        r#"curl -sS -H "Authorization: Bearer mine" https://api.github.com/x"#,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["headers"]["authorization"],
        "Bearer mine"
    );
}

/// A tunnelled (not intercepted) host verifies with the container's CA
/// settings; without the session's proxy credentials: 407, and nothing
/// reaches upstream.
fn assert_tunnels_and_proxy_credentials(s: &Setup, container: &str) {
    let (code, out, err) = exec(container, "curl -sS --fail https://tunnel.test/plain");
    assert_eq!(code, 0, "{out}{err}");
    let seen: Value = serde_json::from_str(&out).unwrap();
    assert!(seen["headers"].get("authorization").is_none());

    // Without the session's proxy credentials: 407, nothing reaches upstream.
    let before = s.upstream.requests().len();
    let (_, out, _) = exec(
        container,
        r#"curl -s -o /dev/null -w '%{http_connect}' --proxy "http://${CLAUDERON_HOST}:${HTTPS_PROXY##*:}" https://api.github.com/"#,
    );
    assert_eq!(out.trim(), "407");
    let (_, out, _) = exec(
        container,
        r#"curl -s -o /dev/null -w '%{http_connect}' --proxy "http://x:wrong@${CLAUDERON_HOST}:${HTTPS_PROXY##*:}" https://api.github.com/"#,
    );
    assert_eq!(out.trim(), "407");
    assert_eq!(s.upstream.requests().len(), before);
}

/// Streaming arrives as it is sent, not at the end.
fn assert_streamed(container: &str) {
    let (code, out, err) = exec(
        container,
        r#"curl -sSN https://api.github.com/stream | while IFS= read -r l; do if [ -n "$l" ]; then date +%s%N; fi; done"#,
    );
    assert_eq!(code, 0, "{err}");
    let stamps: Vec<u128> = out.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(stamps.len(), 5, "{out}");
    let spread_ms = (stamps[4] - stamps[0]) / 1_000_000;
    assert!(
        spread_ms >= 900,
        "chunks arrived together ({spread_ms} ms apart): the proxy buffered"
    );
}

/// git clone over HTTPS with injected Basic credentials.
fn assert_git_clones_with_credentials(s: &Setup, container: &str) {
    let (code, out, err) = exec(
        container,
        "cd /tmp && git clone -q https://github.com/org/repo.git && cat repo/hello.txt",
    );
    assert_eq!(
        (code, out.trim()),
        (0, "from upstream"),
        "{err}\nupstream saw: {:#?}",
        s.upstream
            .requests()
            .iter()
            .filter(|r| r["path"].as_str().unwrap().contains(".git/"))
            .map(|r| (
                r["method"].clone(),
                r["path"].clone(),
                r["headers"]["authorization"].clone(),
                r["headers"]["git-protocol"].clone(),
                r["headers"]["content-encoding"].clone()
            ))
            .collect::<Vec<_>>()
    );
    let git_requests: Vec<Value> = s
        .upstream
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().contains(".git/"))
        .collect();
    assert!(
        git_requests
            .iter()
            .any(|r| r["headers"]["authorization"].is_string()),
        "git authenticated"
    );
}

/// The audit log has the injected requests and no secret; nor have the
/// daemon's log and dry-run output.
fn assert_audited_without_secrets(s: &Setup, name: &str) {
    let audit = std::fs::read_to_string(s.env.home().join("audit.jsonl")).unwrap();
    assert!(!audit.contains(SECRET) && !audit.contains("REALanthropicKEY"));
    let log = s
        .env
        .run(&["proxy", "log", "--json", "--session", name])
        .ok()
        .stdout;
    let entries: Vec<Value> = serde_json::from_str(&log).unwrap();
    assert!(entries.iter().any(|e| e["host"] == "api.github.com"
        && e["credential"] == "injected"
        && e["status"] == 200));
    assert!(
        entries
            .iter()
            .any(|e| e["host"] == "tunnel.test:443" && e["credential"] == "tunnel")
    );
    // Nor in the daemon's log, nor in dry-run output.
    let daemon_log = std::fs::read_to_string(s.env.home().join("daemon.log")).unwrap_or_default();
    assert!(!daemon_log.contains(SECRET));
    let dry = s.env.create(&unique("dry"), "x", &["--dry-run"]).ok();
    assert!(
        !dry.stdout.contains(SECRET) && !dry.stdout.contains("REALanthropicKEY"),
        "{}",
        dry.stdout
    );
}

#[test]
fn secrets_are_injected_on_the_way_out_and_never_enter_the_container() {
    if !docker_ready() {
        return;
    }
    let s = setup("");
    let name = unique("proxy");
    s.env.create(&name, "use the proxy", &[]).ok();
    s.env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    assert_placeholders_only(&container);
    assert_headers_swapped(&container);
    assert_tunnels_and_proxy_credentials(&s, &container);
    assert_streamed(&container);
    assert_git_clones_with_credentials(&s, &container);
    assert_audited_without_secrets(&s, &name);
}

#[test]
fn policy_presets_allow_hosts_and_deny_hosts() {
    if !docker_ready() {
        return;
    }
    let s = setup(
        "policy = \"locked\"\nallow_hosts = [\"api.github.com\"]\ndeny_hosts = [\"denied.test\"]",
    );
    let name = unique("policy");
    s.env.create(&name, "x", &[]).ok();
    s.env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    // allow_hosts opens a host on top of the locked preset.
    let (code, out, err) = exec(
        &container,
        "curl -sS --fail https://api.github.com/ok >/dev/null",
    );
    assert_eq!(code, 0, "{out}{err}");
    // deny_hosts wins, even over [proxy.resolve].
    let (_, out, _) = exec(
        &container,
        "curl -s -o /dev/null -w '%{http_connect}' https://denied.test/",
    );
    assert_eq!(out.trim(), "403");
    // A host outside the preset: the 403 names it, the policy and the setting.
    let (_, body, _) = exec(&container, "curl -s http://pypi.org/simple/");
    assert!(
        body.contains("pypi.org is not allowed by the proxy policy \"locked\"")
            && body.contains("[proxy] allow_hosts"),
        "{body}"
    );
    let (_, body, _) = exec(&container, "curl -s http://denied.test/");
    assert!(body.contains("[proxy] deny_hosts"), "{body}");
    // status names the network mode and the policy.
    let status = s.env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("Network    proxy:") && status.contains("proxy policy locked"),
        "{status}"
    );
    let log = s.env.run(&["proxy", "log", "--json"]).ok().stdout;
    assert!(
        log.contains("\"denied\"") && log.contains("pypi.org"),
        "{log}"
    );
    assert!(!s.upstream.requests().iter().any(|r| {
        r["host"]
            .as_str()
            .is_some_and(|h| h.starts_with("denied.test"))
    }));
}

#[test]
fn proxy_ca_is_private_and_rotates() {
    let env = Env::new();
    let r = env.run(&["proxy", "ca"]).ok();
    assert!(
        r.stdout.contains("proxy-ca.pem") && r.stdout.contains("sha256:"),
        "{}",
        r.stdout
    );
    let key = env.home().join("proxy-ca-key.pem");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let fp = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("sha256:"))
            .unwrap()
            .to_string()
    };
    let first = fp(&r.stdout);
    assert_eq!(fp(&env.run(&["proxy", "ca"]).ok().stdout), first, "stable");
    let rotated = env.run(&["proxy", "ca", "--rotate"]).ok();
    assert_ne!(fp(&rotated.stdout), first);
    let bundle = std::fs::read_to_string(env.home().join("proxy-ca-bundle.pem")).unwrap();
    let ca = std::fs::read_to_string(env.home().join("proxy-ca.pem")).unwrap();
    assert!(bundle.ends_with(&ca), "the bundle ends with the current CA");
}
