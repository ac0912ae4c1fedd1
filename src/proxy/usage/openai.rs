//! Usage in OpenAI Responses API answers: the `usage` of the response in
//! `response.completed` (also `response.incomplete` and `response.failed`),
//! streamed over SSE or a WebSocket, or of a JSON response object.

use serde::Deserialize;

use super::Seen;

#[derive(Deserialize)]
struct InputDetails {
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    input_tokens_details: Option<InputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct Response {
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    response: Option<Response>,
}

const FINAL: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// The named events that carry usage.
pub fn wanted(name: &[u8]) -> bool {
    FINAL.iter().any(|f| f.as_bytes() == name)
}

/// One streamed event; true when it ends a response (its usage read).
/// Only final events are parsed: by their `event:` name, or for a
/// nameless one (a WebSocket message), when it mentions usage.
pub fn read_event(name: &[u8], data: &[u8], seen: &mut Seen) -> bool {
    let wanted = if name.is_empty() {
        super::contains(data, b"\"usage\"")
    } else {
        FINAL.iter().any(|f| f.as_bytes() == name)
    };
    if !wanted {
        return false;
    }
    match serde_json::from_slice::<Event>(data) {
        Ok(e) if FINAL.contains(&e.kind.as_str()) => {
            if let Some(r) = e.response {
                take_response(r, seen);
            }
            true
        }
        Ok(_) => false,
        Err(_) => {
            seen.unparsed += 1;
            false
        }
    }
}

/// A whole JSON response object (`stream: false`).
pub fn read_body(body: &[u8], seen: &mut Seen) {
    super::read_json(body, seen, take_response);
}

fn take_response(r: Response, seen: &mut Seen) {
    if let Some(model) = r.model.filter(|m| !m.is_empty()) {
        seen.model = Some(model);
    }
    let Some(u) = r.usage else {
        return;
    };
    seen.tokens.input = u.input_tokens;
    seen.tokens.output = u.output_tokens;
    seen.tokens.cached_input = u
        .input_tokens_details
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    seen.tokens.reasoning = u
        .output_tokens_details
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    seen.usage = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETED: &[u8] = br#"{"type":"response.completed","response":{"id":"r","model":"gpt-5-codex","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":19}}}"#;

    #[test]
    fn a_completed_event_gives_every_kind_of_token() {
        let mut seen = Seen::default();
        assert!(!read_event(
            b"response.created",
            br#"{"type":"response.created"}"#,
            &mut seen
        ));
        assert!(read_event(b"response.completed", COMPLETED, &mut seen));
        let t = seen.tokens;
        assert_eq!(
            (t.input, t.cached_input, t.output, t.reasoning),
            (12, 4, 7, 3)
        );
        assert_eq!(seen.model.as_deref(), Some("gpt-5-codex"));
        // Over a WebSocket, events have no name.
        let mut ws = Seen::default();
        assert!(read_event(b"", COMPLETED, &mut ws));
        assert_eq!(ws, seen);
    }

    #[test]
    fn malformed_usage_is_counted_not_read() {
        let mut seen = Seen::default();
        let bad = br#"{"type":"response.completed","response":{"usage":{"input_tokens":"many"}}}"#;
        assert!(!read_event(b"response.completed", bad, &mut seen));
        assert_eq!(seen.unparsed, 1);
        assert!(!seen.usage);
    }
}
