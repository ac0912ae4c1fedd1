//! A budget of a fraction of a cent on a real Docker session: the first
//! model call passes, the next is refused in the API's own error shape,
//! the status is budget-exhausted and [notify] ran, git through the proxy
//! still works, and `clauderon budget --add` lets the next call through.

use std::process::Command;

use crate::common::books::Models;
use crate::common::upstream::{Upstream, test_pki};
use crate::common::{docker, docker_ready, git, unique};
use serde_json::Value;

const GH_SECRET: &str = "ghp_REALsecretVALUE0123456789";
const CALL: &str = r#"curl -sS -w '\n%{http_code}' -H "x-api-key: $ANTHROPIC_API_KEY" -d '{"model":"claude-sonnet-4-5","stream":false}' https://api.anthropic.com/v1/messages"#;

fn exec(container: &str, script: &str) -> (i32, String) {
    let out = docker(&["exec", container, "bash", "-c", script]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The body and status of one Messages call from inside the container.
fn call(container: &str) -> (Value, String) {
    let (code, out) = exec(container, CALL);
    assert_eq!(code, 0, "{out}");
    let (body, status) = out.trim_end().rsplit_once('\n').unwrap();
    (serde_json::from_str(body).unwrap(), status.to_string())
}

fn agent_status(env: &crate::common::Env, name: &str) -> String {
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap();
    row["agent_status"].as_str().unwrap_or("").to_string()
}

/// A repository the upstream serves as github.com/org/repo.git.
fn serve_repo(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("a"), "a\n").unwrap();
    git(&src, &["add", "."]);
    git(&src, &["commit", "-q", "-m", "c"]);
    let root = dir.join("git");
    let bare = root.join("org/repo.git");
    let ok = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&src)
        .arg(&bare)
        .status()
        .unwrap();
    assert!(ok.success());
    root
}

#[test]
fn a_spent_budget_refuses_model_calls_only_until_it_is_raised() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(dir.path());
    let git_root = serve_repo(dir.path());
    let upstream = Upstream::start(dir.path(), &cert, &key, &git_root, GH_SECRET);
    let notified = dir.path().join("notified");
    let script = dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1 $2\" >> {}\n", notified.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let models = Models::start();
    let notify = format!(
        "[notify]\ncommand = [{:?}, \"{{session}}\", \"{{status}}\"]\n",
        script.display().to_string()
    );
    let mut env = models.env_with(&notify, &[&ca], &[("github.com", upstream.port)]);
    env.extra_env.push(("GH_TOKEN".into(), GH_SECRET.into()));
    // The session's repository is github.com/org/repo, which its GitHub
    // credential then opens (issue 22's default scope).
    let origin = std::process::Command::new("git")
        .args(["remote", "add", "origin", "https://github.com/org/repo.git"])
        .current_dir(env.repo())
        .status()
        .unwrap();
    assert!(origin.success());
    let name = unique("budget");
    env.create(&name, "spend", &["--budget", "0.0001"]).ok();
    env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    // The first call passes and spends more than the budget.
    let (body, status) = call(&container);
    assert_eq!(status, "200", "{body}");
    // The next is refused as Anthropic refuses: {"type":"error","error":{...}}.
    let (body, status) = call(&container);
    assert_eq!(status, "402", "{body}");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "billing_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("clauderon budget {name} --add")),
        "{message}"
    );
    assert!(
        message.contains("$0.000100") && message.contains("$0.000312"),
        "{message}"
    );
    assert_eq!(agent_status(&env, &name), "budget-exhausted");
    let status_text = env.run(&["status", &name]).ok().stdout;
    assert!(status_text.contains("budget-exhausted"), "{status_text}");
    // Other hosts keep working: git through the proxy.
    let (code, out) = exec(&container, "git ls-remote https://github.com/org/repo.git");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("refs/heads/main"), "{out}");
    // [notify] ran for the new status.
    let mut seen = String::new();
    for _ in 0..100 {
        seen = std::fs::read_to_string(&notified).unwrap_or_default();
        if seen.contains(&format!("{name} budget-exhausted")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        seen.contains(&format!("{name} budget-exhausted")),
        "{seen:?}"
    );
    // Raised live: the next call passes.
    let raised = env
        .run(&["budget", &name, "--add", "0.01", "--json"])
        .ok()
        .stdout;
    let raised: Value = serde_json::from_str(&raised).unwrap();
    assert!(
        (raised["budget_usd"].as_f64().unwrap() - 0.0101).abs() < 1e-12,
        "{raised}"
    );
    assert_eq!(call(&container).1, "200");
    assert_ne!(agent_status(&env, &name), "budget-exhausted");
    // The refused call was not booked.
    let usage: Value =
        serde_json::from_str(&env.run(&["status", "--json", &name]).ok().stdout).unwrap();
    assert_eq!(usage["usage"]["total"]["requests"], 2, "{usage}");
    // Bad budgets are bad input.
    let bad = env.run(&["budget", &name, "--set", "-1"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let none = env.run(&["budget", "no-such-session", "--add", "1"]);
    assert_ne!(none.code, 0);
}
