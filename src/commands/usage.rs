//! What sessions' model calls used and cost, from their ledgers: the
//! TOKENS and COST of `list`, the per-model part of `status`, and
//! `clauderon usage` across sessions.

use std::collections::BTreeMap;

use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::proxy::usage::ledger::{self, Totals};
pub use crate::proxy::usage::view::{HomeBooks, RowUsage};
use crate::session::SessionSpec;

/// `list`'s TOKENS: `-` before the first call, else `12.3k`.
pub fn tokens_text(u: &RowUsage) -> String {
    match (u.requests, u.tokens) {
        (0, _) => "-".into(),
        (_, n) if n < 1_000 => n.to_string(),
        (_, n) if n < 1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        (_, n) => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `list`'s COST: `-`, `$0.12`, `unknown`, `$0.12+?`; with the budget when
/// there is one (`$0.12/$5.00`).
pub fn cost_text(u: &RowUsage) -> String {
    let spent = match (u.requests, u.cost_usd, u.unpriced_requests) {
        (0, _, _) => "-".to_string(),
        (_, None, _) => "unknown".to_string(),
        (_, Some(c), 0) => ledger::usd(c),
        (_, Some(c), _) => format!("{}+?", ledger::usd(c)),
    };
    match u.budget_usd {
        Some(b) => format!("{spent}/{}", ledger::usd(b)),
        None => spent,
    }
}

/// `status`: per model, the calls, tokens of each kind, cost, first and
/// last call; and the budget left.
pub fn session_view(ctx: &Ctx, spec: &SessionSpec) -> serde_json::Value {
    let daily = ctx.config.budget.daily_usd;
    let books = HomeBooks::load(&ctx.home, std::slice::from_ref(spec), daily);
    let summary = ledger::summary(&ctx.home, &spec.name);
    let models: Vec<serde_json::Value> = summary
        .per_model()
        .iter()
        .map(|(model, t)| totals_json(model, t))
        .collect();
    let total = summary.total();
    let budget = spec.budget_usd.map(|u| u.0);
    serde_json::json!({
        "models": models,
        "total": totals_json("total", &total),
        "budget_usd": budget,
        "budget_left_usd": budget.map(|b| total.budget_left(b)),
        "budget_exhausted": books.exhausted(spec).map(|e| {
            e.message(&spec.name, &ctx.config.path)
        }),
    })
}

fn totals_json(key: &str, t: &Totals) -> serde_json::Value {
    let time = |ms: u64| (t.requests > 0).then(|| crate::session::rfc3339(ms / 1000));
    serde_json::json!({
        "key": key,
        "requests": t.requests,
        "input_tokens": t.tokens.input,
        "output_tokens": t.tokens.output,
        "cache_creation_input_tokens": t.tokens.cache_creation_input,
        "cache_read_input_tokens": t.tokens.cache_read_input,
        "cached_input_tokens": t.tokens.cached_input,
        "reasoning_tokens": t.tokens.reasoning,
        "cost_usd": t.cost_json(),
        "cost": t.cost_text(),
        "unpriced_requests": t.unpriced,
        "unparsed_events": t.unparsed,
        "first_call": time(t.first_ms),
        "last_call": time(t.last_ms),
    })
}

pub fn print_session(view: &serde_json::Value) {
    println!("\nUsage (model calls through the proxy)");
    let models = view["models"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if models.is_empty() {
        println!("  none yet");
    }
    for m in models {
        println!(
            "  {}: {} call(s), {} in, {} out, {} cache write, {} cache read, {} cached, {} reasoning, {}; {} to {}{}",
            m["key"].as_str().unwrap_or(""),
            m["requests"],
            m["input_tokens"],
            m["output_tokens"],
            m["cache_creation_input_tokens"],
            m["cache_read_input_tokens"],
            m["cached_input_tokens"],
            m["reasoning_tokens"],
            m["cost"].as_str().unwrap_or(""),
            m["first_call"].as_str().unwrap_or("-"),
            m["last_call"].as_str().unwrap_or("-"),
            match m["unparsed_events"].as_u64() {
                Some(n) if n > 0 => format!(" ({n} event(s) unreadable)"),
                _ => String::new(),
            }
        );
    }
    match view["budget_usd"].as_f64() {
        Some(b) => println!(
            "  budget {}, left {}",
            ledger::usd(b),
            ledger::usd(view["budget_left_usd"].as_f64().unwrap_or(0.0))
        ),
        None => println!("  no budget (set one: clauderon budget NAME --set USD)"),
    }
    if let Some(why) = view["budget_exhausted"].as_str() {
        println!("  budget-exhausted: {why}");
    }
}

pub use crate::cli::UsageBy as By;

/// `7d`, `12h`, `30m` ago, or a UTC day `2026-12-01`: Unix milliseconds.
pub fn parse_since(text: &str, now_ms: u64) -> Result<u64> {
    let bad = || {
        Error::input(format!("--since {text:?} is not a time"))
            .with_fix("give 7d, 12h, 30m, or a day like 2026-12-01")
    };
    let t = text.trim();
    if let Some((n, unit)) = t
        .char_indices()
        .last()
        .map(|(i, c)| (&t[..i], c))
        .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        let n: u64 = n.parse().map_err(|_| bad())?;
        let secs = match unit {
            'd' => n.checked_mul(86_400),
            'h' => n.checked_mul(3_600),
            'm' => n.checked_mul(60),
            _ => None,
        }
        .ok_or_else(bad)?;
        return Ok(now_ms.saturating_sub(secs.saturating_mul(1000)));
    }
    let parts: Vec<&str> = t.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let num = |s: &str| {
        s.parse::<u16>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    let (Some(y), Some(m), Some(d)) = (num(y), num(m), num(d)) else {
        return Err(bad());
    };
    let month = time::Month::try_from(m as u8).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(y as i32, month, d as u8).map_err(|_| bad())?;
    Ok(date.midnight().assume_utc().unix_timestamp().max(0) as u64 * 1000)
}

/// `clauderon usage`: the ledgers' calls since a time, summed by session,
/// model or day.
pub fn run(ctx: &Ctx, since: Option<&str>, by: By, json: bool) -> Result<()> {
    let now = crate::proxy::usage::books::now_ms();
    let from = since.map(|s| parse_since(s, now)).transpose()?.unwrap_or(0);
    let (specs, _) = ctx.home.load_all()?;
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    for spec in &specs {
        let path = ledger::ledger_path(&ctx.home, &spec.name);
        ledger::for_each_entry(&path, 0, |e, _| {
            if e.time_ms < from {
                return;
            }
            let key = match by {
                By::Session => spec.name.clone(),
                By::Model => e.model.clone(),
                By::Day => ledger::day_of(e.time_ms),
            };
            groups.entry(key).or_default().add_entry(e);
        });
    }
    // Deleted sessions' calls, kept per model and day (delete keeps them).
    for kept in crate::proxy::usage::deleted::all(&ctx.home) {
        if kept.totals.last_ms < from {
            continue;
        }
        let key = match by {
            By::Session => format!("{} (deleted)", kept.session),
            By::Model => kept.model,
            By::Day => kept.day,
        };
        groups.entry(key).or_default().merge(&kept.totals);
    }
    let mut total = Totals::default();
    groups.values().for_each(|t| total.merge(t));
    if json {
        let rows: Vec<_> = groups.iter().map(|(k, t)| totals_json(k, t)).collect();
        crate::output::print_json(&serde_json::json!({
            "since": (from > 0).then(|| crate::session::rfc3339(from / 1000)),
            "by": format!("{by:?}").to_lowercase(),
            "rows": rows,
            "total": totals_json("total", &total),
        }));
        return Ok(());
    }
    print!("{}", usage_table(&groups, &total, by));
    Ok(())
}

fn usage_table(groups: &BTreeMap<String, Totals>, total: &Totals, by: By) -> String {
    let head = format!("{by:?}").to_uppercase();
    let mut rows = vec![[
        head,
        "CALLS".into(),
        "INPUT".into(),
        "OUTPUT".into(),
        "CACHE-W".into(),
        "CACHE-R".into(),
        "CACHED".into(),
        "REASONING".into(),
        "COST".into(),
    ]];
    for (k, t) in groups
        .iter()
        .chain(std::iter::once((&"TOTAL".to_string(), total)))
    {
        let n = t.tokens;
        rows.push([
            k.clone(),
            t.requests.to_string(),
            n.input.to_string(),
            n.output.to_string(),
            n.cache_creation_input.to_string(),
            n.cache_read_input.to_string(),
            n.cached_input.to_string(),
            n.reasoning.to_string(),
            t.cost_text(),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_days() {
        let now = 10 * 86_400_000;
        assert_eq!(parse_since("7d", now).unwrap(), 3 * 86_400_000);
        assert_eq!(parse_since("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400_000);
        for bad in ["7", "d", "7w", "-1d", "2026-13-01", "$(x)"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }
}
