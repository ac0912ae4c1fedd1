//! `[proxy]` in config.toml.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::proxy::github::{GithubScope, GithubSection};
use crate::proxy::policy::{Policy, Preset};
use crate::proxy::rules::{Rule, RuleConfig};

/// The proxy's port when the config does not say.
pub const DEFAULT_PROXY_PORT: u16 = 3031;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    enabled: Option<bool>,
    port: Option<u16>,
    policy: Option<String>,
    allow_hosts: Option<Vec<String>>,
    deny_hosts: Option<Vec<String>>,
    upstream_ca_file: Option<PathBuf>,
    #[serde(default)]
    resolve: HashMap<String, String>,
    #[serde(default)]
    rules: Vec<RuleConfig>,
    #[serde(default)]
    github: GithubSection,
    /// A host outside the policy: "deny" (the default) or "ask".
    unknown: Option<String>,
    /// Seconds a request waits for approval in ask mode.
    approval_timeout: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct ProxySettings {
    pub enabled: bool,
    /// 0 picks a free port.
    pub port: u16,
    /// The preset, and the hosts (exact or `*.suffix`) allowed on top of it
    /// or refused whatever allows them.
    pub policy: Policy,
    /// An extra CA that upstream servers may be signed by (also trusted by containers).
    pub upstream_ca_file: Option<PathBuf>,
    /// `host -> address:port` to connect to instead of resolving the host
    /// (private mirrors, tests).
    pub resolve: HashMap<String, String>,
    /// Rules from the config, after the built-in ones.
    pub rules: Vec<Rule>,
    /// `[proxy.github]`: what the GitHub credential opens.
    pub github: GithubScope,
    /// `unknown = "ask"`: hosts outside the policy wait for approval.
    pub ask_unknown: bool,
    pub approval_timeout: std::time::Duration,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            enabled: true,
            port: DEFAULT_PROXY_PORT,
            policy: Policy::default(),
            upstream_ca_file: None,
            resolve: HashMap::new(),
            rules: Vec::new(),
            github: GithubScope::default(),
            ask_unknown: false,
            approval_timeout: crate::proxy::approvals::DEFAULT_APPROVAL_TIMEOUT,
        }
    }
}

impl ProxySection {
    /// Validated settings, or (key, message) for the first bad value.
    pub fn settings(self) -> Result<ProxySettings, (String, String)> {
        let rules = self
            .rules
            .into_iter()
            .map(|r| r.into_rule().map_err(|m| ("proxy.rules".to_string(), m)))
            .collect::<Result<Vec<_>, _>>()?;
        crate::proxy::credentials::note_configured_rules(&rules);
        let policy = policy(self.policy.as_deref(), self.allow_hosts, self.deny_hosts)?;
        if let Some(f) = &self.upstream_ca_file {
            check_ca_file(f).map_err(|m| ("proxy.upstream_ca_file".to_string(), m))?;
        }
        check_resolve(&self.resolve)?;
        Ok(ProxySettings {
            enabled: self.enabled.unwrap_or(true),
            port: self.port.unwrap_or(DEFAULT_PROXY_PORT),
            policy,
            upstream_ca_file: self.upstream_ca_file,
            resolve: self
                .resolve
                .into_iter()
                .map(|(h, a)| (h.to_ascii_lowercase(), a))
                .collect(),
            rules,
            github: self.github.scope()?,
            ask_unknown: match self.unknown.as_deref() {
                None | Some("deny") => false,
                Some("ask") => true,
                Some(other) => {
                    let why = format!("{other:?}: use \"deny\" or \"ask\"");
                    return Err(("proxy.unknown".into(), why));
                }
            },
            approval_timeout: match self.approval_timeout {
                Some(0) => {
                    return Err((
                        "proxy.approval_timeout".into(),
                        "must be at least 1 second".into(),
                    ));
                }
                Some(s) => std::time::Duration::from_secs(s.min(3600)),
                None => crate::proxy::approvals::DEFAULT_APPROVAL_TIMEOUT,
            },
        })
    }
}

/// `policy`, `allow_hosts` and `deny_hosts`: the preset and the hosts
/// allowed on top of it or refused whatever allows them.
fn policy(
    preset: Option<&str>,
    allow_hosts: Option<Vec<String>>,
    deny_hosts: Option<Vec<String>>,
) -> Result<Policy, (String, String)> {
    Ok(Policy {
        preset: match preset {
            Some(p) => Preset::parse(p).map_err(|m| ("proxy.policy".to_string(), m))?,
            None => Preset::default(),
        },
        allow_hosts: host_list("proxy.allow_hosts", allow_hosts)?,
        deny_hosts: host_list("proxy.deny_hosts", deny_hosts)?,
    })
}

/// `resolve`: each host goes to an `address:port`.
fn check_resolve(resolve: &HashMap<String, String>) -> Result<(), (String, String)> {
    for (host, addr) in resolve {
        if addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_none()
        {
            return Err((
                format!("proxy.resolve.{host}"),
                format!("{addr:?} is not address:port"),
            ));
        }
    }
    Ok(())
}

/// The extra upstream CA must be a readable PEM file with a certificate.
fn check_ca_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs =
        pem::parse_many(&text).map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
    if !certs.iter().any(|p| p.tag() == "CERTIFICATE") {
        return Err(format!(
            "{} holds no -----BEGIN CERTIFICATE----- block",
            path.display()
        ));
    }
    Ok(())
}

/// Host patterns, lower-cased, each an exact host or `*.suffix`.
fn host_list(key: &str, hosts: Option<Vec<String>>) -> Result<Vec<String>, (String, String)> {
    let mut out = Vec::new();
    for raw in hosts.unwrap_or_default() {
        let (wildcard, bare) = match raw.trim().strip_prefix("*.") {
            Some(rest) => ("*.", rest),
            None => ("", raw.trim()),
        };
        match crate::proxy::server::normalize_host(bare) {
            Some(host) if !bare.starts_with('[') => out.push(format!("{wildcard}{host}")),
            _ => {
                return Err((
                    key.into(),
                    format!("{raw:?} is not a host name (use api.example.com or *.example.com)"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_are_hosts_or_suffixes() {
        let ok = host_list(
            "k",
            Some(vec!["API.Example.com".into(), "*.corp.example".into()]),
        );
        assert_eq!(ok.unwrap(), ["api.example.com", "*.corp.example"]);
        for bad in [
            "é.example",
            "*",
            "*foo.com",
            "a/b",
            "",
            "x:1",
            "a b",
            "*.",
            "[::1]",
        ] {
            assert!(host_list("k", Some(vec![bad.into()])).is_err(), "{bad:?}");
        }
    }
}
