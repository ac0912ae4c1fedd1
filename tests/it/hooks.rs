//! Hooks and the daemon: the rendered files, the listener's rejections over
//! real HTTP, the hook script run for real, and (with Docker) a stub agent
//! that runs the registered hooks like Claude Code, driving `list`.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::filters::snapshot;
use crate::common::{Env, daemon_port, docker_ok, docker_ready, fake_session, git, unique};
use clauderon::hooks::{MANAGED_SETTINGS, SEND_STATUS};
use serde_json::Value;

#[test]
fn rendered_hook_files() {
    snapshot!("send_status.sh", SEND_STATUS);
    snapshot!("managed-settings.json", MANAGED_SETTINGS);
    let settings: Value = serde_json::from_str(MANAGED_SETTINGS).unwrap();
    for event in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Notification",
        "Stop",
        "SessionEnd",
        "PermissionRequest",
    ] {
        let command = &settings["hooks"][event][0]["hooks"][0]["command"];
        assert_eq!(command, "/etc/clauderon/session/send_status.sh", "{event}");
    }
}

/// One raw HTTP request; returns the status code.
fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!(
        "POST /api/hooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let _ = s.write_all(req.as_bytes());
    let _ = s.write_all(body);
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// A hook request for the session "fake" with the given id and Authorization.
fn hook(port: u16, id: &str, auth: &str, body: &[u8]) -> u16 {
    post(
        port,
        &[
            ("X-Clauderon-Session", id),
            ("X-Clauderon-Session-Name", "fake"),
            ("Authorization", auth),
        ],
        body,
    )
}

fn events(env: &Env, name: &str) -> Vec<Value> {
    let r = env.run(&["events", "--json", name]).ok();
    serde_json::from_str(&r.stdout).unwrap()
}

/// A hook event the listener records.
const GOOD: &[u8] =
    br#"{"event":"PreToolUse","tool_name":"Bash","timestamp":"2026-01-01T00:00:00Z"}"#;

/// Each bad request gets its own status, and none is recorded.
fn assert_bad_requests_refused(env: &Env, port: u16, id: &str, auth: &str) {
    let good = GOOD;
    assert_eq!(
        post(
            port,
            &[
                ("X-Clauderon-Session", id),
                ("X-Clauderon-Session-Name", "fake")
            ],
            good
        ),
        401,
        "no token"
    );
    assert_eq!(
        post(
            port,
            &[
                ("X-Clauderon-Session", id),
                ("X-Clauderon-Session-Name", "fake"),
                ("Authorization", "Bearer wrong")
            ],
            good
        ),
        403,
        "wrong token"
    );
    let other = clauderon::session::new_uuid();
    assert_eq!(hook(port, &other, auth, good), 404, "unknown session");
    let big = vec![b' '; 70 * 1024];
    assert_eq!(hook(port, id, auth, &big), 413, "too large");
    assert_eq!(hook(port, id, auth, b"{not json"), 400, "malformed");
    assert_eq!(
        hook(port, id, auth, br#"{"tool_name":"x"}"#),
        400,
        "no event"
    );
    assert!(
        events(env, "fake").is_empty(),
        "rejected requests changed nothing"
    );
}

#[test]
fn listener_rejects_bad_requests_and_records_good_ones() {
    let env = Env::new();
    let id = fake_session(&env, "fake", "right-token");
    let port = daemon_port(&env);
    let auth = "Bearer right-token";
    let good = GOOD;
    assert_bad_requests_refused(&env, port, &id, auth);
    assert_eq!(hook(port, &id, auth, good), 200);
    let got = events(&env, "fake");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["event"], "PreToolUse");
    assert_eq!(got[0]["tool_name"], "Bash");
    // A client that never sends its body does not stall the listener.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"POST /api/hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(hook(port, &id, auth, good), 200);
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(slow);
    // A re-created session: the old id and token are refused.
    let new_id = fake_session(&env, "fake", "new-token");
    assert_eq!(hook(port, &id, auth, good), 404);
    assert_eq!(hook(port, &new_id, auth, good), 403);
    let id = new_id;
    let auth = "Bearer new-token";
    // Garbage on the port does not hurt the daemon.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(b"\x00\x01garbage\r\n\r\n");
    drop(s);
    assert_eq!(hook(port, &id, auth, good), 200);
}

#[test]
fn one_daemon_per_home_and_a_killed_one_does_not_block_the_next() {
    let env = Env::new();
    let port = daemon_port(&env);
    let r = env.run(&["daemon", "--http-port", "0"]).fails();
    assert!(r.stderr.contains("already running"), "{}", r.stderr);
    let info: Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    let pid = info["pid"].as_i64().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let r = env.run(&["daemon", "status"]).fails();
    assert!(r.stderr.contains("not running"), "{}", r.stderr);
    let again = daemon_port(&env);
    assert_ne!(again, 0);
    let _ = port;
    let r = env.run(&["daemon", "status"]).ok();
    assert!(
        r.stdout.contains("127.0.0.1:") && r.stdout.contains("proxy: port"),
        "{}",
        r.stdout
    );
    // A stopped and restarted daemon takes the same ports again, so the
    // sessions that were given them keep working.
    let before = common::daemon_ports(&env);
    env.run(&["daemon", "stop"]).ok();
    assert_eq!(common::daemon_ports(&env), before);
    env.run(&["daemon", "restart"]).ok();
    assert_eq!(common::daemon_ports(&env), before);
    // An explicit port is taken, not ignored.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = env
        .run(&["daemon", "--http-port", &free.to_string(), "restart"])
        .ok();
    assert!(r.stderr.contains("refresh"), "{}", r.stderr);
    assert_eq!(common::daemon_ports(&env).0, free);
}

#[test]
fn hook_script_forwards_hostile_text_exactly_and_never_fails() {
    let env = Env::new();
    let id = fake_session(&env, "script", "tok");
    let port = daemon_port(&env);
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("send_status.sh"), SEND_STATUS).unwrap();
    std::fs::write(
        files.path().join("hook-auth"),
        "Authorization: Bearer tok\n",
    )
    .unwrap();
    let message = "needs \"permission\" for `rm -rf $(x)` \\ 'quoted'\nünïcödé 🚀";
    let payload = serde_json::json!({
        "session_id": "abc", "hook_event_name": "Notification", "message": message,
        "notification_type": "permission_prompt", "cwd": "/workspace", "transcript_path": "/x y/z.jsonl",
    })
    .to_string();
    let (code, _, stdout) = common::run_hook_script(files.path(), "script", &id, port, &payload);
    assert_eq!((code, stdout.as_str()), (0, ""));
    let got = events(&env, "script");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["message"], message);
    assert_eq!(got[0]["notification_type"], "permission_prompt");
    assert_eq!(got[0]["agent_session_id"], "abc");
    // Nested keys are not mistaken for top-level ones.
    let payload = r#"{"session_id":"abc","hook_event_name":"PostToolUse","tool_name":"Edit","tool_input":{"message":"nested"},"tool_response":{"reason":"nested"}}"#;
    assert_eq!(
        common::run_hook_script(files.path(), "script", &id, port, payload).0,
        0
    );
    let got = events(&env, "script");
    assert_eq!(got[1]["tool_name"], "Edit");
    assert!(
        got[1]["message"].is_null() && got[1]["reason"].is_null(),
        "{:?}",
        got[1]
    );
    // Garbage in, daemon down: still exit 0, nothing on stdout, no long wait.
    for payload in ["", "not json", "{\"hook_event_name\": 5}"] {
        let (code, _, stdout) = common::run_hook_script(files.path(), "script", &id, port, payload);
        assert_eq!((code, stdout.as_str()), (0, ""), "{payload:?}");
    }
    env.run(&["daemon", "stop"]).ok();
    let (code, took, stdout) = common::run_hook_script(
        files.path(),
        "script",
        &id,
        port,
        &payload.replace("Edit", "Bash"),
    );
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

fn agent_status(env: &Env, name: &str) -> String {
    let r = env.run(&["list", "--json"]).ok();
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let row = rows.iter().find(|r| r["name"] == name).unwrap();
    row["agent_status"].as_str().unwrap_or("-").to_string()
}

#[track_caller]
fn wait_for_status(env: &Env, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = agent_status(env, name);
        if last == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{name}: status stayed {last}, wanted {want}; events: {:?}",
        events(env, name)
    );
}

/// The stub's log of the hooks it ran, once it has `n` lines (bounded): it
/// logs a hook after it returns, which may be after the daemon recorded it.
fn hook_lines(env: &Env, name: &str, n: usize) -> String {
    for _ in 0..50 {
        let log = String::from_utf8_lossy(&env.stub_file(name, "hooks")).into_owned();
        if log.lines().count() >= n {
            return log;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    String::from_utf8_lossy(&env.stub_file(name, "hooks")).into_owned()
}

fn control(env: &Env, name: &str, line: &str) {
    env.stub_control(name, line);
}

#[test]
fn list_follows_the_agent_through_its_hooks() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("hooks");
    env.create(&name, "prompt with \"quotes\", $(x) and ünïcödé", &[])
        .ok();
    env.wait_for_runs(&name, 1);
    // SessionStart then UserPromptSubmit, fired by the stub from the managed settings.
    wait_for_status(&env, &name, "working");
    for (line, want) in [
        ("PreToolUse", "working"),
        ("Notification permission_prompt", "waiting-approval"),
        ("PostToolUse", "working"),
        ("PermissionRequest", "waiting-approval"),
        ("Stop", "waiting-input"),
        ("Notification idle_prompt", "waiting-input"),
        ("SessionEnd", "ended"),
    ] {
        control(&env, &name, line);
        wait_for_status(&env, &name, want);
    }
    let table = env.run(&["list"]).ok().stdout;
    assert!(
        table.contains("STATUS") && table.contains("ended"),
        "{table}"
    );
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("SessionEnd") && status.contains("ended"),
        "{status}"
    );
    let evs = events(&env, &name);
    let names: Vec<&str> = evs.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(&names[..2], ["SessionStart", "UserPromptSubmit"]);
    assert_eq!(evs[2]["tool_name"], "Bash");
    // Every hook ran fast and exited 0.
    let hooks = hook_lines(&env, &name, 9);
    assert_eq!(hooks.lines().count(), 9, "{hooks}");
    assert!(hooks.lines().all(|l| l.contains("exit=0")), "{hooks}");
    // The hooks wrote nothing into the worktree that git would see.
    let porcelain = git(
        &env.worktree(&name),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(porcelain.trim().is_empty(), "{porcelain}");
    // A stopped container is `stopped`, whatever the last event said.
    env.run(&["stop", &name]).ok();
    assert_eq!(agent_status(&env, &name), "stopped");
    // Restarted: the agent resumes and waits for input.
    env.run(&["start", &name]).ok();
    wait_for_status(&env, &name, "waiting-input");
}

#[test]
fn agent_runs_on_when_the_daemon_is_down() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("nodaemon");
    env.create(&name, "x", &[]).ok();
    env.wait_for_runs(&name, 1);
    wait_for_status(&env, &name, "working");
    env.run(&["daemon", "stop"]).ok();
    for line in ["PreToolUse", "PostToolUse", "Stop"] {
        control(&env, &name, line);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let hooks = loop {
        let hooks = String::from_utf8(env.stub_file(&name, "hooks")).unwrap();
        if hooks.lines().count() >= 5 || Instant::now() > deadline {
            break hooks;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let late: Vec<&str> = hooks.lines().skip(2).collect();
    assert_eq!(late.len(), 3, "{hooks}");
    for l in late {
        assert!(l.contains("exit=0"), "{l}");
        let ms: u64 = l.rsplit("ms=").next().unwrap().parse().unwrap();
        assert!(ms < 5000, "hook took {ms} ms with the daemon down");
    }
    assert_eq!(
        docker_ok(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            &format!("clauderon-{name}")
        ]),
        "running"
    );
}
