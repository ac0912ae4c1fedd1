//! What deleted sessions spent: `delete` appends a session's ledger, summed
//! per model and UTC day, to `usage-deleted.jsonl` in the home before its
//! directory goes, so today's spend keeps counting against `[budget]
//! daily_usd` (deleting a session and restarting the daemon must not reset
//! it) and `clauderon usage` still shows it, as "NAME (deleted)".

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ledger::{self, Totals};
use crate::store::Home;

/// One model's calls on one day of a deleted session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kept {
    pub session: String,
    pub model: String,
    pub day: String,
    #[serde(flatten)]
    pub totals: Totals,
}

pub fn path(home: &Home) -> PathBuf {
    home.root.join("usage-deleted.jsonl")
}

/// The lines that keep `session`'s spend, or None when it made no call.
pub fn lines(home: &Home, session: &str) -> Option<Vec<u8>> {
    let summary = ledger::summary(home, session);
    let mut out = Vec::new();
    for (model, days) in &summary.models {
        for (day, totals) in days.iter().filter(|(_, t)| t.requests > 0) {
            let kept = Kept {
                session: session.to_string(),
                model: model.clone(),
                day: day.clone(),
                totals: totals.clone(),
            };
            out.extend(serde_json::to_vec(&kept).expect("json serializes"));
            out.push(b'\n');
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Every deleted session's kept spend.
pub fn all(home: &Home) -> Vec<Kept> {
    crate::jsonl::read(&path(home))
}

/// What deleted sessions spent on `day`, as budgets count it.
pub fn spent_on(home: &Home, day: &str) -> f64 {
    all(home)
        .iter()
        .filter(|k| k.day == day)
        .map(|k| k.totals.budget_spent())
        .sum()
}
