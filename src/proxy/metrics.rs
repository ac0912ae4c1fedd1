//! The proxy's counters per session since the daemon started: requests,
//! denials by reason, upstream failures. (Tokens and cost come from the
//! ledgers, which outlive the daemon.) `GET /metrics` prints them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    /// Refusals by reason: `policy`, `tunnels`, `budget`.
    pub denials: BTreeMap<&'static str, u64>,
    pub upstream_failures: u64,
}

#[derive(Default)]
pub struct Metrics {
    sessions: Mutex<HashMap<String, Counters>>,
}

pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    /// One audited request: counted, and as a denial or an upstream
    /// failure when it was one.
    pub fn observe(&self, session: &str, status: u16, credential: &str, error: Option<&str>) {
        let mut all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if !all.contains_key(session) {
            all.insert(session.to_string(), Counters::default());
        }
        let c = all.get_mut(session).expect("inserted above");
        c.requests += 1;
        if credential == "denied" {
            let reason = match (status, error) {
                (_, Some(e)) if e.starts_with("budget") => "budget",
                (429, _) => "tunnels",
                _ => "policy",
            };
            *c.denials.entry(reason).or_default() += 1;
        } else if status == 502 {
            c.upstream_failures += 1;
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, Counters> {
        let all = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}
