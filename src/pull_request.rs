//! A session's pull request as `gh pr view --json` last saw it: its URL,
//! state, checks and review decision, kept in the session's `pr.json`.
//! `status` and `list` show the kept view and, when it is older than a
//! minute, start one background `clauderon pr --refresh NAME` (which never
//! holds up `list`); `commands::land::pr_status` does the refresh.

use serde::{Deserialize, Serialize};

use crate::error::Result;
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

pub fn save(home: &Home, name: &str, view: &PrView) -> Result<()> {
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
