//! `GET /jobs/{id}/events`: Server-Sent Events of a job: its session's hook
//! events (`event: hook`), the agent's output line by line as it is written
//! (`event: output`, each line a JSON string), and the job's end (`event:
//! end`, the run's answer), after which the stream closes. Each event's id
//! is the cursor after it, `HOOKS.LINES` (hook events and output lines sent
//! so far), so a client reconnecting with `Last-Event-ID` gets only what it
//! has not seen of both.

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::Api;
use crate::error::ErrorKind;
use crate::serve::Body;

/// The agent's answer is read up to this size (as `POST /run` reads it).
const MAX_OUTPUT: u64 = 16 << 20;

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

/// What a client has seen: hook events and output lines.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cursor {
    hooks: usize,
    lines: usize,
}

impl Cursor {
    fn parse(id: &str) -> Option<Cursor> {
        let (hooks, lines) = id.trim().split_once('.')?;
        Some(Cursor {
            hooks: hooks.parse().ok()?,
            lines: lines.parse().ok()?,
        })
    }
}

fn event(kind: &str, at: Option<Cursor>, data: &Value) -> Bytes {
    let id = at
        .map(|c| format!("id: {}.{}\n", c.hooks, c.lines))
        .unwrap_or_default();
    Bytes::from(format!("{id}event: {kind}\ndata: {data}\n\n"))
}

/// The output's lines past `seen`; the last one only if it is complete
/// (or the run has ended, when nothing more will be written).
pub(super) fn new_lines(worktree: &Path, seen: usize, ended: bool) -> Vec<String> {
    let text = crate::safe_fs::read_below(worktree, Path::new(".clauderon/output"), MAX_OUTPUT)
        .unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| ended || l.ends_with('\n'))
        .skip(seen)
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect()
}

pub fn stream(api: Arc<Api>, id: String, last_seen: Option<&str>) -> Response<Body> {
    let Some(session) = api.job_session(&id) else {
        return super::error(ErrorKind::NotFound, format!("no job {id:?}"));
    };
    let log = crate::hooks::events::log_path(&api.home, &session);
    let worktree = api.home.worktree_path(&session);
    let held = |c: &Cursor| {
        c.hooks <= crate::jsonl::read::<Value>(&log).len()
            && c.lines <= new_lines(&worktree, 0, true).len()
    };
    let mut at = match last_seen.map(Cursor::parse) {
        None => Cursor::default(),
        // An id past what the stream holds was never sent: bad input, not
        // a silent skip of what comes.
        Some(Some(c)) if held(&c) => c,
        Some(_) => {
            let why = "Last-Event-ID: give the id of an event of this stream (HOOKS.LINES)";
            return super::error(ErrorKind::BadInput, why);
        }
    };
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            // Whether it has ended is asked first, so nothing written
            // before the end is missed.
            let result = api.job_result(&id);
            let events: Vec<Value> = crate::jsonl::read(&log);
            let mut batch = Vec::new();
            for e in events.iter().skip(at.hooks) {
                at.hooks += 1;
                batch.push(event("hook", Some(at), e));
            }
            for line in new_lines(&worktree, at.lines, result.is_some()) {
                at.lines += 1;
                batch.push(event("output", Some(at), &Value::String(line)));
            }
            if let Some(result) = &result {
                batch.push(event("end", None, result));
            }
            for chunk in batch {
                if tx.send(chunk).await.is_err() {
                    return; // the client went away
                }
            }
            if result.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    event_stream(http::StatusCode::OK, rx)
}

/// A text/event-stream response whose events come from `rx`.
pub(super) fn event_stream(status: http::StatusCode, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let mut resp = Response::new(ChannelBody(rx).boxed());
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_cursors_and_output_lines_are_sent_once_complete() {
        assert_eq!(Cursor::parse("3.5"), Some(Cursor { hooks: 3, lines: 5 }));
        assert_eq!(Cursor::parse("3"), None);
        assert_eq!(Cursor::parse("-1.0"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".clauderon")).unwrap();
        std::fs::write(dir.path().join(".clauderon/output"), "one\ntwo\npart").unwrap();
        assert_eq!(new_lines(dir.path(), 0, false), ["one", "two"]);
        assert_eq!(new_lines(dir.path(), 1, true), ["two", "part"]);
        assert!(new_lines(&dir.path().join("nowhere"), 0, true).is_empty());
    }
}
