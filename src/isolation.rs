//! How far a session's container is fenced in: its network mode (the
//! proxy as the only way out, or open) and its hardening (capabilities,
//! no-new-privileges, a pids limit). `[network]` and `[security]` in
//! config.toml, `--network` and `--cap-add` on create; both are recorded
//! in the session, shown by `status`, and rendered by the OCI backend.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validate;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// No network of its own: the container reaches the clauderon proxy and
    /// hook listener through Unix sockets, and nothing else.
    #[default]
    Proxy,
    /// The engine's default network: programs that ignore the proxy
    /// variables reach anything the host can.
    Open,
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Proxy => "proxy",
            NetworkMode::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Result<NetworkMode, String> {
        match text {
            "proxy" => Ok(NetworkMode::Proxy),
            "open" => Ok(NetworkMode::Open),
            _ => Err(format!("unknown network mode {text:?}: use proxy or open")),
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The default `--pids-limit`: room for builds and test runners, not for a fork bomb.
pub const DEFAULT_PIDS_LIMIT: u32 = 4096;

/// A container's hardening. Every capability is dropped; `cap_add` names
/// the ones given back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Security {
    /// Canonical names (`CHOWN`), validated.
    pub cap_add: Vec<String>,
    /// 0 means no limit.
    pub pids_limit: u32,
    pub no_new_privileges: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            cap_add: Vec::new(),
            pids_limit: DEFAULT_PIDS_LIMIT,
            no_new_privileges: true,
        }
    }
}

impl Security {
    /// The escape hatches in use, for `create`'s warning and `status`.
    pub fn relaxations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.cap_add.is_empty() {
            out.push(format!("capabilities added: {}", self.cap_add.join(", ")));
        }
        if self.pids_limit == 0 {
            out.push("no pids limit".into());
        }
        if !self.no_new_privileges {
            out.push("may gain privileges (no_new_privileges = false)".into());
        }
        out
    }

    /// One line for `status`.
    pub fn summary(&self) -> String {
        let caps = if self.cap_add.is_empty() {
            "all capabilities dropped".to_string()
        } else {
            format!("all capabilities dropped but {}", self.cap_add.join(", "))
        };
        let pids = match self.pids_limit {
            0 => "no pids limit".to_string(),
            n => format!("pids limit {n}"),
        };
        let nnp = if self.no_new_privileges {
            "no-new-privileges"
        } else {
            "new privileges allowed"
        };
        format!("{caps}; {nnp}; {pids}")
    }
}

/// `[network]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    mode: Option<String>,
}

impl NetworkSection {
    pub fn mode(&self) -> Result<Option<NetworkMode>, (String, String)> {
        self.mode
            .as_deref()
            .map(NetworkMode::parse)
            .transpose()
            .map_err(|m| ("network.mode".into(), m))
    }
}

/// `[security]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    cap_add: Option<Vec<String>>,
    pids_limit: Option<u32>,
    no_new_privileges: Option<bool>,
}

impl SecuritySection {
    pub fn settings(self) -> Result<Security, (String, String)> {
        let d = Security::default();
        Ok(Security {
            cap_add: capabilities(&self.cap_add.unwrap_or_default())
                .map_err(|m| ("security.cap_add".to_string(), m))?,
            pids_limit: self.pids_limit.unwrap_or(d.pids_limit),
            no_new_privileges: self.no_new_privileges.unwrap_or(d.no_new_privileges),
        })
    }
}

/// Canonical, de-duplicated capability names, or why one is not a capability.
pub fn capabilities(names: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let cap = validate::capability(name)?;
        if !out.contains(&cap) {
            out.push(cap);
        }
    }
    Ok(out)
}

/// A hint for a lifecycle command that failed the way missing privileges
/// fail (apt-get, chown or su as root without CHOWN, SETUID, ...).
pub fn privilege_hint(logs: &str, security: &Security) -> Option<String> {
    const MARKERS: [&str; 6] = [
        "Operation not permitted",
        "setgroups",
        "seteuid",
        "setegid",
        "chown",
        "must be run as root",
    ];
    if !MARKERS.iter().any(|m| logs.contains(m)) {
        return None;
    }
    let given = if security.cap_add.is_empty() {
        "none".to_string()
    } else {
        security.cap_add.join(", ")
    };
    Some(format!(
        "this looks like a missing privilege: sessions run with every capability dropped and no-new-privileges (capabilities given back: {given}). If the command needs them (apt-get as root needs CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID), pass e.g. `--cap-add CHOWN --cap-add SETUID --cap-add SETGID`, or set [security] cap_add (and no_new_privileges = false for setuid programs such as sudo) in config.toml"
    ))
}
