//! The proxy keeps the books: model calls through a home's daemon to local
//! stand-ins of the Messages and Responses APIs (known usage, streamed and
//! JSON) are counted into the session's ledger; the totals survive a
//! restart and a kill -9; an unknown model's cost is unknown; hostile
//! streams reach the client byte for byte and are counted as unparsed.

use crate::common::books::{MESSAGES_USAGE, Models, curl, messages_call};
use crate::common::fake_session;
use crate::common::standin::PLACEHOLDER;
use serde_json::Value;

const TOKEN: &str = "books-token";

fn usage_of(env: &crate::common::Env, name: &str) -> Value {
    let out = env.run(&["status", "--json", name]).ok().stdout;
    serde_json::from_str::<Value>(&out).unwrap()["usage"].clone()
}

fn model<'a>(usage: &'a Value, name: &str) -> &'a Value {
    usage["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == name)
        .unwrap_or_else(|| panic!("no {name} in {usage}"))
}

fn responses_call(env: &crate::common::Env, session: &str, stream: bool) -> Vec<u8> {
    let body = format!("{{\"model\":\"gpt-5-codex\",\"input\":[],\"stream\":{stream}}}");
    let (code, out, err) = curl(
        env,
        session,
        TOKEN,
        &[
            "-H",
            &format!("Authorization: Bearer {PLACEHOLDER}"),
            "-d",
            &body,
            "https://api.openai.com/v1/responses",
        ],
    );
    assert_eq!(code, 0, "{err}");
    out
}

/// Waits until the daemon's writer has put `n` calls in the ledger.
fn wait_calls(env: &crate::common::Env, name: &str, n: u64) -> Value {
    for _ in 0..100 {
        let u = usage_of(env, name);
        if u["total"]["requests"].as_u64() == Some(n) {
            return u;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "the ledger never reached {n} calls: {}",
        usage_of(env, name)
    );
}

#[test]
fn the_ledger_counts_what_the_standins_served_and_survives_restarts() {
    let models = Models::start();
    let env = models.env("");
    fake_session(&env, "books", TOKEN);
    let (input, cache_w, cache_r, output) = MESSAGES_USAGE;
    // Streamed (twice on one kept-alive connection) and JSON.
    let body = r#"{"model":"claude-sonnet-4-5","stream":true}"#;
    let key = format!("x-api-key: {}", crate::common::books::ANTHROPIC_PLACEHOLDER);
    let url = "https://api.anthropic.com/v1/messages";
    let (code, two, err) = curl(&env, "books", TOKEN, &["-H", &key, "-d", body, url, url]);
    assert_eq!(code, 0, "{err}");
    let one = models.direct_messages(body);
    assert_eq!(
        two,
        [one.clone(), one].concat(),
        "the bytes are the stand-in's"
    );
    assert_eq!(
        messages_call(&env, "books", TOKEN, "claude-sonnet-4-5", false).0,
        0
    );
    responses_call(&env, "books", true);
    responses_call(&env, "books", false);
    let u = wait_calls(&env, "books", 5);
    let sonnet = model(&u, "claude-sonnet-4-5");
    assert_eq!(sonnet["requests"], 3, "{u}");
    assert_eq!(sonnet["input_tokens"], 3 * input);
    assert_eq!(sonnet["output_tokens"], 3 * output);
    assert_eq!(sonnet["cache_creation_input_tokens"], 3 * cache_w);
    assert_eq!(sonnet["cache_read_input_tokens"], 3 * cache_r);
    let per_call = (25.0 * 3.0 + 15.0 * 15.0 + 3.0 * 3.75 + 4.0 * 0.30) / 1e6;
    let cost = sonnet["cost_usd"].as_f64().unwrap();
    assert!((cost - 3.0 * per_call).abs() < 1e-12, "{cost}");
    let gpt = model(&u, "gpt-5-codex");
    assert_eq!(
        (gpt["requests"].as_u64(), gpt["input_tokens"].as_u64()),
        (Some(2), Some(24))
    );
    assert_eq!(gpt["output_tokens"], 14);
    // An unknown model: tokens counted, cost unknown (never 0).
    messages_call(&env, "books", TOKEN, "my-own-model", true);
    let u = wait_calls(&env, "books", 6);
    let own = model(&u, "my-own-model");
    assert_eq!(
        (own["input_tokens"].as_u64(), own["cost_usd"].clone()),
        (Some(input), Value::Null)
    );
    assert_eq!(own["cost"], "unknown");
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(listed[0]["usage"]["requests"], 6);
    assert_eq!(listed[0]["usage"]["unpriced_requests"], 1);
    let by_model = env.run(&["usage", "--by", "model"]).ok().stdout;
    assert!(
        by_model.contains("my-own-model") && by_model.contains("unknown"),
        "{by_model}"
    );
    // A restart, then a kill -9 between calls: nothing completed is lost.
    env.run(&["daemon", "restart"]).ok();
    assert_eq!(usage_of(&env, "books")["total"], u["total"]);
    let info: Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    let pid = info["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) of the test's own daemon.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(usage_of(&env, "books")["total"], u["total"]);
    messages_call(&env, "books", TOKEN, "claude-sonnet-4-5", true);
    let after = wait_calls(&env, "books", 7);
    assert_eq!(model(&after, "claude-sonnet-4-5")["requests"], 4);
    // No prompt, body or secret in the ledger.
    let ledger = std::fs::read_to_string(env.home().join("sessions/books/ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 7);
    for secret in [
        crate::common::books::ANTHROPIC_KEY,
        crate::common::standin::REAL_KEY,
        "Hello",
        "max_tokens",
    ] {
        assert!(!ledger.contains(secret), "{secret} in {ledger}");
    }
    env.run(&["daemon", "stop"]).ok();
}

#[test]
fn hostile_streams_reach_the_client_unchanged_and_count_as_unparsed() {
    let models = Models::start();
    let env = models.env("");
    fake_session(&env, "hostile", TOKEN);
    for (i, name) in ["malformed", "huge", "cut"].into_iter().enumerate() {
        let body = format!("{{\"model\":\"{name}\",\"stream\":true}}");
        let direct = models.direct_messages(&body);
        let (_, through, _) = messages_call(&env, "hostile", TOKEN, name, true);
        assert_eq!(through.len(), direct.len(), "{name}");
        assert!(through == direct, "{name}: the bytes differ");
        let u = wait_calls(&env, "hostile", i as u64 + 1);
        assert_eq!(u["total"]["unparsed_events"], i as u64 + 1, "{name}: {u}");
    }
    // The huge one's usage was still read around its big event.
    let u = usage_of(&env, "hostile");
    assert_eq!(model(&u, "huge")["output_tokens"], MESSAGES_USAGE.3);
    // The daemon lives on.
    assert_eq!(
        messages_call(&env, "hostile", TOKEN, "claude-haiku-4-5", false).0,
        0
    );
    wait_calls(&env, "hostile", 4);
    env.run(&["daemon", "stop"]).ok();
}

/// A model the price table does not know (the pinned Claude Code's default,
/// claude-opus-5-5, is one) costs "unknown", yet counts against a budget at
/// the highest listed price: a new model cannot run past a budget.
#[test]
fn an_unpriced_model_cannot_run_past_a_budget() {
    let models = Models::start();
    let env = models.env("");
    fake_session(&env, "unpriced", TOKEN);
    env.run(&["budget", "unpriced", "--set", "0.001"]).ok();
    let (code, first, err) = messages_call(&env, "unpriced", TOKEN, "claude-opus-9-9", false);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&first).contains("usage"));
    wait_calls(&env, "unpriced", 1);
    let (_, refused, _) = messages_call(&env, "unpriced", TOKEN, "claude-opus-9-9", false);
    let refused: Value = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused["error"]["type"], "billing_error", "{refused}");
    // 25, 15, 3 and 4 tokens at Opus 4's $15, $75, $18.75 and $1.50.
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("$0.001562"), "{message}");
    let u = usage_of(&env, "unpriced");
    assert_eq!(u["total"]["cost"], "unknown", "{u}");
    // What is left is what the proxy holds against: nothing.
    assert_eq!(u["budget_left_usd"], 0.0, "{u}");
    let out = env.run(&["budget", "unpriced", "--json"]).ok().stdout;
    let budget: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(budget["left_usd"], 0.0, "{budget}");
    assert!(
        budget["unpriced_counted_usd"].as_f64().unwrap() > 0.001,
        "{budget}"
    );
}

/// Deleting a session keeps what it spent: the daily budget still counts
/// it after a daemon restart, and `usage` shows it as "NAME (deleted)".
#[test]
fn a_deleted_sessions_spend_still_counts_against_the_daily_budget() {
    let models = Models::start();
    let env = models.env("[budget]\ndaily_usd = 0.0001\n");
    fake_session(&env, "spender", TOKEN);
    fake_session(&env, "other", "other-token");
    let (code, _, err) = messages_call(&env, "spender", TOKEN, "claude-sonnet-4-5", false);
    assert_eq!(code, 0, "{err}");
    wait_calls(&env, "spender", 1);
    env.run(&["delete", "--force", "spender"]).ok();
    env.run(&["daemon", "restart"]).ok();
    let (_, refused, _) = messages_call(&env, "other", "other-token", "claude-sonnet-4-5", false);
    let refused: Value = serde_json::from_slice(&refused).unwrap();
    assert_eq!(refused["error"]["type"], "billing_error", "{refused}");
    let usage = env.run(&["usage", "--by", "session"]).ok().stdout;
    assert!(usage.contains("spender (deleted)"), "{usage}");
}
