//! The proxy server: HTTP/1.1 CONNECT and plain HTTP proxying, with TLS
//! interception for hosts that have credential rules.
//!
//! Allow/deny is decided from the CONNECT target, and requests inside a
//! tunnel always go to that target with a `Host:` that names it. Targets are
//! resolved before the check, so no spelling of a local address gets
//! through. Bodies stream both ways; connections (tunnels included) are
//! capped; idle tunnels and slow handshakes time out.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::proxy::audit::{Audit, Entry};
use crate::proxy::ca::Ca;
use crate::proxy::policy;
use crate::proxy::rules::{self, Injection, Rule, Secrets};
use crate::proxy::settings::ProxySettings;
use crate::serve::{Body, Conn, empty, text};
use crate::store::Home;
pub use books::Bookkeeping;

mod ask;
mod auth;
mod books;
mod connect;
mod guard;
mod intercept;
mod plain;
mod tunnel;
mod upgrade;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A client must finish its TLS handshake within this after CONNECT.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A tunnel with no bytes either way for this long is closed.
const TUNNEL_IDLE: Duration = Duration::from_secs(300);
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
    secrets: Secrets,
    ca: Ca,
    upstream_tls: Arc<rustls::ClientConfig>,
    settings: ProxySettings,
    /// Where the proxy itself listens: requests to these are loops.
    listen: Vec<SocketAddr>,
    audit: Audit,
    tokens: auth::Tokens,
    /// The in-cluster daemon's (its refusals name no config.toml).
    in_cluster: bool,
    /// The host policy and GitHub scope, reloaded when config.toml changes.
    live: crate::proxy::live::LiveSettings,
    /// Requests held for approval (`ask`).
    waiting: crate::proxy::approvals::Waiting,
    /// Open tunnels per session, so one session cannot take every slot.
    tunnels: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// The books model calls are metered into, when the daemon keeps them.
    bookkeeping: Option<Bookkeeping>,
}

/// Tunnels one session may hold open at once.
const TUNNELS_PER_SESSION: usize = 128;

/// One open tunnel of a session; the count drops with it.
struct TunnelSlot {
    session: String,
    tunnels: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

impl Drop for TunnelSlot {
    fn drop(&mut self) {
        let mut t = self.tunnels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = t.get_mut(&self.session) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The roots the proxy trusts upstream: the system's, plus
/// `[proxy] upstream_ca_file`'s certificates.
fn upstream_roots(
    upstream_ca_file: Option<&std::path::Path>,
) -> crate::error::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(extra) = upstream_ca_file {
        let pem_text = std::fs::read_to_string(extra).map_err(|e| {
            crate::error::Error::io(
                format!("could not read the upstream CA file {}", extra.display()),
                e,
            )
        })?;
        let certs: Vec<_> = pem::parse_many(&pem_text)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.tag() == "CERTIFICATE")
            .collect();
        let added = certs
            .iter()
            .filter(|p| {
                let der = rustls::pki_types::CertificateDer::from(p.contents().to_vec());
                roots.add(der).is_ok()
            })
            .count();
        if added == 0 {
            return Err(crate::error::Error::input(format!(
                "[proxy] upstream_ca_file {} holds no usable PEM certificate",
                extra.display()
            ))
            .with_fix("point it at a PEM file with a -----BEGIN CERTIFICATE----- block, or remove the setting"));
        }
    }
    Ok(roots)
}

/// An intercepted tunnel's connection to its target: none yet, open, or
/// the reason the early attempt failed (told to the first request).
type Upstream = Arc<tokio::sync::Mutex<Option<UpstreamConn>>>;
type UpstreamConn = Result<client_http1::SendRequest<Body>, String>;

impl Proxy {
    pub fn new(
        home: &Home,
        settings: ProxySettings,
        ca: Ca,
        listen: Vec<SocketAddr>,
    ) -> crate::error::Result<Proxy> {
        let roots = upstream_roots(settings.upstream_ca_file.as_deref())?;
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::error::Error::failed(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Proxy {
            live: crate::proxy::live::LiveSettings::for_home(home, &settings),
            home: home.clone(),
            secrets: Secrets::default(),
            ca,
            upstream_tls: Arc::new(tls),
            settings,
            listen,
            audit: Audit::new(home),
            tokens: auth::Tokens::default(),
            in_cluster: false,
            waiting: Default::default(),
            tunnels: Arc::default(),
            bookkeeping: None,
        })
    }

    /// The credential rules as config.toml says now (built-in ones first).
    fn rules(&self) -> Arc<Vec<Rule>> {
        Arc::clone(&self.live.current().rules)
    }

    /// The in-cluster daemon's proxy: tokens derived with the namespace's
    /// key, credentials read from the files of its Secret (one a variable).
    pub fn in_cluster(
        mut self,
        key: Arc<crate::cluster::SessionKey>,
        credentials: std::path::PathBuf,
    ) -> Proxy {
        self.tokens = auth::Tokens::derived(key);
        self.secrets = Secrets::from_dir(credentials);
        self.in_cluster = true;
        self.live = self.live.fixed();
        self
    }

    /// Serves the listeners until the process ends (call inside a tokio runtime).
    pub async fn run(
        self: Arc<Self>,
        listeners: Vec<crate::serve::Listening>,
        limit: Arc<crate::serve::Slots>,
    ) {
        let mut tasks = Vec::new();
        for listener in listeners {
            let proxy = Arc::clone(&self);
            let handle = move |req, conn| Arc::clone(&proxy).handle(req, conn);
            tasks.push(tokio::spawn(crate::serve::accept_loop(
                listener,
                Arc::clone(&limit),
                handle,
            )));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Serves TCP listeners on a runtime of its own (for benchmarks and tools).
    pub fn serve(self: Arc<Self>, listeners: Vec<std::net::TcpListener>) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listeners = listeners
            .into_iter()
            .map(crate::serve::Listening::Tcp)
            .collect();
        runtime.block_on(self.run(listeners, Arc::new(crate::serve::Slots::new(512))));
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, conn: Conn) -> Response<Body> {
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
            return self.connect(session, req, conn).await;
        }
        self.plain_http(session, req).await
    }

    /// The session named in `Proxy-Authorization: Basic session:token`, if
    /// the token matches that session's record on disk right now.
    fn authenticate(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get("proxy-authorization")?.to_str().ok()?;
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))?;
        let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
        let (name, token) = decoded.split_once(':')?;
        self.tokens
            .check(&self.home, name, token)
            .then(|| name.to_string())
    }

    fn take_tunnel_slot(&self, session: &str) -> Option<TunnelSlot> {
        let mut t = self.tunnels.lock().unwrap_or_else(|p| p.into_inner());
        let n = t.entry(session.to_string()).or_insert(0);
        if *n >= TUNNELS_PER_SESSION {
            return None;
        }
        *n += 1;
        Some(TunnelSlot {
            session: session.to_string(),
            tunnels: Arc::clone(&self.tunnels),
        })
    }

    /// Resolves the target and checks it: the policy, then the address:
    /// never loopback, unspecified, link-local or the proxy itself, and
    /// not the host's own or private addresses unless the user named the
    /// host (exactly in allow_hosts, or in `[proxy.resolve]`), so no
    /// spelling of a local address gets through.
    async fn resolve(
        &self,
        session: &str,
        host: &str,
        port: u16,
        mcp: &crate::mcp::SessionRules,
    ) -> Result<Vec<SocketAddr>, String> {
        let pinned = self.settings.resolve.get(host);
        // An MCP server's host counts as allowed while it is configured.
        let mcp_allowed = mcp.allows(host, &self.live.current().policy.deny_hosts);
        let named = self
            .check_policy(session, host, pinned.is_some() || mcp_allowed)
            .await?;
        let addrs: Vec<SocketAddr> = match pinned {
            Some(target) => tokio::net::lookup_host(target.as_str())
                .await
                .map_err(|e| format!("cannot resolve {target}: {e}"))?
                .collect(),
            None => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("cannot resolve {host}"));
        }
        if addrs.iter().any(|a| {
            self.listen
                .iter()
                .any(|l| l.port() == a.port() && (l.ip() == a.ip() || policy::local(a.ip())))
        }) {
            return Err("requests to the proxy itself are refused (loop)".into());
        }
        if pinned.is_some() || named {
            return Ok(addrs);
        }
        if let Some(a) = addrs.iter().find(|a| policy::local(a.ip())) {
            return Err(format!(
                "{host} resolves to a local address ({}), which sessions may not reach through the proxy",
                a.ip()
            ));
        }
        if let Some(a) = addrs
            .iter()
            .find(|a| policy::private(a.ip()) || policy::is_own_address(a.ip()))
        {
            return Err(format!(
                "{host} resolves to {}, an address of this machine or of a private network, which sessions may not reach through the proxy; to allow it, add \"{host}\" (exactly) to [proxy] allow_hosts in config.toml, or `clauderon policy SESSION allow {host}` (both apply live)",
                a.ip()
            ));
        }
        Ok(addrs)
    }

    async fn dial(&self, addrs: &[SocketAddr]) -> std::io::Result<TcpStream> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addrs))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    #[allow(clippy::too_many_arguments)]
    /// Writes the audit entries still queued (at the daemon's shutdown).
    pub fn close_audit(&self) {
        self.audit.close();
    }

    /// One audit log line for the request `log` describes.
    fn audit(&self, log: &Logged, status: u16, credential: &str, error: Option<String>) {
        crate::proxy::metrics::global().observe(log.session, status, credential, error.as_deref());
        self.audit.record(Entry {
            time_ms: now_ms(),
            session: log.session.to_string(),
            method: log.method.to_string(),
            host: log.host.to_string(),
            path: log.path.to_string(),
            status,
            credential: credential.to_string(),
            duration_ms: log.started.elapsed().as_millis() as u64,
            error,
            seq: 0,
            prev: String::new(),
        });
    }
}

/// What the audit log says of a request whatever its outcome.
struct Logged<'a> {
    session: &'a str,
    method: &'a str,
    host: &'a str,
    path: &'a str,
    started: Instant,
}

impl<'a> Logged<'a> {
    fn new(
        session: &'a str,
        method: &'a str,
        host: &'a str,
        path: &'a str,
        started: Instant,
    ) -> Self {
        Logged {
            session,
            method,
            host,
            path,
            started,
        }
    }
}

/// A host name or IP literal in one canonical form (lower case, no trailing
/// dot, no brackets), or None if it is not a valid one.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() {
        return Some(host);
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    valid.then_some(host)
}

/// `Host:` names the target (the port only when it is not the scheme's default).
fn set_host(headers: &mut HeaderMap, host: &str, port: u16, default_port: u16) {
    let authority = if port == default_port {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    headers.insert(
        http::header::HOST,
        HeaderValue::from_str(&authority).expect("a normalized host is a valid header"),
    );
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

#[cfg(test)]
mod tests;
