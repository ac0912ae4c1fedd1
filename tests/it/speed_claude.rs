//! The REAL Claude Code CLI (clauderon-test-claude:1, from its npm package
//! at the version in templates/claude-code.version) in a print-mode session
//! against the local Messages API stand-in (tests/support/messages.py) as
//! api.anthropic.com, through the daemon's proxy: its answer arrives, the
//! stand-in saw the real key while the container held only the placeholder,
//! and the ledger counted the tokens. The speed benchmark
//! (scripts/bench-first-call.sh) runs the same CLI against the same stand-in.

use std::process::Command;

use crate::common;
use crate::common::books::{
    ANTHROPIC_KEY, ANTHROPIC_PLACEHOLDER, CLAUDE_IMAGE, MESSAGES_USAGE, Models,
};
use crate::common::codex::{cli_image_ready, wait_until};
use serde_json::Value;

/// Every file under `dir` (the worktree, the session's state) that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let out = Command::new("grep")
        .args(["-rlF", needle])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_real_claude_cli_answers_through_the_proxy_and_is_counted() {
    if !cli_image_ready("docker", CLAUDE_IMAGE) {
        return;
    }
    let models = Models::start();
    // The image has the CLI installed: nothing to mount.
    let env = models.env("[agent]\nmount_agent_cli = false\n");
    let name = common::unique("claudecli");
    let args = ["--print", "--backend", "docker"];
    env.create_from(&name, "say hello from the speed test", CLAUDE_IMAGE, &args)
        .ok();
    let state = env.worktree(&name).join(".clauderon");
    wait_until("the print run", 90, || {
        let done = state.join("print.done").exists();
        (!done).then(|| format!("{} requests", models.messages_requests().len()))
    });
    // The stand-in's streamed answer is "Hello".
    let answer = std::fs::read_to_string(state.join("output")).unwrap();
    assert!(answer.contains("Hello"), "{answer:?}");

    let seen = models.messages_requests();
    let calls = models.model_calls();
    assert!(
        calls.iter().any(|r| r["text"]
            .as_str()
            .unwrap_or("")
            .contains("say hello from the speed test")),
        "{seen:?}"
    );
    // The proxy put the real key on every request the CLI made to the API.
    assert!(
        seen.iter()
            .all(|r| r["x-api-key"] == ANTHROPIC_KEY || r["x-api-key"].is_null()),
        "{seen:?}"
    );
    assert!(
        calls.iter().all(|r| r["x-api-key"] == ANTHROPIC_KEY),
        "{calls:?}"
    );

    // The container held the placeholder, never the key.
    let container = format!("clauderon-{name}");
    let inspect = Command::new("docker")
        .args(["container", "inspect", &container])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        inspect.contains(&format!("ANTHROPIC_API_KEY={ANTHROPIC_PLACEHOLDER}")),
        "{inspect}"
    );
    assert!(
        !inspect.contains(ANTHROPIC_KEY),
        "the real key is in docker inspect"
    );
    let session_dir = env.home().join("sessions").join(&name);
    for dir in [env.worktree(&name), session_dir] {
        let holding = files_holding(&dir, ANTHROPIC_KEY);
        assert!(holding.is_empty(), "the real key is in {holding:?}");
    }

    // The ledger has each model call's tokens (the stand-in's known usage).
    let (input, cache_w, cache_r, output) = MESSAGES_USAGE;
    let n = calls.len() as u64;
    let mut usage = Value::Null;
    for _ in 0..50 {
        let out = env.run(&["status", "--json", &name]).ok().stdout;
        usage = serde_json::from_str::<Value>(&out).unwrap()["usage"]["total"].clone();
        if usage["requests"].as_u64() == Some(n) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(usage["requests"], n, "{usage}");
    assert_eq!(usage["input_tokens"], n * input, "{usage}");
    assert_eq!(usage["output_tokens"], n * output, "{usage}");
    assert_eq!(usage["cache_creation_input_tokens"], n * cache_w, "{usage}");
    assert_eq!(usage["cache_read_input_tokens"], n * cache_r, "{usage}");
    env.run(&["delete", "--force", &name]).ok();
}
