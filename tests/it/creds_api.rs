//! `/v1/sessions/{name}/policy` over real HTTP against the daemon's API:
//! the same policy `clauderon policy` shows and changes, bad bodies as 4xx
//! that change nothing. The session is a record (no engine needed).

use crate::common::api::Api;
use crate::common::daemon::fake_session;
use serde_json::json;

#[test]
fn the_session_policy_over_http() {
    let api = Api::new("");
    fake_session(&api.env, "pol", "tok-pol-1234");
    let (code, body) = api.get("/v1/sessions/pol/policy");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["allow_hosts"], json!([]));
    assert!(
        body["effective"]
            .as_str()
            .unwrap()
            .contains("(config.toml)"),
        "{body}"
    );

    let (code, body) = api.post(
        "/v1/sessions/pol/policy",
        &json!({"action": "allow", "host": "PyPI.org"}),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["allow_hosts"], json!(["pypi.org"]));
    let shown = api.env.run(&["policy", "pol"]).ok().stdout;
    assert!(shown.contains("allow pypi.org (session)"), "{shown}");

    for (bad, want) in [
        (json!({"action": "allow", "host": "$(id)"}), 400),
        (json!({"action": "allow"}), 400),
        (json!({"action": "open-all"}), 400),
        (
            json!({"action": "allow", "host": "a.test", "extra": 1}),
            400,
        ),
        (json!({"action": "reset", "host": "a.test"}), 400),
    ] {
        let (code, body) = api.post("/v1/sessions/pol/policy", &bad);
        assert_eq!(code, want, "{bad}: {body}");
    }
    let (code, _) = api.post(
        "/v1/sessions/nope/policy",
        &json!({"action": "allow", "host": "a.test"}),
    );
    assert_eq!(code, 404);
    let (code, _) = api.delete("/v1/sessions/pol/policy");
    assert_eq!(code, 405);
    let (code, body) = api.post("/v1/sessions/pol/policy", &json!({"action": "reset"}));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["allow_hosts"], json!([]));
}
