//! The REAL Claude Code CLI (clauderon-test-claude:1, the version in
//! templates/claude-code.version) driven as a user drives it, against the
//! Messages API stand-in: the user's own CLAUDE.md reaches the model,
//! `transcript` reads the CLI's own session file, and `send` goes on with
//! the same conversation (the next model call carries the first prompt).

use crate::common;
use crate::common::books::{CLAUDE_IMAGE, Models};
use crate::common::codex::{cli_image_ready, wait_until};
use serde_json::Value;

const MARKER: &str = "clauderon-user-instructions-7f3a";

/// The user text of each model call the stand-in saw, oldest first.
fn model_call_texts(models: &Models) -> Vec<String> {
    models
        .model_calls()
        .iter()
        .map(|r| r["text"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_users_claude_md_reaches_the_model_and_send_goes_on_with_the_conversation() {
    if !cli_image_ready("docker", CLAUDE_IMAGE) {
        return;
    }
    let models = Models::start();
    let mut env = models.env("[agent]\nmount_agent_cli = false\n");
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".claude")).unwrap();
    std::fs::write(
        home.path().join(".claude/CLAUDE.md"),
        format!("Always mention {MARKER}.\n"),
    )
    .unwrap();
    env.use_user_home(home.path());
    let name = common::unique("realclaude");
    let args = ["--print", "--backend", "docker"];
    env.create_from(&name, "first question", CLAUDE_IMAGE, &args)
        .ok();
    wait_until("the first model call", 90, || {
        let texts = model_call_texts(&models);
        (!texts.iter().any(|t| t.contains("first question"))).then(|| format!("{texts:?}"))
    });
    let texts = model_call_texts(&models);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("first question") && t.contains(MARKER)),
        "the user's CLAUDE.md did not reach the model: {texts:?}"
    );
    let transcript = || env.run(&["transcript", &name]).ok().stdout;
    wait_until("the first answer in the transcript", 60, || {
        let t = transcript();
        (!(t.contains("> first question") && t.contains("Hello"))).then_some(t)
    });
    // send refuses a run whose container still runs a turn: wait for its end.
    let container = format!("clauderon-{name}");
    wait_until("the end of the print run", 60, || {
        let out = std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", &container])
            .output()
            .unwrap();
        let running = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (running != "false").then_some(running)
    });

    env.run(&["send", &name, "second question"]).ok();
    wait_until("the second model call", 90, || {
        let texts = model_call_texts(&models);
        (!texts.iter().any(|t| t.contains("second question"))).then(|| format!("{texts:?}"))
    });
    let texts = model_call_texts(&models);
    let second = texts
        .iter()
        .find(|t| t.contains("second question"))
        .unwrap();
    assert!(
        second.contains("first question"),
        "send started a new conversation: {second:?}"
    );
    wait_until("the second prompt in the transcript", 60, || {
        let t = transcript();
        (!t.contains("> second question")).then_some(t)
    });
    env.run(&["delete", "--force", &name]).ok();
}

/// `POST /run` answers with what the proxy counted (`cost_usd`), the same
/// figure the session's ledger holds, whatever the agent's own JSON says.
#[test]
fn a_run_over_http_answers_with_the_cost_the_proxy_counted() {
    use crate::common::api::{Api, start_api};
    if !cli_image_ready("docker", CLAUDE_IMAGE) {
        return;
    }
    let models = Models::start();
    let port = crate::common::api::free_port();
    let env = models.env(&format!(
        "[agent]\nmount_agent_cli = false\n[api]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    start_api(&env, port);
    let api = Api::on(env, port);
    let body = serde_json::json!({
        "prompt": "say hello over http",
        "repo": api.repo,
        "docker": {"image": CLAUDE_IMAGE},
        // A model with a price (the stand-in answers as the one asked for).
        "claude": {"model": "claude-sonnet-4-5"},
    });
    let (code, run) = api.post("/run", &body);
    assert_eq!(
        (code, run["status"].as_str()),
        (200, Some("completed")),
        "{run}"
    );
    let name = run["session_id"].as_str().unwrap();
    let status = api.env.run(&["status", "--json", name]).ok().stdout;
    let usage = serde_json::from_str::<Value>(&status).unwrap()["usage"]["total"].clone();
    let counted = usage["cost_usd"].as_f64().unwrap_or(0.0);
    assert!(counted > 0.0, "the proxy counted nothing: {usage}");
    assert_eq!(run["cost_usd"].as_f64(), Some(counted), "{run}");
    api.env.run(&["delete", "--force", name]).ok();
}
