//! Benchmark: the credential proxy against a direct connection to the same
//! local HTTPS upstream, side by side in one run.
//!
//!   cargo bench --bench proxy              (REQUESTS=2000 MIB=256 to change sizes)
//!
//! Measures (1) latency per small request on one kept-alive connection and
//! (2) throughput of a large streamed download. Via the proxy each request is
//! intercepted: CONNECT, TLS terminated with a minted leaf, a credential
//! placeholder swapped for the secret, TLS again to the upstream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clauderon::proxy::ca_key::{EcKey as KeyPair, random_serial};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use clauderon::proxy::ca::Ca;
use clauderon::proxy::server::Proxy;
use clauderon::proxy::settings::ProxySettings;
use clauderon::store::Home;

const HOST: &str = "api.github.com";
const CHUNK: usize = 64 * 1024;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// N bytes of response body, produced in 64 KiB frames as they are polled.
struct Zeros {
    left: usize,
    chunk: Bytes,
}

impl Body for Zeros {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(CHUNK);
        self.left -= n;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }
}

/// The upstream: `/` answers 2 bytes, `/big?n=N` streams N bytes.
async fn upstream(tls: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&tls));
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let n: usize = req
                            .uri()
                            .query()
                            .and_then(|q| q.strip_prefix("n="))
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0);
                        let body = if n == 0 {
                            Full::new(Bytes::from_static(b"ok")).boxed()
                        } else {
                            Zeros {
                                left: n,
                                chunk: Bytes::from(vec![b'x'; CHUNK]),
                            }
                            .boxed()
                        };
                        Ok::<_, std::convert::Infallible>(Response::new(body))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// An HTTP/1.1 connection to HOST over TLS, directly or through the proxy.
async fn connect(target: SocketAddr, via_proxy: bool, roots: rustls::RootCertStore) -> Sender {
    let mut tcp = tokio::net::TcpStream::connect(target).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    if via_proxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let auth =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "bench:token");
        let req = format!(
            "CONNECT {HOST}:443 HTTP/1.1\r\nHost: {HOST}:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(HOST).unwrap(), tcp)
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn get(sender: &mut Sender, path: &str) -> usize {
    let req = Request::get(path)
        .header("host", HOST)
        .header("authorization", "token clauderon-proxy")
        .body(Empty::new())
        .unwrap();
    sender.ready().await.unwrap();
    let mut body = sender.send_request(req).await.unwrap().into_body();
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        total += frame.unwrap().data_ref().map_or(0, |d| d.len());
    }
    total
}

struct Measured {
    mean_latency: Duration,
    p99_latency: Duration,
    mib_per_s: f64,
}

async fn measure(
    target: SocketAddr,
    via_proxy: bool,
    roots: rustls::RootCertStore,
    requests: usize,
    mib: usize,
) -> Measured {
    let mut sender = connect(target, via_proxy, roots.clone()).await;
    for _ in 0..50 {
        get(&mut sender, "/").await; // warm-up
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        get(&mut sender, "/").await;
        times.push(t.elapsed());
    }
    times.sort();
    let bytes = mib * 1024 * 1024;
    let t = Instant::now();
    assert_eq!(get(&mut sender, &format!("/big?n={bytes}")).await, bytes);
    let secs = t.elapsed().as_secs_f64();
    Measured {
        mean_latency: times.iter().sum::<Duration>() / requests as u32,
        p99_latency: times[requests * 99 / 100],
        mib_per_s: mib as f64 / secs,
    }
}

fn main() {
    let requests: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mib: usize = std::env::var("MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);

    // The upstream's own CA and leaf.
    let up_key = KeyPair::generate().unwrap();
    let mut up_ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    up_ca.serial_number = Some(random_serial().unwrap());
    up_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let up_ca_cert = up_ca.self_signed(&up_key).unwrap();
    let issuer = Issuer::new(up_ca, up_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec![HOST.to_string()]).unwrap();
    leaf_params.serial_number = Some(random_serial().unwrap());
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let server_tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.pkcs8_der().to_vec())),
        )
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let home = Home {
        root: dir.path().to_path_buf(),
    };
    let upstream_ca_file = dir.path().join("upstream-ca.pem");
    std::fs::write(&upstream_ca_file, up_ca_cert.pem()).unwrap();
    // A session the proxy accepts, and the secret it injects.
    std::fs::create_dir_all(home.session_dir("bench")).unwrap();
    let record = serde_json::json!({
        "name": "bench", "id": "b", "backend": "docker", "agent": "claude", "image": "x",
        "pull_policy": "never", "limits": {"cpu": null, "memory": null}, "env": [], "prompt": "p",
        "repo_root": "/", "git_common_dir": "/", "subdir": "", "base": "HEAD", "branch": "bench",
        "worktree": "/", "uid": 0, "gid": 0, "git_identity": {"name": null, "email": null},
        "created_at": 0, "hook_token": "token"
    });
    std::fs::write(home.record_path("bench"), record.to_string()).unwrap();
    // SAFETY: set before any other thread starts.
    unsafe { std::env::set_var("GH_TOKEN", "ghp_benchmarksecret") };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let upstream_addr = runtime.block_on(upstream(Arc::new(server_tls)));

    let settings = ProxySettings {
        port: 0,
        upstream_ca_file: Some(upstream_ca_file),
        resolve: HashMap::from([(HOST.to_string(), upstream_addr.to_string())]),
        ..ProxySettings::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let ca = Ca::load_or_create(&home).unwrap();
    let proxy = Arc::new(Proxy::new(&home, settings, ca, vec![proxy_addr]).unwrap());
    std::thread::spawn(move || proxy.serve(vec![listener]));

    let mut direct_roots = rustls::RootCertStore::empty();
    direct_roots
        .add(CertificateDer::from(up_ca_cert.der().to_vec()))
        .unwrap();
    let mut proxy_roots = rustls::RootCertStore::empty();
    let proxy_ca = std::fs::read_to_string(clauderon::proxy::ca::cert_path(&home)).unwrap();
    proxy_roots
        .add(CertificateDer::from(
            pem::parse(proxy_ca).unwrap().contents().to_vec(),
        ))
        .unwrap();

    let direct = runtime.block_on(measure(upstream_addr, false, direct_roots, requests, mib));
    let proxied = runtime.block_on(measure(proxy_addr, true, proxy_roots, requests, mib));

    println!(
        "clauderon proxy benchmark: {requests} small requests on one keep-alive connection, then a {mib} MiB download"
    );
    println!(
        "{:<22}{:>14}{:>14}{:>16}",
        "", "mean latency", "p99 latency", "throughput"
    );
    for (name, r) in [
        ("direct (TLS)", &direct),
        ("via proxy (intercept)", &proxied),
    ] {
        println!(
            "{name:<22}{:>11.0} µs{:>11.0} µs{:>11.0} MiB/s",
            r.mean_latency.as_secs_f64() * 1e6,
            r.p99_latency.as_secs_f64() * 1e6,
            r.mib_per_s
        );
    }
    println!(
        "added by the proxy: {:.0} µs per request; throughput {:.0}% of direct",
        (proxied.mean_latency.as_secs_f64() - direct.mean_latency.as_secs_f64()) * 1e6,
        proxied.mib_per_s / direct.mib_per_s * 100.0
    );
}
