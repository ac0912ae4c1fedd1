//! The proxy carries WebSocket upgrades on intercepted hosts: a real
//! handshake through the daemon's proxy to the Responses stand-in, the key
//! swapped on the upgrade request, then frames both ways.

use crate::common;

use std::path::Path;

use crate::common::fake_session;
use crate::common::standin::{PLACEHOLDER, REAL_KEY, Standin};
use serde_json::Value;

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

/// A daemon whose proxy sends api.openai.com to `standin`, and one
/// WebSocket exchange through it by a session of that home.
fn exchange_through_the_daemon(standin: &Standin) -> (String, Vec<String>) {
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
    // Bounded: a proxy that drops the upgraded connection fails, not hangs.
    let exchange = websocket_exchange(proxy_port.unwrap(), "ws-token", &ca);
    runtime
        .block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(20), exchange).await
        })
        .expect("the exchange ends within 20 s")
}

#[test]
fn the_proxy_carries_a_websocket_upgrade_with_the_key_swapped() {
    let standin = Standin::start(&[]);
    let (head, types) = exchange_through_the_daemon(&standin);
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
    let (head, types) = exchange_through_the_daemon(&standin);
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(types.is_empty());
}
