//! A home's daemon: a session record it accepts hooks for, its ports, and
//! the real hook script run against it.

use std::path::Path;

use super::Env;

use super::fixtures;

/// A session record on disk, as `create` writes it, without any engine.
pub fn fake_session(env: &Env, name: &str, token: &str) -> String {
    let id = clauderon::session::new_uuid();
    let spec = clauderon::session::SessionSpec {
        name: name.into(),
        id: id.clone(),
        image: "x".into(),
        pull_policy: clauderon::session::PullPolicy::Never,
        prompt: "p".into(),
        repo_root: env.repo().into(),
        git_common_dir: env.repo().join(".git"),
        branch: name.into(),
        worktree: env.worktree(name),
        uid: 0,
        gid: 0,
        git_identity: Default::default(),
        created_at: 1,
        hook_token: token.into(),
        ..fixtures::spec()
    };
    let dir = env.home().join("sessions").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("session.json"),
        clauderon::store::record_bytes(&spec),
    )
    .unwrap();
    id
}

/// Starts this home's daemon and returns (hook port, proxy port).
pub fn daemon_ports(env: &Env) -> (u16, Option<u16>) {
    env.run(&["daemon", "start"]).ok();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    (
        info["port"].as_u64().unwrap() as u16,
        info["proxy_port"].as_u64().map(|p| p as u16),
    )
}

pub fn daemon_port(env: &Env) -> u16 {
    daemon_ports(env).0
}

/// Runs the real hook script (`files`: the session's files) on the host
/// against the daemon listening on `port`: its exit code, how long it took
/// itself, and its stdout. It returns at once and sends in the background;
/// this then waits (bounded) for the sending to end, so the event is in
/// the daemon's log when this returns.
pub fn run_hook_script(
    files: &Path,
    name: &str,
    id: &str,
    port: u16,
    payload: &str,
) -> (i32, std::time::Duration, String) {
    let run = run_hook_script_only(files, name, id, port, payload);
    let spool = files.join(format!("clauderon-hooks-{id}"));
    let queued = || {
        std::fs::read_dir(&spool).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while queued() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run
}

/// As `run_hook_script`, without waiting for the background sending (its
/// queue is in `files`, the script's TMPDIR).
pub fn run_hook_script_only(
    files: &Path,
    name: &str,
    id: &str,
    port: u16,
    payload: &str,
) -> (i32, std::time::Duration, String) {
    use std::io::Write;
    let start = std::time::Instant::now();
    let mut child = std::process::Command::new("bash")
        .arg(files.join("send_status.sh"))
        .env("CLAUDERON_SESSION_FILES", files)
        .env("CLAUDERON_SESSION_ID", id)
        .env("CLAUDERON_SESSION", name)
        .env("CLAUDERON_HTTP_PORT", port.to_string())
        .env("CLAUDERON_HOST", "127.0.0.1")
        .env("TMPDIR", files)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        start.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
