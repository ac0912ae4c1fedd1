//! The callback of `POST /run/async`'s `webhook_url`: the job's end, POSTed
//! as JSON to a host named in `[api] webhook_hosts`, signed with
//! `X-Clauderon-Signature: sha256=<hex HMAC-SHA256 of the body>` when
//! `[api] webhook_secret` is set. One attempt, 10 s at most; the outcome is
//! in the job (and a failure in the daemon's log).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::settings::Webhooks;

/// Checks a `webhook_url` against the allowed hosts: the URL to call, or
/// why it is refused.
pub fn check(url: &str, allowed: &Webhooks) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|_| format!("webhook_url {url:?} is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("webhook_url {url:?}: use http:// or https://"));
    }
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    if !allowed.hosts.contains(&host) {
        return Err(format!(
            "webhook_url: {host:?} is not in [api] webhook_hosts ({}); add it there to allow callbacks to it",
            if allowed.hosts.is_empty() {
                "empty".to_string()
            } else {
                allowed.hosts.join(", ")
            }
        ));
    }
    Ok(uri)
}

fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// POSTs `body` to `uri`; the answer's status, or why there was none.
pub async fn deliver(uri: Uri, body: Vec<u8>, secret: Option<String>) -> Result<u16, String> {
    tokio::time::timeout(Duration::from_secs(10), send(uri, body, secret))
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
}

async fn send(uri: Uri, body: Vec<u8>, secret: Option<String>) -> Result<u16, String> {
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
        .header("user-agent", "clauderon");
    if let Some(secret) = &secret {
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
}
