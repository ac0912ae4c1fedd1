//! The backend-neutral session spec: everything needed to (re)create a
//! session's container, whatever engine runs it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::isolation::{NetworkMode, Security};
use crate::limits::Limits;

// The clock and the random ids were here; they are leaves of their own now.
pub use crate::clock::{age, now, rfc3339};
pub use crate::ids::{new_token, new_uuid, random_bytes, random_suffix};
// The kinds of agent and backend are the spec's leaves.
pub use crate::spec::{Agent, BackendKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn parse(text: &str) -> Result<PullPolicy, String> {
        match text {
            "always" => Ok(PullPolicy::Always),
            "if-not-present" => Ok(PullPolicy::IfNotPresent),
            "never" => Ok(PullPolicy::Never),
            _ => Err(format!(
                "unknown pull policy {text:?}: use always, if-not-present or never"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::IfNotPresent => "if-not-present",
            PullPolicy::Never => "never",
        }
    }
}

/// Commands run inside the container: `on_create` once, before the agent's
/// first start; `post_start` at every start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    #[serde(default)]
    pub on_create: Vec<String>,
    #[serde(default)]
    pub post_start: Vec<String>,
    /// Seconds `create` waits for the on-create commands before it rolls
    /// back (default 30 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_create_timeout: Option<u64>,
}

/// How long `create` waits for on-create commands unless configured.
pub const DEFAULT_ON_CREATE_TIMEOUT: u64 = 30 * 60;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitIdentity {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A session as clauderon records it. The engine holds the runtime state;
/// this holds what the engine cannot: how to recreate the container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSpec {
    pub name: String,
    pub id: String,
    pub backend: BackendKind,
    pub agent: Agent,
    pub image: String,
    pub pull_policy: PullPolicy,
    pub limits: Limits,
    /// `--env KEY=VALUE` pairs, in the order given.
    pub env: Vec<(String, String)>,
    pub prompt: String,
    /// The repository's top level on the host.
    pub repo_root: PathBuf,
    /// The main repository's `.git` directory, mounted at the same path.
    pub git_common_dir: PathBuf,
    /// Path of `--repo` inside the repository ("" for the top level).
    pub subdir: String,
    pub base: String,
    pub branch: String,
    pub worktree: PathBuf,
    /// The host user the container runs as.
    pub uid: u32,
    pub gid: u32,
    pub git_identity: GitIdentity,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// The secret the session's hooks present to the daemon.
    #[serde(default)]
    pub hook_token: String,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// The image the agent CLI is mounted from (Podman), if it is mounted.
    #[serde(default)]
    pub agent_cli_image: Option<String>,
    /// Whether the proxy is the container's only way out.
    #[serde(default)]
    pub network: NetworkMode,
    #[serde(default)]
    pub security: Security,
    /// `--env` names whose values came from clauderon's environment: they
    /// reach the engine through its environment, never its argv.
    #[serde(default)]
    pub env_from_host: Vec<String>,
    /// False for a session recorded before clauderon had network modes and
    /// hardening: its container has the engine's network and default
    /// capabilities until `refresh` recreates it with the fields above.
    #[serde(default)]
    pub isolation_recorded: bool,
    /// Print mode, the model and tool options.
    #[serde(default)]
    pub agent_options: crate::spec::agent_options::AgentOptions,
    /// Where a kubernetes session runs (context and namespace, resolved
    /// once at create) and the settings its manifests are rendered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<crate::spec::kubernetes::KubeSpec>,
    /// A compose session: the agent runs in one service of the user's
    /// compose file, its other services beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<crate::spec::compose::ComposeSpec>,
    /// The session mounts `<home>/uploads/<id>/` (false for sessions made
    /// before uploads: `refresh` does not add it, as their worktree lacks
    /// the mount point).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uploads: bool,
    /// `--mount`s, checked at create; `refresh` mounts them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<crate::spec::mounts::ExtraMount>,
    /// `[talos] config` as it was at create, mounted read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talos_config: Option<PathBuf>,
    /// What the session's model calls may cost, in USD (`--budget`,
    /// `[budget] session_usd`); `clauderon budget` changes it live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<crate::usd::Usd>,
    /// `landing.remote`'s URL (raw, before any pushurl or `insteadOf`): the
    /// repository the GitHub credential opens. Its own field because
    /// sessions made before `landing` have only this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    /// The session's own host policy on top of the home's (`create
    /// --policy/--allow-host/--deny-host`, `clauderon policy`).
    #[serde(
        default,
        skip_serializing_if = "crate::spec::host_policy::SessionPolicy::is_default"
    )]
    pub policy: crate::spec::host_policy::SessionPolicy,
    #[serde(
        default,
        skip_serializing_if = "crate::spec::landing::Landing::is_empty"
    )]
    pub landing: crate::spec::landing::Landing,
    /// The repository's devcontainer.json the session was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devcontainer: Option<crate::spec::devcontainer::Record>,
    /// The user's own agent configuration copied into the session (its
    /// directory is the agent's `CLAUDE_CONFIG_DIR` or `CODEX_HOME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_config: Option<crate::spec::user_config::Record>,
    /// MCP servers configured for the agent (user scope and `.mcp.json`):
    /// the proxy's rules for their tokens come from here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<crate::spec::mcp::Server>,
}

impl SessionSpec {
    pub fn container_name(&self) -> String {
        container_name(&self.name)
    }

    /// Working directory inside the container.
    pub fn workdir(&self) -> String {
        if self.subdir.is_empty() {
            "/workspace".to_string()
        } else {
            format!("/workspace/{}", self.subdir.trim_end_matches('/'))
        }
    }
}

pub fn container_name(session: &str) -> String {
    format!("clauderon-{session}")
}

/// Session names become container names, branch names and directory names,
/// so they are kept to a set that is safe in all three.
pub fn validate_name(name: &str) -> Result<()> {
    let fix = "use lowercase letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters";
    let bad =
        |why: &str| Error::input(format!("invalid session name {name:?}: {why}")).with_fix(fix);
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 63 {
        return Err(bad("it is longer than 63 characters"));
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('-');
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(bad("it must start with a lowercase letter or a digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        return Err(bad(&format!(
            "{} is not allowed",
            crate::validate::shown_char(c)
        )));
    }
    // Git refuses these in branch names.
    if name.contains("..") || name.ends_with('.') || name.ends_with(".lock") {
        return Err(bad(
            "git branch names cannot contain `..` or end in `.` or `.lock`",
        ));
    }
    Ok(())
}

/// A short name from the prompt's first words plus a random suffix:
/// "Fix the login bug!" -> "fix-the-login-bug-k3x9".
pub fn derive_name(prompt: &str) -> String {
    let mut slug = String::new();
    for word in prompt
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
    {
        // A very long first word is cut rather than dropped.
        let word: String = word
            .to_ascii_lowercase()
            .chars()
            .take(if slug.is_empty() { 30 } else { 63 })
            .collect();
        if slug.len() + word.len() + 1 > 30 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    if slug.is_empty() {
        slug.push_str("session");
    }
    format!("{slug}-{}", random_suffix(4))
}

/// Parses `--env KEY=VALUE`, or `--env KEY` to take the value from our own
/// environment (so a secret need not be on the command line, as with docker).
/// The variable an API request carries for `--env NAME` travels in one
/// JSON object of clauderon's own, never as a variable of that name:
/// `LD_PRELOAD` or `PATH` from a request must not change the host process.
pub const API_ENV: &str = "CLAUDERON_API_ENV";

/// `--env NAME`'s value: from an API request's object, else the environment.
fn from_environment(name: &str) -> Option<String> {
    if let Ok(json) = std::env::var(API_ENV) {
        let values: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&json).unwrap_or_default();
        return values.get(name).cloned();
    }
    std::env::var(name).ok()
}

pub fn parse_env(pair: &str) -> Result<(String, String)> {
    let owned;
    let (key, value) = match pair.split_once('=') {
        Some(kv) => kv,
        None => {
            owned = from_environment(pair).ok_or(()).map_err(|_| {
                Error::input(format!(
                    "--env {pair}: {pair} is not set in your environment"
                ))
                .with_fix(format!(
                    "export {pair}=... first, or pass --env {pair}=VALUE"
                ))
            })?;
            (pair, owned.as_str())
        }
    };
    if !crate::validate::env_name(key) {
        return Err(Error::input(format!(
            "invalid --env name {key:?}: use letters, digits and `_`, not starting with a digit"
        )));
    }
    if value.contains('\0') {
        return Err(Error::input(format!(
            "--env {key}: the value contains a NUL byte"
        )));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Variables clauderon sets in every container; `--env` may not override them.
pub fn reserved_env(key: &str) -> bool {
    const RESERVED: &[&str] = &[
        "HOME",
        "CLAUDE_CONFIG_DIR",
        "CARGO_HOME",
        "SCCACHE_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
        "NODE_EXTRA_CA_CERTS",
        "GIT_CONFIG_COUNT",
        "CODEX_HOME",
    ];
    RESERVED.contains(&key)
        || key.starts_with("CLAUDERON_")
        || key.starts_with("GIT_CONFIG_KEY_")
        || key.starts_with("GIT_CONFIG_VALUE_")
}

/// Environment values that look like credentials: a repository's file is
/// no place for one, and the container would hold it.
pub fn looks_like_token(value: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "github_pat_",
        "glpat-",
        "sk-",
        "xoxb-",
        "xoxp-",
        "AKIA",
        "AIza",
        "-----BEGIN",
    ];
    PREFIXES.iter().any(|p| value.starts_with(p))
}

/// A value that carries a credential: a token, an HTTP authorization
/// (`ANTHROPIC_CUSTOM_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` hold
/// `Authorization: Bearer ...`) or a URL with one (see `url_has_credential`).
pub fn carries_credential(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    looks_like_token(value)
        || url_has_credential(value)
        || ["authorization", "bearer ", "api-key", "apikey"]
            .iter()
            .any(|w| lower.contains(w))
}

/// A URL (or several, in one value) with a password before its host, or
/// a query parameter named like a credential (`?token=`, `&api_key=`).
pub fn url_has_credential(value: &str) -> bool {
    value.split("://").skip(1).any(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let password = authority
            .rsplit_once('@')
            .is_some_and(|(user, _)| user.contains(':'));
        let query = rest.split_once('?').map_or("", |(_, q)| q);
        let query = query.split('#').next().unwrap_or("");
        password
            || query.split('&').any(|pair| {
                pair.split_once('=')
                    .is_some_and(|(k, v)| looks_secret(k) && !v.is_empty())
            })
    })
}

/// Names that usually hold credentials; their values never go into argv.
pub fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|w| k.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in ["a", "fix-bug-1", "0abc", "a_b.c-d", &"a".repeat(63)] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "-a",
            "A",
            "a b",
            "a/b",
            "a..b",
            "a.",
            "x.lock",
            "é",
            &"a".repeat(64),
            "$(x)",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn derived_names_are_valid_slugs() {
        let n = derive_name("Fix the login bug! $(rm -rf /)");
        assert!(n.starts_with("fix-the-login-bug-"), "{n}");
        assert_eq!(n.len(), "fix-the-login-bug-".len() + 4);
        validate_name(&n).unwrap();
        let n = derive_name("日本語 ✨");
        assert!(n.starts_with("session-"), "{n}");
        validate_name(&n).unwrap();
        let n = derive_name(&"averyveryverylongwordthatgoesonandon ".repeat(3));
        validate_name(&n).unwrap();
    }

    #[test]
    fn env_pairs_are_parsed() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert_eq!(parse_env("A=").unwrap(), ("A".into(), "".into()));
        assert_eq!(parse_env("PATH").unwrap().1, std::env::var("PATH").unwrap());
        for bad in ["CLAUDERON_SURELY_UNSET_VAR", "=x", "1A=x", "A B=x"] {
            assert!(parse_env(bad).is_err(), "{bad}");
        }
    }
}
