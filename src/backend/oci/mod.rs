//! The recipe that runs a session on an OCI engine (Docker, Podman): one
//! `create` argv from the spec and the wiring. Nothing here runs a command.

use std::path::Path;

pub mod create;
pub mod delete;
pub mod refresh;

use crate::backend::{Wiring, env};
use crate::exec::Cmd;
use crate::helper;
use crate::hooks;
use crate::isolation::NetworkMode;
use crate::proxy::ca;
use crate::session::{Agent, PullPolicy, SessionSpec};
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
        if let Some(shares) = spec.limits.cpu_shares {
            cmd = cmd.args(["--cpu-shares".to_string(), shares.to_string()]);
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
    pub(crate) fn daemon_address(
        &self,
        spec: &SessionSpec,
        wiring: &Wiring,
    ) -> (String, u16, Option<u16>) {
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
        self.labels(spec, home)
            .into_iter()
            .flat_map(|(k, v)| ["--label".to_string(), format!("{k}={v}")])
            .collect()
    }

    /// The labels `list` finds a session's container by.
    pub(crate) fn labels(&self, spec: &SessionSpec, home: &Home) -> [(&'static str, String); 7] {
        [
            (label::SESSION, spec.name.clone()),
            (label::ID, spec.id.clone()),
            (label::BACKEND, self.kind.as_str().to_string()),
            (label::AGENT, spec.agent.as_str().to_string()),
            (label::REPO, spec.repo_root.display().to_string()),
            (label::WORKTREE, spec.worktree.display().to_string()),
            (label::HOME, home.root.display().to_string()),
        ]
    }

    fn mount_args(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Vec<String> {
        self.mounts(spec, home, wiring)
            .into_iter()
            .flat_map(|m| {
                let value = match m {
                    Mount::Bind { src, dst, readonly } => bind(&src, &dst, readonly),
                    Mount::Image { src, dst } => format!("type=image,src={src},dst={dst}"),
                    Mount::Volume { src, dst } => format!("type=volume,src={src},dst={dst}"),
                };
                ["--mount".to_string(), value]
            })
            .collect()
    }

    /// Everything mounted into a session's container, whatever spells it
    /// (`--mount` here, a compose override's `volumes:` in `compose`).
    pub(crate) fn mounts(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Vec<Mount> {
        let files = home.container_files_dir(&spec.name);
        let mut mounts = vec![
            Mount::bind(&spec.worktree, "/workspace", false),
            // Git in the container follows the worktree's gitdir pointer to
            // the main repository, so its .git sits at the same path.
            Mount::bind(
                &spec.git_common_dir,
                &spec.git_common_dir.to_string_lossy(),
                false,
            ),
            Mount::bind(&files, CONTAINER_SESSION_DIR, true),
        ];
        mounts.extend(agent_mounts(spec, &files));
        if spec.user_config.is_some() {
            // The session's copy of the user's configuration: the agent's own.
            let copy = crate::user_config::host_dir(home, &spec.name, spec.agent);
            let target = crate::user_config::container_dir(spec.agent);
            mounts.push(Mount::bind(&copy, target, false));
        }
        if let Some(cli) = &spec.agent_cli_image {
            mounts.push(Mount::Image {
                src: cli.clone(),
                dst: CONTAINER_AGENT_DIR.into(),
            });
        }
        if wiring.proxy.is_some() {
            mounts.push(Mount::bind(&ca::cert_path(home), CONTAINER_CA, true));
            mounts.push(Mount::bind(
                &ca::bundle_path(home),
                CONTAINER_CA_BUNDLE,
                true,
            ));
        }
        if wiring.init_helper {
            mounts.push(Mount::bind(
                &helper::host_path(home),
                helper::CONTAINER_INIT,
                true,
            ));
        }
        if spec.network == NetworkMode::Proxy {
            mounts.push(Mount::bind(
                &helper::socket_dir(home),
                helper::CONTAINER_SOCKETS,
                true,
            ));
        }
        mounts.extend(extra_mounts(spec, home));
        for (volume, target) in CACHE_VOLUMES {
            mounts.push(Mount::Volume {
                src: volume.into(),
                dst: target.into(),
            });
        }
        mounts
    }

    /// The container's environment as `--env` flags: plain values in
    /// argv, secret ones (see `env`) through the engine's own environment,
    /// so they are in neither argv (`ps`) nor the dry run.
    fn add_env(&self, mut cmd: Cmd, spec: &SessionSpec, wiring: &Wiring) -> Cmd {
        let address = self.daemon_address(spec, wiring);
        for var in env::container_env(self, spec, wiring, address) {
            if var.secret {
                cmd = cmd
                    .args(["--env", var.name.as_str()])
                    .secret_env(&var.name, &var.value);
            } else {
                cmd = cmd.args(["--env", &format!("{}={}", var.name, var.value)]);
            }
        }
        cmd
    }
}

/// One mount of a session's container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mount {
    Bind {
        src: std::path::PathBuf,
        dst: String,
        readonly: bool,
    },
    /// An image's filesystem (Podman): the agent CLI.
    Image { src: String, dst: String },
    /// A named volume (the shared caches).
    Volume { src: String, dst: String },
}

impl Mount {
    fn bind(src: &Path, dst: &str, readonly: bool) -> Mount {
        Mount::Bind {
            src: src.to_path_buf(),
            dst: dst.to_string(),
            readonly,
        }
    }
}

/// The uploads (read-only: the agent reads what it is given), the Talos
/// config and the `--mount`s.
fn extra_mounts(spec: &SessionSpec, home: &Home) -> Vec<Mount> {
    let mut mounts = Vec::new();
    if spec.uploads {
        let dst = crate::uploads::container_dir(&spec.id);
        mounts.push(Mount::bind(
            &crate::uploads::host_dir(home, &spec.id),
            &dst,
            true,
        ));
    }
    if let Some(talos) = &spec.talos_config {
        mounts.push(Mount::bind(
            talos,
            crate::mounts::TALOS_CONTAINER_PATH,
            true,
        ));
    }
    for m in &spec.mounts {
        mounts.push(Mount::bind(&m.host, &m.container, !m.rw));
    }
    mounts
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
pub(crate) fn forward_args(spec: &SessionSpec, wiring: &Wiring) -> Vec<String> {
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
/// The agent's own settings, from the session's files directory.
fn agent_mounts(spec: &SessionSpec, files: &Path) -> Vec<Mount> {
    match spec.agent {
        // Hooks from managed settings: nothing written into the worktree,
        // and the project's own .claude/settings.json keeps working.
        Agent::Claude => vec![Mount::bind(
            &files.join("managed-settings.json"),
            hooks::MANAGED_SETTINGS_PATH,
            true,
        )],
        // Codex's config and placeholder login, copied into CODEX_HOME at start.
        Agent::Codex => vec![
            Mount::bind(
                &files.join(crate::agent::CODEX_CONFIG),
                crate::codex::CONFIG_PATH,
                true,
            ),
            Mount::bind(
                &files.join(crate::agent::CODEX_AUTH),
                crate::codex::AUTH_PATH,
                true,
            ),
        ],
    }
}

pub const CONTAINER_AGENT_DIR: &str = "/opt/clauderon-agent";

/// Where the proxy's CA and the trust bundle are mounted in containers.
pub const CONTAINER_CA: &str = "/etc/clauderon/proxy-ca.pem";
pub const CONTAINER_CA_BUNDLE: &str = "/etc/clauderon/proxy-ca-bundle.pem";

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
