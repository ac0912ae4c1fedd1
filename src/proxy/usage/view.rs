//! A session's usage as `list` and its readers see it: summed from the
//! ledgers once per look, with whether a budget is spent.

use std::collections::HashMap;

use serde::Serialize;

use super::budget;
use super::ledger::{self, Summary, Totals};
use crate::session::SessionSpec;
use crate::store::Home;
use crate::usd::Usd;

/// A session's usage in `list` (and so in `GET /v1/sessions`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RowUsage {
    pub requests: u64,
    /// Input (cache included) and output tokens.
    pub tokens: u64,
    /// USD; null when no call had a price (the model is unknown).
    pub cost_usd: Option<f64>,
    /// Calls whose cost is unknown.
    pub unpriced_requests: u64,
    pub budget_usd: Option<f64>,
    /// The session's budget, or the home's daily one, is spent: the proxy
    /// refuses its model calls.
    pub budget_exhausted: bool,
}

/// Every session's summary and the home's spend today: read once per look.
pub struct HomeBooks {
    summaries: HashMap<String, Summary>,
    today: f64,
    daily: Option<f64>,
}

impl HomeBooks {
    /// `daily`: `[budget] daily_usd`.
    pub fn load(home: &Home, specs: &[SessionSpec], daily: Option<Usd>) -> HomeBooks {
        let summaries: HashMap<String, Summary> = specs
            .iter()
            .map(|s| (s.name.clone(), ledger::summary(home, &s.name)))
            .collect();
        let day = ledger::day_of(super::books::now_ms());
        let today = summaries
            .values()
            .map(|s| s.day(&day).budget_spent())
            .sum::<f64>()
            + super::deleted::spent_on(home, &day);
        HomeBooks {
            summaries,
            today,
            daily: daily.map(|u| u.0),
        }
    }

    pub fn total(&self, name: &str) -> Totals {
        self.summaries
            .get(name)
            .map(Summary::total)
            .unwrap_or_default()
    }

    pub fn exhausted(&self, spec: &SessionSpec) -> Option<budget::Exhausted> {
        let spent = self.total(&spec.name).budget_spent();
        budget::check(spec.budget_usd.map(|u| u.0), spent, self.daily, self.today)
    }

    pub fn row(&self, spec: &SessionSpec) -> RowUsage {
        let t = self.total(&spec.name);
        RowUsage {
            requests: t.requests,
            tokens: t.tokens.total(),
            cost_usd: t.cost_json(),
            unpriced_requests: t.unpriced,
            budget_usd: spec.budget_usd.map(|u| u.0),
            budget_exhausted: self.exhausted(spec).is_some(),
        }
    }
}
