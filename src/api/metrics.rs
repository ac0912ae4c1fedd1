//! `GET /metrics`: the Prometheus text format (version 0.0.4), per
//! session: proxied requests, denials by reason and upstream failures
//! (since the daemon started), model calls, tokens and cost (from the
//! ledgers, so they outlive the daemon), the budget, and the status.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::Ctx;
use crate::proxy::usage::ledger;

/// A label value as the format wants it: `\`, `"` and newlines escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        self.samples.push((labels.join(","), value));
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            let _ = writeln!(out, "{}{{{labels}}} {value}", self.name);
        }
    }
}

/// The whole page (it asks the engines for the sessions' statuses).
pub fn render(ctx: &Ctx) -> String {
    let mut requests = Family::new(
        "clauderon_proxy_requests_total",
        "counter",
        "Requests the proxy handled for the session since the daemon started.",
    );
    let mut denials = Family::new(
        "clauderon_proxy_denials_total",
        "counter",
        "Requests the proxy refused, by reason (policy, tunnels, budget), since the daemon started.",
    );
    let mut failures = Family::new(
        "clauderon_proxy_upstream_failures_total",
        "counter",
        "Requests whose upstream could not be reached or failed (502), since the daemon started.",
    );
    for (session, c) in crate::proxy::metrics::global().snapshot() {
        requests.add(&[("session", &session)], c.requests as f64);
        failures.add(&[("session", &session)], c.upstream_failures as f64);
        for (reason, n) in c.denials {
            denials.add(&[("session", &session), ("reason", reason)], n as f64);
        }
    }
    let mut families = vec![requests, denials, failures];
    families.extend(ledger_families(ctx));
    families.push(status_family(ctx));
    let mut out = String::new();
    families.iter().for_each(|f| f.render(&mut out));
    out
}

fn ledger_families(ctx: &Ctx) -> Vec<Family> {
    let mut calls = Family::new(
        "clauderon_model_requests_total",
        "counter",
        "Model calls metered by the proxy, per model.",
    );
    let mut tokens = Family::new(
        "clauderon_model_tokens_total",
        "counter",
        "Tokens of model calls, per model and kind.",
    );
    let mut cost = Family::new(
        "clauderon_model_cost_usd_total",
        "counter",
        "USD of model calls with a known price, per model.",
    );
    let mut unpriced = Family::new(
        "clauderon_model_unpriced_requests_total",
        "counter",
        "Model calls whose cost is unknown (no price for the model).",
    );
    let mut unparsed = Family::new(
        "clauderon_model_unparsed_events_total",
        "counter",
        "Response events the proxy could not read (too large, malformed, compressed, cut).",
    );
    let mut budget = Family::new(
        "clauderon_session_budget_usd",
        "gauge",
        "The session's budget in USD.",
    );
    let (specs, _) = ctx.home.load_all().unwrap_or_default();
    for spec in &specs {
        let s = spec.name.as_str();
        for (model, t) in ledger::summary(&ctx.home, s).per_model() {
            let m = model.as_str();
            calls.add(&[("session", s), ("model", m)], t.requests as f64);
            cost.add(&[("session", s), ("model", m)], t.cost_usd);
            unpriced.add(&[("session", s), ("model", m)], t.unpriced as f64);
            unparsed.add(&[("session", s), ("model", m)], t.unparsed as f64);
            let kinds = [
                ("input", t.tokens.input),
                ("output", t.tokens.output),
                ("cache_creation_input", t.tokens.cache_creation_input),
                ("cache_read_input", t.tokens.cache_read_input),
                ("cached_input", t.tokens.cached_input),
                ("reasoning", t.tokens.reasoning),
            ];
            for (kind, n) in kinds {
                tokens.add(&[("session", s), ("model", m), ("kind", kind)], n as f64);
            }
        }
        if let Some(b) = spec.budget_usd {
            budget.add(&[("session", s)], b.0);
        }
    }
    vec![calls, tokens, cost, unpriced, unparsed, budget]
}

fn status_family(ctx: &Ctx) -> Family {
    let mut status = Family::new(
        "clauderon_session_status",
        "gauge",
        "1 for the session's current status (the agent's, or the container's state).",
    );
    let rows = crate::rows::rows(&ctx.home, ctx.config.budget.daily_usd)
        .map(|(r, _)| r)
        .unwrap_or_default();
    let mut seen = BTreeMap::new();
    for r in rows {
        let s = match r.agent_status {
            Some(a) => a.as_str().to_string(),
            None => r.state.to_string(),
        };
        seen.insert(r.name, s);
    }
    for (name, s) in seen {
        status.add(&[("session", &name), ("status", &s)], 1.0);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut f = Family::new("x_total", "counter", "h");
        f.add(&[("model", "m\"}\n")], 2.0);
        let mut out = String::new();
        f.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_total h\n# TYPE x_total counter\nx_total{model=\"m\\\"}\\n\"} 2\n"
        );
    }
}
