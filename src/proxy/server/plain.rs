//! Plain HTTP requests through the proxy (absolute-form URIs).

use super::*;

impl Proxy {
    /// `GET http://host/path` through the proxy: forwarded as is (no
    /// credentials are ever added to plain HTTP), with `Host:` set to that host.
    pub(super) async fn plain_http(
        &self,
        session: String,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let started = Instant::now();
        let uri = req.uri().clone();
        if uri.scheme_str() != Some("http") {
            return text(
                StatusCode::BAD_REQUEST,
                "clauderon proxy: send http://host/path, or CONNECT for https",
            );
        }
        let Some((host, port)) = uri
            .authority()
            .and_then(|a| Some((normalize_host(a.host())?, a.port_u16().unwrap_or(80))))
        else {
            return text(
                StatusCode::BAD_REQUEST,
                "clauderon proxy: the request has no valid host",
            );
        };
        let method = req.method().to_string();
        let log = Logged::new(&session, &method, &host, uri.path(), started);
        if req.method() == Method::TRACE {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "clauderon proxy: TRACE is not allowed",
            );
        }
        let mcp = self.tokens.mcp(&session);
        let addrs = match self.resolve(&session, &host, port, &mcp).await {
            Ok(a) => a,
            Err(why) => return self.refused(&log, why),
        };
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        set_host(&mut parts.headers, &host, port, 80);
        parts.uri = origin_form(&uri);
        let target = format!("{host}:{port}");
        let result = self
            .forward_plain(&addrs, &target, Request::from_parts(parts, body.boxed()))
            .await;
        match result {
            Ok(resp) => {
                self.audit(&log, resp.status().as_u16(), "none", None);
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(e) => {
                self.audit(&log, 502, "none", Some(e.clone()));
                bad_gateway(&e)
            }
        }
    }

    /// One request to the upstream on a connection of its own.
    async fn forward_plain(
        &self,
        addrs: &[SocketAddr],
        target: &str,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, String> {
        let tcp = self
            .dial(addrs)
            .await
            .map_err(|e| format!("cannot reach {target}: {e}"))?;
        let (mut sender, conn) = client_http1::handshake::<_, Body>(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender.send_request(req).await.map_err(|e| e.to_string())
    }
}
