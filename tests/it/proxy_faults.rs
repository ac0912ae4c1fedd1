//! The credential proxy's faults, with raw requests to a real daemon and no
//! container: missing or stale credentials, unreachable upstreams, local and
//! private addresses, too many tunnels and garbage are all contained.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::Env;
use base64::Engine as _;

/// One raw request to the proxy; returns the response head.
fn raw(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The header that authenticates as `session` with `token`.
fn proxy_auth(session: &str, token: &str) -> String {
    format!(
        "Proxy-Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(format!("{session}:{token}"))
    )
}

/// A CONNECT to closed.test (resolved to a closed port), with `auth`.
fn connect_closed(port: u16, auth: &str) -> String {
    raw(
        port,
        &format!("CONNECT closed.test:443 HTTP/1.1\r\nHost: closed.test:443\r\n{auth}\r\n"),
    )
}

/// A home with the session `faults` (token `tok`) and its daemon; returns
/// the proxy's port.
fn faults_daemon(env: &Env) -> u16 {
    std::fs::write(
        env.home().join("config.toml"),
        // The open policy, so that the address checks themselves are tried.
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\npolicy = \"open\"\n[proxy.resolve]\n\"api.github.com\" = \"127.0.0.1:1\"\n\"closed.test\" = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    common::fake_session(env, "faults", "tok");
    let (_, proxy) = common::daemon_ports(env);
    proxy.expect("the proxy is on by default")
}

/// No credentials: 407 with a challenge; an unreachable upstream, tunnelled
/// or plain HTTP: 502 with a reason; a loop back into the proxy: 403.
fn assert_credentials_upstreams_and_loops(port: u16, auth: &str) {
    let head = connect_closed(port, "");
    assert!(
        head.starts_with("HTTP/1.1 407")
            && head
                .to_ascii_lowercase()
                .contains("proxy-authenticate: basic"),
        "{head}"
    );
    let head = connect_closed(port, auth);
    assert!(
        head.starts_with("HTTP/1.1 502")
            && head.contains("x-clauderon-proxy-error: cannot reach closed.test"),
        "{head}"
    );
    let head = raw(
        port,
        &format!("GET http://closed.test/x HTTP/1.1\r\nHost: closed.test\r\n{auth}\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    let head = raw(
        port,
        &format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
    );
    assert!(
        head.starts_with("HTTP/1.1 403") && head.contains("loop"),
        "{head}"
    );
}

/// Any local address, in any spelling, is refused.
fn assert_local_addresses_refused(port: u16, auth: &str) {
    for local in [
        "127.1",
        "2130706433",
        "0",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "localhost",
    ] {
        let head = raw(
            port,
            &format!("GET http://{local}:{port}/ HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
        );
        assert!(head.starts_with("HTTP/1.1 403"), "{local}: {head}");
        let head = raw(
            port,
            &format!("CONNECT {local}:22 HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
        );
        assert!(
            head.starts_with("HTTP/1.1 403") || head.starts_with("HTTP/1.1 400"),
            "{local}: {head}"
        );
    }
}

/// Private networks (the bridges, the LAN) and this machine's own
/// addresses are refused too: the proxy is no way to the host's services.
fn assert_private_and_own_addresses_refused(port: u16, auth: &str) {
    let own = clauderon::proxy::policy::own_addresses();
    // (also spelled as IPv4-mapped IPv6, which must not slip through)
    let mine: Vec<String> = own
        .iter()
        .filter_map(|a| match a {
            std::net::IpAddr::V4(v4) if !v4.is_loopback() => Some(v4.to_string()),
            _ => None,
        })
        .flat_map(|v4| [v4.clone(), format!("[::ffff:{v4}]")])
        .collect();
    for target in [
        "172.17.0.1",
        "10.88.0.1",
        "192.168.1.1",
        "[fd00::1]",
        "[::ffff:10.0.0.1]",
    ]
    .into_iter()
    .map(String::from)
    .chain(mine)
    {
        let head = raw(
            port,
            &format!("CONNECT {target}:22 HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
        );
        assert!(
            head.starts_with("HTTP/1.1 403") && head.contains("allow_hosts"),
            "{target}: {head}"
        );
    }
}

/// One session cannot hold more than its share of tunnels, and the slots
/// come back when its tunnels close.
fn assert_tunnels_are_shared_out(port: u16, auth: &str) {
    let connect =
        format!("CONNECT api.github.com:443 HTTP/1.1\r\nHost: api.github.com:443\r\n{auth}\r\n");
    let mut held = Vec::new();
    for _ in 0..128 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(connect.as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        held.push(s);
    }
    let head = raw(port, &connect);
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let head = connect_closed(port, auth);
    assert!(
        head.starts_with("HTTP/1.1 502"),
        "slots come back when tunnels close: {head}"
    );
}

/// Garbage and clients that vanish mid-request do not hurt it.
fn assert_garbage_does_no_harm(port: u16) {
    for junk in [
        "\x00\x01\x02garbage\r\n\r\n",
        "GET",
        "CONNECT",
        "POST http://x/ HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = s.write_all(junk.as_bytes());
    }
    let head = connect_closed(port, "");
    assert!(head.starts_with("HTTP/1.1 407"), "still serving: {head}");
}

#[test]
fn proxy_faults_are_contained() {
    let env = Env::new();
    let port = faults_daemon(&env);
    let auth = proxy_auth("faults", "tok");
    assert_credentials_upstreams_and_loops(port, &auth);
    assert_local_addresses_refused(port, &auth);
    assert_private_and_own_addresses_refused(port, &auth);
    // A session re-created under the same name: only the new token works.
    common::fake_session(&env, "faults", "newtok");
    let old = connect_closed(port, &auth);
    assert!(
        old.starts_with("HTTP/1.1 407"),
        "the old token still works: {old}"
    );
    let auth = proxy_auth("faults", "newtok");
    let head = connect_closed(port, &auth);
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert_tunnels_are_shared_out(port, &auth);
    assert_garbage_does_no_harm(port);
    // Every failure is in the audit log.
    let log = env.run(&["proxy", "log", "--json"]).ok().stdout;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap();
    let has = |status: u64| entries.iter().any(|e| e["status"] == status);
    assert!(has(502) && has(403), "{log}");
}
