//! A session's pull request as `gh pr view --json` last saw it: its URL,
//! state, checks and review decision, kept in the session's `pr.json`.
//! `status` and `list` show the kept view and, when it is older than a
//! minute, start one background `clauderon pr --refresh NAME` (which never
//! holds up `list`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::store::Home;

/// At most one refresh a minute per session.
pub const REFRESH_SECS: u64 = 60;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PrView {
    pub url: String,
    #[serde(default)]
    pub state: Option<String>,
    /// SUCCESS, FAILURE, PENDING (summed over the checks), or None.
    #[serde(default)]
    pub checks: Option<String>,
    #[serde(default)]
    pub review: Option<String>,
    /// When a refresh last started (Unix seconds).
    #[serde(default)]
    pub refreshed_at: u64,
}

impl PrView {
    /// `OPEN, checks SUCCESS, APPROVED` for a table cell.
    pub fn short(&self) -> String {
        [
            self.state.clone(),
            self.checks.as_ref().map(|c| format!("checks {c}")),
            self.review.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
}

fn path(home: &Home, name: &str) -> std::path::PathBuf {
    home.session_dir(name).join("pr.json")
}

pub fn load(home: &Home, name: &str) -> Option<PrView> {
    let text = std::fs::read(path(home, name)).ok()?;
    serde_json::from_slice(&text).ok()
}

fn save(home: &Home, name: &str, view: &PrView) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(view).expect("json serializes");
    crate::plan::write_atomic(&path(home, name), &bytes, 0o600)
}

/// After `gh pr create`: the URL, with the rest to be fetched.
pub fn remember(home: &Home, name: &str, url: &str) -> Result<()> {
    save(
        home,
        name,
        &PrView {
            url: url.to_string(),
            state: Some("OPEN".into()),
            ..Default::default()
        },
    )
}

/// The kept view; a stale one gets a background refresh started.
pub fn view(home: &Home, name: &str) -> Option<PrView> {
    let mut view = load(home, name)?;
    let now = crate::session::now();
    if now.saturating_sub(view.refreshed_at) >= REFRESH_SECS {
        view.refreshed_at = now;
        // Marked first, so a burst of `list`s starts one refresh.
        if save(home, name, &view).is_ok() {
            spawn_refresh(home, name);
        }
    }
    Some(view)
}

fn spawn_refresh(home: &Home, name: &str) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = std::process::Command::new(exe)
        .args(["pr", "--refresh", name])
        .env("CLAUDERON_HOME", &home.root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

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
