//! The API under hostile clients: idle and slow connections do not starve
//! it, and random request bodies never get a 500 or crash the daemon.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::api::{api_env, call, call_bytes, token};

#[test]
fn idle_connections_cannot_hold_every_slot() {
    let (env, port) = api_env("");
    let t = token(&env);
    // More idle clients than the API's 64 slots: some connect and say
    // nothing, some send half a request head and stall (slowloris).
    let idle: Vec<TcpStream> = (0..80)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            if i % 2 == 0 {
                s.write_all(b"GET /v1/sessions HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
            }
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (code, answer) = call(port, "GET", "/v1/sessions", Some(&t), "");
    assert_eq!(code, 200, "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered after {:?} with 80 idle connections open",
        started.elapsed()
    );
    // An idle connection is closed within the header timeout (5 s).
    let mut last = idle.into_iter().last().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let waited = Instant::now();
    let mut buf = [0u8; 64];
    let n = last.read(&mut buf).unwrap_or(0);
    assert!(
        waited.elapsed() < Duration::from_secs(8),
        "an idle connection stayed open {:?}",
        waited.elapsed()
    );
    let said = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(n == 0 || said.starts_with("HTTP/1.1 408"), "{said}");
    // A keep-alive connection that goes quiet is closed too.
    let mut ka = TcpStream::connect(("127.0.0.1", port)).unwrap();
    ka.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    ka.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let quiet = Instant::now();
    let _ = ka.read_to_end(&mut got);
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(
        quiet.elapsed() < Duration::from_secs(8),
        "keep-alive stayed open {:?}",
        quiet.elapsed()
    );
    assert_eq!(call_bytes(port, "GET", "/health", None, b"").0, 200);
}
