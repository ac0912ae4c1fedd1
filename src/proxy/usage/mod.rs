//! The proxy keeps the books: what each session's model calls cost.
//!
//! A response from a model API is read as it passes (`meter`): its bytes
//! go to the client untouched and unheld, while a bounded scanner (`sse`,
//! `websocket`, or a capped JSON buffer) looks for the usage the API
//! reports (`anthropic`, `openai`). Each finished call becomes one line
//! of the session's append-only ledger (`ledger`), priced (`pricing`), and
//! counts against the session's and the home's budgets (`budget`).

pub mod anthropic;
pub mod books;
pub mod budget;
pub mod deleted;
pub mod ledger;
pub mod meter;
pub mod openai;
pub mod pricing;
pub mod sse;
pub mod view;
pub mod websocket;

use serde::{Deserialize, Serialize};

/// The model APIs whose usage the proxy reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Anthropic's Messages API (`POST …/v1/messages`).
    Anthropic,
    /// OpenAI's Responses API (`POST …/responses`, or its WebSocket).
    OpenAi,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }

    /// The model call a request is, from its method and path (the query
    /// left out): a Messages or Responses call, on any host the proxy
    /// intercepts (a custom endpoint too). A WebSocket upgrade is a GET.
    pub fn of_request(method: &str, path: &str, websocket: bool) -> Option<Api> {
        let path = path.trim_end_matches('/');
        match method {
            "POST" if path.ends_with("/v1/messages") => Some(Api::Anthropic),
            "POST" if path.ends_with("/responses") => Some(Api::OpenAi),
            "GET" if websocket && path.ends_with("/responses") => Some(Api::OpenAi),
            _ => None,
        }
    }
}

/// Tokens of each kind one call (or many, summed) used. Anthropic's
/// `input` leaves out the cache's tokens; OpenAI's includes `cached_input`,
/// and its `output` includes `reasoning`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_creation_input: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_input: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached_input: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Tokens {
    pub fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_creation_input += o.cache_creation_input;
        self.cache_read_input += o.cache_read_input;
        self.cached_input += o.cached_input;
        self.reasoning += o.reasoning;
    }

    /// Every token billed: input (the cache's included) and output.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_creation_input + self.cache_read_input
    }
}

/// What a scanner has seen of one call so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub model: Option<String>,
    pub tokens: Tokens,
    /// A usage object was read.
    pub usage: bool,
    /// Events (or bodies) that could not be read: too large, not JSON,
    /// compressed, cut off.
    pub unparsed: u64,
}

impl Seen {
    /// Worth a ledger line: usage was read, or something could not be.
    pub fn worth_recording(&self) -> bool {
        self.usage || self.unparsed > 0
    }
}

/// The largest event (or JSON body) a scanner holds to parse; a larger one
/// is skipped and counted as unparsed. Usage events are a few hundred
/// bytes; a JSON body with a long answer is more.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Whether `needle` occurs in `hay` (a cheap test before parsing JSON).
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A whole JSON body read as `T` and taken into `seen`, or counted as unparsed.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    seen: &mut Seen,
    take: fn(T, &mut Seen),
) {
    match serde_json::from_slice::<T>(body) {
        Ok(v) => take(v, seen),
        Err(_) => seen.unparsed += 1,
    }
}
