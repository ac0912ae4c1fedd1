//! A session's ledger: one JSON line per model call in
//! `sessions/NAME/ledger.jsonl`, only ever appended to (one write per
//! line, so a crash tears at most the line being written, which readers
//! skip). Beside it `usage.json` sums the ledger up to a byte offset,
//! per model and per UTC day, so `list` reads a small file and the few
//! lines past that offset instead of the whole ledger. The ledger holds
//! no prompt, no body and no secret: the model's name and counts only.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Tokens;
use crate::store::Home;

/// One model call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds when the response ended.
    pub time_ms: u64,
    /// `anthropic` or `openai`.
    pub api: String,
    /// As the response named it (`unknown` if it did not).
    pub model: String,
    #[serde(flatten)]
    pub tokens: Tokens,
    /// USD; absent when the model has no price or no usage was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// A call without a price: what budgets count for it (its tokens at the
    /// highest price listed for its API), so that a model newer than the
    /// table cannot run past a budget. Never shown as its cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_usd: Option<f64>,
    /// Events of this call that could not be read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unparsed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Calls summed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    #[serde(flatten)]
    pub tokens: Tokens,
    /// USD of the calls with a price.
    pub cost_usd: f64,
    /// Calls whose cost is unknown (no price, or no usage read).
    #[serde(default)]
    pub unpriced: u64,
    /// What budgets count for the unpriced calls (`Entry::estimated_usd`).
    #[serde(default)]
    pub estimated_usd: f64,
    #[serde(default)]
    pub unparsed: u64,
    /// Unix milliseconds of the first and the last call.
    pub first_ms: u64,
    pub last_ms: u64,
}

impl Totals {
    pub fn add_entry(&mut self, e: &Entry) {
        self.merge(&Totals {
            requests: 1,
            tokens: e.tokens,
            cost_usd: e.cost_usd.unwrap_or(0.0),
            unpriced: u64::from(e.cost_usd.is_none()),
            estimated_usd: e
                .estimated_usd
                .filter(|_| e.cost_usd.is_none())
                .unwrap_or(0.0),
            unparsed: e.unparsed,
            first_ms: e.time_ms,
            last_ms: e.time_ms,
        });
    }

    pub fn merge(&mut self, o: &Totals) {
        if o.requests == 0 {
            return;
        }
        self.first_ms = if self.requests == 0 {
            o.first_ms
        } else {
            self.first_ms.min(o.first_ms)
        };
        self.last_ms = self.last_ms.max(o.last_ms);
        self.requests += o.requests;
        self.tokens.add(&o.tokens);
        self.cost_usd += o.cost_usd;
        self.unpriced += o.unpriced;
        self.estimated_usd += o.estimated_usd;
        self.unparsed += o.unparsed;
    }

    /// The cost as shown: `$0.0123`, `unknown` when no call had a price,
    /// `$0.0123 + unknown` when some had none. Never 0 for the unknown.
    pub fn cost_text(&self) -> String {
        match (self.requests, self.unpriced) {
            (0, _) => "-".into(),
            (n, u) if u == n => "unknown".into(),
            (_, 0) => usd(self.cost_usd),
            _ => format!("{} + unknown", usd(self.cost_usd)),
        }
    }

    /// What budgets hold against: the priced calls' cost, and the unpriced
    /// ones' at the highest listed price.
    pub fn budget_spent(&self) -> f64 {
        self.cost_usd + self.estimated_usd
    }

    /// What is left of `budget` as the proxy counts it (`budget_spent`).
    pub fn budget_left(&self, budget: f64) -> f64 {
        round_usd((budget - self.budget_spent()).max(0.0))
    }

    /// The cost for JSON: a number, or null when no call had a price.
    pub fn cost_json(&self) -> Option<f64> {
        (self.requests > self.unpriced).then_some(round_usd(self.cost_usd))
    }
}

/// USD for JSON: to a billionth of a dollar, so sums of prices read as
/// `0.0006249`, not `0.0006248999999999998` (float noise).
pub fn round_usd(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

/// Dollars with enough digits for fractions of a cent.
pub fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("${v:.6}")
    } else {
        format!("${v:.2}")
    }
}

/// A ledger summed per model, then per UTC day (`2026-12-07`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The ledger's bytes this sums (whole lines).
    pub ledger_bytes: u64,
    pub models: BTreeMap<String, BTreeMap<String, Totals>>,
}

impl Summary {
    pub fn add(&mut self, e: &Entry) {
        let day = day_of(e.time_ms);
        self.models
            .entry(e.model.clone())
            .or_default()
            .entry(day)
            .or_default()
            .add_entry(e);
    }

    pub fn total(&self) -> Totals {
        let mut t = Totals::default();
        for days in self.models.values() {
            days.values().for_each(|d| t.merge(d));
        }
        t
    }

    pub fn per_model(&self) -> BTreeMap<String, Totals> {
        self.models
            .iter()
            .map(|(m, days)| {
                let mut t = Totals::default();
                days.values().for_each(|d| t.merge(d));
                (m.clone(), t)
            })
            .collect()
    }

    /// The calls of one UTC day.
    pub fn day(&self, day: &str) -> Totals {
        let mut t = Totals::default();
        for days in self.models.values() {
            if let Some(d) = days.get(day) {
                t.merge(d);
            }
        }
        t
    }
}

/// The UTC day of a Unix-milliseconds time.
pub fn day_of(time_ms: u64) -> String {
    crate::session::rfc3339(time_ms / 1000)[..10].to_string()
}

pub fn ledger_path(home: &Home, session: &str) -> PathBuf {
    home.session_dir(session).join("ledger.jsonl")
}

pub fn summary_path(home: &Home, session: &str) -> PathBuf {
    home.session_dir(session).join("usage.json")
}

/// The session's usage: its summary file, plus the ledger lines past it
/// (all of it when the summary is missing, broken or ahead of the ledger).
pub fn summary(home: &Home, session: &str) -> Summary {
    let saved: Option<Summary> = std::fs::read(summary_path(home, session))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let ledger = ledger_path(home, session);
    let len = std::fs::metadata(&ledger).map(|m| m.len()).unwrap_or(0);
    let mut summary = saved.filter(|s| s.ledger_bytes <= len).unwrap_or_default();
    let mut read = 0;
    for_each_entry(&ledger, summary.ledger_bytes, |e, end| {
        summary.add(e);
        summary.ledger_bytes = end;
        read += 1;
    });
    // A long tail (a summary lost in a crash) is summed once, not at every
    // look: saved, as the daemon would (a rename, so readers see either).
    if read > REBUILT_AFTER {
        let _ = save_summary(&summary_path(home, session), &summary);
    }
    summary
}

/// Ledger lines past the summary worth saving a new summary for.
const REBUILT_AFTER: usize = 1000;

/// Every whole, readable line of the ledger from byte `from`, with the
/// offset just past it; a torn or hand-broken line is skipped.
pub fn for_each_entry(path: &Path, from: u64, mut each: impl FnMut(&Entry, u64)) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    if file.seek(std::io::SeekFrom::Start(from)).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return;
    }
    let mut at = from;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') {
            break; // torn: being written, or cut by a crash
        }
        at += line.len() as u64;
        if let Ok(e) = serde_json::from_slice::<Entry>(line) {
            each(&e, at);
        }
    }
}

/// Appends one line in one write (mode 0600) and returns the ledger's
/// length after it.
pub fn append(path: &Path, entry: &Entry) -> std::io::Result<u64> {
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&line)?;
    Ok(file.metadata()?.len())
}

/// Writes the summary through a temporary file and a rename (no fsync:
/// a summary lost in a crash is rebuilt from the ledger).
pub fn save_summary(path: &Path, summary: &Summary) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".usage-tmp")
        .tempfile_in(dir)?;
    tmp.write_all(&serde_json::to_vec(summary).map_err(std::io::Error::other)?)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: u64, model: &str, cost: Option<f64>) -> Entry {
        Entry {
            time_ms: t,
            api: "anthropic".into(),
            model: model.into(),
            tokens: Tokens {
                input: 10,
                output: 5,
                ..Tokens::default()
            },
            cost_usd: cost,
            estimated_usd: None,
            unparsed: 0,
        }
    }

    #[test]
    fn the_summary_plus_the_tail_equals_the_whole_ledger_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        std::fs::create_dir_all(home.session_dir("s")).unwrap();
        let ledger = ledger_path(&home, "s");
        let mut saved = Summary::default();
        for i in 0..3 {
            let e = entry(1_765_000_000_000 + i, "m", Some(0.5));
            saved.ledger_bytes = append(&ledger, &e).unwrap();
            saved.add(&e);
        }
        save_summary(&summary_path(&home, "s"), &saved).unwrap();
        append(&ledger, &entry(1_765_100_000_000, "x", None)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&ledger)
            .unwrap();
        f.write_all(b"{\"time_ms\":1,\"api\"").unwrap();
        let s = summary(&home, "s");
        let total = s.total();
        assert_eq!(total.requests, 4);
        assert_eq!(total.tokens.input, 40);
        assert_eq!(total.cost_text(), "$1.50 + unknown");
        assert_eq!(s.per_model()["x"].cost_text(), "unknown");
        assert_eq!(s.per_model()["x"].cost_json(), None);
        // A broken summary is rebuilt from the ledger.
        std::fs::write(summary_path(&home, "s"), "{").unwrap();
        assert_eq!(summary(&home, "s").total(), total);
        assert_eq!(s.day(&day_of(1_765_000_000_000)).requests, 3);
    }
}
