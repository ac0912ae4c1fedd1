//! HTTP/1.1 inside an intercepted TLS tunnel: placeholders swapped, then
//! forwarded over TLS to the CONNECT target.

use super::*;

impl Proxy {
    /// HTTP/1.1 inside an intercepted TLS tunnel: each request gets its
    /// placeholders swapped and goes to the CONNECT target over one
    /// upstream connection, reopened when it closes.
    pub(super) async fn serve_intercepted<S>(
        self: Arc<Self>,
        session: String,
        (host, port): (String, u16),
        addrs: Vec<SocketAddr>,
        stream: S,
        upstream: Upstream,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let svc = service_fn(move |req: Request<Incoming>| {
            let proxy = Arc::clone(&self);
            let (session, host, addrs, upstream) = (
                session.clone(),
                host.clone(),
                addrs.clone(),
                Arc::clone(&upstream),
            );
            async move {
                Ok::<_, std::convert::Infallible>(
                    proxy
                        .forward_tls(&session, &host, port, &addrs, req, &upstream)
                        .await,
                )
            }
        });
        let _ = server_http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), svc)
            .with_upgrades()
            .await;
    }

    pub(super) async fn forward_tls(
        self: Arc<Self>,
        session: &str,
        host: &str,
        port: u16,
        addrs: &[SocketAddr],
        mut req: Request<Incoming>,
        upstream: &tokio::sync::Mutex<Option<UpstreamConn>>,
    ) -> Response<Body> {
        let started = Instant::now();
        let websocket = super::upgrade::wants_websocket(req.headers());
        let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        let method = parts.method.to_string();
        let path = parts.uri.path().to_string();
        let log = Logged::new(session, &method, host, &path, started);
        if let Some(refused) = outside_tunnel(&parts, host) {
            return refused;
        }
        let model_call = crate::proxy::usage::Api::of_request(&method, &path, websocket);
        if let Some(refused) = model_call.and_then(|api| self.over_budget(&log, api)) {
            return refused;
        }
        set_host(&mut parts.headers, host, port, 443);
        let body = match self.guard(session, host, &parts, body).await {
            Ok(body) => body,
            Err(refused) => {
                self.audit(&log, 403, "denied", Some(refused.why));
                return *refused.response;
            }
        };
        let injection = self.inject(session, host, &mut parts.headers).await;
        strip_hop_by_hop(&mut parts.headers);
        parts.uri = origin_form(&parts.uri);
        if let Some(client) = client_upgrade {
            super::upgrade::restore_upgrade_headers(&mut parts.headers);
            let meter = self.websocket_meter(session, model_call);
            if meter.is_some() {
                // Uncompressed frames, so the meter can read them.
                parts.headers.remove("sec-websocket-extensions");
            }
            let request = Request::from_parts(parts, body);
            let target = (host, addrs);
            return self
                .forward_upgrade(
                    &log,
                    credential(injection),
                    target,
                    request,
                    (client, meter),
                )
                .await;
        }
        let request = Request::from_parts(parts, body);
        let used = credential(injection);
        self.send_upstream(&log, (addrs, upstream), request, (used, model_call))
            .await
    }

    /// Sends the request on the tunnel's kept-alive upstream connection and
    /// meters the answer; a connection that cannot be had is a 502.
    async fn send_upstream(
        &self,
        log: &Logged<'_>,
        (addrs, upstream): (&[SocketAddr], &tokio::sync::Mutex<Option<UpstreamConn>>),
        request: Request<Body>,
        (used, model_call): (&str, Option<crate::proxy::usage::Api>),
    ) -> Response<Body> {
        let host = log.host;
        let mut guard = upstream.lock().await;
        let sender = match self.ready_upstream(host, addrs, &mut guard).await {
            Ok(s) => s,
            Err(e) => {
                self.audit(log, 502, used, Some(e.clone()));
                return bad_gateway(&e);
            }
        };
        let result = sender.send_request(request).await;
        drop(guard);
        match result {
            Ok(resp) => {
                self.audit(log, resp.status().as_u16(), used, None);
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let body = self.metered(log.session, model_call, &parts, body.boxed());
                Response::from_parts(parts, body)
            }
            Err(e) => {
                let why = format!("upstream {host}: {e}");
                self.audit(log, 502, used, Some(why.clone()));
                bad_gateway(&why)
            }
        }
    }

    /// Swaps the placeholders; a secret from a file or a command is read
    /// off the async workers (a handoff that a request whose secrets are
    /// all in the environment does not pay).
    async fn inject(
        self: &Arc<Self>,
        session: &str,
        host: &str,
        headers: &mut HeaderMap,
    ) -> Injection {
        // The session's MCP rules, after the configured ones.
        let mcp = self.tokens.mcp(session);
        let configured = self.rules();
        let all: Arc<Vec<Rule>> = if (mcp.rules.iter()).any(|r| rules::host_matches(&r.host, host))
        {
            Arc::new(configured.iter().chain(&mcp.rules).cloned().collect())
        } else {
            configured
        };
        if !rules::may_block(&all, host, headers) {
            return rules::apply(&all, &self.secrets, host, headers);
        }
        let proxy = Arc::clone(self);
        let host_owned = host.to_string();
        let mut taken = std::mem::take(headers);
        let (injection, taken) = tokio::task::spawn_blocking(move || {
            let injection = rules::apply(&all, &proxy.secrets, &host_owned, &mut taken);
            (injection, taken)
        })
        .await
        .unwrap_or((Injection::None, HeaderMap::new()));
        *headers = taken;
        injection
    }

    /// The kept-alive upstream connection once it is ready again (the
    /// previous response fully read); a closed one is reopened. An early
    /// attempt's failure is this request's answer (the next one tries again).
    async fn ready_upstream<'g>(
        &self,
        host: &str,
        addrs: &[SocketAddr],
        slot: &'g mut Option<UpstreamConn>,
    ) -> Result<&'g mut client_http1::SendRequest<Body>, String> {
        let reusable = match slot.as_mut() {
            Some(Ok(sender)) => sender.ready().await.is_ok(),
            _ => false,
        };
        if !reusable {
            let opened = match slot.take() {
                Some(Err(e)) => Err(e),
                _ => self.open_tls_upstream(host, addrs).await,
            };
            *slot = Some(Ok(opened?));
        }
        match slot.as_mut() {
            Some(Ok(sender)) => Ok(sender),
            _ => unreachable!("set above"),
        }
    }

    /// Starts opening the upstream connection now, for the first request
    /// to find (it waits for the attempt to finish).
    pub(super) fn open_upstream_early(
        self: Arc<Self>,
        host: &str,
        addrs: &[SocketAddr],
    ) -> Upstream {
        let upstream: Upstream = Arc::default();
        let mut slot = Arc::clone(&upstream)
            .try_lock_owned()
            .expect("a new lock is free");
        let (host, addrs) = (host.to_string(), addrs.to_vec());
        tokio::spawn(async move {
            *slot = Some(self.open_tls_upstream(&host, &addrs).await);
        });
        upstream
    }

    async fn open_tls_upstream(
        &self,
        host: &str,
        addrs: &[SocketAddr],
    ) -> Result<client_http1::SendRequest<Body>, String> {
        let tls = self.tls_upstream(host, addrs).await?;
        let (sender, conn) = client_http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP with {host} failed: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// A TLS connection to the target, its certificate checked.
    pub(super) async fn tls_upstream(
        &self,
        host: &str,
        addrs: &[SocketAddr],
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
        let tcp = self
            .dial(addrs)
            .await
            .map_err(|e| format!("cannot reach {host}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("bad host name {host}: {e}"))?;
        tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            tokio_rustls::TlsConnector::from(Arc::clone(&self.upstream_tls)).connect(name, tcp),
        )
        .await
        .map_err(|_| format!("TLS with {host} timed out"))?
        .map_err(|e| format!("TLS with {host} failed: {e}"))
    }
}

/// The tunnel's target is the only destination: no nested CONNECT or
/// TRACE, and no request naming another host.
fn outside_tunnel(parts: &http::request::Parts, host: &str) -> Option<Response<Body>> {
    if parts.method == Method::CONNECT || parts.method == Method::TRACE {
        return Some(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "clauderon proxy: not allowed inside a tunnel",
        ));
    }
    let other = parts
        .uri
        .host()
        .filter(|h| normalize_host(h).as_deref() != Some(host))?;
    Some(text(
        StatusCode::BAD_REQUEST,
        &format!("clauderon proxy: this tunnel is for {host}, not {other}"),
    ))
}
