//! The REAL Codex CLI (against the local Responses stand-in, through the
//! daemon's proxy): `transcript` reads its real rollout file (the prompt,
//! the tool call, its result and the answer, no escape codes), and `send`
//! resumes its ended --print run with a hostile message that reaches the
//! model byte for byte.

use crate::common::codex::{CODEX_IMAGE, codex_ready, wait_until};
use crate::common::standin::Standin;

#[test]
fn transcript_and_send_with_the_real_codex_cli() {
    if !codex_ready("docker", CODEX_IMAGE) {
        return;
    }
    let standin = Standin::start(&[]);
    let env = standin.env();
    let name = crate::common::unique("cxland");
    env.create_from(
        &name,
        "write codex-made.txt",
        CODEX_IMAGE,
        &["--agent", "codex", "--print"],
    )
    .ok();
    let state = env.worktree(&name).join(".clauderon");
    wait_until("the print run", 90, || {
        (!state.join("print.done").exists())
            .then(|| format!("{} requests", standin.requests().len()))
    });
    let out = env.run(&["transcript", &name]).ok().stdout;
    assert!(out.contains("> write codex-made.txt"), "{out}");
    assert!(out.contains("  -> "), "no tool call:\n{out}");
    assert!(out.contains("Done: the file is written."), "{out}");
    assert!(
        !out.contains('\u{1b}') && !out.contains("<environment_context>"),
        "{out}"
    );

    let message = "-then say \"ok\"\n$(id) ✓";
    std::fs::remove_file(state.join("print.done")).unwrap();
    let before = standin.requests().len();
    env.run(&["send", &name, message]).ok();
    wait_until("the resumed run", 90, || {
        (!state.join("print.done").exists())
            .then(|| format!("{} requests", standin.requests().len()))
    });
    let seen = standin.requests();
    let sent = serde_json::to_string(message).unwrap();
    let sent = &sent[1..sent.len() - 1];
    assert!(
        seen[before..]
            .iter()
            .any(|r| r["body"]["input"].to_string().contains(sent)),
        "the message did not reach the model: {:?}",
        &seen[before..]
    );
    let again = env.run(&["transcript", &name]).ok().stdout;
    assert!(
        again.contains("=== turn 2") && again.contains("> -then say \"ok\""),
        "{again}"
    );
}
