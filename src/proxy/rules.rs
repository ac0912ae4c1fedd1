//! Credential rules: which host gets which secret in which header, and the
//! placeholder the container holds instead. A rule only ever swaps its own
//! placeholder: a request that carries some other credential is left alone.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

pub use super::secrets::Secrets;

/// Placeholders the containers hold.
pub const GITHUB_PLACEHOLDER: &str = "clauderon-proxy";
pub const ANTHROPIC_OAUTH_PLACEHOLDER: &str = "sk-ant-oat01-clauderon-proxy-placeholder";
pub const ANTHROPIC_KEY_PLACEHOLDER: &str = "sk-ant-api03-clauderon-proxy-placeholder";
pub const OPENAI_PLACEHOLDER: &str = "sk-openai-clauderon-proxy-placeholder";

/// How the secret sits in the header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The placeholder appears as text in the value (`Bearer X`, `token X`, `X`).
    Text,
    /// HTTP Basic: the placeholder is inside the base64 `user:password`.
    Basic,
}

// Where a secret comes from is data a session record keeps (its MCP tokens).
pub use crate::spec::secret_source::Source;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `api.example.com`, or `*.example.com` for any subdomain.
    pub host: String,
    /// Lower-case header name.
    pub header: String,
    pub format: Format,
    pub placeholder: String,
    pub source: Source,
    /// Where the secret may be sent on the host.
    pub scope: RuleScope,
}

/// Where on its host a rule's secret may be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleScope {
    /// A configured rule's `paths` and `methods` (empty: anywhere).
    Bounds(super::scope::Bounds),
    /// The built-in GitHub rules: the session's repository unless
    /// `[proxy.github] scope = "account"` (`git`: github.com, else the API).
    Github { git: bool },
}

/// A rule as written in config.toml (`[[proxy.rules]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub host: String,
    pub header: String,
    #[serde(default = "default_format")]
    pub format: Format,
    pub placeholder: String,
    pub env: Option<String>,
    pub file: Option<PathBuf>,
    pub command: Option<Vec<String>>,
    /// Glob patterns of the paths the secret is sent to (any if empty).
    #[serde(default)]
    pub paths: Vec<String>,
    /// The methods the secret is sent with (any if empty).
    #[serde(default)]
    pub methods: Vec<String>,
}

fn default_format() -> Format {
    Format::Text
}

impl RuleConfig {
    pub fn into_rule(self) -> Result<Rule, String> {
        let source = match (self.env, self.file, self.command) {
            (Some(e), None, None) => Source::Env(vec![e]),
            (None, Some(f), None) => Source::File(f),
            (None, None, Some(c)) if !c.is_empty() => Source::Command(c),
            _ => {
                return Err(format!(
                    "rule for {}: give exactly one of env, file or command",
                    self.host
                ));
            }
        };
        if self.placeholder.len() < 8 {
            return Err(format!(
                "rule for {}: the placeholder must be at least 8 characters, so it cannot match by accident",
                self.host
            ));
        }
        if self.host.is_empty() || self.host.contains(['/', ':', ' ']) {
            return Err(format!(
                "rule host {:?}: give a host name like api.example.com or *.example.com",
                self.host
            ));
        }
        let bounds = super::scope::Bounds {
            paths: self.paths,
            methods: self.methods,
        }
        .validated()
        .map_err(|why| format!("rule for {}: {why}", self.host))?;
        Ok(Rule {
            host: self.host.to_ascii_lowercase(),
            header: self.header.to_ascii_lowercase(),
            format: self.format,
            placeholder: self.placeholder,
            source,
            scope: RuleScope::Bounds(bounds),
        })
    }
}

/// The rules every proxy has, before the ones from config.toml.
pub fn builtin_rules() -> Vec<Rule> {
    let env = |vars: &[&str]| Source::Env(vars.iter().map(|v| v.to_string()).collect());
    let github = env(&["GH_TOKEN", "GITHUB_TOKEN"]);
    vec![
        Rule {
            host: "api.anthropic.com".into(),
            header: "x-api-key".into(),
            format: Format::Text,
            placeholder: ANTHROPIC_KEY_PLACEHOLDER.into(),
            source: env(&["ANTHROPIC_API_KEY"]),
            scope: RuleScope::Bounds(Default::default()),
        },
        Rule {
            host: "api.anthropic.com".into(),
            header: "authorization".into(),
            format: Format::Text,
            placeholder: ANTHROPIC_OAUTH_PLACEHOLDER.into(),
            source: env(&["CLAUDE_CODE_OAUTH_TOKEN"]),
            scope: RuleScope::Bounds(Default::default()),
        },
        Rule {
            host: "api.openai.com".into(),
            header: "authorization".into(),
            format: Format::Text,
            placeholder: OPENAI_PLACEHOLDER.into(),
            source: env(&["OPENAI_API_KEY", "CODEX_API_KEY"]),
            scope: RuleScope::Bounds(Default::default()),
        },
        Rule {
            host: "api.github.com".into(),
            header: "authorization".into(),
            format: Format::Text,
            placeholder: GITHUB_PLACEHOLDER.into(),
            source: github.clone(),
            scope: RuleScope::Github { git: false },
        },
        // git smart-HTTP: Basic x-access-token:<token>
        Rule {
            host: "github.com".into(),
            header: "authorization".into(),
            format: Format::Basic,
            placeholder: GITHUB_PLACEHOLDER.into(),
            source: github,
            scope: RuleScope::Github { git: true },
        },
    ]
}

/// Exact host, or `*.suffix` for any subdomain of suffix.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => host == pattern,
    }
}

/// What a rule did to a request, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Injection {
    /// No rule's placeholder was in the request.
    None,
    Injected,
    /// The placeholder was there but the secret could not be read: forwarded as is.
    Missing,
}

/// Swaps placeholders in the headers of a request to `host`. Returns what happened.
pub fn apply(
    rules: &[Rule],
    secrets: &Secrets,
    host: &str,
    headers: &mut http::HeaderMap,
) -> Injection {
    let mut result = Injection::None;
    for rule in rules.iter().filter(|r| host_matches(&r.host, host)) {
        let Some(value) = headers.get(&rule.header).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        if !carries_placeholder(&rule.format, value, &rule.placeholder) {
            continue;
        }
        let Some(secret) = secrets.read(&rule.source) else {
            result = Injection::Missing;
            continue;
        };
        if let Some(new) = swap(&rule.format, value, &rule.placeholder, &secret)
            && let Ok(new) = http::HeaderValue::from_str(&new)
        {
            let mut new = new;
            new.set_sensitive(true);
            headers.insert(
                http::HeaderName::from_bytes(rule.header.as_bytes()).expect("valid header"),
                new,
            );
            return Injection::Injected;
        }
    }
    result
}

/// The rules whose placeholder a request to `host` carries (in the exact
/// form `apply` would swap): their bounds decide whether it may go.
pub fn carried<'r>(rules: &'r [Rule], host: &str, headers: &http::HeaderMap) -> Vec<&'r Rule> {
    rules
        .iter()
        .filter(|r| host_matches(&r.host, host))
        .filter(|r| {
            headers
                .get(&r.header)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| carries_placeholder(&r.format, v, &r.placeholder))
        })
        .collect()
}

/// Would `apply` read a file or run a command for these headers? Only then
/// is it worth moving off the async workers (an environment variable is
/// read in place).
pub fn may_block(rules: &[Rule], host: &str, headers: &http::HeaderMap) -> bool {
    carried(rules, host, headers)
        .iter()
        .any(|r| !matches!(r.source, Source::Env(_)))
}

/// Only the exact forms a client sends (`X`, `Bearer X`, `token X`, or Basic
/// user:X): the agent cannot wrap the real secret in text of its own.
fn carries_placeholder(format: &Format, value: &str, placeholder: &str) -> bool {
    match format {
        Format::Text => {
            let rest = match value.split_once(' ') {
                Some((scheme, rest))
                    if ["bearer", "token"].contains(&scheme.to_ascii_lowercase().as_str()) =>
                {
                    rest
                }
                _ => value,
            };
            rest == placeholder
        }
        Format::Basic => basic_credentials(value).is_some_and(|c| {
            c.split_once(':')
                .is_some_and(|(_, pass)| pass == placeholder)
        }),
    }
}

fn basic_credentials(value: &str) -> Option<String> {
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()
}

/// The header value with the placeholder replaced by the secret.
pub fn swap(format: &Format, value: &str, placeholder: &str, secret: &str) -> Option<String> {
    match format {
        Format::Text => Some(value.replace(placeholder, secret)),
        Format::Basic => {
            let creds = basic_credentials(value)?;
            let (user, _) = creds.split_once(':')?;
            Some(format!(
                "Basic {}",
                BASE64.encode(format!("{user}:{secret}"))
            ))
        }
    }
}

#[cfg(test)]
mod tests;
