//! The REAL Claude Code CLI (clauderon-test-claude:1, the version in
//! templates/claude-code.version) driven as a user drives it, against the
//! Messages API stand-in: the user's own CLAUDE.md reaches the model,
//! `transcript` reads the CLI's own session file, and `send` goes on with
//! the same conversation (the next model call carries the first prompt).

use crate::common;
use crate::common::books::Models;
use crate::common::codex::{cli_image_ready, wait_until};
use serde_json::Value;

const CLAUDE_IMAGE: &str = "clauderon-test-claude:1";
const MARKER: &str = "clauderon-user-instructions-7f3a";

/// The user text of each model call the stand-in saw, oldest first.
fn model_call_texts(models: &Models) -> Vec<String> {
    models
        .messages_requests()
        .iter()
        .filter(|r: &&Value| {
            r["method"] == "POST" && r["path"].as_str().unwrap_or("").starts_with("/v1/messages")
        })
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
    env.extra_env
        .push(("HOME".into(), home.path().display().to_string()));
    env.extra_env
        .push(("CLAUDE_CONFIG_DIR".into(), String::new()));
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
