//! WebSocket upgrades inside an intercepted tunnel. The upgrade request is
//! a request like any other (its placeholders swapped, its `Host:` the
//! tunnel's target), sent on a connection of its own; once the target
//! answers 101, bytes are copied both ways between the client and it.
//! Codex opens its Responses stream this way first, and falls back to
//! HTTPS only after five failed attempts.

use super::*;

/// `Connection: upgrade` with `Upgrade: websocket`: the only upgrade the
/// proxy carries (others are forwarded as plain requests, upgrade dropped).
pub(super) fn wants_websocket(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        });
    let websocket = headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    connection_upgrade && websocket
}

/// Puts back the two hop-by-hop headers an upgrade needs on the next hop.
pub(super) fn restore_upgrade_headers(headers: &mut HeaderMap) {
    headers.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("upgrade"),
    );
    headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
}

impl Proxy {
    /// Sends the (already injected) upgrade request to the target on a new
    /// connection and, on 101, joins the two upgraded connections.
    pub(super) async fn forward_upgrade(
        &self,
        log: &Logged<'_>,
        credential: &'static str,
        (host, addrs): (&str, &[SocketAddr]),
        request: Request<Body>,
        (client, meter): (
            hyper::upgrade::OnUpgrade,
            Option<crate::proxy::usage::meter::Meter>,
        ),
    ) -> Response<Body> {
        let sent = match self.tls_upstream(host, addrs).await {
            Ok(tls) => send_upgradable(host, tls, request).await,
            Err(e) => Err(e),
        };
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => {
                self.audit(log, 502, credential, Some(e.clone()));
                return bad_gateway(&e);
            }
        };
        self.audit(log, resp.status().as_u16(), credential, None);
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            return Response::from_parts(parts, body.boxed());
        }
        let upstream = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            let (Ok(client), Ok(upstream)) = tokio::join!(client, upstream) else {
                return;
            };
            super::books::join_upgraded(client, upstream, meter).await;
        });
        // The 101 goes back with its Upgrade/Connection/Sec-WebSocket-* headers.
        let (parts, _) = resp.into_parts();
        Response::from_parts(parts, empty())
    }
}

/// HTTP/1.1 on `tls` with upgrades enabled, for this one request.
async fn send_upgradable<S>(
    host: &str,
    tls: S,
    request: Request<Body>,
) -> Result<Response<Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = client_http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP with {host} failed: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("upstream {host}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_a_websocket_upgrade_is_carried() {
        assert!(wants_websocket(&headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
        ])));
        assert!(!wants_websocket(&headers(&[("upgrade", "websocket")])));
        assert!(!wants_websocket(&headers(&[
            ("connection", "upgrade"),
            ("upgrade", "h2c"),
        ])));
        assert!(!wants_websocket(&headers(&[("connection", "close")])));
    }
}
