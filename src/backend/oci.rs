//! The recipe that runs a session on an OCI engine (Docker, Podman): one
//! `create` argv from the spec and the wiring. Nothing here runs a command.

use std::path::Path;

use crate::agent;
use crate::backend::{ProxyWiring, Wiring};
use crate::exec::Cmd;
use crate::helper;
use crate::hooks;
use crate::isolation::NetworkMode;
use crate::proxy::ca;
use crate::proxy::rules::{
    ANTHROPIC_KEY_PLACEHOLDER, ANTHROPIC_OAUTH_PLACEHOLDER, GITHUB_PLACEHOLDER, OPENAI_PLACEHOLDER,
};
use crate::session::{Agent, PullPolicy, SessionSpec, looks_secret};
use crate::store::{CONTAINER_SESSION_DIR, Home};

pub use crate::backend::engine::{CACHE_VOLUMES, DOCKER, ENGINES, Engine, PODMAN, label};

impl Engine {
    /// `docker create` for a session: the whole container, from the spec.
    /// It reads as the recipe: terminal, labels, user, network, hardening,
    /// limits, mounts, env, and the entrypoint under clauderon's init.
    pub fn create(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Cmd {
        let mut cmd = self
            .cmd()
            .args(["create", "--name", &spec.container_name()])
            // A terminal and open stdin, so `attach` can talk to the agent.
            .args(["--interactive", "--tty"]);
        if !wiring.init_helper {
            cmd = cmd.arg("--init");
        }
        cmd = cmd
            .args(self.label_args(spec, home))
            .args(self.user_args(spec, wiring))
            .args(self.network_args(spec, wiring))
            .args(hardening_args(spec))
            .args(["--pull", pull_flag(spec.pull_policy)]);
        if let Some(cpu) = spec.limits.cpu {
            cmd = cmd.args(["--cpus", &cpu.docker()]);
        }
        if let Some(mem) = spec.limits.memory {
            cmd = cmd.args(["--memory", &mem.docker()]);
        }
        cmd = cmd.args(["--workdir", &spec.workdir()]);
        cmd = cmd.args(self.mount_args(spec, home, wiring));
        cmd = self.add_env(cmd, spec, wiring);
        let entrypoint = format!("{CONTAINER_SESSION_DIR}/entrypoint.sh");
        if !wiring.init_helper {
            return cmd
                .args(["--entrypoint", "bash", &spec.image, &entrypoint])
                .live();
        }
        cmd.args(["--entrypoint", helper::CONTAINER_INIT, &spec.image])
            .args(forward_args(spec, wiring))
            .args(["--", "bash", &entrypoint])
            .live()
    }

    /// `docker run --detach`: the same container as `create`, started by
    /// the same call.
    pub fn run_detached(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Cmd {
        let mut cmd = self.create(spec, home, wiring);
        cmd.argv
            .splice(1..2, ["run".to_string(), "--detach".to_string()]);
        cmd
    }

    /// Rootless Podman maps the invoking user into the container
    /// (`keep-id`), so files in /workspace stay the user's.
    fn user_args(&self, spec: &SessionSpec, wiring: &Wiring) -> Vec<String> {
        let mut args = vec!["--user".to_string(), format!("{}:{}", spec.uid, spec.gid)];
        if wiring.host.rootless {
            args.insert(0, "--userns=keep-id".into());
        }
        args
    }

    /// Network mode proxy: no network at all (the daemon is reached through
    /// its mounted sockets). Open: the engine's network, with names for the
    /// host; Docker resolves `host-gateway` itself, Podman gets the bridge
    /// gateway's address (or slirp4netns' host loopback when rootless).
    fn network_args(&self, spec: &SessionSpec, wiring: &Wiring) -> Vec<String> {
        if spec.network == NetworkMode::Proxy {
            return vec!["--network".into(), "none".into()];
        }
        let mut args = Vec::new();
        if wiring.host.rootless {
            args.extend([
                "--network".to_string(),
                "slirp4netns:allow_host_loopback=true".to_string(),
            ]);
        }
        for name in [DOCKER.host_alias, self.host_alias] {
            let entry = format!("{name}:{}", wiring.host.gateway);
            if !args.contains(&entry) {
                args.extend(["--add-host".to_string(), entry]);
            }
        }
        args
    }

    /// Where the container finds the hook listener and the proxy: the
    /// helper's loopback ports (proxy mode), or the host's (open mode).
    fn daemon_address(&self, spec: &SessionSpec, wiring: &Wiring) -> (String, u16, Option<u16>) {
        let proxy_port = wiring.proxy.as_ref().map(|p| p.port);
        match spec.network {
            NetworkMode::Proxy => (
                "127.0.0.1".into(),
                helper::CONTAINER_HOOK_PORT,
                proxy_port.map(|_| helper::CONTAINER_PROXY_PORT),
            ),
            NetworkMode::Open => (self.host_alias.into(), wiring.http_port, proxy_port),
        }
    }

    fn label_args(&self, spec: &SessionSpec, home: &Home) -> Vec<String> {
        let labels = [
            (label::SESSION, spec.name.clone()),
            (label::ID, spec.id.clone()),
            (label::BACKEND, self.kind.as_str().to_string()),
            (label::AGENT, spec.agent.as_str().to_string()),
            (label::REPO, spec.repo_root.display().to_string()),
            (label::WORKTREE, spec.worktree.display().to_string()),
            (label::HOME, home.root.display().to_string()),
        ];
        labels
            .into_iter()
            .flat_map(|(k, v)| ["--label".to_string(), format!("{k}={v}")])
            .collect()
    }

    fn mount_args(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Vec<String> {
        let mut mounts = vec![
            bind(&spec.worktree, "/workspace", false),
            // Git in the container follows the worktree's gitdir pointer to
            // the main repository, so its .git sits at the same path.
            bind(
                &spec.git_common_dir,
                &spec.git_common_dir.to_string_lossy(),
                false,
            ),
            bind(
                &home.container_files_dir(&spec.name),
                CONTAINER_SESSION_DIR,
                true,
            ),
        ];
        if spec.agent == Agent::Claude {
            // Hooks from managed settings: nothing written into the worktree,
            // and the project's own .claude/settings.json keeps working.
            let settings = home
                .container_files_dir(&spec.name)
                .join("managed-settings.json");
            mounts.push(bind(&settings, hooks::MANAGED_SETTINGS_PATH, true));
        }
        if let Some(cli) = &spec.agent_cli_image {
            mounts.push(format!("type=image,src={cli},dst={CONTAINER_AGENT_DIR}"));
        }
        if wiring.proxy.is_some() {
            mounts.push(bind(&ca::cert_path(home), CONTAINER_CA, true));
            mounts.push(bind(&ca::bundle_path(home), CONTAINER_CA_BUNDLE, true));
        }
        if wiring.init_helper {
            mounts.push(bind(&helper::host_path(home), helper::CONTAINER_INIT, true));
        }
        if spec.network == NetworkMode::Proxy {
            mounts.push(bind(
                &helper::socket_dir(home),
                helper::CONTAINER_SOCKETS,
                true,
            ));
        }
        for (volume, target) in CACHE_VOLUMES {
            mounts.push(format!("type=volume,src={volume},dst={target}"));
        }
        mounts
            .into_iter()
            .flat_map(|m| ["--mount".to_string(), m])
            .collect()
    }

    /// The container's environment: plain values in argv; the proxy URL
    /// (it holds the session's token), `--env` values taken by name and
    /// credential-like ones through the engine's own environment, so they
    /// are in neither argv (`ps`) nor the dry run.
    fn add_env(&self, mut cmd: Cmd, spec: &SessionSpec, wiring: &Wiring) -> Cmd {
        let (host, hook_port, proxy_port) = self.daemon_address(spec, wiring);
        let mut env: Vec<(String, String)> = vec![
            ("HOME".into(), "/workspace".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("CARGO_HOME".into(), "/workspace/.cargo".into()),
            ("SCCACHE_DIR".into(), "/workspace/.cache/sccache".into()),
            ("CLAUDERON_SESSION_ID".into(), spec.id.clone()),
            ("CLAUDERON_SESSION".into(), spec.name.clone()),
            // Where the hook script finds the daemon.
            ("CLAUDERON_HOST".into(), host.clone()),
            ("CLAUDERON_HTTP_PORT".into(), hook_port.to_string()),
        ];
        env.extend(git_env(spec, wiring.proxy.is_some()));
        env.extend(agent::agent_env(spec));
        if spec.agent_cli_image.is_some() {
            // The entrypoint puts it first in PATH.
            env.push(("CLAUDERON_AGENT_DIR".into(), CONTAINER_AGENT_DIR.into()));
        }
        let mut secret_env: Vec<(String, String)> = Vec::new();
        if let (Some(proxy), Some(port)) = (&wiring.proxy, proxy_port) {
            let url = format!("http://{}:{}@{host}:{port}", spec.name, spec.hook_token);
            for k in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                secret_env.push((k.into(), url.clone()));
            }
            env.extend(self.proxy_env(spec, proxy));
        }
        for (k, v) in &spec.env {
            if looks_secret(k) || spec.env_from_host.contains(k) {
                secret_env.push((k.clone(), v.clone()));
            } else {
                env.push((k.clone(), v.clone()));
            }
        }
        for (k, v) in env {
            cmd = cmd.args(["--env", &format!("{k}={v}")]);
        }
        for (k, v) in &secret_env {
            cmd = cmd.args(["--env", k.as_str()]).secret_env(k, v);
        }
        cmd
    }

    /// What the proxy needs in the container: where not to use it, the
    /// placeholders it swaps, and the CA bundle that trusts it.
    fn proxy_env(&self, spec: &SessionSpec, proxy: &ProxyWiring) -> Vec<(String, String)> {
        let no_proxy = if spec.network == NetworkMode::Proxy {
            "localhost,127.0.0.1".to_string()
        } else if self.host_alias == DOCKER.host_alias {
            format!("localhost,127.0.0.1,{}", self.host_alias)
        } else {
            format!(
                "localhost,127.0.0.1,{},{}",
                self.host_alias, DOCKER.host_alias
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

/// Every capability dropped but the ones the session names, no gaining
/// privileges through setuid binaries, and a pids limit.
fn hardening_args(spec: &SessionSpec) -> Vec<String> {
    let sec = &spec.security;
    let mut args = vec!["--cap-drop".to_string(), "ALL".to_string()];
    for cap in &sec.cap_add {
        args.extend(["--cap-add".to_string(), cap.clone()]);
    }
    if sec.no_new_privileges {
        args.extend([
            "--security-opt".to_string(),
            "no-new-privileges".to_string(),
        ]);
    }
    // 0 is "no limit", which the engines spell -1 (without the flag,
    // Podman applies its own default of 2048).
    let pids = match sec.pids_limit {
        0 => "-1".to_string(),
        n => n.to_string(),
    };
    // One argument: a value starting with `-` is never read as a flag.
    args.push(format!("--pids-limit={pids}"));
    args
}

/// The helper's forwards, in network mode proxy: the proxy (when enabled)
/// and the hook listener, from loopback ports to the mounted sockets.
fn forward_args(spec: &SessionSpec, wiring: &Wiring) -> Vec<String> {
    if spec.network != NetworkMode::Proxy {
        return Vec::new();
    }
    let mut forwards = Vec::new();
    if wiring.proxy.is_some() {
        forwards.push((helper::CONTAINER_PROXY_PORT, helper::PROXY_SOCKET));
    }
    forwards.push((helper::CONTAINER_HOOK_PORT, helper::HOOK_SOCKET));
    forwards
        .into_iter()
        .flat_map(|(port, socket)| {
            [
                "--forward".to_string(),
                format!("127.0.0.1:{port}={}/{socket}", helper::CONTAINER_SOCKETS),
            ]
        })
        .collect()
}

/// Where a mounted agent CLI image appears in the container.
pub const CONTAINER_AGENT_DIR: &str = "/opt/clauderon-agent";

/// Where the proxy's CA and the trust bundle are mounted in containers.
pub const CONTAINER_CA: &str = "/etc/clauderon/proxy-ca.pem";
pub const CONTAINER_CA_BUNDLE: &str = "/etc/clauderon/proxy-ca-bundle.pem";

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

fn pull_flag(policy: PullPolicy) -> &'static str {
    match policy {
        PullPolicy::Always => "always",
        PullPolicy::IfNotPresent => "missing",
        PullPolicy::Never => "never",
    }
}

/// A `--mount` bind value. The value is CSV, so a field with a comma or a
/// quote is quoted the CSV way.
fn bind(src: &Path, dst: &str, readonly: bool) -> String {
    let mut fields = vec![
        "type=bind".to_string(),
        csv_field(&format!("src={}", src.display())),
        csv_field(&format!("dst={dst}")),
    ];
    if readonly {
        fields.push("readonly".into());
    }
    fields.join(",")
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields_with_commas_are_quoted() {
        assert_eq!(
            bind(Path::new("/a,b"), "/workspace", true),
            "type=bind,\"src=/a,b\",dst=/workspace,readonly"
        );
    }
}
