//! An amount of US dollars as a budget is given (`--budget 0.50`,
//! `[budget] session_usd`, `budget_usd` over HTTP): finite, not negative.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Usd(pub f64);

// Only finite values are ever made (see `parse` and `checked`).
impl Eq for Usd {}

/// The largest budget taken: beyond it a typo is likelier than intent.
pub const MAX_USD: f64 = 1_000_000.0;

impl Usd {
    /// `0.5`, `$0.50`, `12`: a budget in USD, or why not.
    pub fn parse(text: &str) -> Result<Usd, String> {
        let t = text.trim();
        let t = t.strip_prefix('$').unwrap_or(t);
        let v: f64 = t
            .parse()
            .map_err(|_| format!("{text:?} is not an amount of USD (e.g. 0.50)"))?;
        Usd::checked(v)
    }

    pub fn checked(v: f64) -> Result<Usd, String> {
        if !v.is_finite() || v < 0.0 {
            return Err(format!("{v} is not a budget: give USD, 0 or more"));
        }
        if v > MAX_USD {
            return Err(format!(
                "{v} USD is more than the largest budget, {MAX_USD}"
            ));
        }
        // `-0` is 0: never shown as "$-0.00".
        Ok(Usd(v + 0.0))
    }
}

impl std::fmt::Display for Usd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:.6}", self.0);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_or_say_why_not() {
        assert_eq!(Usd::parse("$0.50").unwrap(), Usd(0.5));
        assert_eq!(Usd::parse("0.0001").unwrap().to_string(), "0.0001");
        assert_eq!(Usd::parse("12").unwrap().to_string(), "12");
        assert!(Usd::parse("-0").unwrap().0.is_sign_positive());
        for bad in ["-1", "NaN", "inf", "1e9", "abc", ""] {
            assert!(Usd::parse(bad).is_err(), "{bad}");
        }
    }
}
