//! What the proxy did to each session's requests lately, from the tail of
//! the audit log: a session whose requests were denied in the last minute
//! is `blocked`, one whose upstreams failed is `offline`. `list` shows it
//! next to the agent's status, `status` names the hosts and the reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};

use crate::proxy::audit::Entry;
use crate::store::Home;

/// How far back a denial or a failure counts.
pub const WINDOW_MS: u64 = 60_000;
/// Only the end of the log is read (recent entries are there).
const TAIL_BYTES: u64 = 512 * 1024;

/// One session's recent trouble.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trouble {
    pub denied: usize,
    pub denied_hosts: BTreeSet<String>,
    pub failed: usize,
    pub failed_hosts: BTreeSet<String>,
    /// The last reason given.
    pub reason: Option<String>,
}

impl Trouble {
    /// `blocked: 3 denied (example.com)` or `offline: api.openai.com unreachable`.
    pub fn summary(&self) -> String {
        let hosts = |h: &BTreeSet<String>| h.iter().cloned().collect::<Vec<_>>().join(", ");
        if self.denied > 0 {
            format!(
                "blocked: {} denied ({})",
                self.denied,
                hosts(&self.denied_hosts)
            )
        } else {
            format!("offline: {} unreachable", hosts(&self.failed_hosts))
        }
    }
}

/// Each session's trouble within the window ending at `now_ms`.
pub fn recent(home: &Home, now_ms: u64) -> HashMap<String, Trouble> {
    summarise(&tail_entries(&crate::proxy::audit::path(home)), now_ms)
}

pub fn summarise(entries: &[Entry], now_ms: u64) -> HashMap<String, Trouble> {
    let mut out: BTreeMap<String, Trouble> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.time_ms + WINDOW_MS >= now_ms) {
        let host = e.host.rsplit_once(':').map_or(e.host.as_str(), |(h, _)| h);
        let denied = e.credential == "denied" || e.status == 403 && e.error.is_some();
        let failed = e.status == 502 || e.status == 504;
        if !denied && !failed {
            continue;
        }
        let t = out.entry(e.session.clone()).or_default();
        if denied {
            t.denied += 1;
            t.denied_hosts.insert(host.to_string());
        } else {
            t.failed += 1;
            t.failed_hosts.insert(host.to_string());
        }
        t.reason = e.error.clone().or(t.reason.take());
    }
    out.into_iter().collect()
}

/// The complete lines of the last TAIL_BYTES of the log.
fn tail_entries(path: &std::path::Path) -> Vec<Entry> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(TAIL_BYTES).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next(); // cut in the middle
    }
    lines.filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(session: &str, host: &str, status: u16, credential: &str, at: u64) -> Entry {
        Entry {
            time_ms: at,
            session: session.into(),
            method: "CONNECT".into(),
            host: host.into(),
            path: String::new(),
            status,
            credential: credential.into(),
            duration_ms: 0,
            error: Some("why".into()),
            seq: 0,
            prev: String::new(),
        }
    }

    #[test]
    fn denials_and_failures_of_the_last_minute() {
        let now = 1_000_000;
        let entries = [
            entry("a", "example.com:443", 403, "denied", now - 1000),
            entry("a", "example.com:443", 403, "denied", now - 2000),
            entry("a", "evil.test:443", 403, "denied", now - 3000),
            entry("a", "old.test:443", 403, "denied", now - WINDOW_MS - 1),
            entry("b", "api.openai.com", 502, "injected", now - 10),
            entry("c", "ok.test:443", 200, "tunnel", now - 10),
        ];
        let t = summarise(&entries, now);
        assert_eq!(
            t["a"].summary(),
            "blocked: 3 denied (evil.test, example.com)"
        );
        assert_eq!(t["b"].summary(), "offline: api.openai.com unreachable");
        assert!(!t.contains_key("c"));
    }
}
