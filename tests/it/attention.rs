//! Knowing when an agent needs you, on real Docker: the daemon's
//! `[notify] command` (argv recorded by a stand-in, hostile session text
//! arriving as plain arguments, debounced), and `list --watch` driven in
//! tmux and as a JSON stream. The stub agent fires real hook events when
//! lines are appended to its control file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Env, docker_ready, unique};

/// First line hostile for a shell, second line never sent.
const PROMPT: &str = "fix \"it\" $(touch /tmp/clauderon-pwned) `id` 'now' {status}\nsecond line";

/// Makes the stub agent fire one hook event.
fn fire(env: &Env, name: &str, event: &str) {
    env.stub_control(name, event);
}

fn agent_status(env: &Env, name: &str) -> String {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let row = rows.iter().find(|r| r["name"] == name).unwrap();
    row["agent_status"].as_str().unwrap_or("-").to_string()
}

#[track_caller]
pub(super) fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// The notifications recorded so far, oldest first, each its argv.
pub(super) fn records(dir: &Path) -> Vec<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let raw = std::fs::read(f).unwrap();
            raw.split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .collect()
}

/// An env whose daemon runs a recorder for every notification.
pub(super) fn notify_env(record_dir: &Path, debounce: u64) -> Env {
    let env = Env::new();
    let script = record_dir.with_extension("sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nf={}/$(date +%s%N)\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"\n",
            record_dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = serde_json::json!([
        script,
        "{session}",
        "{status}",
        "{previous}",
        "{prompt}",
        "$(x) '{backend}'"
    ]);
    std::fs::write(
        env.home().join("config.toml"),
        format!("[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[notify]\ncommand = {command}\ndebounce_secs = {debounce}\nbell = true\n"),
    )
    .unwrap();
    env
}

#[test]
fn the_notify_command_gets_plain_arguments_debounced_per_session() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("records");
    std::fs::create_dir(&rec).unwrap();
    let env = notify_env(&rec, 30);
    let name = unique("notify");
    env.create(&name, PROMPT, &[]).ok();
    wait_until("working", Duration::from_secs(20), || {
        agent_status(&env, &name) == "working"
    });
    // The daemon looks every 2 s: let it see the agent working first.
    std::thread::sleep(Duration::from_secs(3));
    fire(&env, &name, "Stop");
    wait_until("a notification", Duration::from_secs(6), || {
        records(&rec).len() == 1
    });
    let first_line = PROMPT.lines().next().unwrap();
    assert_eq!(
        records(&rec)[0],
        [
            name.as_str(),
            "waiting-input",
            "working",
            first_line,
            "$(x) 'docker'"
        ]
    );
    assert!(!Path::new("/tmp/clauderon-pwned").exists());
    // Working again, then waiting again within the window: no second one.
    fire(&env, &name, "PreToolUse");
    wait_until("working again", Duration::from_secs(6), || {
        agent_status(&env, &name) == "working"
    });
    std::thread::sleep(Duration::from_secs(3));
    fire(&env, &name, "Stop");
    wait_until("waiting again", Duration::from_secs(6), || {
        agent_status(&env, &name) == "waiting-input"
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(records(&rec).len(), 1, "debounced: {:?}", records(&rec));
    // Another status is news; so is the container stopping.
    fire(&env, &name, "Notification permission_prompt");
    wait_until("waiting-approval", Duration::from_secs(6), || {
        records(&rec).len() == 2
    });
    assert_eq!(records(&rec)[1][1], "waiting-approval");
    env.run(&["stop", &name]).ok();
    wait_until("stopped", Duration::from_secs(8), || {
        records(&rec).len() == 3
    });
    assert_eq!(records(&rec)[2][1..3], ["stopped", "waiting-approval"]);
    env.run(&["delete", "--force", &name]).ok();
}

/// tmux on a server of its own, so no one else's sessions are touched.
struct Tmux(String);

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.0]);
        c
    }

    fn pane(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "w"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A detached 220x40 session "w" running `argv`.
    fn start(name: &str, argv: &[&str]) -> Tmux {
        let tmux = Tmux(unique(name));
        let size = ["new-session", "-d", "-s", "w", "-x", "220", "-y", "40"];
        let started = tmux.cmd().args(size).args(argv).status().unwrap();
        assert!(started.success());
        tmux
    }

    fn alive(&self) -> bool {
        self.cmd()
            .args(["has-session", "-t", "w"])
            .output()
            .unwrap()
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

#[test]
fn list_watch_in_tmux_shows_a_change_within_two_seconds_and_quits_on_q() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("watch");
    env.create(&name, "watch me", &[]).ok();
    wait_until("working", Duration::from_secs(20), || {
        agent_status(&env, &name) == "working"
    });
    let bin = env!("CARGO_BIN_EXE_clauderon");
    let home = format!("CLAUDERON_HOME={}", env.home().display());
    let tmux = Tmux::start("tmux", &["env", &home, bin, "list", "--watch"]);
    let row_has = |status: &str| {
        let pane = tmux.pane();
        pane.lines()
            .any(|l| l.starts_with(&name) && l.contains(status))
    };
    wait_until("the table", Duration::from_secs(10), || row_has("working"));
    assert!(tmux.pane().contains("q or Ctrl-C quits"));
    fire(&env, &name, "Stop");
    let took = wait_until("the change on screen", Duration::from_secs(2), || {
        row_has("waiting-input")
    });
    eprintln!("list --watch showed the change {took:?} after the hook was fired");
    tmux.cmd()
        .args(["send-keys", "-t", "w", "q"])
        .status()
        .unwrap();
    wait_until("q to quit", Duration::from_secs(3), || !tmux.alive());
    ctrl_c_quits_and_restores_the_terminal(&env);
    a_closed_pipe_ends_the_watch_with_the_terminal_restored(&env, &name);
    env.run(&["delete", "--force", &name]).ok();
}

/// `list --watch | head -n 1` in a terminal: the next change meets the
/// closed pipe, and the watch ends with the terminal as it was.
fn a_closed_pipe_ends_the_watch_with_the_terminal_restored(env: &Env, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let stty = dir.path().join("stty");
    let bin = env!("CARGO_BIN_EXE_clauderon");
    let script = format!(
        "CLAUDERON_HOME='{home}' '{bin}' list --watch | head -n 1 >/dev/null; stty -a > '{out}.tmp'; mv '{out}.tmp' '{out}'; sleep 30",
        home = env.home().display(),
        out = stty.display()
    );
    let _tmux = Tmux::start("tmux", &["sh", "-c", &script]);
    std::thread::sleep(Duration::from_secs(2));
    fire(env, name, "PreToolUse");
    std::thread::sleep(Duration::from_millis(1500));
    fire(env, name, "Stop");
    wait_until("the watch to end", Duration::from_secs(6), || stty.exists());
    let after = std::fs::read_to_string(&stty).unwrap();
    let flags: Vec<&str> = after.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(flags.contains(&flag), "{flag} not restored: {after}");
    }
}

/// In a shell in tmux: Ctrl-C ends the watch (exit 0), and the terminal
/// has its echo, line editing and signals back.
fn ctrl_c_quits_and_restores_the_terminal(env: &Env) {
    let dir = tempfile::tempdir().unwrap();
    let stty = dir.path().join("stty");
    let bin = env!("CARGO_BIN_EXE_clauderon");
    let script = format!(
        "CLAUDERON_HOME='{home}' '{bin}' list --watch; echo \"exit=$?\" > '{out}.tmp'; stty -a >> '{out}.tmp'; mv '{out}.tmp' '{out}'; sleep 30",
        home = env.home().display(),
        out = stty.display()
    );
    let tmux = Tmux::start("tmux", &["sh", "-c", &script]);
    wait_until("the table", Duration::from_secs(10), || {
        tmux.pane().contains("q or Ctrl-C quits")
    });
    tmux.cmd()
        .args(["send-keys", "-t", "w", "C-c"])
        .status()
        .unwrap();
    wait_until("Ctrl-C to quit", Duration::from_secs(3), || stty.exists());
    let after = std::fs::read_to_string(&stty).unwrap();
    assert!(after.starts_with("exit=0"), "{after}");
    let flags: Vec<&str> = after.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(flags.contains(&flag), "{flag} not restored: {after}");
    }
}

#[test]
fn list_watch_json_is_one_line_per_change() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("wjson");
    std::fs::write(
        env.home().join("config.toml"),
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[notify]\nbell = true\n",
    )
    .unwrap();
    env.create(&name, "watch me", &[]).ok();
    wait_until("working", Duration::from_secs(20), || {
        agent_status(&env, &name) == "working"
    });
    let verbose = tempfile::NamedTempFile::new().unwrap();
    let mut child = env
        .command(&["-v", "--json", "list", "--watch"])
        .stdout(Stdio::piped())
        .stderr(verbose.reopen().unwrap())
        .spawn()
        .unwrap();
    let engine_calls = || {
        let text = std::fs::read_to_string(verbose.path()).unwrap();
        text.lines()
            .filter(|l| l.starts_with("+ docker ps"))
            .count()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let status_in = |line: &str| -> String {
        let rows: Vec<serde_json::Value> = serde_json::from_str(line).unwrap();
        rows[0]["agent_status"].as_str().unwrap().to_string()
    };
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(status_in(&first), "working");
    // Nothing changes: nothing is printed, and the engine is asked again
    // only after 3 s (no event log changed).
    assert!(rx.recv_timeout(Duration::from_millis(2500)).is_err());
    assert_eq!(engine_calls(), 1, "looked again without a change");
    fire(&env, &name, "Stop");
    let next = rx.recv_timeout(Duration::from_secs(3)).unwrap();
    assert_eq!(status_in(&next), "waiting-input");
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let code = child.wait().unwrap();
    assert!(code.success(), "{code}");
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn list_watch_without_a_terminal_prints_changes_and_rings_the_bell() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[notify]\nbell = true\n",
    )
    .unwrap();
    let name = unique("wbell");
    env.create(&name, "watch me", &[]).ok();
    wait_until("working", Duration::from_secs(20), || {
        agent_status(&env, &name) == "working"
    });
    let mut child = env
        .command(&["list", "--watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut read_until = |wanted: &str, limit: Duration| {
        let start = Instant::now();
        while !String::from_utf8_lossy(&seen).contains(wanted) {
            assert!(
                start.elapsed() < limit,
                "{wanted:?} not in {:?}",
                String::from_utf8_lossy(&seen)
            );
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.extend(chunk);
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    let first = read_until("working", Duration::from_secs(5));
    assert!(
        !first.contains('\x1b'),
        "no escapes without a terminal: {first:?}"
    );
    assert!(!first.contains('\x07'));
    fire(&env, &name, "Stop");
    let all = read_until("waiting-input", Duration::from_secs(3));
    assert!(all.contains("\x07"), "the bell: {all:?}");
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn a_notify_command_that_hangs_is_killed_and_logged_and_the_daemon_goes_on() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[notify]\ncommand = [\"sh\", \"-c\", \"sleep 60\", \"{session}\"]\ntimeout_secs = 1\n",
    )
    .unwrap();
    let name = unique("hang");
    env.create(&name, "hang", &[]).ok();
    wait_until("working", Duration::from_secs(20), || {
        agent_status(&env, &name) == "working"
    });
    std::thread::sleep(Duration::from_secs(3));
    fire(&env, &name, "Stop");
    let log = env.home().join("daemon.log");
    wait_until("the failure in daemon.log", Duration::from_secs(8), || {
        std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains("took longer than 1 s and was killed"))
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("notify command for {name} waiting-input failed")),
        "{text}"
    );
    // The daemon still takes hook events.
    fire(&env, &name, "PreToolUse");
    wait_until("working again", Duration::from_secs(6), || {
        agent_status(&env, &name) == "working"
    });
    env.run(&["delete", "--force", &name]).ok();
}

/// An engine that does not answer: the watch says so under its table
/// (stderr's warning would be wiped by the next redraw), so an `unknown`
/// STATE comes with its reason and fix.
#[test]
fn list_watch_shows_why_an_engine_has_no_states() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("wdown");
    env.create(&name, "watch me", &[]).ok();
    let mut child = env
        .command(&["list", "--watch"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            if n == 0 || String::from_utf8_lossy(&seen).contains("fix:") {
                break;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
    let shown = reader.join().unwrap();
    assert!(shown.contains("unknown"), "{shown}");
    assert!(
        shown.contains("warning: cannot ask docker for container states"),
        "{shown}"
    );
    assert!(shown.contains("DOCKER_HOST"), "the fix: {shown}");
    env.run(&["delete", "--force", &name]).ok();
}
