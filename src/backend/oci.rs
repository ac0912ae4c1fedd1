//! The OCI engines (Docker, and Podman later) as data, and the argv that
//! runs a session on them. Nothing here runs a command: it renders `Cmd`s.

use std::path::Path;

use crate::agent;
use crate::backend::{ProxyWiring, Wiring};
use crate::error::Error;
use crate::exec::{Cmd, Failure};
use crate::hooks;
use crate::plan::{Classify, Step};
use crate::proxy::ca;
use crate::proxy::rules::{
    ANTHROPIC_KEY_PLACEHOLDER, ANTHROPIC_OAUTH_PLACEHOLDER, GITHUB_PLACEHOLDER, OPENAI_PLACEHOLDER,
};
use crate::session::{Agent, BackendKind, PullPolicy, SessionSpec, looks_secret};
use crate::store::{CONTAINER_SESSION_DIR, Home};

/// One engine: its binary and the ways it differs from the others.
#[derive(Clone, Copy, Debug)]
pub struct Engine {
    pub kind: BackendKind,
    pub program: &'static str,
    /// How containers name the host.
    pub host_alias: &'static str,
    pub install_fix: &'static str,
    pub daemon_fix: &'static str,
    pub permission_fix: &'static str,
    /// Go template, in `ps --format`, for a container's session label.
    pub ps_session_label: &'static str,
    /// `--mount type=image` (the agent CLI mounted from its own image).
    pub image_mounts: bool,
}

pub const DOCKER: Engine = Engine {
    kind: BackendKind::Docker,
    program: "docker",
    host_alias: "host.docker.internal",
    install_fix: "install Docker (Debian/Ubuntu: `sudo apt install docker.io`; macOS: Docker Desktop or colima)",
    daemon_fix: "start the Docker engine (`sudo systemctl start docker`, or open Docker Desktop), then check `docker info`",
    permission_fix: "add yourself to the docker group: `sudo usermod -aG docker $USER`, then log out and in again (or run `newgrp docker`)",
    ps_session_label: "{{.Label \"clauderon.session\"}}",
    image_mounts: false,
};

pub const PODMAN: Engine = Engine {
    kind: BackendKind::Podman,
    program: "podman",
    host_alias: "host.containers.internal",
    install_fix: "install Podman (Debian/Ubuntu: `sudo apt install podman`)",
    daemon_fix: "check that Podman works: `podman info` (for a remote Podman: `podman system connection list`)",
    permission_fix: "check that your user may run Podman: `podman info` (rootless Podman needs entries in /etc/subuid and /etc/subgid)",
    ps_session_label: "{{index .Labels \"clauderon.session\"}}",
    image_mounts: true,
};

/// Every engine, in the order `list` asks them.
pub const ENGINES: [Engine; 2] = [DOCKER, PODMAN];

/// Shared cache volumes: (volume, mount point).
pub const CACHE_VOLUMES: [(&str, &str); 3] = [
    ("clauderon-cargo-registry", "/workspace/.cargo/registry"),
    ("clauderon-cargo-git", "/workspace/.cargo/git"),
    ("clauderon-sccache", "/workspace/.cache/sccache"),
];

pub mod label {
    pub const SESSION: &str = "clauderon.session";
    pub const ID: &str = "clauderon.id";
    pub const BACKEND: &str = "clauderon.backend";
    pub const AGENT: &str = "clauderon.agent";
    pub const REPO: &str = "clauderon.repo";
    pub const WORKTREE: &str = "clauderon.worktree";
    /// Which clauderon home owns the container, so homes do not see each other's sessions.
    pub const HOME: &str = "clauderon.home";
}

impl Engine {
    pub fn for_kind(kind: BackendKind) -> Engine {
        match kind {
            BackendKind::Docker => DOCKER,
            BackendKind::Podman => PODMAN,
        }
    }

    /// This engine's `classify` as a plain function, for plan steps.
    pub fn classifier(&self) -> Classify {
        match self.kind {
            BackendKind::Docker => |f| DOCKER.classify(f),
            BackendKind::Podman => |f| PODMAN.classify(f),
        }
    }

    pub fn cmd(&self) -> Cmd {
        Cmd::new([self.program])
    }

    /// Turns an engine failure into an error that names the fix.
    pub fn classify(&self, f: Failure) -> Error {
        let err = &f.stderr;
        let has = |m: &str| err.contains(m);
        if f.not_found {
            return Error::failed(format!(
                "`{}` is not installed or not in PATH",
                self.program
            ))
            .with_fix(self.install_fix);
        }
        if has("Cannot connect to the Docker daemon")
            || has("Is the docker daemon running")
            || has("error during connect")
            || has("Cannot connect to Podman")
            || has("unable to connect to Podman")
        {
            return Error::failed(format!("the {} engine is not running", self.program))
                .with_fix(self.daemon_fix);
        }
        if has("permission denied") && (has(".sock") || has("daemon socket")) {
            return Error::failed(format!(
                "permission denied talking to the {} engine",
                self.program
            ))
            .with_fix(self.permission_fix);
        }
        if has("No such image")
            || has("Unable to find image")
            || has("pull access denied")
            || has("repository does not exist")
            || has("manifest unknown")
            || has("not found: manifest")
            || has("image not known")
            || has("short-name")
            || has("unqualified-search")
        {
            return Error::failed(format!("image not available: {}", f.stderr_tail())).with_fix(format!(
                "check the image name; build or load it locally, or log in to its registry (`{0} login`); with --pull-policy never it must already be local (`{0} images`)",
                self.program
            ));
        }
        if has("is already in use by container")
            || (has("is already in use") && has("container name"))
        {
            return Error::failed(format!(
                "container name already in use: {}",
                f.stderr_tail()
            ))
            .with_fix(
                "pick another --name, or remove the old container with `docker rm -f <name>`",
            );
        }
        f.into_error()
    }

    pub fn is_no_such_container(f: &Failure) -> bool {
        f.stderr.contains("No such container") || f.stderr.contains("no such container")
    }

    pub fn is_no_such_image(f: &Failure) -> bool {
        let e = &f.stderr;
        e.contains("No such image") || e.contains("no such image") || e.contains("image not known")
    }

    /// How containers of this engine reach the host: (host-gateway value, rootless).
    pub fn host_network(&self) -> Result<(String, bool), Error> {
        if self.kind == BackendKind::Docker {
            return Ok(("host-gateway".into(), false));
        }
        let rootless = self
            .cmd()
            .args(["info", "--format", "{{.Host.Security.Rootless}}"])
            .run()
            .map_err(|f| self.classify(f))?
            .stdout
            .trim()
            == "true";
        if rootless {
            // slirp4netns maps this address to the host's loopback.
            return Ok(("10.0.2.2".into(), true));
        }
        let gateway = self
            .cmd()
            .args([
                "network",
                "inspect",
                "podman",
                "--format",
                "{{range .Subnets}}{{.Gateway}} {{end}}",
            ])
            .run()
            .map_err(|f| self.classify(f))?
            .stdout
            .split_whitespace()
            .next()
            .unwrap_or("10.88.0.1")
            .to_string();
        Ok((gateway, false))
    }

    /// `docker version`: the cheapest call that needs a reachable engine.
    pub fn version(&self) -> Cmd {
        self.cmd()
            .args(["version", "--format", "{{.Server.Version}}"])
    }

    pub fn pull(&self, image: &str) -> Cmd {
        self.cmd().args(["pull", image]).live()
    }

    pub fn image_exists(&self, image: &str) -> Cmd {
        self.cmd()
            .args(["image", "inspect", "--format", "{{.Id}}", image])
    }

    pub fn container_state(&self, container: &str) -> Cmd {
        self.cmd().args([
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            container,
        ])
    }

    /// "<status> <exit code>" of a container, for the start checks.
    fn exit_state(&self, container: &str) -> Cmd {
        self.cmd().args([
            "container",
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            container,
        ])
    }

    /// Waits for the on-create commands (see the entrypoint).
    pub fn wait_on_create(&self, container: &str, status: &Path) -> Step {
        Step::WaitOnCreate {
            status: status.to_path_buf(),
            state: self.exit_state(container),
            logs: self.logs(container, false, Some(40)),
            classify: self.classifier(),
        }
    }

    /// Fails the plan if the container dies right after `start`.
    pub fn verify_started(&self, container: &str) -> Step {
        Step::VerifyStarted {
            state: self.exit_state(container),
            logs: self.logs(container, false, Some(20)),
            classify: self.classifier(),
        }
    }

    /// Makes the shared cache volumes' roots belong to `uid:gid` (a
    /// throwaway root container from the session's image runs `chown`).
    pub fn own_cache_volumes(&self, image: &str, uid: u32, gid: u32) -> Cmd {
        let mut cmd = self.cmd().args([
            "run",
            "--rm",
            "--pull",
            "never",
            "--user",
            "0:0",
            "--entrypoint",
            "chown",
        ]);
        let mut targets = Vec::new();
        for (i, (volume, _)) in CACHE_VOLUMES.iter().enumerate() {
            let target = format!("/clauderon-cache/{i}");
            cmd = cmd.args(["--mount", &format!("type=volume,src={volume},dst={target}")]);
            targets.push(target);
        }
        cmd.arg(image).arg(format!("{uid}:{gid}")).args(targets)
    }

    pub fn start(&self, container: &str) -> Cmd {
        let cmd = self.cmd().args(["start", container]);
        if self.image_mounts {
            // Podman 4 can lose an image mount's lower layer when another
            // container of the same image stops at that moment; a second
            // start succeeds.
            cmd.retry_once_on("error mounting")
        } else {
            cmd
        }
    }

    pub fn stop(&self, container: &str) -> Cmd {
        self.cmd().args(["stop", container])
    }

    pub fn remove(&self, container: &str) -> Cmd {
        self.cmd().args(["rm", "--force", container])
    }

    pub fn rename(&self, from: &str, to: &str) -> Cmd {
        self.cmd().args(["rename", from, to])
    }

    /// Signals of the attached terminal (closing it) must not reach the agent.
    pub fn attach(&self, container: &str) -> Cmd {
        self.cmd().args(["attach", "--sig-proxy=false", container])
    }

    pub fn logs(&self, container: &str, follow: bool, tail: Option<u64>) -> Cmd {
        let mut cmd = self.cmd().arg("logs");
        if follow {
            cmd = cmd.arg("--follow");
        }
        if let Some(n) = tail {
            cmd = cmd.args(["--tail", &n.to_string()]);
        }
        cmd.arg(container)
    }

    /// One call that lists every session container of a clauderon home.
    pub fn list_sessions(&self, home: &Home) -> Cmd {
        let filter = format!("label={}={}", label::HOME, home.root.display());
        let cmd = self
            .cmd()
            .args(["ps", "--all", "--no-trunc", "--filter", &filter, "--format"]);
        match self.kind {
            BackendKind::Docker => cmd.arg(format!(
                "{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Status}}}}\t{}",
                self.ps_session_label
            )),
            // Podman's table `.State` is prose ("Up 3 minutes"); its JSON has the state.
            BackendKind::Podman => cmd.arg("json"),
        }
    }

    /// (container name, state, status text, session label) from `list_sessions`.
    pub fn parse_sessions(&self, stdout: &str) -> Vec<(String, String, String, String)> {
        match self.kind {
            BackendKind::Docker => stdout
                .lines()
                .filter_map(|line| {
                    let mut f = line.split('\t');
                    let name = f.next()?.to_string();
                    let state = f.next()?.to_string();
                    Some((
                        name,
                        state,
                        f.next().unwrap_or("").to_string(),
                        f.next().unwrap_or("").to_string(),
                    ))
                })
                .collect(),
            BackendKind::Podman => {
                let all: Vec<serde_json::Value> =
                    serde_json::from_str(stdout.trim()).unwrap_or_default();
                all.iter()
                    .filter_map(|c| {
                        let name = c["Names"].get(0)?.as_str()?.to_string();
                        let text = |k: &str| c[k].as_str().unwrap_or("").to_string();
                        let label = c["Labels"][label::SESSION]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        Some((name, text("State"), text("Status"), label))
                    })
                    .collect()
            }
        }
    }

    /// `docker create` for a session: the whole container, from the spec.
    pub fn create(&self, spec: &SessionSpec, home: &Home, wiring: &Wiring) -> Cmd {
        let mut cmd = self
            .cmd()
            .args(["create", "--name", &spec.container_name()])
            // A terminal and open stdin, so `attach` can talk to the agent.
            .args(["--interactive", "--tty", "--init"])
            .args(self.label_args(spec, home))
            .args(self.user_args(spec, wiring))
            .args(self.host_args(wiring))
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
        cmd.args(["--entrypoint", "bash", &spec.image])
            .arg(format!("{CONTAINER_SESSION_DIR}/entrypoint.sh"))
            .live()
    }

    /// Run as the invoking user. Rootless Podman maps that user into the
    /// container (`keep-id`), so files in /workspace stay the user's.
    fn user_args(&self, spec: &SessionSpec, wiring: &Wiring) -> Vec<String> {
        let mut args = vec!["--user".to_string(), format!("{}:{}", spec.uid, spec.gid)];
        if wiring.rootless {
            args.insert(0, "--userns=keep-id".into());
        }
        args
    }

    /// Names for the host inside the container. Docker resolves
    /// `host-gateway` itself; Podman gets the bridge gateway's address (or
    /// slirp4netns' host loopback when rootless).
    fn host_args(&self, wiring: &Wiring) -> Vec<String> {
        let mut args = Vec::new();
        if wiring.rootless {
            args.extend([
                "--network".to_string(),
                "slirp4netns:allow_host_loopback=true".to_string(),
            ]);
        }
        for name in [DOCKER.host_alias, self.host_alias] {
            let entry = format!("{name}:{}", wiring.host_gateway);
            if !args.contains(&entry) {
                args.extend(["--add-host".to_string(), entry]);
            }
        }
        args
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
        for (volume, target) in CACHE_VOLUMES {
            mounts.push(format!("type=volume,src={volume},dst={target}"));
        }
        mounts
            .into_iter()
            .flat_map(|m| ["--mount".to_string(), m])
            .collect()
    }

    fn add_env(&self, mut cmd: Cmd, spec: &SessionSpec, wiring: &Wiring) -> Cmd {
        let mut env: Vec<(String, String)> = vec![
            ("HOME".into(), "/workspace".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("CARGO_HOME".into(), "/workspace/.cargo".into()),
            ("SCCACHE_DIR".into(), "/workspace/.cache/sccache".into()),
            ("CLAUDERON_SESSION_ID".into(), spec.id.clone()),
            ("CLAUDERON_SESSION".into(), spec.name.clone()),
            // Where the hook script finds the daemon.
            ("CLAUDERON_HOST".into(), self.host_alias.into()),
            ("CLAUDERON_HTTP_PORT".into(), wiring.http_port.to_string()),
        ];
        // The worktree's registration lives in the shared .git but its path
        // is a host path: stop git in the container from pruning it.
        let mut git_config = vec![("gc.worktreePruneExpire", "never"), ("safe.directory", "*")];
        if wiring.proxy.is_some() {
            // git asks this helper after GitHub's 401 and sends the placeholder,
            // which the proxy swaps for the real token.
            git_config.push((
                "credential.https://github.com.helper",
                GIT_CREDENTIAL_HELPER,
            ));
        }
        env.push(("GIT_CONFIG_COUNT".into(), git_config.len().to_string()));
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
        env.extend(agent::agent_env(spec));
        if spec.agent_cli_image.is_some() {
            // The entrypoint puts it first in PATH.
            env.push(("CLAUDERON_AGENT_DIR".into(), CONTAINER_AGENT_DIR.into()));
        }
        let mut secret_env: Vec<(String, String)> = Vec::new();
        if let Some(proxy) = &wiring.proxy {
            let url = format!(
                "http://{}:{}@{}:{}",
                spec.name, spec.hook_token, self.host_alias, proxy.port
            );
            for k in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                secret_env.push((k.into(), url.clone()));
            }
            let no_proxy = if self.host_alias == DOCKER.host_alias {
                format!("localhost,127.0.0.1,{}", self.host_alias)
            } else {
                format!(
                    "localhost,127.0.0.1,{},{}",
                    self.host_alias, DOCKER.host_alias
                )
            };
            env.push(("NO_PROXY".into(), no_proxy.clone()));
            env.push(("no_proxy".into(), no_proxy));
            for (k, v) in placeholders(spec, proxy) {
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
        }
        for (k, v) in env {
            cmd = cmd.args(["--env", &format!("{k}={v}")]);
        }
        for (k, v) in &secret_env {
            // Holds the session's proxy token: passed through docker's own
            // environment, so it is not in argv (`ps`) nor in dry-run output.
            cmd = cmd.args(["--env", k.as_str()]).secret_env(k, v);
        }
        for (k, v) in &spec.env {
            if looks_secret(k) {
                // The value reaches docker through its own environment, so it
                // is not in argv (`ps`) nor in dry-run output.
                cmd = cmd.args(["--env", k.as_str()]).secret_env(k, v);
            } else {
                cmd = cmd.args(["--env", &format!("{k}={v}")]);
            }
        }
        cmd
    }
}

/// Where a mounted agent CLI image appears in the container.
pub const CONTAINER_AGENT_DIR: &str = "/opt/clauderon-agent";

/// Where the proxy's CA and the trust bundle are mounted in containers.
pub const CONTAINER_CA: &str = "/etc/clauderon/proxy-ca.pem";
pub const CONTAINER_CA_BUNDLE: &str = "/etc/clauderon/proxy-ca-bundle.pem";

const GIT_CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get && echo username=x-access-token && echo \"password=${GH_TOKEN:-clauderon-proxy}\"; }; f";

/// The placeholder credentials a session's container holds.
fn placeholders(spec: &SessionSpec, proxy: &ProxyWiring) -> Vec<(&'static str, &'static str)> {
    let mut p = vec![
        ("GH_TOKEN", GITHUB_PLACEHOLDER),
        ("GITHUB_TOKEN", GITHUB_PLACEHOLDER),
    ];
    match spec.agent {
        Agent::Claude if proxy.anthropic_api_key => {
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

    #[test]
    fn engine_errors_name_the_fix() {
        let f = |stderr: &str| Failure {
            shown: "docker x".into(),
            short: "docker x".into(),
            code: Some(1),
            stderr: stderr.into(),
            not_found: false,
        };
        let e = DOCKER.classify(f("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"));
        assert!(e.fix.unwrap().contains("docker info"));
        let e = DOCKER.classify(f("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"));
        assert!(e.fix.unwrap().contains("usermod"));
        let e = DOCKER.classify(f("Error: No such image: nope:1"));
        assert!(e.message.contains("nope:1"));
    }
}
