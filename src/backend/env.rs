//! A session container's environment, built from the spec and the wiring
//! with no I/O. Each variable says whether it is secret, decided by where
//! its value came from: the proxy URL holds the session's token, and an
//! `--env KEY` takes its value from the user's environment; a value typed
//! as `--env KEY=VALUE` is secret when its name says credential.

use crate::agent;
use crate::backend::engine::{DOCKER, Engine};
use crate::backend::oci::{CONTAINER_AGENT_DIR, CONTAINER_CA, CONTAINER_CA_BUNDLE};
use crate::backend::{ProxyWiring, Wiring};
use crate::isolation::NetworkMode;
use crate::proxy::rules::{
    ANTHROPIC_KEY_PLACEHOLDER, ANTHROPIC_OAUTH_PLACEHOLDER, GITHUB_PLACEHOLDER, OPENAI_PLACEHOLDER,
};
use crate::session::{Agent, SessionSpec, looks_secret};

pub struct Var {
    pub name: String,
    pub value: String,
    /// Passed through the engine's environment, never shown.
    pub secret: bool,
}

fn plain(vars: Vec<(String, String)>) -> impl Iterator<Item = Var> {
    vars.into_iter().map(|(name, value)| Var {
        name,
        value,
        secret: false,
    })
}

/// Plain variables first (in a stable order), then the secret ones.
/// `address` is where the container reaches the daemon: (host, hook port,
/// proxy port).
pub fn container_env(
    engine: &Engine,
    spec: &SessionSpec,
    wiring: &Wiring,
    address: (String, u16, Option<u16>),
) -> Vec<Var> {
    let (host, hook_port, proxy_port) = address;
    let mut env: Vec<Var> = plain(session_vars(spec, &host, hook_port)).collect();
    env.extend(plain(git_env(spec, wiring.proxy.is_some())));
    env.extend(plain(agent::agent_env(spec)));
    env.extend(plain(uploads_and_talos_env(spec)));
    // `.mcp.json`'s `${VAR}` tokens: the container's VAR is the placeholder.
    env.extend(plain(crate::mcp::container_env(&spec.mcp_servers)));
    if spec.agent_cli_image.is_some() {
        // The entrypoint puts it first in PATH.
        env.extend(plain(vec![(
            "CLAUDERON_AGENT_DIR".into(),
            CONTAINER_AGENT_DIR.into(),
        )]));
    }
    let mut secret = Vec::new();
    if let (Some(proxy), Some(port)) = (&wiring.proxy, proxy_port) {
        let url = format!("http://{}:{}@{host}:{port}", spec.name, spec.hook_token);
        for k in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            secret.push(Var {
                name: k.into(),
                value: url.clone(),
                secret: true,
            });
        }
        env.extend(plain(proxy_env(engine, spec, proxy)));
    }
    for (k, v) in &spec.env {
        let var = Var {
            name: k.clone(),
            value: v.clone(),
            secret: spec.env_from_host.contains(k) || looks_secret(k) || has_credentials(v),
        };
        if var.secret {
            secret.push(var)
        } else {
            env.push(var)
        }
    }
    env.extend(secret);
    env
}

/// What every session's container has, on any backend: its home, the
/// caches, who it is, and where its hook script finds the daemon.
pub(in crate::backend) fn session_vars(
    spec: &SessionSpec,
    host: &str,
    hook_port: u16,
) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), "/workspace".into()),
        ("TERM".into(), "xterm-256color".into()),
        ("CARGO_HOME".into(), "/workspace/.cargo".into()),
        ("SCCACHE_DIR".into(), "/workspace/.cache/sccache".into()),
        ("CLAUDERON_SESSION_ID".into(), spec.id.clone()),
        ("CLAUDERON_SESSION".into(), spec.name.clone()),
        ("CLAUDERON_HOST".into(), host.to_string()),
        ("CLAUDERON_HTTP_PORT".into(), hook_port.to_string()),
    ]
}

/// What the proxy needs in the container: where not to use it, the
/// placeholders it swaps, and the CA bundle that trusts it.
fn proxy_env(engine: &Engine, spec: &SessionSpec, proxy: &ProxyWiring) -> Vec<(String, String)> {
    let no_proxy = if spec.network == NetworkMode::Proxy {
        "localhost,127.0.0.1".to_string()
    } else if engine.host_alias == DOCKER.host_alias {
        format!("localhost,127.0.0.1,{}", engine.host_alias)
    } else {
        format!(
            "localhost,127.0.0.1,{},{}",
            engine.host_alias, DOCKER.host_alias
        )
    };
    let mut env = vec![
        ("NO_PROXY".to_string(), no_proxy.clone()),
        ("no_proxy".to_string(), no_proxy),
    ];
    for (k, v) in placeholders(spec, proxy.anthropic_api_key) {
        // A value the user gave with --env wins.
        if !spec.env.iter().any(|(u, _)| u == k) {
            env.push((k.into(), v.into()));
        }
    }
    for k in [
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GIT_SSL_CAINFO",
    ] {
        env.push((k.into(), CONTAINER_CA_BUNDLE.into()));
    }
    env.push(("NODE_EXTRA_CA_CERTS".into(), CONTAINER_CA.into()));
    env
}

/// git in the container: config through `GIT_CONFIG_*`, and the user's identity.
pub(in crate::backend) fn git_env(spec: &SessionSpec, proxy: bool) -> Vec<(String, String)> {
    // The worktree's registration lives in the shared .git but its path
    // is a host path: stop git in the container from pruning it.
    let mut git_config = vec![("gc.worktreePruneExpire", "never"), ("safe.directory", "*")];
    if proxy {
        // git asks this helper after GitHub's 401 and sends the placeholder,
        // which the proxy swaps for the real token.
        git_config.push((
            "credential.https://github.com.helper",
            GIT_CREDENTIAL_HELPER,
        ));
    }
    let mut env = vec![("GIT_CONFIG_COUNT".to_string(), git_config.len().to_string())];
    for (i, (k, v)) in git_config.iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{i}"), k.to_string()));
        env.push((format!("GIT_CONFIG_VALUE_{i}"), v.to_string()));
    }
    let id = &spec.git_identity;
    for (who, value) in [("NAME", &id.name), ("EMAIL", &id.email)] {
        if let Some(v) = value {
            env.push((format!("GIT_AUTHOR_{who}"), v.clone()));
            env.push((format!("GIT_COMMITTER_{who}"), v.clone()));
        }
    }
    env
}

const GIT_CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get && echo username=x-access-token && echo \"password=${GH_TOKEN:-clauderon-proxy}\"; }; f";

/// The placeholder credentials a session's container holds.
pub(in crate::backend) fn placeholders(
    spec: &SessionSpec,
    anthropic_api_key: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut p = vec![
        ("GH_TOKEN", GITHUB_PLACEHOLDER),
        ("GITHUB_TOKEN", GITHUB_PLACEHOLDER),
    ];
    match spec.agent {
        Agent::Claude if anthropic_api_key => {
            p.push(("ANTHROPIC_API_KEY", ANTHROPIC_KEY_PLACEHOLDER))
        }
        Agent::Claude => p.push(("CLAUDE_CODE_OAUTH_TOKEN", ANTHROPIC_OAUTH_PLACEHOLDER)),
        Agent::Codex => {
            p.push(("OPENAI_API_KEY", OPENAI_PLACEHOLDER));
            p.push(("CODEX_API_KEY", OPENAI_PLACEHOLDER));
        }
    }
    p
}

/// A URL with a password in it (`postgres://user:pw@host/db`): secret
/// whatever its variable is called.
fn has_credentials(value: &str) -> bool {
    value.split("://").nth(1).is_some_and(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// The variables that point the agent at its uploads and Talos config.
fn uploads_and_talos_env(spec: &SessionSpec) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if spec.uploads {
        env.push((
            "CLAUDERON_UPLOADS".to_string(),
            crate::uploads::container_dir(&spec.id),
        ));
    }
    if spec.talos_config.is_some() {
        env.push((
            crate::mounts::TALOS_ENV.to_string(),
            crate::mounts::TALOS_CONTAINER_PATH.to_string(),
        ));
    }
    env
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_with_passwords_are_secret() {
        assert!(super::has_credentials("postgres://u:hunter2@h/db"));
        assert!(!super::has_credentials("https://example.com/a@b"));
        assert!(!super::has_credentials("plain"));
        assert!(!super::has_credentials("https://user@host/x"));
    }
}
