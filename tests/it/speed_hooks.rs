//! Hooks never delay the agent: the status script (templates/send_status.sh,
//! which Claude Code waits for, SessionStart before its first model call)
//! returns at once whether the daemon answers, hangs or is gone, and
//! still delivers its events, in order, in the background.

use std::net::TcpListener;
use std::time::Duration;

use crate::common;
use crate::common::{Env, daemon_port, fake_session};
use clauderon::hooks::SEND_STATUS;
use serde_json::Value;

/// A bound far above the script's own time (a bash start, a few
/// milliseconds; 0.1 s on a loaded machine) and below the 4 s the
/// script once waited for a daemon that does not answer.
const RETURNS_WITHIN: Duration = Duration::from_secs(2);

fn session_files(token: &str) -> tempfile::TempDir {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("send_status.sh"), SEND_STATUS).unwrap();
    let auth = format!("Authorization: Bearer {token}\n");
    std::fs::write(files.path().join("hook-auth"), auth).unwrap();
    files
}

fn event(name: &str) -> String {
    format!(r#"{{"hook_event_name":"{name}","session_id":"s1","tool_name":"Bash"}}"#)
}

#[test]
fn the_hook_returns_at_once_when_the_daemon_hangs_or_is_gone() {
    let files = session_files("tok");
    // Hangs: accepts the connection (the kernel does) and never answers.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    // Gone: nothing listens on the port.
    let gone_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (what, port) in [("hung", hung_port), ("gone", gone_port)] {
        let (code, took, stdout) = common::run_hook_script_only(
            files.path(),
            "s",
            "hook-speed",
            port,
            &event("SessionStart"),
        );
        assert_eq!((code, stdout.as_str()), (0, ""), "{what}");
        assert!(
            took < RETURNS_WITHIN,
            "the hook took {took:?} with the daemon {what}"
        );
    }
    drop(hung);
}

#[test]
fn events_sent_in_the_background_arrive_in_order() {
    let env = Env::new();
    let id = fake_session(&env, "order", "tok");
    let port = daemon_port(&env);
    let files = session_files("tok");
    let names = [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "Stop",
    ];
    for name in names {
        let (code, took, _) =
            common::run_hook_script_only(files.path(), "order", &id, port, &event(name));
        assert_eq!(code, 0);
        assert!(took < RETURNS_WITHIN, "{name} took {took:?}");
    }
    let mut got = Vec::new();
    for _ in 0..100 {
        let out = env.run(&["events", "--json", "order"]).ok().stdout;
        got = serde_json::from_str::<Vec<Value>>(&out).unwrap();
        if got.len() >= names.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen: Vec<&str> = got.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(seen, names, "{got:?}");
}
