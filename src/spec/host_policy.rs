//! A session's own host policy as its record keeps it (`create --policy
//! --allow-host --deny-host`, `clauderon policy`). Data only: the proxy
//! (`crate::proxy::session_policy`) decides with it.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// `open`, `balanced`, `locked`, `learn` (balanced; `policy NAME
    /// --suggest` then prints what it used) or `ask` (balanced, and other
    /// hosts wait for approval); none: the home's preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_hosts: Vec<String>,
}

/// The modes `--policy` takes.
pub const MODES: &[&str] = &["open", "balanced", "locked", "learn", "ask"];

impl SessionPolicy {
    pub fn is_default(&self) -> bool {
        *self == SessionPolicy::default()
    }

    /// `ask`: a host outside the policy waits for `clauderon approve`.
    pub fn asks(&self) -> bool {
        self.mode.as_deref() == Some("ask")
    }

    /// Allows `host` for this session (and drops it from its denials).
    pub fn allow(&mut self, host: String) {
        self.deny_hosts.retain(|h| *h != host);
        if !self.allow_hosts.contains(&host) {
            self.allow_hosts.push(host);
        }
    }

    pub fn deny(&mut self, host: String) {
        self.allow_hosts.retain(|h| *h != host);
        if !self.deny_hosts.contains(&host) {
            self.deny_hosts.push(host);
        }
    }

    /// Is `host` named exactly by this session's allowances (which, like
    /// the home's allow_hosts, lets it resolve to a private address)?
    pub fn named_exactly(&self, host: &str) -> bool {
        self.allow_hosts.iter().any(|p| p == host)
    }
}
