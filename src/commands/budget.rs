//! `clauderon budget NAME [--set USD | --add USD]`: a session's budget,
//! shown or changed live (the proxy reads the record at each model call).

use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::proxy::usage::ledger::{self, usd};
use crate::usd::Usd;

pub fn run(ctx: &Ctx, name: &str, set: Option<Usd>, add: Option<Usd>, json: bool) -> Result<()> {
    let _lock = (set.is_some() || add.is_some())
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    let mut spec = ctx.home.load(name)?;
    let new = match (set, add, spec.budget_usd) {
        (Some(v), _, _) => Some(v),
        (None, Some(more), Some(now)) => Some(Usd::checked(now.0 + more.0).map_err(Error::input)?),
        (None, Some(_), None) => {
            return Err(Error::input(format!(
                "session '{name}' has no budget to add to (its model calls are not limited)"
            ))
            .with_fix(format!("clauderon budget {name} --set USD")));
        }
        (None, None, _) => None,
    };
    if let Some(v) = new {
        spec.budget_usd = Some(v);
        crate::plan::write_atomic(
            &ctx.home.record_path(name),
            &crate::store::record_bytes(&spec),
            0o600,
        )?;
    }
    let spent = ledger::summary(&ctx.home, name).total();
    let budget = spec.budget_usd.map(|u| u.0);
    let left = budget.map(|b| spent.budget_left(b));
    if json {
        crate::output::print_json(&serde_json::json!({
            "session": name,
            "budget_usd": budget,
            "spent_usd": spent.cost_json(),
            "left_usd": left,
            "unpriced_requests": spent.unpriced,
            "unpriced_counted_usd": ledger::round_usd(spent.estimated_usd),
        }));
        return Ok(());
    }
    match (budget, left) {
        (Some(b), Some(l)) => println!(
            "{name}: budget {}, spent {}, left {}",
            usd(b),
            spent.cost_text(),
            usd(l)
        ),
        _ => println!("{name}: no budget, spent {}", spent.cost_text()),
    }
    if spent.estimated_usd > 0.0 && budget.is_some() {
        println!(
            "  ({} call(s) without a price count {} against it, at the highest listed price: [pricing] in config.toml names theirs)",
            spent.unpriced,
            usd(spent.estimated_usd)
        );
    }
    if new.is_some() {
        crate::output::info("The proxy applies it from the session's next model call.");
    }
    Ok(())
}
