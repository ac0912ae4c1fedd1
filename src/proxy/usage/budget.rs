//! Budgets: once a session's model calls have cost its budget, or all
//! sessions' calls today the home's daily budget, the proxy answers the
//! session's next model call itself, in the API's own error shape, so the
//! agent's CLI stops and shows why. Other hosts are not affected; a call
//! already under way finishes.

use http::{HeaderValue, Response, StatusCode};

use super::Api;
use super::ledger::usd;
use crate::serve::{Body, json};

#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    /// The session's own budget (`create --budget`, `clauderon budget`).
    Session,
    /// `[budget] daily_usd`: all sessions of the home, per UTC day.
    Daily,
}

/// A budget that is spent.
#[derive(Clone, Debug, PartialEq)]
pub struct Exhausted {
    pub scope: Scope,
    pub budget: f64,
    pub spent: f64,
}

/// The first spent budget, if any: the session's, then the day's.
pub fn check(
    session_budget: Option<f64>,
    spent: f64,
    daily_budget: Option<f64>,
    spent_today: f64,
) -> Option<Exhausted> {
    if let Some(b) = session_budget.filter(|b| spent >= *b) {
        return Some(Exhausted {
            scope: Scope::Session,
            budget: b,
            spent,
        });
    }
    daily_budget
        .filter(|b| spent_today >= *b)
        .map(|b| Exhausted {
            scope: Scope::Daily,
            budget: b,
            spent: spent_today,
        })
}

impl Exhausted {
    /// What the agent (and its user) read: the budget, what was spent and
    /// the command that raises it.
    pub fn message(&self, session: &str, config: &std::path::Path) -> String {
        match self.scope {
            Scope::Session => format!(
                "clauderon: session '{session}' has spent {} of its budget of {}; model calls are refused until it is raised: clauderon budget {session} --add USD (or --set USD)",
                usd(self.spent),
                usd(self.budget)
            ),
            Scope::Daily => format!(
                "clauderon: the sessions have spent {} today (UTC) of the daily budget of {} ([budget] daily_usd); model calls are refused until tomorrow, or raise daily_usd in {} and run: clauderon daemon restart",
                usd(self.spent),
                usd(self.budget),
                config.display()
            ),
        }
    }

    /// The refusal, as the API itself would say it: Anthropic's
    /// `billing_error` (402), OpenAI's `insufficient_quota` (429); neither
    /// is retried by their clients.
    pub fn response(&self, api: Api, message: &str) -> Response<Body> {
        let (status, body) = match api {
            Api::Anthropic => (
                StatusCode::PAYMENT_REQUIRED,
                serde_json::json!({
                    "type": "error",
                    "error": {"type": "billing_error", "message": message},
                }),
            ),
            Api::OpenAi => (
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({
                    "error": {
                        "message": message,
                        "type": "insufficient_quota",
                        "param": null,
                        "code": "insufficient_quota",
                    }
                }),
            ),
        };
        let mut resp = json(status, &body);
        resp.headers_mut()
            .insert("x-clauderon-budget", HeaderValue::from_static("exhausted"));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_s_budget_then_the_day_s() {
        assert_eq!(check(None, 5.0, None, 5.0), None);
        assert_eq!(check(Some(1.0), 0.5, Some(10.0), 9.0), None);
        let s = check(Some(1.0), 1.0, Some(1.0), 1.0).unwrap();
        assert_eq!(s.scope, Scope::Session);
        let d = check(Some(2.0), 1.0, Some(1.0), 1.5).unwrap();
        assert_eq!(d.scope, Scope::Daily);
        let msg = s.message("s-1", std::path::Path::new("/c.toml"));
        assert!(msg.contains("clauderon budget s-1 --add"), "{msg}");
        assert_eq!(s.response(Api::Anthropic, &msg).status(), 402);
        assert_eq!(s.response(Api::OpenAi, &msg).status(), 429);
    }
}
