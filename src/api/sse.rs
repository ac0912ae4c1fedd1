//! `GET /jobs/{id}/events`: Server-Sent Events of a job: its session's hook
//! events (`event: hook`, id = the event's line in the session's log, so
//! `Last-Event-ID` replays only what the client has not seen), the agent's
//! output when the run ends (`event: output`), and the job's end
//! (`event: end`), after which the stream closes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::Api;
use crate::serve::Body;

/// A response body fed from a channel, one chunk per event.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

fn event(kind: &str, id: Option<usize>, data: &Value) -> Bytes {
    let id = id.map(|i| format!("id: {i}\n")).unwrap_or_default();
    Bytes::from(format!("{id}event: {kind}\ndata: {data}\n\n"))
}

pub fn stream(api: Arc<Api>, id: String, last_seen: Option<usize>) -> Response<Body> {
    let Some(session) = api.job_session(&id) else {
        return super::error(StatusCode::NOT_FOUND, format!("no job {id:?}"));
    };
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let log = crate::hooks::events::log_path(&api.home, &session);
        let mut sent = last_seen.map_or(0, |n| n + 1);
        loop {
            let events: Vec<Value> = crate::jsonl::read(&log);
            for (i, e) in events.iter().enumerate().skip(sent) {
                if tx.send(event("hook", Some(i), e)).await.is_err() {
                    return; // the client went away
                }
            }
            sent = sent.max(events.len());
            if let Some(result) = api.job_result(&id) {
                let _ = tx.send(event("output", None, &result["output"])).await;
                let _ = tx.send(event("end", None, &result)).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let mut resp = Response::new(ChannelBody(rx).boxed());
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}
