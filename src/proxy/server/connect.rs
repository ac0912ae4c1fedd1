//! CONNECT: the target checked and resolved, then intercepted (hosts with
//! credential rules) or tunnelled byte for byte.

use super::*;

impl Proxy {
    pub(super) async fn connect(
        self: Arc<Self>,
        session: String,
        req: Request<Incoming>,
        conn: Conn,
    ) -> Response<Body> {
        let started = Instant::now();
        let target = req.uri().authority();
        let Some((host, port)) =
            target.and_then(|a| Some((normalize_host(a.host())?, a.port_u16().unwrap_or(443))))
        else {
            let why = "clauderon proxy: CONNECT needs a valid host:port";
            return text(StatusCode::BAD_REQUEST, why);
        };
        let target = format!("{host}:{port}");
        let log = Logged::new(&session, "CONNECT", &target, "", started);
        let Some(tunnel_slot) = self.take_tunnel_slot(&session) else {
            return self.too_many_tunnels(&log);
        };
        let mcp = self.tokens.mcp(&session);
        let addrs = match self.resolve(&session, &host, port, &mcp).await {
            Ok(a) => a,
            Err(why) => return self.refused(&log, why),
        };
        let slots = (conn.slot, tunnel_slot); // a tunnel keeps its connection slots
        let intercepted =
            (self.rules().iter().chain(&mcp.rules)).any(|r| rules::host_matches(&r.host, &host));
        if intercepted {
            return self.intercept(session, (host, port), addrs, req, slots);
        }
        // Not intercepted: a plain tunnel, opened before answering so that
        // an unreachable host is a 502, not a dead tunnel.
        let upstream = match self.dial(&addrs).await {
            Ok(s) => s,
            Err(e) => {
                self.audit(&log, 502, "tunnel", Some(e.to_string()));
                return bad_gateway(&format!("cannot reach {target}: {e}"));
            }
        };
        let logged = TunnelLog {
            proxy: Arc::clone(&self),
            session,
            target,
            started,
        };
        tokio::spawn(async move {
            let _slots = slots;
            // Logged when the tunnel ends, also when the daemon's shutdown
            // drops it while it is open.
            let _logged = logged;
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                super::tunnel::run(upgraded, upstream).await;
            }
        });
        Response::new(empty())
    }

    fn too_many_tunnels(&self, log: &Logged) -> Response<Body> {
        self.audit(log, 429, "denied", Some("too many open tunnels".into()));
        let why =
            format!("clauderon proxy: this session already has {TUNNELS_PER_SESSION} open tunnels");
        text(StatusCode::TOO_MANY_REQUESTS, &why)
    }

    /// A target that does not resolve (502, an upstream failure) or is not
    /// allowed (403, a denial): CONNECT and plain HTTP alike.
    pub(super) fn refused(&self, log: &Logged, why: String) -> Response<Body> {
        if why.starts_with("cannot resolve") {
            self.audit(log, 502, "tunnel", Some(why.clone()));
            return bad_gateway(&why);
        }
        self.audit(log, 403, "denied", Some(why.clone()));
        text(StatusCode::FORBIDDEN, &format!("clauderon proxy: {why}"))
    }

    /// Answers the CONNECT, then terminates the client's TLS with a leaf
    /// for the host and serves the requests inside.
    fn intercept(
        self: Arc<Self>,
        session: String,
        (host, port): (String, u16),
        addrs: Vec<SocketAddr>,
        req: Request<Incoming>,
        slots: (Arc<tokio::sync::OwnedSemaphorePermit>, TunnelSlot),
    ) -> Response<Body> {
        let tls = match self.ca.server_config(&host) {
            Ok(t) => t,
            Err(e) => return bad_gateway(&e.message),
        };
        tokio::spawn(async move {
            let _slots = slots;
            // The target's connection opens while the client's handshake runs.
            let upstream = Arc::clone(&self).open_upstream_early(&host, &addrs);
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(TokioIo::new(upgraded)))
                    .await
            else {
                return;
            };
            self.serve_intercepted(session, (host, port), addrs, stream, upstream)
                .await;
        });
        Response::new(empty())
    }
}

/// A tunnel's audit entry, written when it is dropped.
struct TunnelLog {
    proxy: Arc<Proxy>,
    session: String,
    target: String,
    started: Instant,
}

impl Drop for TunnelLog {
    fn drop(&mut self) {
        let log = Logged::new(&self.session, "CONNECT", &self.target, "", self.started);
        self.proxy.audit(&log, 200, "tunnel", None);
    }
}
