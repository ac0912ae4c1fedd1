//! Helpers of the HTTP API's tests: a home whose daemon serves the API, its
//! token, and plain HTTP/1.1 requests over a TCP socket.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use serde_json::{Value, json};

use super::Env;

/// A home whose daemon serves the API on a free loopback port.
pub fn api_env(extra_config: &str) -> (Env, u16) {
    let (env, port) = api_env_stopped(extra_config);
    start_api(&env, port);
    (env, port)
}

/// As `api_env`, the daemon not started yet.
pub fn api_env_stopped(extra_config: &str) -> (Env, u16) {
    let env = Env::new();
    let port = free_port();
    let cfg = env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "[api]\nlisten = \"127.0.0.1:{port}\"\n{extra_config}"
    ));
    std::fs::write(&cfg, text).unwrap();
    (env, port)
}

/// Fails if a scratch repository (a run's without a repository) is left
/// in `env`'s home.
#[track_caller]
pub fn assert_no_scratch_left(env: &Env) {
    let scratch = env.home().join("scratch");
    let left = std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        left,
        0,
        "scratch repositories left in {}",
        scratch.display()
    );
}

/// A loopback port free now (for a daemon's API to listen on).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the home's daemon and checks that it serves the API on `port`.
pub fn start_api(env: &Env, port: u16) {
    env.run(&["daemon", "start"]).ok();
    let status = env.run(&["daemon", "status"]).ok().stdout;
    assert!(
        status.contains(&format!("api: 127.0.0.1:{port}")),
        "{status}"
    );
}

pub fn token(env: &Env) -> String {
    env.run(&["api", "token"]).ok().stdout.trim().to_string()
}

/// One HTTP/1.1 request; (status, body as JSON or a string).
pub fn call(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    call_bytes(port, method, path, token, body.as_bytes())
}

/// As `call`, with a body of any bytes.
pub fn call_bytes(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    // A server may answer (413) and close before the whole body is sent:
    // the write then fails, and the answer is still there to read.
    if let Err(e) = s.write_all(body) {
        let early = [ErrorKind::BrokenPipe, ErrorKind::ConnectionReset];
        assert!(early.contains(&e.kind()), "sending the body: {e}");
    }
    let raw = read_until_closed(&mut s);
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(text.len() >= 12, "no HTTP answer: {text:?}");
    let status = text[9..12].parse().unwrap();
    let payload = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let value = serde_json::from_str(payload).unwrap_or(Value::String(payload.to_string()));
    (status, value)
}

/// Everything the peer sent, up to its close or reset (what came before
/// a reset is still an answer).
fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return raw,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !raw.is_empty() => return raw,
            Err(e) => panic!("reading the answer: {e}"),
        }
    }
}

/// A home whose daemon serves the API, with its token and its repository
/// (as request bodies name it): where most API tests start.
pub struct Api {
    pub env: Env,
    pub port: u16,
    pub t: String,
    pub repo: String,
}

impl Api {
    /// As `api_env`, with the token and repository read once.
    pub fn new(extra_config: &str) -> Api {
        let (env, port) = api_env(extra_config);
        Api::on(env, port)
    }

    /// The API that `env`'s daemon already serves on `port`.
    pub fn on(env: Env, port: u16) -> Api {
        let t = token(&env);
        let repo = env.repo().to_string_lossy().to_string();
        Api { env, port, t, repo }
    }

    /// One request with the token; (status, body).
    pub fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        call(self.port, method, path, Some(&self.t), body)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, "")
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, &body.to_string())
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, "")
    }

    /// Polls a job until `done` says so (or 20 s pass); its last view.
    pub fn wait_job(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut job = Value::Null;
        for _ in 0..200 {
            job = self.get(&format!("/jobs/{id}")).1;
            if done(&job) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        job
    }
}

/// The state of a session's container on `engine` ("" when there is none).
pub fn container_state(engine: &str, session: &str) -> String {
    let out = std::process::Command::new(engine)
        .args(["inspect", "--format", "{{.State.Status}}"])
        .arg(format!("clauderon-{session}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The state of a session's container once it is one of `want` ("" for
/// no container), or after 30 s.
pub fn wait_state(engine: &str, session: &str, want: &[&str]) -> String {
    let mut state = container_state(engine, session);
    for _ in 0..150 {
        if want.contains(&state.as_str()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        state = container_state(engine, session);
    }
    state
}

/// Asserts that the session's container on `engine` has a bind mount of
/// each (host source, container destination, writable).
pub fn assert_mounted(engine: &str, session: &str, expected: &[(String, &str, bool)]) {
    let out = std::process::Command::new(engine)
        .args(["inspect", "--format", "{{json .Mounts}}"])
        .arg(format!("clauderon-{session}"))
        .output()
        .unwrap();
    let mounts: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (source, dest, rw) in expected {
        let m = mounts
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["Destination"] == *dest)
            .unwrap_or_else(|| panic!("no mount at {dest}: {mounts}"));
        assert_eq!(
            (&m["Source"], &m["RW"]),
            (&json!(source), &json!(rw)),
            "{m}"
        );
    }
}
