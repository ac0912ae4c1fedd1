//! Stromboli's `session_id`, `resume` and `continue` over real HTTP against
//! real Docker: a run goes on with an earlier run's conversation (the stub
//! agent, resumed, names the earlier prompts in its answer), through
//! `POST /run`, `POST /run/async` and `GET /run/stream`; a session that does
//! not exist is a 404 (hostile ids too), a busy one a 409.

use crate::common::api::Api;
use crate::common::{BASE_IMAGE, docker_ready};
use serde_json::{Value, json};

fn run(api: &Api, body: Value) -> (u16, Value) {
    api.post("/run", &body)
}

fn output(answer: &Value) -> &str {
    answer["output"].as_str().unwrap_or_default()
}

/// The first run, then a second that resumes it by session_id: the second
/// answer remembers the first prompt, and both are the same session.
fn resume_by_session_id(api: &Api) -> String {
    let first = json!({"prompt": "remember the word pelican", "repo": api.repo,
        "docker": {"image": BASE_IMAGE}});
    let (code, a) = run(api, first);
    assert_eq!(
        (code, a["status"].as_str()),
        (200, Some("completed")),
        "{a}"
    );
    let session = a["session_id"].as_str().unwrap().to_string();
    assert!(!output(&a).contains("conversation so far"), "{a}");
    let (code, b) = run(
        api,
        json!({"prompt": "which word?", "claude": {"session_id": session, "resume": true}}),
    );
    assert_eq!(
        (code, b["status"].as_str()),
        (200, Some("completed")),
        "{b}"
    );
    assert_eq!(b["session_id"], session.as_str(), "{b}");
    assert_eq!(b["branch"], a["branch"], "{b}");
    assert!(
        output(&b).contains("stub answer to: which word? (the conversation so far: remember the word pelican|which word?)"),
        "{b}"
    );
    // The agent really resumed: its resume flag in the last start's argv.
    let argv = api.env.stub_argv(&session);
    assert!(argv.contains(&"--continue".to_string()), "{argv:?}");
    session
}

#[test]
fn a_run_resumes_the_named_session_s_conversation() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    let session = resume_by_session_id(&api);
    // session_id alone names the session too; continue takes the newest
    // session of the workspace (the repository).
    let (code, c) = run(
        &api,
        json!({"prompt": "third", "claude": {"session_id": session}}),
    );
    assert_eq!(code, 200, "{c}");
    assert!(output(&c).contains("|which word?|third)"), "{c}");
    let (code, d) = run(
        &api,
        json!({"prompt": "fourth", "repo": api.repo, "claude": {"continue": true}}),
    );
    assert_eq!(
        (code, d["session_id"].as_str()),
        (200, Some(session.as_str())),
        "{d}"
    );
    assert!(output(&d).contains("|third|fourth)"), "{d}");
    // Each run has its own id, the session's stays in session_id.
    assert_ne!(c["id"], d["id"], "{c} {d}");
    // Async: the job's result is the resumed run's.
    let (code, started) = api.post(
        "/run/async",
        &json!({"prompt": "fifth", "claude": {"session_id": session, "resume": true}}),
    );
    assert_eq!(
        (code, started["session_id"].as_str()),
        (202, Some(session.as_str())),
        "{started}"
    );
    let job = api.wait_job(started["job_id"].as_str().unwrap(), |j| {
        j["status"] != "running"
    });
    assert_eq!(job["status"], "completed", "{job}");
    assert!(
        job["output"].as_str().unwrap().contains("|fourth|fifth)"),
        "{job}"
    );
    // The stream: only this run's lines, then its answer.
    let body = stream(
        &api,
        &format!("/run/stream?prompt=sixth&session_id={session}"),
    );
    assert!(
        body.contains("data: stub answer to: sixth (the conversation so far:"),
        "{body}"
    );
    assert!(!body.contains("data: stub answer to: fifth"), "{body}");
    assert!(body.contains("event: done"), "{body}");
    // Its messages are still the session's (GET /sessions/{id}/messages).
    assert_eq!(api.get(&format!("/sessions/{session}/messages")).0, 200);
}

/// A raw GET of an event stream, read to its end.
fn stream(api: &Api, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", api.port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        api.t
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

#[test]
fn a_missing_or_hostile_session_is_a_404_and_a_busy_one_a_409() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    let long = "a".repeat(10 * 1024);
    for id in ["../x", "-rf", "a\nb", "séance", "nope", long.as_str()] {
        for claude in [
            json!({"session_id": id, "resume": true}),
            json!({"session_id": id}),
        ] {
            let (code, e) = run(&api, json!({"prompt": "x", "claude": claude}));
            assert_eq!(
                (code, e["kind"].as_str()),
                (404, Some("not_found")),
                "{id:?}: {e}"
            );
        }
        let q: String = url_encode(id);
        let body = stream(&api, &format!("/run/stream?prompt=x&session_id={q}"));
        assert!(body.starts_with("HTTP/1.1 404"), "{id:?}: {body}");
    }
    // continue without a workspace, or in one with no run: nothing to go on with.
    let (code, e) = run(&api, json!({"prompt": "x", "claude": {"continue": true}}));
    assert_eq!(code, 404, "{e}");
    let (code, e) = run(
        &api,
        json!({"prompt": "x", "repo": api.repo, "claude": {"resume": true}}),
    );
    assert_eq!(code, 404, "{e}");
    // No session was made by any of these.
    assert_eq!(api.get("/sessions").1["sessions"], json!([]));

    // A session with a run going on: a second run into it is a 409.
    let slow = json!({"prompt": "slow", "repo": api.repo, "docker": {
        "image": BASE_IMAGE, "lifecycle": {"post_start": ["sleep 6"]}}});
    let (_, started) = api.post("/run/async", &slow);
    let session = started["session_id"].as_str().unwrap();
    let again = json!({"prompt": "now", "claude": {"session_id": session, "resume": true}});
    let (code, e) = run(&api, again.clone());
    assert_eq!((code, e["kind"].as_str()), (409, Some("conflict")), "{e}");
    // (once its session exists, too)
    for _ in 0..100 {
        if api.get(&format!("/sessions/{session}")).0 == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, e) = run(&api, again.clone());
    assert_eq!((code, e["kind"].as_str()), (409, Some("conflict")), "{e}");
    // Options the session was not made with are a 409 that names them.
    let (code, e) = run(
        &api,
        json!({"prompt": "x", "claude": {"session_id": session, "model": "opus"}}),
    );
    assert_eq!(code, 409, "{e}");
    assert!(e["error"].as_str().unwrap().contains("claude.model"), "{e}");
    let job = api.wait_job(started["job_id"].as_str().unwrap(), |j| {
        j["status"] != "running"
    });
    assert_eq!(job["status"], "completed", "{job}");
    // Once that run has ended (its container stopped), it can be resumed.
    let (mut code, mut b) = run(&api, again.clone());
    for _ in 0..60 {
        if code != 409 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        (code, b) = run(&api, again.clone());
    }
    assert_eq!(
        (code, b["status"].as_str()),
        (200, Some("completed")),
        "{b}"
    );
    assert!(
        output(&b).contains("(the conversation so far: slow|now)"),
        "{b}"
    );
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// On Podman, with Codex: the resumed run is `codex exec resume --last`,
/// and it remembers the first prompt.
#[test]
fn a_codex_run_on_podman_resumes_with_exec_resume() {
    if !crate::common::podman_ready() {
        return;
    }
    // The test image carries the stub agent: no agent CLI image is mounted.
    let api = Api::new("[agent]\nmount_agent_cli = false\n");
    let first = json!({"prompt": "first on podman", "repo": api.repo, "agent": "codex",
        "podman": {"image": BASE_IMAGE}});
    let (code, a) = run(&api, first);
    assert_eq!(
        (code, a["status"].as_str()),
        (200, Some("completed")),
        "{a}"
    );
    let session = a["session_id"].as_str().unwrap().to_string();
    // Naming the engine it runs on is fine; naming another is a 409.
    let (code, e) = run(
        &api,
        json!({"prompt": "x", "claude": {"session_id": session}, "docker": {"timeout": "5m"}}),
    );
    assert_eq!(code, 409, "{e}");
    let (code, b) = run(
        &api,
        json!({"prompt": "second", "claude": {"session_id": session, "resume": true},
            "podman": {"timeout": "5m"}}),
    );
    assert_eq!(
        (code, b["status"].as_str()),
        (200, Some("completed")),
        "{b}"
    );
    assert!(
        output(&b).contains("(the conversation so far: first on podman|second)"),
        "{b}"
    );
    let argv = api.env.stub_argv(&session);
    assert_eq!(argv[..2], ["exec", "resume"], "{argv:?}");
    api.env.run(&["delete", "--force", &session]).ok();
}
