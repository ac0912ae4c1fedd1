//! `send` against real Docker and Podman: a waiting session, a stopped one
//! and an ended --print run each get the hostile message byte for byte (the
//! stub agent records its argv), and the status moves to working.

use crate::common::land::create_waiting;
use crate::common::{Env, docker_ready, podman_ready, unique};
use serde_json::Value;

const HOSTILE: &str = "-x it's \"quoted\"\nnew line $(touch /tmp/pwned) `id` ünïcode ✓ \\ end\n";

fn agent_status(env: &Env, name: &str) -> String {
    let r = env.run(&["status", "--json", name]).ok();
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["session"]["agent_status"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn wait_for_exit(engine: &str, name: &str) {
    for _ in 0..100 {
        let out = std::process::Command::new(engine)
            .args([
                "inspect",
                "-f",
                "{{.State.Running}}",
                &format!("clauderon-{name}"),
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).trim() == "false" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("clauderon-{name} did not exit");
}

/// The session's agent has just taken a prompt (its hook's event).
fn mark_working(env: &Env, name: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let log = env.home().join("sessions").join(name).join("events.jsonl");
    let line = format!("{{\"event\":\"UserPromptSubmit\",\"received_at\":{now}}}\n");
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
    assert_eq!(agent_status(env, name), "working");
}

fn assert_delivered(env: &Env, name: &str, runs: usize, resume: &str) {
    env.wait_for_runs(name, runs);
    let argv = env.stub_argv(name);
    assert_eq!(argv.last().map(String::as_str), Some(HOSTILE), "{argv:?}");
    assert_eq!(argv[argv.len() - 2], "--", "{argv:?}");
    assert!(argv.iter().any(|a| a == resume), "{argv:?}");
}

/// The status moved to working: each send recorded its event (which
/// `list` reads as working), and the agent is working or, the stub being
/// quick, has already ended that turn and waits again.
fn assert_moved_to_working(env: &Env, name: &str, sends: usize) {
    let r = env.run(&["events", "--json", name]).ok();
    let events: Value = serde_json::from_str(&r.stdout).unwrap();
    let sent = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "MessageSent")
        .count();
    // (a restart starts the event log anew: the newest send is there)
    assert!(sent >= 1 && sends >= 1, "{events}");
    let status = agent_status(env, name);
    assert!(
        ["working", "waiting-input"].contains(&status.as_str()),
        "{status}"
    );
}

/// Waiting, then stopped: each gets the message; the status is working.
fn assert_waiting_and_stopped(env: &Env, name: &str, resume: &str) {
    let file = env.home().join("message.txt");
    std::fs::write(&file, HOSTILE).unwrap();
    env.run(&["send", name, "--file", &file.to_string_lossy()])
        .ok();
    assert_moved_to_working(env, name, 1);
    assert_delivered(env, name, 2, resume);
    env.run(&["stop", name]).ok();
    let mut cmd = env.command(&["send", name, "-"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), HOSTILE.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_moved_to_working(env, name, 2);
    assert_delivered(env, name, 3, resume);
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}

#[test]
fn send_reaches_waiting_stopped_and_ended_sessions_on_docker() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("send");
    create_waiting(&env, &name, &[]);
    assert_waiting_and_stopped(&env, &name, "--continue");

    // An ended --print run: resumed once more to completion; logs has the answer.
    let print = unique("sendp");
    env.create(&print, "first question", &["--print"]).ok();
    wait_for_exit("docker", &print);
    env.run(&["send", &print, HOSTILE]).ok();
    env.wait_for_runs(&print, 2);
    wait_for_exit("docker", &print);
    let argv = env.stub_argv(&print);
    assert!(
        argv.contains(&"-p".to_string()) && argv.contains(&"--continue".to_string()),
        "{argv:?}"
    );
    assert_eq!(argv.last().map(String::as_str), Some(HOSTILE));
    let logs = env.run(&["logs", &print]).ok();
    assert!(
        logs.stdout.contains("stub answer to: -x it's \"quoted\""),
        "{}",
        logs.stdout
    );

    // Codex: `codex resume --last -- MESSAGE`.
    let codex = unique("sendx");
    create_waiting(&env, &codex, &["--agent", "codex"]);
    env.run(&["send", &codex, HOSTILE]).ok();
    assert_delivered(&env, &codex, 2, "--last");
    assert_eq!(env.stub_argv(&codex)[0], "resume");

    // Refusals: empty, unknown, a working agent.
    assert_eq!(env.run(&["send", &name, " "]).fails().code, 2);
    env.run(&["send", "no-such", "x"]).fails();
    // The stub ends its turns at once: its last prompt, logged as the
    // agent's hook logs one, makes it working for as long as the check.
    mark_working(&env, &name);
    let busy = env.run(&["send", &name, "x"]).fails();
    assert!(
        busy.stderr.contains("is working") && busy.stderr.contains("fix:"),
        "{}",
        busy.stderr
    );
    env.run(&["stop", &name]).ok();
    let dry = env.run(&["send", "--dry-run", &name, "x"]).ok();
    assert!(
        dry.stdout.contains("message-id") && dry.stdout.contains("start"),
        "{}",
        dry.stdout
    );
}

#[test]
fn send_resumes_a_stopped_session_on_podman() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = crate::common::podman::podman_env();
    let name = unique("sendpod");
    let r = crate::common::podman::create(&env, &name, crate::common::BASE_IMAGE, &[]);
    r.ok();
    env.wait_for_runs(&name, 1);
    env.run(&["stop", &name]).ok();
    env.run(&["send", &name, HOSTILE]).ok();
    assert_moved_to_working(&env, &name, 1);
    assert_delivered(&env, &name, 2, "--continue");
}
