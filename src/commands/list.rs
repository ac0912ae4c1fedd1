//! `clauderon list`: session records joined with ONE engine call per engine.

use crate::commands::Ctx;
use crate::error::Result;
use crate::session;

// The rows live below the commands, where the attention notifier reads them too.
pub use crate::backend::observe::{EngineView, observe};
pub use crate::rows::Row;

/// Every session of this home as a row, and what could not be asked.
pub fn rows(ctx: &Ctx) -> Result<(Vec<Row>, Vec<String>)> {
    let (mut rows, mut warnings) = crate::rows::rows(&ctx.home, ctx.config.budget.daily_usd)?;
    crate::commands::list_proxy::daemon_notes(ctx, &mut rows, &mut warnings);
    Ok((rows, warnings))
}

/// `list`, or with `watch` the live table (see `watch`).
pub fn run(ctx: &Ctx, json: bool, watch: bool) -> Result<()> {
    if watch {
        return crate::commands::watch::run(ctx, json);
    }
    let (rows, warnings) = rows(ctx)?;
    for w in &warnings {
        eprintln!("clauderon: warning: {w}");
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialize")
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No sessions. Create one with: clauderon create --repo . --prompt \"...\"");
        return Ok(());
    }
    print!("{}", table(&rows, session::now()));
    Ok(())
}

/// The proxy's note without its advice (`status` and `--json` have it).
fn short_proxy(note: &str) -> &str {
    let note = note.split(" (clauderon").next().unwrap_or(note);
    note.split(": export").next().unwrap_or(note)
}

/// Where the PR column goes: before REPO, the last.
const PR_COLUMN: usize = 10;

/// One row of the table, its cells in the header's order.
fn row_cells(r: &Row, now: u64, with_pr: bool) -> Vec<String> {
    let mut cells = vec![
        r.name.clone(),
        r.backend.map(|k| k.to_string()).unwrap_or_default(),
        r.state.to_string(),
        match (&r.agent_status, r.agent_status_stale, &r.proxy) {
            (Some(s), _, Some(p)) => format!("{}, {}", s.as_str(), short_proxy(p)),
            (Some(s), true, None) => format!("{} (stale?)", s.as_str()),
            (Some(s), false, None) => s.as_str().to_string(),
            (None, _, _) => "-".into(),
        },
        r.agent_status_since
            .map(|t| format!("{} ago", session::age(t, now)))
            .unwrap_or_else(|| "-".into()),
        r.agent.map(|a| a.to_string()).unwrap_or_default(),
        crate::commands::usage::tokens_text(&r.usage),
        crate::commands::usage::cost_text(&r.usage),
        r.image.clone(),
        r.created_at
            .map(|t| session::age(t, now))
            .unwrap_or_default(),
        r.repo.clone(),
    ];
    if with_pr {
        cells.insert(PR_COLUMN, r.pr.clone().unwrap_or_else(|| "-".into()));
    }
    cells
}

pub fn table(rows: &[Row], now: u64) -> String {
    let mut header = vec![
        "NAME", "BACKEND", "STATE", "STATUS", "CHANGED", "AGENT", "TOKENS", "COST", "IMAGE", "AGE",
        "REPO",
    ];
    // A PR column once a session has a pull request (before REPO, the last).
    let with_pr = rows.iter().any(|r| r.pr.is_some());
    if with_pr {
        header.insert(PR_COLUMN, "PR");
    }
    let cells: Vec<Vec<String>> = rows.iter().map(|r| row_cells(r, now, with_pr)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.clone());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    for r in rows.iter().filter(|r| r.state.needs_a_word()) {
        out.push_str(&format!("  {}: {}\n", r.name, r.status));
    }
    out
}
