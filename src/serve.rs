//! The daemon's HTTP/1.1 serving, shared by the hook listener and the proxy:
//! one accept loop per listening socket, a cap on open connections, and a
//! deadline for reading request headers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub type Body = BoxBody<Bytes, hyper::Error>;

/// A slow client gets this long to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a connection came from.
#[derive(Clone, Copy, Debug)]
pub enum Peer {
    Tcp(SocketAddr),
    /// The daemon's Unix sockets, which only session containers are given.
    Unix,
}

/// What a handler learns about the connection a request came on.
#[derive(Clone)]
pub struct Conn {
    pub peer: Peer,
    /// Holds one of the capped connection slots; a tunnel that outlives the
    /// HTTP exchange keeps a clone, so it keeps counting against the cap.
    pub slot: Arc<OwnedSemaphorePermit>,
}

impl Conn {
    /// From this machine's loopback (not from a container).
    pub fn from_loopback(&self) -> bool {
        matches!(self.peer, Peer::Tcp(a) if a.ip().is_loopback())
    }
}

/// A socket the daemon serves: TCP (loopback, bridge gateways) or a Unix
/// socket (mounted into containers that have no network).
pub enum Listening {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

enum Accepting {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Accepting {
    fn new(listening: Listening) -> std::io::Result<Accepting> {
        Ok(match listening {
            Listening::Tcp(l) => {
                l.set_nonblocking(true)?;
                Accepting::Tcp(tokio::net::TcpListener::from_std(l)?)
            }
            Listening::Unix(l) => {
                l.set_nonblocking(true)?;
                Accepting::Unix(tokio::net::UnixListener::from_std(l)?)
            }
        })
    }
}

/// Accepts connections until the process ends. Over the cap, new
/// connections are closed at once instead of queueing without bound.
pub async fn accept_loop<F, Fut>(listening: Listening, limit: Arc<Semaphore>, handle: F)
where
    F: Fn(Request<Incoming>, Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let Ok(listener) = Accepting::new(listening) else {
        return;
    };
    loop {
        let accepted = match &listener {
            Accepting::Tcp(l) => l.accept().await.map(|(s, peer)| {
                let _ = s.set_nodelay(true);
                (Stream::Tcp(s), Peer::Tcp(peer))
            }),
            Accepting::Unix(l) => l.accept().await.map(|(s, _)| (Stream::Unix(s), Peer::Unix)),
        };
        let Ok((stream, peer)) = accepted else {
            // Out of descriptors, most likely: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            continue;
        };
        let conn = Conn {
            peer,
            slot: Arc::new(permit),
        };
        let handle = handle.clone();
        match stream {
            Stream::Tcp(s) => tokio::spawn(serve_connection(s, conn, handle)),
            Stream::Unix(s) => tokio::spawn(serve_connection(s, conn, handle)),
        };
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn serve_connection<S, F, Fut>(stream: S, conn: Conn, handle: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>, Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let svc = service_fn(move |req| {
        let (handle, conn) = (handle.clone(), conn.clone());
        async move { Ok::<_, Infallible>(handle(req, conn).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades()
        .await;
}

pub fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

pub fn text(status: StatusCode, message: &str) -> Response<Body> {
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

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from(value.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}
