//! A session's own host policy, on top of the home's (`[proxy]` in
//! config.toml): `create --policy/--allow-host/--deny-host` and `clauderon
//! policy NAME allow|deny|reset`. It lives in the session's record, which
//! the proxy reads again whenever the file changes, so a change applies to
//! the next connection with no restart.

use crate::proxy::policy::{Policy, Preset};
use crate::proxy::rules::host_matches;

pub use crate::spec::host_policy::SessionPolicy;

impl SessionPolicy {
    /// The preset this session runs with, if it chose one.
    pub fn preset(&self) -> Option<Preset> {
        match self.mode.as_deref()? {
            "learn" | "ask" => Some(Preset::Balanced),
            other => Preset::parse(other).ok(),
        }
    }

    /// The home's policy with this session's on top: its denials first,
    /// then its allowances and preset. The error names the commands that
    /// change it now, and the settings that change it for every session.
    pub fn check(
        &self,
        home: &Policy,
        session: &str,
        host: &str,
        resolved: bool,
    ) -> Result<(), String> {
        if let Some(p) = self.deny_hosts.iter().find(|p| host_matches(p, host)) {
            return Err(format!(
                "{host} is refused by session {session}'s policy ({p:?}); `clauderon policy {session} allow {host}` allows it now"
            ));
        }
        let named = self.allow_hosts.iter().any(|p| host_matches(p, host));
        let home = Policy {
            preset: self.preset().unwrap_or(home.preset),
            allow_hosts: home.allow_hosts.clone(),
            deny_hosts: home.deny_hosts.clone(),
        };
        match home.check(host, resolved || named) {
            Ok(()) => Ok(()),
            Err(why) if why.contains("deny_hosts") => Err(why),
            Err(_) => {
                let origin = match self.preset() {
                    Some(_) => format!(" (session {session}'s)"),
                    None => String::new(),
                };
                Err(format!(
                    "{host} is not allowed by the proxy policy {:?}{origin}; `clauderon policy {session} allow {host}` allows it for this session now, or add \"{host}\" to [proxy] allow_hosts in config.toml for every session (both apply live, no restart)",
                    home.preset.as_str()
                ))
            }
        }
    }

    /// The effective policy and where each part comes from, for `status`.
    pub fn describe(&self, home: &Policy) -> String {
        let mut parts = vec![match (&self.mode, self.preset()) {
            (Some(mode), Some(_)) => format!("{mode} (session)"),
            _ => format!("{} (config.toml)", home.preset.as_str()),
        }];
        let list = |v: &[String]| v.join(", ");
        if !home.allow_hosts.is_empty() {
            parts.push(format!("allow {} (config.toml)", list(&home.allow_hosts)));
        }
        if !self.allow_hosts.is_empty() {
            parts.push(format!("allow {} (session)", list(&self.allow_hosts)));
        }
        if !home.deny_hosts.is_empty() {
            parts.push(format!("deny {} (config.toml)", list(&home.deny_hosts)));
        }
        if !self.deny_hosts.is_empty() {
            parts.push(format!("deny {} (session)", list(&self.deny_hosts)));
        }
        parts.join("; ")
    }
}

/// A host for `--allow-host`/`--deny-host`/`policy allow|deny`: an exact
/// host or `*.suffix`, lower-cased.
pub fn parse_host(raw: &str) -> Result<String, String> {
    let (wildcard, bare) = match raw.trim().strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", raw.trim()),
    };
    match crate::proxy::server::normalize_host(bare) {
        Some(host) if !bare.starts_with('[') && !bare.starts_with('-') => {
            Ok(format!("{wildcard}{host}"))
        }
        _ => Err(format!(
            "{raw:?} is not a host name (use api.example.com or *.example.com)"
        )),
    }
}

/// The smallest allowlist for what a session did, from the proxy's audit
/// entries of that session: `policy = "locked"` plus the hosts it used
/// beyond the model APIs, then each host's methods and path prefixes as
/// comments.
pub fn suggest(session: &str, entries: &[crate::proxy::audit::Entry]) -> String {
    use std::collections::BTreeMap;
    let mut used: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut refused = std::collections::BTreeSet::new();
    for e in entries.iter().filter(|e| e.session == session) {
        let host = e.host.rsplit_once(':').map_or(e.host.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                e.host.as_str()
            }
        });
        // Only what was let through is suggested: a host the user denied,
        // or one that never answered, is named apart.
        if e.credential == "denied" || e.status == 502 {
            refused.insert(host.to_string());
            continue;
        }
        let seen = used.entry(host.to_string()).or_default();
        if e.method != "CONNECT" {
            seen.insert(format!("{} {}", e.method, path_prefix(&e.path)));
        }
    }
    let model = crate::proxy::policy::MODEL_APIS;
    let extra: Vec<String> = used
        .keys()
        .filter(|h| !model.contains(&h.as_str()))
        .map(|h| format!("{h:?}"))
        .collect();
    let mut out = format!(
        "# The hosts session {session} used, from the proxy's audit log.\n# Paste into config.toml (every session), or run `clauderon policy {session} allow HOST` for this one.\n[proxy]\npolicy = \"locked\"\nallow_hosts = [{}]\n",
        extra.join(", ")
    );
    for (host, seen) in &used {
        for s in seen {
            out.push_str(&format!("# {host}: {s}\n"));
        }
    }
    let refused: Vec<&String> = refused.iter().filter(|h| !used.contains_key(*h)).collect();
    if !refused.is_empty() {
        let names: Vec<&str> = refused.iter().map(|h| h.as_str()).collect();
        out.push_str(&format!(
            "# refused or unreachable, so left out: {}\n",
            names.join(", ")
        ));
    }
    out
}

/// The first two segments of a path (`/repos/org/...` -> `/repos/org`).
fn path_prefix(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).take(2).collect();
    format!("/{}", segs.join("/"))
}

#[cfg(test)]
#[path = "session_policy_tests.rs"]
mod tests;
