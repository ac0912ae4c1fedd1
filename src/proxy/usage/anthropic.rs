//! Usage in Anthropic Messages responses: the `usage` of a JSON message,
//! and of a stream's `message_start` (input, cache, first output count)
//! and `message_delta` events (cumulative counts: they replace the start's).

use serde::Deserialize;

use super::Seen;

#[derive(Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Message {
    model: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    message: Option<Message>,
    usage: Option<Usage>,
}

/// The named events that carry usage.
pub fn wanted(name: &[u8]) -> bool {
    matches!(name, b"message_start" | b"message_delta")
}

/// One streamed event. Only the two that carry usage are parsed (by their
/// `event:` name, or for a nameless event, its `type` when it mentions usage).
pub fn read_event(name: &[u8], data: &[u8], seen: &mut Seen) {
    let wanted = match name {
        b"message_start" | b"message_delta" => true,
        b"" => super::contains(data, b"\"usage\""),
        _ => false,
    };
    if !wanted {
        return;
    }
    match serde_json::from_slice::<Event>(data) {
        Ok(e) if e.kind == "message_start" => {
            if let Some(m) = e.message {
                take_message(m, seen);
            }
        }
        Ok(e) if e.kind == "message_delta" => {
            if let Some(u) = e.usage {
                take_usage(&u, seen);
            }
        }
        Ok(_) => {}
        Err(_) => seen.unparsed += 1,
    }
}

/// A whole JSON response (`stream: false`); an error body has no usage.
pub fn read_body(body: &[u8], seen: &mut Seen) {
    super::read_json(body, seen, take_message);
}

fn take_message(m: Message, seen: &mut Seen) {
    if let Some(model) = m.model.filter(|m| !m.is_empty()) {
        seen.model = Some(model);
    }
    if let Some(u) = m.usage {
        take_usage(&u, seen);
    }
}

/// Counts present replace what was seen (a delta's are cumulative).
fn take_usage(u: &Usage, seen: &mut Seen) {
    let t = &mut seen.tokens;
    for (field, value) in [
        (&mut t.input, u.input_tokens),
        (&mut t.output, u.output_tokens),
        (&mut t.cache_creation_input, u.cache_creation_input_tokens),
        (&mut t.cache_read_input, u.cache_read_input_tokens),
    ] {
        if let Some(v) = value {
            *field = v;
        }
    }
    seen.usage = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_s_start_and_delta_make_the_call_s_usage() {
        let mut seen = Seen::default();
        let start = br#"{"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"output_tokens":1}}}"#;
        read_event(b"message_start", start, &mut seen);
        read_event(b"ping", br#"{"type":"ping"}"#, &mut seen);
        read_event(
            b"message_delta",
            br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}"#,
            &mut seen,
        );
        assert_eq!(seen.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(
            (seen.tokens.input, seen.tokens.output),
            (25, 15),
            "{seen:?}"
        );
        assert_eq!(
            (
                seen.tokens.cache_creation_input,
                seen.tokens.cache_read_input
            ),
            (3, 4)
        );
        assert!(seen.usage);
        read_event(
            b"message_delta",
            br#"{"usage":{"output_tokens":"x"#,
            &mut seen,
        );
        assert_eq!(seen.unparsed, 1);
    }

    #[test]
    fn a_json_message_s_usage_is_read() {
        let mut seen = Seen::default();
        read_body(
            br#"{"type":"message","model":"claude-haiku-4-5","content":[],"usage":{"input_tokens":7,"output_tokens":2}}"#,
            &mut seen,
        );
        assert_eq!((seen.tokens.input, seen.tokens.output), (7, 2));
        let mut err = Seen::default();
        read_body(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#,
            &mut err,
        );
        assert!(!err.worth_recording());
    }
}
