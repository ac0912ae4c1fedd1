//! The API under hostile clients: idle and slow connections do not starve
//! it, and random request bodies never get a 500 or crash the daemon; and
//! under an upgrade that replaces its binary while it runs.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::api::{api_env, call, call_bytes, token};

/// `n` idle clients: some connect and say nothing, some send half a
/// request head and stall (slowloris).
fn idle_clients(port: u16, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            if i % 2 == 0 {
                s.write_all(b"GET /v1/sessions HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
            }
            s
        })
        .collect()
}

/// A connection that sends nothing is closed after the header timeout
/// (5 s); what it was told before (bytes read, first bytes).
fn a_silent_connection_is_closed_in_time(port: u16) -> (usize, [u8; 64]) {
    let mut last = TcpStream::connect(("127.0.0.1", port)).unwrap();
    last.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let waited = Instant::now();
    let mut buf = [0u8; 64];
    let n = last.read(&mut buf).unwrap_or(0);
    eprintln!("idle connection closed after {:?}", waited.elapsed());
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(8)).contains(&waited.elapsed()),
        "an idle connection was closed after {:?}",
        waited.elapsed()
    );
    (n, buf)
}

#[test]
fn idle_connections_cannot_hold_every_slot() {
    let (env, port) = api_env("");
    let t = token(&env);
    // More idle clients than the API's 64 slots.
    let idle = idle_clients(port, 80);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (code, answer) = call(port, "GET", "/v1/sessions", Some(&t), "");
    assert_eq!(code, 200, "{answer}");
    eprintln!(
        "answered in {:?} with 80 idle connections",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered after {:?} with 80 idle connections open",
        started.elapsed()
    );
    // A keep-alive connection that goes quiet is closed too (read below,
    // its timer runs meanwhile).
    let mut ka = TcpStream::connect(("127.0.0.1", port)).unwrap();
    ka.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    ka.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let quiet = Instant::now();
    // The silent one is the newest, so no newcomer takes its slot first.
    let (n, buf) = a_silent_connection_is_closed_in_time(port);
    drop(idle);
    let said = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(n == 0 || said.starts_with("HTTP/1.1 408"), "{said}");
    let mut got = Vec::new();
    let _ = ka.read_to_end(&mut got);
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    eprintln!("keep-alive connection closed after {:?}", quiet.elapsed());
    assert!(
        quiet.elapsed() < Duration::from_secs(8),
        "keep-alive stayed open {:?}",
        quiet.elapsed()
    );
    assert_eq!(call_bytes(port, "GET", "/health", None, b"").0, 200);
}

#[test]
fn with_every_slot_answering_a_request_a_newcomer_gets_a_quick_503() {
    let (env, port) = api_env("");
    let t = token(&env);
    // 64 requests whose bodies never finish arriving: each is being
    // answered (its handler waits for the body), so none is idle.
    let busy: Vec<TcpStream> = (0..64)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let head = format!(
                "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Length: 100\r\n\r\n{{"
            );
            s.write_all(head.as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (code, answer) = call(port, "GET", "/v1/sessions", Some(&t), "");
    assert_eq!(code, 503, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("slot"),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Their clients go away: the slots are free again.
    drop(busy);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(call(port, "GET", "/v1/sessions", Some(&t), "").0, 200);
}

#[path = "../support/fuzz_json.rs"]
mod fuzz_json;

#[test]
fn random_bodies_over_http_are_4xx_with_a_reason_or_succeed_and_never_crash_the_daemon() {
    let (env, port) = api_env("webhook_hosts = [\"127.0.0.1\"]\n");
    let t = token(&env);
    let pid = || {
        let status = env.run(&["daemon", "status"]).ok().stdout;
        status.split(',').next().unwrap_or_default().to_string()
    };
    let before = pid();
    let seed = fuzz_json::Rng::seed();
    let mut rng = fuzz_json::Rng::new(seed);
    // A webhook_url in every /run body keeps a valid one from running: it
    // is refused (400) only after the rest of the body was checked.
    let unrunnable = ["\"webhook_url\":\"http://not-allowed.invalid/x\""];
    // A real repository in some session bodies, so some are valid plans.
    let repo = format!("\"repo\":{:?}", env.repo().display().to_string());
    let with_repo = [repo.as_str()];
    let routes = [
        ("/run", &unrunnable[..]),
        ("/run/async", &unrunnable[..]),
        ("/v1/sessions?dry_run=1", &[][..]),
        ("/images/pull?dry_run=1", &[][..]),
        ("/v1/sessions?dry_run=1", &with_repo[..]),
    ];
    let mut answered = std::collections::BTreeMap::new();
    for case in 0..300 {
        let (path, extra) = routes[case % routes.len()];
        let body = fuzz_json::body(&mut rng, extra);
        let (code, answer) = call_bytes(port, "POST", path, Some(&t), &body);
        let shown = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        let why =
            format!("FUZZ_SEED={seed} case {case}: POST {path} {code} {answer}\nbody: {shown}");
        assert!((200..500).contains(&code), "{why}");
        if code >= 400 {
            assert!(
                answer["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{why}"
            );
        }
        *answered.entry((path, code)).or_insert(0) += 1;
    }
    eprintln!("FUZZ_SEED={seed}: {answered:?}");
    assert_eq!(pid(), before, "the same daemon answers");
    assert_eq!(call(port, "GET", "/health", None, "").0, 200);
    assert_eq!(env.run(&["list", "--json"]).ok().stdout.trim(), "[]");
}

/// `cargo install` replaces the binary while the daemon runs: the daemon's
/// own path then names a deleted file, and its requests (each runs the
/// binary as a child) must still be answered.
#[test]
fn requests_are_answered_after_the_daemons_binary_is_replaced() {
    let (env, port) = common::api::api_env_stopped("");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("clauderon");
    std::fs::copy(env!("CARGO_BIN_EXE_clauderon"), &copy).unwrap();
    let started = std::process::Command::new(&copy)
        .args(["daemon", "start"])
        .env("CLAUDERON_HOME", env.home())
        .env_remove("DOCKER_HOST")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    // What an upgrade does: a new file in its place, the old one unlinked.
    std::fs::remove_file(&copy).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_clauderon"), &copy).unwrap();
    let t = token(&env);
    let (code, body) = call(port, "GET", "/v1/sessions", Some(&t), "");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body, serde_json::json!([]));
}

/// Clients that hang up before their answer is written (an agent's HTTP
/// client, a hook, an API caller) cost the daemon those answers only: it
/// was killed by SIGPIPE, silently, taking every session's proxy with it.
#[test]
fn clients_that_hang_up_early_do_not_kill_the_daemon() {
    use std::os::unix::net::UnixStream;
    let (env, port) = api_env("");
    let (hook_port, proxy_port) = crate::common::daemon::daemon_ports(&env);
    let hooks_socket = env.home().join("run/hooks.sock");
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
    for _ in 0..20 {
        let mut s = UnixStream::connect(&hooks_socket).unwrap();
        let _ = s.write_all(&request);
        for tcp in [hook_port, port, proxy_port.unwrap()] {
            let mut s = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
            let _ = s.write_all(&request);
        }
    }
    // The answers are written after the hang-ups; give them time to fail.
    std::thread::sleep(Duration::from_secs(2));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    let pid = info["pid"].as_u64().unwrap();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon died: {}",
        std::fs::read_to_string(env.home().join("daemon.log")).unwrap_or_default()
    );
    assert_eq!(call_bytes(port, "GET", "/health", None, b"").0, 200);
}

/// A prompt longer than one argument may be (128 KiB) is taken whole: it
/// reaches the child create on its stdin (`--prompt-file=-`), in no process
/// list.
#[test]
fn a_prompt_longer_than_an_argument_is_taken_whole() {
    let api = crate::common::api::Api::new("[images]\nallowed_patterns = [\"clauderon-test-*\"]\n");
    let prompt = format!("{}end", "é-$(id) ".repeat(20_000));
    let body = serde_json::json!({
        "prompt": prompt, "repo": api.repo, "name": "long-prompt",
        "image": crate::common::BASE_IMAGE, "pull_policy": "never",
    });
    let (code, plan) = api.post("/v1/sessions?dry_run=1", &body);
    assert_eq!(code, 200, "{plan}");
    let text = plan.to_string();
    assert!(
        text.contains("é-$(id) é-$(id)") && text.contains("end"),
        "the prompt is in the plan's files"
    );
}

/// A body declared larger than the limit is a 413 at once, not after the
/// body's time limit.
#[test]
fn a_declared_oversized_body_is_refused_at_once() {
    let (env, port) = api_env("");
    let t = token(&env);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    write!(
        s,
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Length: 99999999999\r\n\r\n{{"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(
        &head,
        b"HTTP/1.1 413",
        "{:?}",
        String::from_utf8_lossy(&head)
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
