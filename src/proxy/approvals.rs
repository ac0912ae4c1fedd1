//! Held requests: in `ask` mode (`create --policy ask`, or `[proxy]
//! unknown = "ask"`) a connection to a host outside the policy waits up to
//! `[proxy] approval_timeout` for `clauderon approve` or `deny`.
//!
//! The proxy and the commands meet in files of the session's directory,
//! under `approvals/`: `held.json` lists what waits (for `list`, `status`,
//! `list --watch` and `[notify]`: the session is `waiting-approval`), an
//! `once-HOST` file lets one held request through, and `approve --session`,
//! `--always` and `deny` change the session's policy or config.toml, which
//! the waiting request checks again a few times a second.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::Home;

/// Requests one session may have waiting at once; more are refused at once.
pub const MAX_HELD_PER_SESSION: usize = 8;
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// One waiting request, as `held.json` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub host: String,
    /// Unix milliseconds: when it started waiting, and when it gives up.
    pub since_ms: u64,
    pub until_ms: u64,
}

pub fn dir(home: &Home, session: &str) -> PathBuf {
    home.session_dir(session).join("approvals")
}

pub fn once_file(home: &Home, session: &str, host: &str) -> PathBuf {
    dir(home, session).join(format!("once-{host}"))
}

/// What waits for `session` now (entries past their time are dropped: a
/// daemon that died left them).
pub fn held(home: &Home, session: &str, now_ms: u64) -> Vec<Held> {
    let path = dir(home, session).join("held.json");
    let list: Vec<Held> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    list.into_iter().filter(|h| h.until_ms >= now_ms).collect()
}

/// How a held request ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Refused(String),
}

/// The proxy's side: what waits, per session.
#[derive(Clone, Default)]
pub struct Waiting {
    held: Arc<Mutex<HashMap<String, Vec<Held>>>>,
}

/// One held request; it leaves `held.json` when dropped (answered, timed
/// out, or its client gone).
struct Slot {
    waiting: Waiting,
    home: Home,
    session: String,
    entry: Held,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut all = self.waiting.lock();
        if let Some(list) = all.get_mut(&self.session) {
            if let Some(i) = list.iter().position(|h| *h == self.entry) {
                list.remove(i);
            }
            write_held(&self.home, &self.session, list);
        }
    }
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Held>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds a request to `host` until `decide` (asked a few times a
    /// second) says yes or no, an `approve --once` file is taken, or
    /// `timeout` passes.
    pub async fn hold(
        &self,
        home: &Home,
        session: &str,
        host: &str,
        timeout: Duration,
        decide: impl Fn() -> Option<Outcome>,
    ) -> Outcome {
        let now = now_ms();
        let entry = Held {
            host: host.to_string(),
            since_ms: now,
            until_ms: now + timeout.as_millis() as u64,
        };
        {
            let mut all = self.lock();
            let list = all.entry(session.to_string()).or_default();
            if list.len() >= MAX_HELD_PER_SESSION {
                return Outcome::Refused(format!(
                    "{MAX_HELD_PER_SESSION} requests of session {session} already wait for approval; answer them with `clauderon approve {session} HOST` or `clauderon deny {session} HOST`"
                ));
            }
            list.push(entry.clone());
            write_held(home, session, list);
        }
        let _slot = Slot {
            waiting: self.clone(),
            home: home.clone(),
            session: session.to_string(),
            entry,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let once = once_file(home, session, host);
        loop {
            if std::fs::remove_file(&once).is_ok() {
                return Outcome::Allowed;
            }
            if let Some(outcome) = decide() {
                return outcome;
            }
            if tokio::time::Instant::now() >= deadline {
                return Outcome::Refused(format!(
                    "{host} was not approved within {} s (`clauderon approve {session} {host}` answers the next request)",
                    timeout.as_secs()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn write_held(home: &Home, session: &str, list: &[Held]) {
    let dir = dir(home, session);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let bytes = serde_json::to_vec(list).unwrap_or_default();
    let _ = crate::plan::write_atomic(&dir.join("held.json"), &bytes, 0o600);
}

fn now_ms() -> u64 {
    crate::session::now() * 1000
}

/// `approve --always`: adds `host` to `[proxy] allow_hosts` of the config
/// file, keeping the rest of the file as written. Returns the line it is
/// on (1-based). The result must parse, or nothing is written.
pub fn add_to_allow_hosts(path: &Path, host: &str) -> Result<usize, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let (new, line) = with_allow_host(&text, host)?;
    crate::proxy::live::read_text(&new).map_err(|why| {
        format!(
            "{} would not be valid after the change: {why}",
            path.display()
        )
    })?;
    crate::plan::write_atomic(path, new.as_bytes(), 0o600).map_err(|e| e.to_string())?;
    Ok(line)
}

/// The text with `host` in `[proxy] allow_hosts`: appended to a one-line
/// `allow_hosts = [...]` in `[proxy]`, or a new line after `[proxy]`, or a
/// new `[proxy]` section at the end.
fn with_allow_host(text: &str, host: &str) -> Result<(String, usize), String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let quoted = format!("{host:?}");
    let section = lines.iter().position(|l| l.trim() == "[proxy]");
    let Some(start) = section else {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push("[proxy]".into());
        lines.push(format!("allow_hosts = [{quoted}]"));
        let at = lines.len();
        return Ok((lines.join("\n") + "\n", at));
    };
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].trim_start().starts_with('['))
        .unwrap_or(lines.len());
    let existing = (start + 1..end).find(|&i| {
        let l = lines[i].trim_start();
        l.starts_with("allow_hosts") && l["allow_hosts".len()..].trim_start().starts_with('=')
    });
    let at = match existing {
        Some(i) => {
            let l = lines[i].trim_end();
            let Some(body) = l.strip_suffix(']') else {
                return Err("its [proxy] allow_hosts is not one line ending in `]`: add the host there by hand".into());
            };
            let open = body.trim_end().ends_with('[');
            lines[i] = format!("{body}{}{quoted}]", if open { "" } else { ", " });
            i
        }
        None => {
            lines.insert(start + 1, format!("allow_hosts = [{quoted}]"));
            start + 1
        }
    };
    Ok((lines.join("\n") + "\n", at + 1))
}

#[cfg(test)]
#[path = "approvals_tests.rs"]
mod tests;
