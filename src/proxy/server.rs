//! The proxy server: HTTP/1.1 CONNECT and plain HTTP proxying, with TLS
//! interception for hosts that have credential rules.
//!
//! Allow/deny is decided from the CONNECT target (never from a `Host:`
//! header inside the tunnel); bodies stream both ways; connections are
//! capped; every request carries its session's proxy credentials.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::proxy::audit::{Audit, Entry};
use crate::proxy::ca::Ca;
use crate::proxy::rules::{self, Injection, Rule, Secrets};
use crate::proxy::settings::ProxySettings;
use crate::store::Home;

type Body = BoxBody<Bytes, hyper::Error>;

/// Open client connections at most; more are refused until some close.
const MAX_CONNECTIONS: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub struct Proxy {
    home: Home,
    rules: Vec<Rule>,
    secrets: Secrets,
    ca: Ca,
    upstream_tls: Arc<rustls::ClientConfig>,
    settings: ProxySettings,
    /// Where the proxy itself listens: requests to these are loops.
    listen: Vec<SocketAddr>,
    audit: Audit,
    /// session name -> token, re-read from the records on a miss.
    sessions: Mutex<HashMap<String, String>>,
}

impl Proxy {
    pub fn new(
        home: &Home,
        settings: ProxySettings,
        ca: Ca,
        listen: Vec<SocketAddr>,
    ) -> crate::error::Result<Proxy> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(extra) = &settings.upstream_ca_file {
            let pem_text = std::fs::read_to_string(extra).map_err(|e| {
                crate::error::Error::io(
                    format!("could not read the upstream CA file {}", extra.display()),
                    e,
                )
            })?;
            for p in pem::parse_many(&pem_text).unwrap_or_default() {
                let _ = roots.add(rustls::pki_types::CertificateDer::from(
                    p.contents().to_vec(),
                ));
            }
        }
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::error::Error::failed(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut rules = rules::builtin_rules();
        rules.extend(settings.rules.iter().cloned());
        Ok(Proxy {
            home: home.clone(),
            rules,
            secrets: Secrets::default(),
            ca,
            upstream_tls: Arc::new(tls),
            settings,
            listen,
            audit: Audit::new(home),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// Serves the given listeners until the process ends (on its own runtime).
    pub fn serve(self: Arc<Self>, listeners: Vec<std::net::TcpListener>) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async move {
            let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            let mut tasks = Vec::new();
            for l in listeners {
                let _ = l.set_nonblocking(true);
                let Ok(listener) = tokio::net::TcpListener::from_std(l) else {
                    continue;
                };
                let proxy = Arc::clone(&self);
                let limit = Arc::clone(&limit);
                tasks.push(tokio::spawn(async move {
                    proxy.accept_loop(listener, limit).await
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        });
    }

    async fn accept_loop(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        limit: Arc<Semaphore>,
    ) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                drop(stream); // over the cap: refuse rather than queue without bound
                continue;
            };
            let proxy = Arc::clone(&self);
            tokio::spawn(async move {
                let _permit = permit;
                let _ = stream.set_nodelay(true);
                let svc = service_fn(move |req| {
                    let proxy = Arc::clone(&proxy);
                    async move { Ok::<_, Infallible>(proxy.handle(req).await) }
                });
                let _ = server_http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let Some(session) = self.authenticate(req.headers()) else {
            let mut resp = text(
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                "clauderon proxy: this session's proxy credentials are required",
            );
            resp.headers_mut().insert(
                "proxy-authenticate",
                HeaderValue::from_static("Basic realm=\"clauderon\""),
            );
            return resp;
        };
        if req.method() == Method::CONNECT {
            return self.connect(session, req).await;
        }
        self.plain_http(session, req).await
    }

    /// The session named in `Proxy-Authorization: Basic session:token`, if the token is right.
    fn authenticate(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get("proxy-authorization")?.to_str().ok()?;
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))?;
        let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
        let (name, token) = decoded.split_once(':')?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if !sessions.contains_key(name)
            && let Ok((specs, _)) = self.home.load_all()
        {
            *sessions = specs
                .into_iter()
                .filter(|s| !s.hook_token.is_empty())
                .map(|s| (s.name, s.hook_token))
                .collect();
        }
        let expected = sessions.get(name)?;
        let same = expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0;
        (same && self.home.session_dir(name).is_dir()).then(|| name.to_string())
    }

    /// Refusal reason for a target, if it is refused.
    fn refuse(&self, host: &str, port: u16) -> Option<String> {
        if !self.settings.allow_hosts.is_empty()
            && !self
                .settings
                .allow_hosts
                .iter()
                .any(|p| rules::host_matches(p, host))
        {
            return Some(format!("{host} is not in [proxy] allow_hosts"));
        }
        let is_self = |ip: IpAddr| {
            self.listen
                .iter()
                .any(|a| a.port() == port && (a.ip() == ip || a.ip().is_unspecified()))
        };
        let names_self = matches!(
            host,
            "localhost" | "host.docker.internal" | "host.containers.internal"
        ) && self.listen.iter().any(|a| a.port() == port);
        if names_self || host.parse::<IpAddr>().is_ok_and(is_self) {
            return Some("requests to the proxy itself are refused (loop)".into());
        }
        None
    }

    async fn dial(&self, host: &str, port: u16) -> std::io::Result<TcpStream> {
        let target = self
            .settings
            .resolve
            .get(host)
            .cloned()
            .unwrap_or_else(|| format!("{host}:{port}"));
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn connect(self: Arc<Self>, session: String, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let Some((host, port)) = req
            .uri()
            .authority()
            .map(|a| (a.host().to_ascii_lowercase(), a.port_u16().unwrap_or(443)))
        else {
            return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
        };
        let target = format!("{host}:{port}");
        if let Some(why) = self.refuse(&host, port) {
            self.audit_request(
                &session,
                "CONNECT",
                &target,
                "",
                403,
                "denied",
                started,
                Some(why.clone()),
            );
            return text(StatusCode::FORBIDDEN, &format!("clauderon proxy: {why}"));
        }
        let intercept = self
            .rules
            .iter()
            .any(|r| rules::host_matches(&r.host, &host));
        if intercept {
            let tls = match self.ca.server_config(&host) {
                Ok(t) => t,
                Err(e) => return text(StatusCode::BAD_GATEWAY, &e.message),
            };
            let proxy = Arc::clone(&self);
            tokio::spawn(async move {
                let Ok(upgraded) = hyper::upgrade::on(req).await else {
                    return;
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let Ok(stream) = acceptor.accept(TokioIo::new(upgraded)).await else {
                    return;
                };
                proxy.serve_intercepted(session, host, port, stream).await;
            });
            return Response::new(empty());
        }
        // Not intercepted: a plain tunnel, opened before answering so that
        // an unreachable host is a 502, not a dead tunnel.
        let upstream = match self.dial(&host, port).await {
            Ok(s) => s,
            Err(e) => {
                self.audit_request(
                    &session,
                    "CONNECT",
                    &target,
                    "",
                    502,
                    "tunnel",
                    started,
                    Some(e.to_string()),
                );
                return bad_gateway(&format!("cannot reach {host}:{port}: {e}"));
            }
        };
        let proxy = Arc::clone(&self);
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut client = TokioIo::new(upgraded);
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
            proxy.audit_request(
                &session, "CONNECT", &target, "", 200, "tunnel", started, None,
            );
        });
        Response::new(empty())
    }

    /// HTTP/1.1 inside an intercepted TLS tunnel: each request gets its
    /// placeholders swapped and goes to the CONNECT target over one
    /// upstream connection, reopened when it closes.
    async fn serve_intercepted<S>(
        self: Arc<Self>,
        session: String,
        host: String,
        port: u16,
        stream: S,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let upstream: Arc<tokio::sync::Mutex<Option<client_http1::SendRequest<Body>>>> =
            Arc::default();
        let svc = service_fn(move |req: Request<Incoming>| {
            let proxy = Arc::clone(&self);
            let (session, host, upstream) = (session.clone(), host.clone(), Arc::clone(&upstream));
            async move {
                Ok::<_, Infallible>(
                    proxy
                        .forward_tls(&session, &host, port, req, &upstream)
                        .await,
                )
            }
        });
        let _ = server_http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), svc)
            .await;
    }

    async fn forward_tls(
        &self,
        session: &str,
        host: &str,
        port: u16,
        req: Request<Incoming>,
        upstream: &tokio::sync::Mutex<Option<client_http1::SendRequest<Body>>>,
    ) -> Response<Body> {
        let started = Instant::now();
        let (mut parts, body) = req.into_parts();
        let method = parts.method.to_string();
        let path = parts.uri.path().to_string();
        let injection = rules::apply(&self.rules, &self.secrets, host, &mut parts.headers);
        strip_hop_by_hop(&mut parts.headers);
        parts.uri = origin_form(&parts.uri);
        let request = Request::from_parts(parts, body.boxed());
        let mut guard = upstream.lock().await;
        // The kept-alive upstream connection is reused once it is ready again
        // (the previous response fully read); a closed one is reopened.
        if let Some(sender) = guard.as_mut()
            && sender.ready().await.is_err()
        {
            *guard = None;
        }
        if guard.is_none() {
            *guard = match self.open_tls_upstream(host, port).await {
                Ok(s) => Some(s),
                Err(e) => {
                    self.audit_request(
                        session,
                        &method,
                        host,
                        &path,
                        502,
                        credential(injection),
                        started,
                        Some(e.clone()),
                    );
                    return bad_gateway(&e);
                }
            };
        }
        let sender = guard.as_mut().expect("set above");
        let result = sender.send_request(request).await;
        drop(guard);
        match result {
            Ok(resp) => {
                self.audit_request(
                    session,
                    &method,
                    host,
                    &path,
                    resp.status().as_u16(),
                    credential(injection),
                    started,
                    None,
                );
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(e) => {
                let why = format!("upstream {host}: {e}");
                self.audit_request(
                    session,
                    &method,
                    host,
                    &path,
                    502,
                    credential(injection),
                    started,
                    Some(why.clone()),
                );
                bad_gateway(&why)
            }
        }
    }

    async fn open_tls_upstream(
        &self,
        host: &str,
        port: u16,
    ) -> Result<client_http1::SendRequest<Body>, String> {
        let tcp = self
            .dial(host, port)
            .await
            .map_err(|e| format!("cannot reach {host}:{port}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("bad host name {host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.upstream_tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host} failed: {e}"))?;
        let (sender, conn) = client_http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP with {host} failed: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// `GET http://host/path` through the proxy: forwarded as is (no
    /// credentials are ever added to plain HTTP).
    async fn plain_http(&self, session: String, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let uri = req.uri().clone();
        if uri.scheme_str() != Some("http") {
            return text(
                StatusCode::BAD_REQUEST,
                "clauderon proxy: send http://host/path, or CONNECT for https",
            );
        }
        let Some(authority) = uri.authority() else {
            return text(
                StatusCode::BAD_REQUEST,
                "clauderon proxy: the request has no host",
            );
        };
        let (host, port) = (
            authority.host().to_ascii_lowercase(),
            authority.port_u16().unwrap_or(80),
        );
        let method = req.method().to_string();
        if let Some(why) = self.refuse(&host, port) {
            self.audit_request(
                &session,
                &method,
                &host,
                uri.path(),
                403,
                "none",
                started,
                Some(why.clone()),
            );
            return text(StatusCode::FORBIDDEN, &format!("clauderon proxy: {why}"));
        }
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        parts.uri = origin_form(&uri);
        let result: Result<Response<Incoming>, String> = async {
            let tcp = self
                .dial(&host, port)
                .await
                .map_err(|e| format!("cannot reach {host}:{port}: {e}"))?;
            let (mut sender, conn) = client_http1::handshake::<_, Body>(TokioIo::new(tcp))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender
                .send_request(Request::from_parts(parts, body.boxed()))
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(resp) => {
                self.audit_request(
                    &session,
                    &method,
                    &host,
                    uri.path(),
                    resp.status().as_u16(),
                    "none",
                    started,
                    None,
                );
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(e) => {
                self.audit_request(
                    &session,
                    &method,
                    &host,
                    uri.path(),
                    502,
                    "none",
                    started,
                    Some(e.clone()),
                );
                bad_gateway(&e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn audit_request(
        &self,
        session: &str,
        method: &str,
        host: &str,
        path: &str,
        status: u16,
        credential: &str,
        started: Instant,
        error: Option<String>,
    ) {
        self.audit.record(&Entry {
            time_ms: now_ms(),
            session: session.to_string(),
            method: method.to_string(),
            host: host.to_string(),
            path: path.to_string(),
            status,
            credential: credential.to_string(),
            duration_ms: started.elapsed().as_millis() as u64,
            error,
        });
    }
}

fn credential(injection: Injection) -> &'static str {
    match injection {
        Injection::None => "none",
        Injection::Injected => "injected",
        Injection::Missing => "missing",
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection:` are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    for h in HOP_BY_HOP.iter().map(|s| s.to_string()).chain(named) {
        headers.remove(h.as_str());
    }
}

fn origin_form(uri: &Uri) -> Uri {
    uri.path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/"))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(format!("{message}\n")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// 502 with the reason in a short header too (for tools that hide bodies).
fn bad_gateway(reason: &str) -> Response<Body> {
    let mut resp = text(
        StatusCode::BAD_GATEWAY,
        &format!("clauderon proxy: {reason}"),
    );
    let short: String = reason
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(200)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&short) {
        resp.headers_mut().insert("x-clauderon-proxy-error", v);
    }
    resp
}
