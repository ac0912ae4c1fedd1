//! What tokens cost: a table shipped with clauderon (each price with the
//! date of its source), `[pricing."MODEL"]` in config.toml over it. A model
//! in neither has no price: its calls count tokens and cost "unknown",
//! never 0. A response names a dated model (`claude-sonnet-4-5-20250929`):
//! the longest name in the table it starts with is its price.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Api, Tokens};

/// USD per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Anthropic: writing the prompt cache (5-minute writes).
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Anthropic: reading the prompt cache; OpenAI: cached input.
    #[serde(default)]
    pub cache_read: Option<f64>,
}

const ANTHROPIC: &str = "2025-11-24 https://www.anthropic.com/pricing#api";
/// Anthropic's page was out of reach here: the 2026 models' prices are as
/// published pages quoted them (Opus 4.6–4.8 at Opus 4.5's, Sonnet 4.6 at
/// Sonnet 4.5's). Newer models (Claude Code 2.1.337 asks for
/// claude-opus-5-5) have none: cost unknown, budgets count them at the
/// ceiling (`ceiling_cost`), `[pricing]` names their price.
const ANTHROPIC_2026: &str =
    "2026-06 (quoted by third parties) https://www.anthropic.com/pricing#api";
const OPENAI: &str = "2025-11-13 https://openai.com/api/pricing/";

/// (model name prefix, input, output, cache write, cache read, source).
const BUILTIN: &[(&str, f64, f64, f64, f64, &str)] = &[
    ("claude-opus-4-8", 5.0, 25.0, 6.25, 0.50, ANTHROPIC_2026),
    ("claude-opus-4-7", 5.0, 25.0, 6.25, 0.50, ANTHROPIC_2026),
    ("claude-opus-4-6", 5.0, 25.0, 6.25, 0.50, ANTHROPIC_2026),
    ("claude-sonnet-4-6", 3.0, 15.0, 3.75, 0.30, ANTHROPIC_2026),
    ("claude-opus-4-5", 5.0, 25.0, 6.25, 0.50, ANTHROPIC),
    ("claude-opus-4-1", 15.0, 75.0, 18.75, 1.50, ANTHROPIC),
    ("claude-opus-4", 15.0, 75.0, 18.75, 1.50, ANTHROPIC),
    ("claude-sonnet-4-5", 3.0, 15.0, 3.75, 0.30, ANTHROPIC),
    ("claude-sonnet-4", 3.0, 15.0, 3.75, 0.30, ANTHROPIC),
    ("claude-3-7-sonnet", 3.0, 15.0, 3.75, 0.30, ANTHROPIC),
    ("claude-haiku-4-5", 1.0, 5.0, 1.25, 0.10, ANTHROPIC),
    ("claude-3-5-haiku", 0.80, 4.0, 1.0, 0.08, ANTHROPIC),
    ("gpt-5.1-codex-mini", 0.25, 2.0, 0.0, 0.025, OPENAI),
    ("gpt-5.1-codex", 1.25, 10.0, 0.0, 0.125, OPENAI),
    ("gpt-5.1", 1.25, 10.0, 0.0, 0.125, OPENAI),
    ("gpt-5-codex", 1.25, 10.0, 0.0, 0.125, OPENAI),
    ("gpt-5-mini", 0.25, 2.0, 0.0, 0.025, OPENAI),
    ("gpt-5-nano", 0.05, 0.40, 0.0, 0.005, OPENAI),
    ("gpt-5", 1.25, 10.0, 0.0, 0.125, OPENAI),
    ("gpt-4.1-mini", 0.40, 1.60, 0.0, 0.10, OPENAI),
    ("gpt-4.1", 2.0, 8.0, 0.0, 0.50, OPENAI),
    ("gpt-4o-mini", 0.15, 0.60, 0.0, 0.075, OPENAI),
    ("gpt-4o", 2.50, 10.0, 0.0, 1.25, OPENAI),
    ("o4-mini", 1.10, 4.40, 0.0, 0.275, OPENAI),
    ("o3", 2.0, 8.0, 0.0, 0.50, OPENAI),
];

/// The shipped table, for `docs/usage.md` and `config show`.
pub fn builtin() -> impl Iterator<Item = (&'static str, Price, &'static str)> {
    BUILTIN.iter().map(|&(m, i, o, w, r, src)| {
        let price = Price {
            input: i,
            output: o,
            cache_write: (w > 0.0).then_some(w),
            cache_read: Some(r),
        };
        (m, price, src)
    })
}

/// The prices in force: `[pricing]` over the shipped table.
#[derive(Clone, Debug, Default)]
pub struct Prices {
    pub overrides: BTreeMap<String, Price>,
}

impl Prices {
    /// Checks `[pricing]`: finite, non-negative prices.
    pub fn from_config(overrides: BTreeMap<String, Price>) -> Result<Prices, (String, String)> {
        for (model, p) in &overrides {
            let all = [Some(p.input), Some(p.output), p.cache_write, p.cache_read];
            if all.into_iter().flatten().any(|v| !v.is_finite() || v < 0.0) {
                return Err((
                    format!("pricing.\"{model}\""),
                    "prices are USD per million tokens: numbers of 0 or more".into(),
                ));
            }
        }
        Ok(Prices { overrides })
    }

    /// The price of `model`: an override (exact, else the longest prefix),
    /// else the shipped table's longest prefix.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.overrides.get(model) {
            return Some(*p);
        }
        let over = self
            .overrides
            .iter()
            .filter(|(m, _)| model.starts_with(m.as_str()))
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| *p);
        over.or_else(|| {
            builtin()
                .filter(|(m, _, _)| model.starts_with(m))
                .max_by_key(|(m, _, _)| m.len())
                .map(|(_, p, _)| p)
        })
    }

    /// What a call would cost at the highest price the shipped table lists
    /// for `api` (each kind of token at its own highest): what budgets
    /// count for a model the table does not know yet.
    pub fn ceiling_cost(&self, api: Api, t: &Tokens) -> f64 {
        let of_api = |m: &str| m.starts_with("claude-") == (api == Api::Anthropic);
        let highest =
            builtin()
                .filter(|(m, _, _)| of_api(m))
                .fold(Price::default(), |h, (_, p, _)| Price {
                    input: h.input.max(p.input),
                    output: h.output.max(p.output),
                    cache_write: higher(h.cache_write, p.cache_write),
                    cache_read: higher(h.cache_read, p.cache_read),
                });
        cost_at(&highest, api, t)
    }

    /// What a call cost in USD, or None when the model has no price.
    pub fn cost(&self, api: Api, model: &str, t: &Tokens) -> Option<f64> {
        Some(cost_at(&self.price(model)?, api, t))
    }
}

fn higher(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// A call's tokens at `p`.
fn cost_at(p: &Price, api: Api, t: &Tokens) -> f64 {
    let per = |n: u64, usd: f64| n as f64 * usd / 1_000_000.0;
    match api {
        Api::Anthropic => {
            per(t.input, p.input)
                + per(t.output, p.output)
                + per(t.cache_creation_input, p.cache_write.unwrap_or(p.input))
                + per(t.cache_read_input, p.cache_read.unwrap_or(p.input))
        }
        Api::OpenAi => {
            let cached = t.cached_input.min(t.input);
            per(t.input - cached, p.input)
                + per(cached, p.cache_read.unwrap_or(p.input))
                + per(t.output, p.output)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_models_take_the_longest_name_and_overrides_win() {
        let prices = Prices::default();
        let sonnet = prices.price("claude-sonnet-4-5-20250929").unwrap();
        assert_eq!((sonnet.input, sonnet.output), (3.0, 15.0));
        assert_eq!(prices.price("gpt-5-codex").unwrap().output, 10.0);
        assert_eq!(prices.price("gpt-5-mini-2025").unwrap().input, 0.25);
        assert!(prices.price("my-local-model").is_none());
        let t = Tokens {
            input: 1_000_000,
            output: 1_000_000,
            cache_read_input: 1_000_000,
            ..Tokens::default()
        };
        let cost = prices
            .cost(Api::Anthropic, "claude-sonnet-4-5", &t)
            .unwrap();
        assert!((cost - 18.30).abs() < 1e-9, "{cost}");
        let mut overrides = BTreeMap::new();
        let mine = Price {
            input: 1.0,
            output: 2.0,
            cache_write: None,
            cache_read: None,
        };
        overrides.insert("claude-sonnet-4-5".to_string(), mine);
        let prices = Prices::from_config(overrides).unwrap();
        let cost = prices
            .cost(Api::Anthropic, "claude-sonnet-4-5-x", &t)
            .unwrap();
        assert!((cost - 4.0).abs() < 1e-9, "{cost}");
        assert_eq!(Prices::default().cost(Api::OpenAi, "nope", &t), None);
    }

    #[test]
    fn newer_models_have_their_price_and_unknown_ones_the_ceiling() {
        let prices = Prices::default();
        assert_eq!(prices.price("claude-opus-4-7").unwrap().output, 25.0);
        assert_eq!(prices.price("claude-opus-4-20250514").unwrap().output, 75.0);
        assert!(prices.price("claude-opus-5-5").is_none());
        let t = Tokens {
            input: 1_000_000,
            output: 1_000_000,
            cache_creation_input: 1_000_000,
            cache_read_input: 1_000_000,
            ..Tokens::default()
        };
        let ceiling = prices.ceiling_cost(Api::Anthropic, &t);
        assert!(
            (ceiling - (15.0 + 75.0 + 18.75 + 1.50)).abs() < 1e-9,
            "{ceiling}"
        );
        let openai = prices.ceiling_cost(Api::OpenAi, &t);
        assert!((openai - (2.5 + 10.0)).abs() < 1e-9, "{openai}");
    }

    #[test]
    fn openai_cached_input_is_billed_at_its_own_price() {
        let t = Tokens {
            input: 1_000_000,
            cached_input: 400_000,
            output: 0,
            ..Tokens::default()
        };
        let cost = Prices::default().cost(Api::OpenAi, "gpt-5", &t).unwrap();
        assert!((cost - (0.6 * 1.25 + 0.4 * 0.125)).abs() < 1e-9, "{cost}");
    }
}
