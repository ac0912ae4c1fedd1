//! Jobs of the HTTP API (`POST /run/async`, `/jobs`) over real HTTP against
//! real Docker: to completion, really cancelled, their events as SSE, their
//! webhooks (signed, retried), and their records across a daemon restart.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use crate::common::api::{Api, api_env, call, token, wait_state};
use crate::common::{BASE_IMAGE, Env, docker_ready};
use serde_json::{Value, json};

/// A quick async run: a 202, then a completed job whose result is the
/// run's; a finished job cannot be cancelled.
fn a_quick_job_completes(api: &Api) {
    let quick = json!({"prompt": "x", "repo": api.repo, "docker": {"image": BASE_IMAGE}});
    let (code, started) = api.post("/run/async", &quick);
    assert_eq!(code, 202, "{started}");
    let id = started["job_id"].as_str().unwrap().to_string();
    // The 202's session_id is the session's name, which /sessions/{id} takes.
    let session_id = started["session_id"].as_str().unwrap().to_string();
    assert_eq!(started["session"], session_id.as_str(), "{started}");
    let job = api.wait_job(&id, |j| j["status"] != "running");
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["result"]["session_id"], session_id.as_str(), "{job}");
    let (code, found) = api.get(&format!("/sessions/{session_id}"));
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["session"]["name"], session_id.as_str(), "{found}");
    assert!(
        job["result"]["output"]
            .as_str()
            .unwrap()
            .contains("stub answer"),
        "{job}"
    );
    let (code, _) = api.delete(&format!("/jobs/{id}"));
    assert_eq!(code, 409, "a finished job stays finished");
}

#[test]
fn async_runs_are_jobs_that_finish_or_are_really_cancelled() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    a_quick_job_completes(&api);
    assert_eq!(api.get("/jobs/nope").0, 404);

    let slow = json!({"prompt": "x", "repo": api.repo, "docker": {
        "image": BASE_IMAGE, "lifecycle": {"post_start": ["sleep 30"]}}});
    let (_, started) = api.post("/run/async", &slow);
    let (id, session) = (
        started["job_id"].as_str().unwrap(),
        started["session"].as_str().unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (code, cancelled) = api.delete(&format!("/jobs/{id}"));
    assert_eq!(
        (code, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    // Stopped, or gone: cancelled while its create waited for it to be
    // ready, the create rolls it back.
    let state = wait_state("docker", session, &["exited", ""]);
    assert!(
        state == "exited" || state.is_empty(),
        "the container is {state}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let job = api.get(&format!("/jobs/{id}")).1;
    assert_eq!(job["status"], "cancelled", "never overwritten: {job}");
    let all = api.get("/jobs").1;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 2, "{all}");
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
    // Past the end: never sent, so not a cursor.
    let ahead = raw_get(port, &events, &t, "Last-Event-ID: 999.0\r\n");
    assert!(ahead.starts_with("HTTP/1.1 400"), "{ahead}");
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

/// The delivery (after a 503, a retry): to the URL's path, signed with
/// `secret`, the job's end as its body; the retry the same delivery (id,
/// body, signature). The delivery's id.
fn assert_signed_and_retried(got: &[(String, Vec<u8>)], secret: &str) -> String {
    let (head, payload) = &got[1];
    assert!(head.starts_with("POST /done?x=1 "), "{head}");
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
    delivery.to_string()
}

/// Not in webhook_hosts (a 403), or on the synchronous route (`body`: a
/// 400): nothing runs; config show hides the secret.
fn assert_unallowed_webhooks_refused(api: &Api, body: &Value, secret: &str) {
    let evil = json!({"prompt": "x", "repo": api.repo, "webhook_url": "http://evil.example/x"});
    let (code, answer) = api.post("/run/async", &evil);
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("webhook_hosts"),
        "{answer}"
    );
    assert_eq!(api.post("/run", body).0, 400);
    // Credentials in the URL would be stored and shown with the job.
    let userinfo = json!({"prompt": "x", "repo": api.repo,
        "webhook_url": "http://user:hunter2@127.0.0.1:9/hook"});
    let (code, answer) = api.post("/run/async", &userinfo);
    assert_eq!(code, 400, "{answer}");
    assert!(!answer.to_string().contains("hunter2"), "{answer}");
    let config = api.env.run(&["config", "show"]).ok().stdout;
    assert!(
        config.contains("(set)") && !config.contains(secret),
        "{config}"
    );
}

#[test]
fn a_finished_async_run_calls_its_webhook_signed_and_only_allowed_hosts_are_called() {
    if !docker_ready() {
        return;
    }
    let secret = "0123456789abcdef-webhook";
    let api = Api::new(&format!(
        "webhook_hosts = [\"127.0.0.1\"]\nwebhook_secret = \"{secret}\"\n"
    ));
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    // It fails once (a 503), then takes the delivery.
    let received = receiver(hook, &[503, 204]);
    let url = format!("http://127.0.0.1:{hook_port}/done?x=1");
    let body = json!({"prompt": "x", "repo": api.repo, "docker": {"image": BASE_IMAGE}, "webhook_url": url});
    let (code, started) = api.post("/run/async", &body);
    assert_eq!(code, 202, "{started}");
    let delivery = assert_signed_and_retried(&received.join().unwrap(), secret);
    // The job records both attempts.
    let id = started["job_id"].as_str().unwrap();
    let mut job = Value::Null;
    for _ in 0..50 {
        job = api.get(&format!("/jobs/{id}")).1;
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
    assert_unallowed_webhooks_refused(&api, &body, secret);
}

/// Kills the home's daemon without warning (SIGKILL).
fn kill_daemon(env: &Env) {
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
}

/// The job records: private, and without the run's env values.
fn assert_job_records_private(env: &Env) {
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

#[test]
fn jobs_outlive_a_daemon_restart_and_a_running_one_ends_in_error() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    let quick = json!({"prompt": "x", "repo": api.repo, "docker": {"image": BASE_IMAGE}});
    let (_, started) = api.post("/run/async", &quick);
    let done_id = started["job_id"].as_str().unwrap().to_string();
    let done = api.wait_job(&done_id, |j| j["status"] != "running");
    assert_eq!(done["status"], "completed", "{done}");
    let slow = json!({"prompt": "x", "repo": api.repo, "docker": {"image": BASE_IMAGE,
        "env": {"API_KEY": "s3cret-in-env-value"}, "lifecycle": {"post_start": ["sleep 60"]}}});
    let (_, started) = api.post("/run/async", &slow);
    let (slow_id, session) = (
        started["job_id"].as_str().unwrap().to_string(),
        started["session"].as_str().unwrap().to_string(),
    );
    assert_eq!(wait_state("docker", &session, &["running"]), "running");
    // The daemon dies without warning, and a new one starts.
    kill_daemon(&api.env);
    std::thread::sleep(std::time::Duration::from_millis(300));
    common::api::start_api(&api.env, api.port);

    let all = api.get("/jobs").1;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 2, "{all}");
    let again = api.get(&format!("/jobs/{done_id}")).1;
    assert_eq!(again, done, "a finished job is as it was");
    let lost = api.get(&format!("/jobs/{slow_id}")).1;
    assert_eq!(lost["status"], "failed", "{lost}");
    assert_eq!(lost["clauderon_status"], "error", "{lost}");
    let reason = lost["result"]["crash_info"]["reason"].as_str().unwrap();
    assert!(reason.contains("daemon restarted"), "{lost}");
    assert_eq!(api.delete(&format!("/jobs/{slow_id}")).0, 409);
    // Stopped; and as it was killed while its create waited for it to be
    // ready, that create (which outlived the daemon) then rolls it back.
    let state = wait_state("docker", &session, &["exited", ""]);
    assert!(
        state == "exited" || state.is_empty(),
        "its container is {state}"
    );
    assert_job_records_private(&api.env);
}
