//! `POST /v1/sessions/{name}/messages` over real HTTP against real Docker:
//! the message (a lone `-`, then hostile text) reaches the agent byte for
//! byte; bad bodies are 4xx, never 500.

use crate::common::api::Api;
use crate::common::{docker_ready, unique};
use serde_json::json;

#[test]
fn messages_are_sent_over_http() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    let name = unique("apisend");
    crate::common::land::create_waiting(&api.env, &name, &[]);
    let path = format!("/v1/sessions/{name}/messages");
    let (code, plan) = api.post(&format!("{path}?dry_run=true"), &json!({"message": "-"}));
    assert_eq!(code, 200, "{plan}");
    let hostile = "-\n$(id) 'q' \"dq\" ✓";
    let (code, body) = api.post(&path, &json!({"message": hostile}));
    assert_eq!(
        (code, body["result"].as_str()),
        (202, Some("sent")),
        "{body}"
    );
    api.env.wait_for_runs(&name, 2);
    assert_eq!(
        api.env.stub_argv(&name).last().map(String::as_str),
        Some(hostile)
    );
    for bad in [
        json!({}),
        json!({"message": ""}),
        json!({"message": "x", "extra": 1}),
    ] {
        let (code, body) = api.post(&path, &bad);
        assert!((400..500).contains(&code), "{bad}: {code} {body}");
    }
    assert_eq!(
        api.post("/v1/sessions/nope/messages", &json!({"message": "x"}))
            .0,
        404
    );
}
