//! `/v1/sessions/{name}/policy` over real HTTP against the daemon's API:
//! the same policy `clauderon policy` shows and changes, bad bodies as 4xx
//! that change nothing. The session is a record (no engine needed); one
//! made by `POST /v1/sessions` with its policy runs on real Docker.

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

/// `POST /v1/sessions` takes the policy `create --policy/--allow-host/
/// --deny-host` takes, checked the same way; a bad one makes nothing.
#[test]
fn a_session_made_over_http_gets_its_own_policy() {
    if !crate::common::docker_ready() {
        return;
    }
    let api = Api::new("");
    let body = |name: &str, policy: serde_json::Value| {
        let mut b = json!({"prompt": "x", "repo": api.repo, "name": name,
            "image": crate::common::BASE_IMAGE, "pull_policy": "never"});
        b.as_object_mut()
            .unwrap()
            .extend(policy.as_object().unwrap().clone());
        b
    };
    for bad in [
        json!({"policy": "wide-open"}),
        json!({"allow_hosts": ["$(id)"]}),
        json!({"allow_hosts": ["-rf"]}),
        json!({"deny_hosts": ["a b.test"]}),
        json!({"deny_hosts": "pypi.org"}),
    ] {
        let (code, answer) = api.post("/v1/sessions", &body("bad-pol", bad.clone()));
        assert_eq!(code, 400, "{bad}: {answer}");
    }
    assert_eq!(api.get("/v1/sessions").1, json!([]));
    let wanted = json!({"policy": "locked", "allow_hosts": ["PyPI.org", "*.pythonhosted.org"],
        "deny_hosts": ["example.com"]});
    let (code, plan) = api.post("/v1/sessions?dry_run=1", &body("pol-http", wanted.clone()));
    assert_eq!(code, 200, "{plan}");
    let (code, made) = api.post("/v1/sessions", &body("pol-http", wanted));
    assert_eq!(code, 201, "{made}");
    let (code, policy) = api.get("/v1/sessions/pol-http/policy");
    assert_eq!(code, 200, "{policy}");
    assert_eq!(
        (
            &policy["mode"],
            &policy["allow_hosts"],
            &policy["deny_hosts"]
        ),
        (
            &json!("locked"),
            &json!(["pypi.org", "*.pythonhosted.org"]),
            &json!(["example.com"])
        ),
        "{policy}"
    );
    let shown = api.env.run(&["policy", "pol-http"]).ok().stdout;
    assert!(
        shown.contains("locked (session); allow pypi.org, *.pythonhosted.org (session); deny example.com (session)"),
        "{shown}"
    );
    api.env.run(&["delete", "--force", "pol-http"]).ok();
}
