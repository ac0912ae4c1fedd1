//! The daemon's HTTP/1.1 serving, shared by the hook listener, the proxy and
//! the API: one accept loop per listening socket, a cap on open connections
//! (idle ones give way to newcomers, see `slots`), and a short deadline for
//! reading request headers, which also closes idle keep-alive connections.

mod slots;

pub use slots::Slots;

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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OwnedSemaphorePermit;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// A client gets this long to send its request line and headers, and a
/// keep-alive connection may sit idle this long between requests (hyper
/// runs the same timer while it waits for the next request's head).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Accepts connections until the process ends. Over the cap, a newcomer
/// takes the slot of the longest-idle connection, or is answered 503 at
/// once: it never queues, and idle clients cannot hold every slot.
pub async fn accept_loop<F, Fut>(listening: Listening, slots: Arc<Slots>, handle: F)
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
        let (slots, handle) = (Arc::clone(&slots), handle.clone());
        match stream {
            Stream::Tcp(s) => tokio::spawn(admit(s, peer, slots, handle)),
            Stream::Unix(s) => tokio::spawn(admit(s, peer, slots, handle)),
        };
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// Serves the connection in a slot of its own, or says 503 and closes it.
async fn admit<S, F, Fut>(stream: S, peer: Peer, slots: Arc<Slots>, handle: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>, Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let permit = match slots.try_take() {
        Some(p) => Some(p),
        None => slots.take_from_idle().await,
    };
    let Some(permit) = permit else {
        return refuse_busy(stream).await;
    };
    let conn = Conn {
        peer,
        slot: Arc::new(permit),
    };
    serve_connection(stream, conn, slots, handle).await;
}

/// A quick 503 for a connection no slot can take. The answer is written,
/// then what the client sent is read and dropped until it hangs up (1 s at
/// most): closing with its request unread would reset the connection before
/// it reads the answer.
async fn refuse_busy<S>(mut stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let body = r#"{"error":"every connection slot is answering a request; try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

async fn serve_connection<S, F, Fut>(stream: S, conn: Conn, slots: Arc<Slots>, handle: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>, Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let activity = slots.track();
    let svc = {
        let (slots, activity) = (Arc::clone(&slots), Arc::clone(&activity));
        service_fn(move |req| {
            let (handle, conn) = (handle.clone(), conn.clone());
            // In flight until the answer's body is done (an SSE stream too).
            let busy = slots.busy(&activity);
            async move {
                let resp = handle(req, conn).await;
                Ok::<_, Infallible>(resp.map(|body| slots::BusyBody::new(body, busy).boxed()))
            }
        })
    };
    let serving = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    tokio::pin!(serving);
    tokio::select! {
        _ = serving.as_mut() => {}
        _ = activity.evicted.notified() => {
            // Idle when chosen; if a request came in since, let it finish.
            if !activity.is_idle() {
                serving.as_mut().graceful_shutdown();
                let _ = serving.await;
            }
        }
    }
    slots.forget(&activity);
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
