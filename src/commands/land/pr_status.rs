//! `clauderon pr --refresh NAME` (asks `gh pr view --json`, keeps the
//! answer) and what `status` shows of landing; the kept view itself is
//! `crate::pull_request`.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::pull_request::{PrView, load, save, view};
use crate::store::Home;

pub use crate::pull_request::remember;

/// `clauderon pr --refresh NAME`: asks gh, keeps the answer.
pub fn refresh(home: &Home, name: &str) -> Result<()> {
    let mut view = load(home, name).ok_or_else(|| {
        Error::input(format!("session '{name}' has no pull request"))
            .with_fix(format!("`clauderon pr {name}` opens one"))
    })?;
    let out = Cmd::new([
        "gh",
        "pr",
        "view",
        &view.url,
        "--json",
        "url,state,statusCheckRollup,reviewDecision",
    ])
    .time_limit(std::time::Duration::from_secs(30))
    .run()
    .map_err(|f| f.into_error())?;
    let v: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Error::failed(format!("gh pr view printed no JSON: {e}")))?;
    let text = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(String::from);
    view.state = text("state");
    view.review = text("reviewDecision");
    view.checks = checks(&v["statusCheckRollup"]);
    view.refreshed_at = crate::session::now();
    save(home, name, &view)
}

/// One word for all the checks: FAILURE if any failed, else PENDING if any
/// runs, else SUCCESS; None without checks.
fn checks(rollup: &Value) -> Option<String> {
    let items = rollup.as_array().filter(|a| !a.is_empty())?;
    let outcome = |c: &Value| {
        c["conclusion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or(c["state"].as_str())
            .unwrap_or("PENDING")
            .to_ascii_uppercase()
    };
    let all: Vec<String> = items.iter().map(outcome).collect();
    let word = if all
        .iter()
        .any(|o| matches!(o.as_str(), "FAILURE" | "ERROR" | "CANCELLED" | "TIMED_OUT"))
    {
        "FAILURE"
    } else if all
        .iter()
        .any(|o| !matches!(o.as_str(), "SUCCESS" | "NEUTRAL" | "SKIPPED"))
    {
        "PENDING"
    } else {
        "SUCCESS"
    };
    Some(word.into())
}

/// What `status` shows of landing: where `pr` pushes, and the pull request.
pub fn status_view(home: &Home, spec: &crate::session::SessionSpec) -> Value {
    serde_json::json!({
        "push_remote": spec.landing.remote,
        "pull_request": view(home, &spec.name),
    })
}

pub fn print_status(view: &Value) {
    match view["push_remote"].as_object() {
        Some(r) => println!(
            "Push to    {} ({}, recorded at create)",
            r["url"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or("")
        ),
        None => println!("Push to    - (the repository had no remote at create)"),
    }
    if let Ok(pr) = serde_json::from_value::<PrView>(view["pull_request"].clone()) {
        println!("PR         {} ({})", pr.url, pr.short());
    }
}
