//! The tee on a model call's response: each chunk goes on to the client
//! as it came (never held, never copied into the stream again), and a
//! scanner reads a bounded copy of what it needs. The call is booked when
//! the body ends, or when it is dropped (a cut stream: what was seen).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};

use super::books::Books;
use super::sse::Sse;
use super::websocket::Frames;
use super::{Api, MAX_EVENT_BYTES, Seen, anthropic, openai};

enum Scan {
    Sse(Sse),
    Json { body: Vec<u8>, over: bool },
    WebSocket(Frames),
}

pub struct Meter {
    api: Api,
    scan: Scan,
    seen: Seen,
    books: Arc<Books>,
    session: String,
    done: bool,
}

impl Meter {
    /// A meter for a response with these headers: SSE, JSON, or (for a
    /// compressed or other body) None, counted at once as unparsed.
    pub fn for_response(
        api: Api,
        headers: &HeaderMap,
        books: &Arc<Books>,
        session: &str,
    ) -> Option<Meter> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        let encoding = header("content-encoding");
        let kind = header("content-type");
        let scan = if !matches!(encoding.as_str(), "" | "identity") {
            None
        } else if kind.starts_with("text/event-stream") {
            Some(Scan::Sse(Sse::keeping(match api {
                Api::Anthropic => anthropic::wanted,
                Api::OpenAi => openai::wanted,
            })))
        } else if kind.starts_with("application/json") {
            Some(Scan::Json {
                body: Vec::new(),
                over: false,
            })
        } else {
            None
        };
        let Some(scan) = scan else {
            let seen = Seen {
                unparsed: 1,
                ..Seen::default()
            };
            books.record(session, api, &seen);
            return None;
        };
        Some(Meter::new(api, scan, books, session))
    }

    /// A meter for the server's side of a Responses WebSocket.
    pub fn for_websocket(books: &Arc<Books>, session: &str) -> Meter {
        Meter::new(
            Api::OpenAi,
            Scan::WebSocket(Frames::default()),
            books,
            session,
        )
    }

    fn new(api: Api, scan: Scan, books: &Arc<Books>, session: &str) -> Meter {
        Meter {
            api,
            scan,
            seen: Seen::default(),
            books: Arc::clone(books),
            session: session.to_string(),
            done: false,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        let (api, seen) = (self.api, &mut self.seen);
        let mut completed = Vec::new();
        match &mut self.scan {
            Scan::Sse(sse) => sse.feed(chunk, &mut |name, data| match api {
                Api::Anthropic => anthropic::read_event(name, data, seen),
                Api::OpenAi => {
                    openai::read_event(name, data, seen);
                }
            }),
            Scan::Json { body, over } => {
                if !*over && body.len() + chunk.len() > MAX_EVENT_BYTES {
                    *over = true;
                    *body = Vec::new();
                } else if !*over {
                    body.extend_from_slice(chunk);
                }
            }
            // A WebSocket carries many responses: each is booked as it ends.
            Scan::WebSocket(frames) => frames.feed(chunk, &mut |message| {
                if openai::read_event(b"", message, seen) {
                    completed.push(std::mem::take(seen));
                }
            }),
        }
        for call in completed {
            self.books.record(&self.session, self.api, &call);
        }
    }

    /// The body ended (`whole`) or was dropped: the call is booked.
    pub fn finish(&mut self, whole: bool) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        match &mut self.scan {
            Scan::Sse(sse) => {
                sse.finish();
                self.seen.unparsed += sse.unparsed;
            }
            Scan::Json { body, over } => {
                if *over || !whole {
                    self.seen.unparsed += 1;
                } else if self.api == Api::Anthropic {
                    anthropic::read_body(body, &mut self.seen);
                } else {
                    openai::read_body(body, &mut self.seen);
                }
            }
            Scan::WebSocket(frames) => self.seen.unparsed += frames.unparsed,
        }
        if self.seen.worth_recording() {
            self.books.record(&self.session, self.api, &self.seen);
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// A response body with a meter on it.
pub struct MeteredBody<B: HttpBody> {
    inner: B,
    meter: Meter,
    /// The upstream's error, held for one poll: the bytes already passed
    /// on are flushed to the client before the error ends the response.
    failed: Option<B::Error>,
}

impl<B: HttpBody> MeteredBody<B> {
    pub fn new(inner: B, meter: Meter) -> Self {
        MeteredBody {
            inner,
            meter,
            failed: None,
        }
    }
}

impl<B> HttpBody for MeteredBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(e) = this.failed.take() {
            return Poll::Ready(Some(Err(e)));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(e))) = polled {
            this.failed = Some(e);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.meter.feed(data);
                }
                // A body of known length is not polled past its end.
                if this.inner.is_end_stream() {
                    this.meter.finish(true);
                }
            }
            Poll::Ready(None) => this.meter.finish(true),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The server's side of an upgraded connection with a meter on what it
/// sends (writes pass straight through).
pub struct MeteredIo<T> {
    inner: T,
    meter: Meter,
}

impl<T> MeteredIo<T> {
    pub fn new(inner: T, meter: Meter) -> Self {
        MeteredIo { inner, meter }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for MeteredIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let new = &buf.filled()[before..];
            if new.is_empty() {
                this.meter.finish(true);
            } else {
                this.meter.feed(new);
            }
        }
        polled
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for MeteredIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
