//! The callback of `POST /run/async`'s `webhook_url`: the job's end, POSTed
//! as JSON to a host named in `[api] webhook_hosts`, signed with
//! `X-Clauderon-Signature: sha256=<hex HMAC-SHA256 of the body>` when
//! `[api] webhook_secret` is set. A delivery that gets no answer or a 5xx is
//! tried again after 1 s and 4 s (three attempts, 10 s each at most), with
//! the same body, signature and `X-Clauderon-Delivery` id, so a receiver
//! can drop repeats; a 4xx is the receiver's final word. Every attempt is
//! recorded in the job (and a failed delivery in the daemon's log).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::settings::Webhooks;

/// Checks a `webhook_url` against the allowed hosts: the URL to call, or
/// why it is refused.
pub fn check(url: &str, allowed: &Webhooks) -> Result<Uri, crate::error::Error> {
    use crate::error::Error;
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::input(format!("webhook_url {url:?} is not a URL")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(Error::input(format!(
            "webhook_url {url:?}: use http:// or https://"
        )));
    }
    // user:password@ would be kept in the job's record and shown by GET
    // /jobs, and is never sent: refused, with what to use instead.
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(Error::input(
            "webhook_url: credentials in the URL (user:password@) are refused: they would be stored and shown with the job; check the X-Clauderon-Signature header ([api] webhook_secret) instead",
        ));
    }
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    if !allowed.hosts.contains(&host) {
        return Err(Error::refused(format!(
            "webhook_url: {host:?} is not in [api] webhook_hosts ({}); add it there to allow callbacks to it",
            if allowed.hosts.is_empty() {
                "empty".to_string()
            } else {
                allowed.hosts.join(", ")
            }
        )));
    }
    Ok(uri)
}

fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The pauses before the second and third attempts.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(4)];

/// Delivers `body` to `uri`, retrying as the module says; the outcome:
/// `{url, delivery, delivered, status, attempts: [{status} | {error}]}`.
pub async fn deliver(uri: &Uri, body: Vec<u8>, secret: Option<&str>) -> serde_json::Value {
    let delivery = crate::session::new_uuid();
    let mut attempts = Vec::new();
    let mut last = None;
    for pause in std::iter::once(None).chain(BACKOFF.map(Some)) {
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        let answer = attempt(uri, &body, secret, &delivery).await;
        attempts.push(match &answer {
            Ok(status) => serde_json::json!({"status": status}),
            Err(why) => serde_json::json!({"error": why}),
        });
        last = answer.as_ref().ok().copied();
        // An answer below 500 is final: 2xx delivered, 4xx refused.
        if matches!(answer, Ok(status) if status < 500) {
            break;
        }
    }
    serde_json::json!({
        "url": uri.to_string(),
        "delivery": delivery,
        "delivered": last.is_some_and(|s| (200..300).contains(&s)),
        "status": last,
        "attempts": attempts,
    })
}

/// One POST of `body`; the answer's status, or why there was none.
async fn attempt(
    uri: &Uri,
    body: &[u8],
    secret: Option<&str>,
    delivery: &str,
) -> Result<u16, String> {
    let sent = send(uri.clone(), body.to_vec(), secret, delivery);
    tokio::time::timeout(Duration::from_secs(10), sent)
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
}

async fn send(
    uri: Uri,
    body: Vec<u8>,
    secret: Option<&str>,
    delivery: &str,
) -> Result<u16, String> {
    let host = uri.host().unwrap_or_default().to_string();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?;
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let mut req = Request::post(path)
        .header("host", &host)
        .header("content-type", "application/json")
        .header("user-agent", "clauderon")
        .header("x-clauderon-delivery", delivery);
    if let Some(secret) = secret {
        req = req.header("x-clauderon-signature", signature(secret, &body));
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    if !https {
        return post(TokioIo::new(tcp), req).await;
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    post(TokioIo::new(tls), req).await
}

async fn post<T>(io: TokioIo<T>, req: Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_named_hosts_are_called_and_the_signature_is_hmac_sha256() {
        let allowed = Webhooks {
            hosts: vec!["ci.example.com".into()],
            secret: None,
        };
        assert!(check("https://ci.example.com/hook?x=1", &allowed).is_ok());
        assert!(
            check("https://evil.example.com/hook", &allowed)
                .unwrap_err()
                .message
                .contains("webhook_hosts")
        );
        assert!(check("file:///etc/passwd", &allowed).is_err());
        assert!(check("not a url", &allowed).is_err());
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A receiver that answers its connections as `script` says (`None`:
    /// hang up without answering), and reports each request's head.
    fn receiver(script: Vec<Option<u16>>) -> (u16, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for answer in script {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).unwrap();
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
                if let Some(code) = answer {
                    let head = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n");
                    s.write_all(head.as_bytes()).unwrap();
                }
            }
        });
        (port, rx)
    }

    fn header<'a>(head: &'a str, name: &str) -> &'a str {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn failed_deliveries_are_retried_with_the_same_id_and_signature_and_a_4xx_is_final() {
        let (port, heads) = receiver(vec![None, Some(503), Some(204)]);
        let uri: Uri = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
        let started = std::time::Instant::now();
        let outcome = deliver(&uri, b"{}".to_vec(), Some("0123456789abcdef")).await;
        assert!(started.elapsed() >= Duration::from_secs(5), "1 s, then 4 s");
        assert_eq!(outcome["delivered"], true, "{outcome}");
        assert_eq!(outcome["status"], 204, "{outcome}");
        let attempts = outcome["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 3, "{outcome}");
        assert!(attempts[0]["error"].is_string(), "{outcome}");
        assert_eq!(attempts[1]["status"], 503, "{outcome}");
        let heads: Vec<String> = heads.iter().take(3).collect();
        for h in &heads {
            assert_eq!(header(h, "x-clauderon-delivery: "), outcome["delivery"]);
            assert_eq!(
                header(h, "x-clauderon-signature: "),
                signature("0123456789abcdef", b"{}")
            );
        }

        let (port, heads) = receiver(vec![Some(410), Some(204)]);
        let uri: Uri = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
        let outcome = deliver(&uri, b"{}".to_vec(), None).await;
        assert_eq!(outcome["delivered"], false, "{outcome}");
        assert_eq!(outcome["attempts"].as_array().unwrap().len(), 1);
        assert!(heads.recv().is_ok());
        std::thread::sleep(Duration::from_millis(200));
        assert!(heads.try_recv().is_err(), "a 4xx is not tried again");
    }
}
