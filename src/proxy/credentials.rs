//! Which credentials the proxy can inject, as environment variable names
//! (never values): what the daemon has, what the caller's shell has, and the
//! warnings `create` gives when they differ.

use crate::proxy::rules::{Source, builtin_rules};
use crate::session::Agent;

/// Environment variables that built-in rules read.
pub fn rule_env_vars() -> Vec<String> {
    let mut vars = Vec::new();
    for rule in builtin_rules() {
        if let Source::Env(names) = rule.source {
            for n in names {
                if !vars.contains(&n) {
                    vars.push(n);
                }
            }
        }
    }
    vars
}

/// The variables of `[[proxy.rules]]` with `env`, noted as config.toml is
/// read, so a child kept from the credentials (compose) is kept from these.
static CONFIGURED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub fn note_configured_rules(rules: &[crate::proxy::rules::Rule]) {
    let mut configured = CONFIGURED.lock().unwrap_or_else(|e| e.into_inner());
    for rule in rules {
        if let Source::Env(names) = &rule.source {
            for n in names {
                if !configured.contains(n) {
                    configured.push(n.clone());
                }
            }
        }
    }
}

/// Every credential variable: the built-in rules' and the configured ones'.
pub fn credential_env_vars() -> Vec<String> {
    let mut vars = rule_env_vars();
    let configured = CONFIGURED.lock().unwrap_or_else(|e| e.into_inner());
    vars.extend(
        configured
            .iter()
            .filter(|n| !vars.contains(n))
            .cloned()
            .collect::<Vec<_>>(),
    );
    vars
}

/// The rule variables set (non-empty) in this process's environment.
pub fn available_here() -> Vec<String> {
    rule_env_vars()
        .into_iter()
        .filter(|v| std::env::var(v).is_ok_and(|x| !x.trim().is_empty()))
        .collect()
}

/// The variables the agent's credential can come from.
pub fn agent_vars(agent: Agent) -> &'static [&'static str] {
    match agent {
        Agent::Claude => &["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"],
        Agent::Codex => &["OPENAI_API_KEY", "CODEX_API_KEY"],
    }
}

/// `no-credential` for `list` when neither the daemon nor the session's
/// own `--env` has the agent's credential: the variable to export.
pub fn missing_for(
    agent: Agent,
    in_daemon: &[String],
    user_env: &[(String, String)],
) -> Option<String> {
    let wanted = agent_vars(agent);
    let given = |v: &&str| in_daemon.iter().any(|d| d == v) || user_env.iter().any(|(k, _)| k == v);
    (!wanted.iter().any(given)).then(|| {
        format!(
            "no-credential: export {} (or {}) and run `clauderon daemon restart`",
            wanted[0], wanted[1]
        )
    })
}

/// Warns when the proxy has no credential for the session's agent (the
/// session still starts; the agent sees the placeholder rejected upstream).
pub fn warn_if_agent_lacks(agent: Agent, in_daemon: &[String], user_env: &[(String, String)]) {
    let wanted = agent_vars(agent);
    let given = |v: &&str| in_daemon.iter().any(|d| d == v) || user_env.iter().any(|(k, _)| k == v);
    // Set here but not in the daemon: warn_if_daemon_lacks has said so.
    let in_shell = |v: &&str| std::env::var(v).is_ok_and(|x| !x.trim().is_empty());
    if !wanted.iter().any(given) && !wanted.iter().any(in_shell) {
        eprintln!(
            "clauderon: warning: the proxy has no {agent} credential to inject ({} unset in the clauderon daemon); the agent's API calls will be refused\n  fix: export {}=... and run `clauderon daemon restart`",
            wanted.join(" and "),
            wanted[0]
        );
    }
}

/// Warns about credentials set in the caller's shell that the running daemon
/// does not have (it was started from another shell), and about agents with
/// no credential at all.
pub fn warn_if_daemon_lacks(in_daemon: &[String]) {
    let missing: Vec<String> = available_here()
        .into_iter()
        .filter(|v| !in_daemon.contains(v))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "clauderon: warning: {} is set in your shell but not in the running clauderon daemon (started from another shell), so the proxy cannot inject it\n  fix: clauderon daemon restart (it takes this shell's environment; ports are kept), then `clauderon refresh <name>` for sessions created before",
            missing.join(", ")
        );
    }
}

/// The placeholder a container holds for the credential read from the
/// environment variable `name` (a built-in rule's or one of `rules`), so a
/// request carrying it gets the real value from the proxy.
pub fn placeholder_for(rules: &[crate::proxy::rules::Rule], name: &str) -> Option<String> {
    builtin_rules()
        .iter()
        .chain(rules)
        .find(|r| matches!(&r.source, Source::Env(vars) if vars.iter().any(|v| v == name)))
        .map(|r| r.placeholder.clone())
}
