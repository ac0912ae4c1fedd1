//! Refused HTTP requests: every bad body, path and image is a 4xx with a
//! reason, and makes nothing.

use crate::common::BASE_IMAGE;
use crate::common::api::Api;
use serde_json::{Value, json};

/// Session bodies that are refused: (body, status, what the error says).
fn refused_session_bodies(repo: &str) -> [(Value, u16, &'static str); 10] {
    [
        (json!({"repo": repo}), 400, "prompt"),
        (
            json!({"prompt": "x", "repo": repo, "nme": "a"}),
            400,
            "unknown field",
        ),
        (
            json!({"prompt": "x", "repo": "relative/dir"}),
            400,
            "absolute",
        ),
        (
            json!({"prompt": "x", "repo": repo, "name": "--privileged"}),
            400,
            "session name",
        ),
        (
            json!({"prompt": "x", "repo": repo, "name": "$(id)"}),
            400,
            "session name",
        ),
        (
            json!({"prompt": "x", "repo": repo, "image": "-v=/:/host"}),
            400,
            "image reference",
        ),
        (
            json!({"prompt": "x", "repo": repo, "env": {"A=B": "x"}}),
            400,
            "variable name",
        ),
        (
            json!({"prompt": "x", "repo": repo, "image": "evil.io/x:1"}),
            403,
            "allowed patterns",
        ),
        // Values travel through the host programs' environment: a loader
        // variable would run the caller's code on the host.
        (
            json!({"prompt": "x", "repo": repo, "env": {"LD_PRELOAD": "/tmp/x.so"}}),
            400,
            "programs clauderon runs on the host",
        ),
        (
            json!({"prompt": "x", "repo": repo, "env": {"PATH": "/x"}}),
            400,
            "programs clauderon runs on the host",
        ),
    ]
}

#[test]
fn bad_requests_are_4xx_with_a_reason_and_make_nothing() {
    let api = Api::new("[images]\nallowed_patterns = [\"clauderon-test-*\"]\n");
    for (body, status, says) in refused_session_bodies(&api.repo) {
        let (code, answer) = api.post("/v1/sessions", &body);
        assert_eq!(code, status, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    assert_eq!(api.call("POST", "/v1/sessions", "{not json").0, 400);
    let preload =
        json!({"prompt": "x", "podman": {"image": BASE_IMAGE, "env": {"LD_PRELOAD": "/tmp/x.so"}}});
    let (code, answer) = api.post("/run", &preload);
    assert_eq!(code, 400, "{answer}");
    let big = format!("{{\"prompt\": \"{}\"}}", "x".repeat(2 << 20));
    assert_eq!(api.call("POST", "/v1/sessions", &big).0, 413);
    assert_eq!(api.get("/v1/sessions/nope").0, 404);
    assert_eq!(api.call("POST", "/v1/sessions/nope/stop", "").0, 404);
    let (code, answer) = api.post("/images/pull", &json!({"image": "evil.io/x:1"}));
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("clauderon-test-*"),
        "{answer}"
    );
    let sessions = api.env.home().join("sessions");
    assert!(!sessions.exists() || std::fs::read_dir(&sessions).unwrap().count() == 0);
}
