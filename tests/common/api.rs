//! Helpers of the HTTP API's tests: a home whose daemon serves the API, its
//! token, and plain HTTP/1.1 requests over a TCP socket.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "[api]\nlisten = \"127.0.0.1:{port}\"\n{extra_config}"
    ));
    std::fs::write(&cfg, text).unwrap();
    (env, port)
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
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(text.len() >= 12, "no HTTP answer: {text:?}");
    let status = text[9..12].parse().unwrap();
    let payload = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let value = serde_json::from_str(payload).unwrap_or(Value::String(payload.to_string()));
    (status, value)
}
