//! Jobs of the HTTP API (`POST /run/async`, `/jobs`) over real HTTP against
//! real Docker: to completion, really cancelled, their events as SSE, their
//! webhooks (signed, retried), and their records across a daemon restart.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::api::{api_env, call, token};
use common::{BASE_IMAGE, docker_ready};
use serde_json::{Value, json};

#[test]
fn async_runs_are_jobs_that_finish_or_are_really_cancelled() {
    if !docker_ready() {
        return;
    }
    let (env, port) = api_env("");
    let t = token(&env);
    let repo = env.repo().to_string_lossy().to_string();
    let quick = json!({"prompt": "x", "repo": repo, "docker": {"image": BASE_IMAGE}});
    let (code, started) = call(port, "POST", "/run/async", Some(&t), &quick.to_string());
    assert_eq!(code, 202, "{started}");
    let id = started["job_id"].as_str().unwrap().to_string();
    // The 202's session_id is the session's name, which /sessions/{id} takes.
    let session_id = started["session_id"].as_str().unwrap().to_string();
    assert_eq!(started["session"], session_id.as_str(), "{started}");
    let job = wait_job(port, &t, &id, |j| j["status"] != "running");
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["result"]["session_id"], session_id.as_str(), "{job}");
    let (code, found) = call(
        port,
        "GET",
        &format!("/sessions/{session_id}"),
        Some(&t),
        "",
    );
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["session"]["name"], session_id.as_str(), "{found}");
    assert!(
        job["result"]["output"]
            .as_str()
            .unwrap()
            .contains("stub answer"),
        "{job}"
    );
    let (code, _) = call(port, "DELETE", &format!("/jobs/{id}"), Some(&t), "");
    assert_eq!(code, 409, "a finished job stays finished");
    assert_eq!(call(port, "GET", "/jobs/nope", Some(&t), "").0, 404);

    let slow = json!({"prompt": "x", "repo": repo, "docker": {
        "image": BASE_IMAGE, "lifecycle": {"post_start": ["sleep 30"]}}});
    let (_, started) = call(port, "POST", "/run/async", Some(&t), &slow.to_string());
    let (id, session) = (
        started["job_id"].as_str().unwrap(),
        started["session"].as_str().unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (code, cancelled) = call(port, "DELETE", &format!("/jobs/{id}"), Some(&t), "");
    assert_eq!(
        (code, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    // Stopped, or gone: cancelled while its create waited for it to be
    // ready, the create rolls it back.
    let state = wait_state(session, &["exited", ""]);
    assert!(
        state == "exited" || state.is_empty(),
        "the container is {state}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let job = call(port, "GET", &format!("/jobs/{id}"), Some(&t), "").1;
    assert_eq!(job["status"], "cancelled", "never overwritten: {job}");
    let all = call(port, "GET", "/jobs", Some(&t), "").1;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
}

/// The raw answer to a GET with extra header lines.
fn raw_get(port: u16, path: &str, token: &str, extra: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw
}

#[test]
fn a_jobs_events_stream_until_it_ends_and_replay_after_the_last_seen() {
    if !docker_ready() {
        return;
    }
    let (env, port) = api_env("");
    let t = token(&env);
    let repo = env.repo().to_string_lossy().to_string();
    // The stub answers with the prompt: two lines of output.
    let body =
        json!({"prompt": "first line\nsecond line", "repo": repo, "docker": {"image": BASE_IMAGE}});
    let (_, started) = call(port, "POST", "/run/async", Some(&t), &body.to_string());
    let id = started["job_id"].as_str().unwrap();
    let events = format!("/jobs/{id}/events");
    let stream = raw_get(port, &events, &t, "");
    assert!(stream.contains("text/event-stream"), "{stream}");
    assert!(
        stream.contains("id: 1.0\nevent: hook\n"),
        "ids are cursors: {stream}"
    );
    let first = "event: output\ndata: \"stub answer to: first line\"\n";
    assert!(stream.contains(first), "{stream}");
    assert!(
        stream.contains("event: output\ndata: \"second line\"\n"),
        "{stream}"
    );
    assert!(
        stream.contains("event: end") && stream.contains("completed"),
        "{stream}"
    );
    // Reconnecting after the first output line sends only the rest.
    let at = stream.find(first).unwrap();
    let seen = stream[..at]
        .lines()
        .last()
        .unwrap()
        .strip_prefix("id: ")
        .unwrap();
    let replay = raw_get(port, &events, &t, &format!("Last-Event-ID: {seen}\r\n"));
    assert!(!replay.contains("event: hook"), "{replay}");
    assert!(!replay.contains(first), "{replay}");
    assert!(replay.contains("data: \"second line\""), "{replay}");
    assert!(replay.contains("event: end"), "{replay}");
    let bad = raw_get(port, &events, &t, "Last-Event-ID: soon\r\n");
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert_eq!(call(port, "GET", "/jobs/nope/events", Some(&t), "").0, 404);
}

/// Answers one request per status in `statuses`, in turn, and hands back
/// each request's head and body.
fn receiver(
    listener: std::net::TcpListener,
    statuses: &[u16],
) -> std::thread::JoinHandle<Vec<(String, Vec<u8>)>> {
    let statuses = statuses.to_vec();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        for status in statuses {
            let (mut s, _) = listener.accept().unwrap();
            let (head, body) = read_request(&mut s);
            write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            got.push((head, body));
        }
        got
    })
}

fn read_request(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len || n == 0 {
                return (head.to_string(), body.as_bytes().to_vec());
            }
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_default()
}

#[test]
fn a_finished_async_run_calls_its_webhook_signed_and_only_allowed_hosts_are_called() {
    if !docker_ready() {
        return;
    }
    let secret = "0123456789abcdef-webhook";
    let (env, port) = api_env(&format!(
        "webhook_hosts = [\"127.0.0.1\"]\nwebhook_secret = \"{secret}\"\n"
    ));
    let t = token(&env);
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    // It fails once (a 503), then takes the delivery.
    let received = receiver(hook, &[503, 204]);
    let repo = env.repo().to_string_lossy().to_string();
    let url = format!("http://127.0.0.1:{hook_port}/done?x=1");
    let body =
        json!({"prompt": "x", "repo": repo, "docker": {"image": BASE_IMAGE}, "webhook_url": url});
    let (code, started) = call(port, "POST", "/run/async", Some(&t), &body.to_string());
    assert_eq!(code, 202, "{started}");
    let got = received.join().unwrap();
    let (head, payload) = &got[1];
    assert!(head.starts_with("POST /done?x=1 "), "{head}");
    // The retry is the same delivery: its id, body and signature.
    let first = &got[0];
    assert_eq!(first.1, *payload);
    let delivery = header(head, "x-clauderon-delivery: ");
    assert!(!delivery.is_empty(), "{head}");
    assert_eq!(header(&first.0, "x-clauderon-delivery: "), delivery);
    let sig = header(head, "x-clauderon-signature: sha256=");
    assert_eq!(header(&first.0, "x-clauderon-signature: sha256="), sig);
    let tag: Vec<u8> = (0..sig.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&sig[i..i + 2], 16).unwrap())
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, payload, &tag).expect("signed with the secret");
    let ended: Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(ended["status"], "completed", "{ended}");
    assert!(!String::from_utf8_lossy(payload).contains(secret));
    // The job records both attempts.
    let id = started["job_id"].as_str().unwrap();
    let mut job = Value::Null;
    for _ in 0..50 {
        job = call(port, "GET", &format!("/jobs/{id}"), Some(&t), "").1;
        if job["webhook"]["delivered"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let hook = &job["webhook"];
    assert_eq!(hook["delivery"], delivery, "{job}");
    assert_eq!(
        hook["attempts"],
        json!([{"status": 503}, {"status": 204}]),
        "{job}"
    );
    // Not in webhook_hosts, or on the synchronous route: a 400, nothing runs.
    let evil = json!({"prompt": "x", "repo": repo, "webhook_url": "http://evil.example/x"});
    let (code, answer) = call(port, "POST", "/run/async", Some(&t), &evil.to_string());
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("webhook_hosts"),
        "{answer}"
    );
    assert_eq!(
        call(port, "POST", "/run", Some(&t), &body.to_string()).0,
        400
    );
    let config = env.run(&["config", "show"]).ok().stdout;
    assert!(
        config.contains("(set)") && !config.contains(secret),
        "{config}"
    );
}

/// Polls a job until `done` says so (or 20 s pass); its last view.
fn wait_job(port: u16, t: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut job = Value::Null;
    for _ in 0..200 {
        job = call(port, "GET", &format!("/jobs/{id}"), Some(t), "").1;
        if done(&job) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    job
}

/// The state of a session's container once it is one of `want` ("" for
/// no container), or after 20 s.
fn wait_state(session: &str, want: &[&str]) -> String {
    let name = format!("clauderon-{session}");
    let mut state = String::new();
    for _ in 0..100 {
        let out = common::docker(&["inspect", "--format", "{{.State.Status}}", &name]);
        state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if want.contains(&state.as_str()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    state
}

#[test]
fn jobs_outlive_a_daemon_restart_and_a_running_one_ends_in_error() {
    if !docker_ready() {
        return;
    }
    let (env, port) = api_env("");
    let t = token(&env);
    let repo = env.repo().to_string_lossy().to_string();
    let quick = json!({"prompt": "x", "repo": repo, "docker": {"image": BASE_IMAGE}});
    let (_, started) = call(port, "POST", "/run/async", Some(&t), &quick.to_string());
    let done_id = started["job_id"].as_str().unwrap().to_string();
    let done = wait_job(port, &t, &done_id, |j| j["status"] != "running");
    assert_eq!(done["status"], "completed", "{done}");
    let slow = json!({"prompt": "x", "repo": repo, "docker": {"image": BASE_IMAGE,
        "env": {"API_KEY": "s3cret-in-env-value"}, "lifecycle": {"post_start": ["sleep 60"]}}});
    let (_, started) = call(port, "POST", "/run/async", Some(&t), &slow.to_string());
    let (slow_id, session) = (
        started["job_id"].as_str().unwrap().to_string(),
        started["session"].as_str().unwrap().to_string(),
    );
    assert_eq!(wait_state(&session, &["running"]), "running");
    // The daemon dies without warning, and a new one starts.
    let info: Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    let pid = info["pid"].as_i64().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    common::api::start_api(&env, port);

    let all = call(port, "GET", "/jobs", Some(&t), "").1;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let again = call(port, "GET", &format!("/jobs/{done_id}"), Some(&t), "").1;
    assert_eq!(again, done, "a finished job is as it was");
    let lost = call(port, "GET", &format!("/jobs/{slow_id}"), Some(&t), "").1;
    assert_eq!(lost["status"], "error", "{lost}");
    let reason = lost["result"]["crash_info"]["reason"].as_str().unwrap();
    assert!(reason.contains("daemon restarted"), "{lost}");
    assert_eq!(
        call(port, "DELETE", &format!("/jobs/{slow_id}"), Some(&t), "").0,
        409
    );
    // Stopped; and as it was killed while its create waited for it to be
    // ready, that create (which outlived the daemon) then rolls it back.
    let state = wait_state(&session, &["exited", ""]);
    assert!(
        state == "exited" || state.is_empty(),
        "its container is {state}"
    );
    // The records: private, and without the run's env values.
    for entry in std::fs::read_dir(env.home().join("jobs")).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600,
            "{}",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret-in-env-value"), "{text}");
    }
}
