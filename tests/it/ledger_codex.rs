//! The books with the REAL Codex CLI: a print-mode session talks to the
//! Responses stand-in through the proxy (over its WebSocket, falling back
//! to HTTPS as Codex does), and the session's ledger holds exactly the
//! usage the stand-in served, one call per response.

use crate::common::codex::{CODEX_IMAGE, codex_ready};
use crate::common::standin::Standin;

/// Usage the stand-in puts in every response (tests/support/responses.py).
const INPUT: u64 = 12;
const OUTPUT: u64 = 7;

#[test]
fn the_ledger_of_a_real_codex_run_equals_what_the_standin_served() {
    if !codex_ready("docker", CODEX_IMAGE) {
        return;
    }
    let standin = Standin::start(&[]);
    let (env, name, _) = crate::common::codex::print_run(&standin, &["--budget", "5"]);
    // Each response.create over the WebSocket, and each POST, is one response.
    let served = standin
        .requests()
        .iter()
        .filter(|r| {
            r["transport"] == "websocket"
                || (r["method"] == "POST"
                    && r["path"].as_str().unwrap_or("").ends_with("/responses"))
        })
        .count() as u64;
    assert!(served >= 2, "the tool call and the answer at least");
    env.run(&["daemon", "stop"]).ok(); // every entry written
    let home = clauderon::store::Home {
        root: env.home().to_path_buf(),
    };
    let total = clauderon::proxy::usage::ledger::summary(&home, &name).total();
    assert_eq!(
        (total.requests, total.tokens.input, total.tokens.output),
        (served, served * INPUT, served * OUTPUT)
    );
    assert_eq!(total.unparsed, 0);
    let usage = env.run(&["usage", "--json"]).ok().stdout;
    let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
    assert_eq!(usage["total"]["requests"], served, "{usage}");
}
