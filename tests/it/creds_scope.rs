//! A credential opens only the session's own door, proved with REAL git in
//! a real Docker container against a REAL git smart-HTTP server
//! (`git http-backend` behind tests/support/upstream.py over TLS) that
//! plays github.com through `[proxy.resolve]`: clone, fetch and a push to
//! the session's branch work with the real token; a push to main, a push
//! to another repository, a gist and a configured rule's other paths are
//! refused before the token leaves the proxy.

use std::path::Path;
use std::process::Command;

use crate::common::upstream::{Upstream, test_pki_for};
use crate::common::{Env, docker, docker_ready, git, unique};
use serde_json::Value;

const SECRET: &str = "ghp_SCOPEDsecretVALUE0123456789";
const SCOPED_KEY: &str = "scoped-REAL-key-42";

struct Setup {
    env: Env,
    upstream: Upstream,
    git_root: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A bare repository `git_root/org/<name>.git` with one commit on main.
fn bare_repo(dir: &Path, git_root: &Path, name: &str) {
    let src = dir.join(format!("src-{name}"));
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("hello.txt"), format!("{name}\n")).unwrap();
    git(&src, &["add", "."]);
    git(
        &src,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "c",
        ],
    );
    let bare = git_root.join(format!("org/{name}.git"));
    let out = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&src)
        .arg(&bare)
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn setup(github_section: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let hosts = ["github.com", "api.github.com", "scoped.test"];
    let (ca, cert, key) = test_pki_for(dir.path(), &hosts);
    let git_root = dir.path().join("git");
    std::fs::create_dir_all(git_root.join("org")).unwrap();
    bare_repo(dir.path(), &git_root, "repo");
    bare_repo(dir.path(), &git_root, "other");
    let upstream = Upstream::start(dir.path(), &cert, &key, &git_root, SECRET);
    let mut env = Env::new();
    // The session's repository: its origin is github.com/org/repo.
    git(
        env.repo(),
        &["remote", "add", "origin", "https://github.com/org/repo.git"],
    );
    let at = format!("127.0.0.1:{}", upstream.port);
    let config = format!(
        r#"[daemon]
http_port = 0
[proxy]
port = 0
upstream_ca_file = {ca:?}
{github_section}
[[proxy.rules]]
host = "scoped.test"
header = "x-api-key"
placeholder = "scoped-placeholder-0001"
env = "SCOPED_KEY"
paths = ["/v1/**"]
methods = ["POST"]
[proxy.resolve]
"github.com" = "{at}"
"api.github.com" = "{at}"
"scoped.test" = "{at}"
"#
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    env.extra_env.push(("GH_TOKEN".into(), SECRET.into()));
    env.extra_env.push(("SCOPED_KEY".into(), SCOPED_KEY.into()));
    Setup {
        env,
        upstream,
        git_root,
        _dir: dir,
    }
}

fn exec(container: &str, script: &str) -> (i32, String) {
    let out = docker(&["exec", container, "bash", "-c", script]);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Requests the server saw on a path containing `part`, and whether any
/// carried the real token.
fn seen(s: &Setup, part: &str) -> (usize, bool) {
    let hits: Vec<Value> = s
        .upstream
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains(part))
        .collect();
    let token = hits.iter().any(|r| {
        let auth = r["headers"]["authorization"].as_str().unwrap_or("");
        auth.contains(SECRET) || decoded_basic(auth).contains(SECRET)
    });
    (hits.len(), token)
}

fn decoded_basic(auth: &str) -> String {
    use base64::Engine as _;
    auth.strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn server_ref(s: &Setup, repo: &str, name: &str) -> String {
    let bare = s.git_root.join(format!("org/{repo}.git"));
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["rev-parse", "--verify", "-q", name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Clone and fetch work; a push to the session's branch arrives with the
/// real token; a push to main is refused with the reason shown by git.
fn assert_own_repository_and_branch(s: &Setup, container: &str, branch: &str) {
    let script = format!(
        "set -e; cd /tmp && git clone -q https://github.com/org/repo.git r && cd r && git fetch -q origin \
         && git -c user.name=a -c user.email=a@a commit -q --allow-empty -m agent \
         && git push -q origin HEAD:refs/heads/{branch} && git rev-parse HEAD"
    );
    let (code, out) = exec(container, &script);
    assert_eq!(code, 0, "{out}");
    let pushed = out.lines().last().unwrap().trim().to_string();
    assert_eq!(
        server_ref(s, "repo", &format!("refs/heads/{branch}")),
        pushed
    );
    let (_, with_token) = seen(s, "/org/repo.git/git-receive-pack");
    assert!(with_token, "the server saw the push with the real token");

    let main_before = server_ref(s, "repo", "refs/heads/main");
    let (code, out) = exec(container, "cd /tmp/r && git push origin HEAD:main 2>&1");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("remote rejected") && out.contains(&format!("refs/heads/{branch}")),
        "git shows the reason: {out}"
    );
    assert!(out.contains("clauderon proxy"), "{out}");
    assert_eq!(server_ref(s, "repo", "refs/heads/main"), main_before);
    let (code, out) = exec(
        container,
        "cd /tmp/r && git push origin HEAD:refs/tags/v1 2>&1",
    );
    assert_ne!(code, 0, "{out}");
    assert!(server_ref(s, "repo", "refs/tags/v1").is_empty());
}

/// Another repository and a gist: refused, the token never reaches them.
fn assert_other_doors_closed(s: &Setup, container: &str, branch: &str) {
    let script = format!(
        "cd /tmp/r && git push https://github.com/org/other.git HEAD:refs/heads/{branch} 2>&1"
    );
    let (code, out) = exec(container, &script);
    assert_ne!(code, 0, "{out}");
    assert!(server_ref(s, "other", &format!("refs/heads/{branch}")).is_empty());
    let (_, token) = seen(s, "/org/other.git/");
    assert!(
        !token,
        "the server never saw the token for another repository"
    );

    let (_, out) = exec(
        container,
        r#"curl -s -w '\n%{http_code}' -X POST -H "Authorization: token $GH_TOKEN" https://api.github.com/gists -d '{"public":true}'"#,
    );
    assert!(out.ends_with("403"), "{out}");
    assert!(
        out.contains("[proxy.github] repos") && out.contains("org/repo"),
        "the refusal names the setting: {out}"
    );
    assert_eq!(
        seen(s, "/gists"),
        (0, false),
        "nothing reached the gist stand-in"
    );
    // A hostile push: malformed or oversized ref updates are refused
    // before anything reaches the server.
    let before = seen(s, "/org/repo.git/git-receive-pack").0;
    for body in [
        "printf 'zzzz'".to_string(),
        "printf '0003'".to_string(),
        "printf 'ffff%070000d' 0".to_string(),
        format!(
            "printf '0074%s %s refs/heads/main\\0report-status\\n0000' {0} {0}",
            "1".repeat(40)
        ),
    ] {
        let script = format!(
            "{body} | curl -s -w '\\n%{{http_code}}' -u x-access-token:$GH_TOKEN -H 'Content-Type: application/x-git-receive-pack-request' --data-binary @- https://github.com/org/repo.git/git-receive-pack"
        );
        let (_, out) = exec(container, &script);
        assert!(
            out.ends_with("403") || out.contains("ng refs/heads/main"),
            "{body}: {out}"
        );
    }
    assert_eq!(
        seen(s, "/org/repo.git/git-receive-pack").0,
        before,
        "nothing reached the server"
    );
    // The repository's own API works with the real token.
    let (code, out) = exec(
        container,
        r#"curl -sS --fail -H "Authorization: token $GH_TOKEN" https://api.github.com/repos/org/repo/pulls"#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(SECRET), "{out}");
}

/// A configured rule's paths and methods: outside them a 403 naming the
/// rule, and nothing upstream.
fn assert_rule_bounds(s: &Setup, container: &str) {
    let curl = |method: &str, path: &str| {
        let script = format!(
            "curl -s --path-as-is -w '\\n%{{http_code}}' -X {method} -H 'x-api-key: scoped-placeholder-0001' 'https://scoped.test{path}'"
        );
        exec(container, &script).1
    };
    let ok = curl("POST", "/v1/messages");
    assert!(ok.ends_with("200") && ok.contains(SCOPED_KEY), "{ok}");
    for (method, path) in [
        ("GET", "/v1/messages"),
        ("POST", "/v2/admin"),
        ("POST", "/v1/../v2/admin"),
        ("POST", "/v1/%2e%2e/v2/admin"),
        ("POST", "/v1%2f..%2fv2"),
        ("POST", "//v1/x"),
    ] {
        let out = curl(method, path);
        assert!(out.ends_with("403"), "{method} {path}: {out}");
        assert!(out.contains("scoped.test"), "names the rule: {out}");
    }
    assert_eq!(seen(s, "/v2"), (0, false));
    // The rule is applied live: GET allowed in config.toml, GET passes
    // (the daemon looks at the file at most once a second).
    let config = s.env.home().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let widened = text.replace("methods = [\"POST\"]", "methods = [\"POST\", \"GET\"]");
    assert_ne!(text, widened);
    std::fs::write(&config, widened).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let now = curl("GET", "/v1/messages");
    assert!(now.ends_with("200") && now.contains(SCOPED_KEY), "{now}");
}

#[test]
fn the_github_credential_opens_only_the_session_repository_and_branch() {
    if !docker_ready() {
        return;
    }
    let s = setup("");
    let name = unique("scope");
    s.env.create(&name, "scoped", &[]).ok();
    s.env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    assert_own_repository_and_branch(&s, &container, &name);
    assert_other_doors_closed(&s, &container, &name);
    assert_rule_bounds(&s, &container);
    let status = s.env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("GitHub credential: org/repo")
            && status.contains(&format!("refs/heads/{name}")),
        "{status}"
    );
}

#[test]
fn scope_account_is_the_old_behaviour_and_says_so() {
    if !docker_ready() {
        return;
    }
    let s = setup("[proxy.github]\nscope = \"account\"\n");
    let name = unique("acct");
    s.env.create(&name, "account", &[]).ok();
    s.env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    let (code, out) = exec(
        &container,
        "cd /tmp && git clone -q https://github.com/org/other.git o && cd o \
         && git -c user.name=a -c user.email=a@a commit -q --allow-empty -m x && git push -q origin HEAD:main 2>&1",
    );
    assert_eq!(code, 0, "{out}");
    let status = s.env.run(&["status", &name]).ok().stdout;
    assert!(status.contains("scope = \"account\""), "{status}");
}
