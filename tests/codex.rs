//! Codex for real: the proxy carries the Responses WebSocket with the key
//! swapped, and the REAL Codex CLI runs a tool in a session container
//! against a local stand-in for the OpenAI Responses API
//! (tests/support/responses.py), through the daemon's proxy.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Env, fake_session};
use serde_json::Value;

/// The key the daemon holds; the container only ever sees the placeholder.
const REAL_KEY: &str = "sk-proj-REALopenaiKEY0123456789";
const PLACEHOLDER: &str = clauderon::proxy::rules::OPENAI_PLACEHOLDER;

/// The stand-in, serving HTTPS as api.openai.com with a test CA.
struct Standin {
    child: Child,
    port: u16,
    log: PathBuf,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standin {
    fn start(extra: &[&str]) -> Standin {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = common::test_pki(dir.path(), &["api.openai.com"]);
        let log = dir.path().join("requests.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/responses.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--log", log.to_str().unwrap(), "--key", REAL_KEY])
            .args(["--cert", cert.to_str().unwrap()])
            .args(["--tls-key", key.to_str().unwrap()])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Standin {
            child,
            port: line.trim().parse().expect("the stand-in prints its port"),
            log,
            ca,
            _dir: dir,
        }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A home whose daemon holds the real key and sends api.openai.com to
    /// the stand-in (trusting its CA).
    fn env(&self) -> Env {
        let mut env = Env::new();
        let config = format!(
            "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\nupstream_ca_file = {:?}\n[proxy.resolve]\n\"api.openai.com\" = \"127.0.0.1:{}\"\n",
            self.ca.to_str().unwrap(),
            self.port
        );
        std::fs::write(env.home().join("config.toml"), config).unwrap();
        env.extra_env
            .push(("OPENAI_API_KEY".into(), REAL_KEY.into()));
        env
    }
}

/// Reads from `stream` until the end of an HTTP head.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed mid-head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// One WebSocket frame from the server (unmasked, unfragmented).
async fn read_frame<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> (u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.unwrap();
    let mut n = (head[1] & 0x7f) as u64;
    if n == 126 {
        n = stream.read_u16().await.unwrap() as u64;
    } else if n == 127 {
        n = stream.read_u64().await.unwrap();
    }
    let mut payload = vec![0u8; n as usize];
    stream.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

/// A masked text frame, as a client must send it.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81u8];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// TLS to api.openai.com inside a CONNECT tunnel through the proxy,
/// trusting the proxy's CA (as a session container does).
async fn tunnel(
    proxy_port: u16,
    session: &str,
    token: &str,
    ca_pem: &Path,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use base64::Engine as _;
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", proxy_port))
        .await
        .unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{session}:{token}"));
    let connect = format!(
        "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
    );
    tcp.write_all(connect.as_bytes()).await.unwrap();
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut roots = rustls::RootCertStore::empty();
    let pem_text = std::fs::read_to_string(ca_pem).unwrap();
    let der = pem::parse(pem_text).unwrap().contents().to_vec();
    roots
        .add(rustls::pki_types::CertificateDer::from(der))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("api.openai.com").unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// The handshake and one Responses exchange over a WebSocket through the
/// proxy: returns the 101's head and the event types received.
async fn websocket_exchange(proxy_port: u16, token: &str, ca: &Path) -> (String, Vec<String>) {
    use tokio::io::AsyncWriteExt;
    let mut tls = tunnel(proxy_port, "wsfake", token, ca).await;
    let upgrade = format!(
        "GET /v1/responses HTTP/1.1\r\nHost: api.openai.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {PLACEHOLDER}\r\n\r\n"
    );
    tls.write_all(upgrade.as_bytes()).await.unwrap();
    let head = read_head(&mut tls).await;
    if !head.starts_with("HTTP/1.1 101") {
        return (head, vec![]);
    }
    let create = serde_json::json!({"type": "response.create", "model": "m", "input": []});
    tls.write_all(&text_frame(create.to_string().as_bytes()))
        .await
        .unwrap();
    let mut types = Vec::new();
    while types.last().map(String::as_str) != Some("response.completed") {
        let (opcode, payload) = read_frame(&mut tls).await;
        assert_eq!(opcode, 1, "a text frame");
        let event: Value = serde_json::from_slice(&payload).unwrap();
        types.push(event["type"].as_str().unwrap().to_string());
    }
    (head, types)
}

#[test]
fn the_proxy_carries_a_websocket_upgrade_with_the_key_swapped() {
    let standin = Standin::start(&[]);
    let env = standin.env();
    fake_session(&env, "wsfake", "ws-token");
    let (_, proxy_port) = common::daemon_ports(&env);
    let ca = clauderon::proxy::ca::cert_path(&clauderon::store::Home {
        root: env.home().to_path_buf(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (head, types) = runtime.block_on(websocket_exchange(proxy_port.unwrap(), "ws-token", &ca));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // RFC 6455's example key and its answer: the target's handshake, unchanged.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert_eq!(types.first().map(String::as_str), Some("response.created"));
    assert!(types.contains(&"response.output_item.done".to_string()));
    let seen = standin.requests();
    let upgrade = seen
        .iter()
        .find(|r| r["transport"] == "websocket-upgrade")
        .expect("the upgrade reached the stand-in");
    assert_eq!(
        upgrade["headers"]["authorization"],
        format!("Bearer {REAL_KEY}")
    );
    assert_eq!(upgrade["headers"]["host"], "api.openai.com");
    assert!(
        seen.iter()
            .any(|r| r["transport"] == "websocket" && r["body"]["type"] == "response.create"),
        "the message crossed the upgraded connection: {seen:?}"
    );
}

#[test]
fn a_refused_upgrade_is_answered_as_a_plain_response() {
    let standin = Standin::start(&["--no-websocket"]);
    let env = standin.env();
    fake_session(&env, "wsfake", "ws-token");
    let (_, proxy_port) = common::daemon_ports(&env);
    let ca = clauderon::proxy::ca::cert_path(&clauderon::store::Home {
        root: env.home().to_path_buf(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (head, types) = runtime.block_on(websocket_exchange(proxy_port.unwrap(), "ws-token", &ca));
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(types.is_empty());
}

/// The test image with the real Codex CLI (scripts/build-test-images.sh).
const CODEX_IMAGE: &str = "clauderon-test-codex:1";

/// The engine works and the Codex test image is there; in CI both must be.
fn codex_ready(engine: &str) -> bool {
    let ready = if engine == "docker" {
        common::docker_ready()
    } else {
        common::podman_ready()
    };
    if !ready {
        return false;
    }
    if common::engine_image_exists(engine, CODEX_IMAGE) {
        return true;
    }
    let why = format!(
        "{CODEX_IMAGE} is missing in {engine} (run ENGINE={engine} scripts/build-test-images.sh)"
    );
    assert!(
        std::env::var("CI").is_err_and(|_| true)
            || std::env::var("CI").is_ok_and(|v| v != "true" && v != "1"),
        "CI=true: {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// Waits (bounded) for `done`, saying what was last seen if it never comes.
#[track_caller]
fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> Option<String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut last = None;
    while std::time::Instant::now() < deadline {
        match done() {
            None => return,
            Some(seen) => last = Some(seen),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{what}: not within {secs}s; last seen: {last:?}");
}

fn agent_status(env: &Env, name: &str) -> String {
    let r = env.run(&["list", "--json"]).ok();
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let row = rows.iter().find(|r| r["name"] == name).unwrap();
    row["agent_status"].as_str().unwrap_or("-").to_string()
}

/// The real Codex CLI, unattended in a session container: its key is the
/// placeholder, the proxy swaps in the real one (over the Responses
/// WebSocket), the tool call it is given runs in the worktree, and its
/// hooks and notify put its status in `list`.
fn real_codex_session(engine: &str) {
    let standin = Standin::start(&[]);
    let env = standin.env();
    let name = common::unique("codex");
    let prompt = "write codex-made.txt";
    env.create_from(
        &name,
        prompt,
        CODEX_IMAGE,
        &["--agent", "codex", "--backend", engine],
    )
    .ok();
    let container = format!("clauderon-{name}");
    let made = env.worktree(&name).join("codex-made.txt");
    let logs = || {
        let out = Command::new(engine)
            .args(["logs", &container])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    wait_until("the tool call's file", 90, || {
        (!made.exists())
            .then(|| format!("requests: {:?}\nlogs: {}", standin.requests().len(), logs()))
    });
    assert_eq!(std::fs::read_to_string(&made).unwrap(), "made-by-codex\n");
    wait_until("waiting-input in list", 30, || {
        let s = agent_status(&env, &name);
        (s != "waiting-input").then_some(s)
    });

    let seen = standin.requests();
    let keys: Vec<&str> = seen
        .iter()
        .filter_map(|r| r["headers"]["authorization"].as_str())
        .collect();
    assert!(!keys.is_empty(), "{seen:?}");
    assert!(
        keys.iter().all(|k| *k == format!("Bearer {REAL_KEY}")),
        "{keys:?}"
    );
    // The Responses stream went over the WebSocket the proxy carried.
    let turns: Vec<&Value> = seen
        .iter()
        .filter(|r| r["body"]["input"].is_array())
        .collect();
    assert!(
        turns.iter().all(|r| r["transport"] == "websocket"),
        "{turns:?}"
    );
    assert!(
        turns.iter().any(|r| r["body"]["input"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "custom_tool_call_output")),
        "the tool's output came back: {turns:?}"
    );

    // Only the placeholder is in the container.
    let inspect = Command::new(engine)
        .args(["container", "inspect", &container])
        .output()
        .unwrap();
    let inspect = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        !inspect.contains(REAL_KEY),
        "the real key is in {engine} inspect"
    );
    let environ = Command::new(engine)
        .args(["exec", &container, "cat", "/proc/1/environ"])
        .output()
        .unwrap();
    let environ = String::from_utf8_lossy(&environ.stdout);
    assert!(
        environ.contains(&format!("OPENAI_API_KEY={PLACEHOLDER}")),
        "{environ}"
    );
    assert!(
        environ.contains("CODEX_HOME=/workspace/.codex"),
        "{environ}"
    );
    assert!(!environ.contains(REAL_KEY));
    let auth = std::fs::read_to_string(env.worktree(&name).join(".codex/auth.json")).unwrap();
    assert!(
        auth.contains(PLACEHOLDER) && !auth.contains(REAL_KEY),
        "{auth}"
    );
    // No login, trust or approval screen: the turn ran with no input at all.
    let out = logs();
    assert!(!out.contains("Sign in") && !out.contains("trust"), "{out}");

    // A restarted container resumes the conversation.
    env.run(&["stop", &name]).ok();
    env.run(&["start", &name]).ok();
    wait_until("the resumed conversation", 30, || {
        let out = logs();
        (!out.contains("resuming the previous conversation")).then_some(out)
    });
    // Both sources of status: Codex's hooks, and its notify program.
    let events = env.run(&["events", &name]).ok().stdout;
    for event in [
        "UserPromptSubmit",
        "PreToolUse",
        "Stop",
        "agent-turn-complete",
    ] {
        assert!(events.contains(event), "{event} missing from:\n{events}");
    }
}

#[test]
fn the_real_codex_cli_runs_a_tool_through_the_proxy_on_docker() {
    if codex_ready("docker") {
        real_codex_session("docker");
    }
}
