//! The OCI engines (Docker and Podman) as data: their binaries, how they
//! differ, how their errors map to fixes, and the small commands every
//! session needs (start, stop, logs, list, ...).

use std::path::{Path, PathBuf};

/// Written by the entrypoint (in the worktree) when it hands over to the agent.
pub const READY_MARKER: &str = ".clauderon/ready";

use crate::error::Error;
use crate::exec::{Cmd, Failure};
use crate::plan::{Classify, Step};
use crate::session::BackendKind;
use crate::store::Home;

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
    /// A session's container is made and started by one `run --detach`.
    /// (Podman creates and starts separately: a start that loses an image
    /// mount is retried, see `start`.)
    pub one_call_run: bool,
    /// The host's address a dry run assumes when the engine cannot be asked
    /// (its rootful default).
    pub assumed_gateway: &'static str,
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
    one_call_run: true,
    assumed_gateway: "host-gateway",
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
    one_call_run: false,
    assumed_gateway: "10.88.0.1",
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
    /// The OCI engine of a backend; Kubernetes has none (no local
    /// containers, images or volumes), which is an error naming the fix.
    pub fn for_kind(kind: BackendKind) -> Result<Engine, Error> {
        match kind {
            BackendKind::Docker => Ok(DOCKER),
            BackendKind::Podman => Ok(PODMAN),
            BackendKind::Kubernetes => Err(Error::input(
                "this command works with the docker and podman backends; kubernetes has no local engine",
            )
            .with_fix("pass --backend docker or --backend podman")),
        }
    }

    /// Docker, else Podman (the only two engines).
    pub fn is_docker(&self) -> bool {
        self.kind == BackendKind::Docker
    }

    /// This engine's `classify` as a plain function, for plan steps.
    pub fn classifier(&self) -> Classify {
        if self.is_docker() {
            |f| DOCKER.classify(f)
        } else {
            |f| PODMAN.classify(f)
        }
    }

    /// The engine binary: only backends build its argv (see `queries`).
    pub(in crate::backend) fn cmd(&self) -> Cmd {
        Cmd::new([self.program])
    }

    pub fn is_no_such_container(f: &Failure) -> bool {
        f.stderr.contains("No such container") || f.stderr.contains("no such container")
    }

    pub fn is_no_such_image(f: &Failure) -> bool {
        let e = &f.stderr;
        e.contains("No such image") || e.contains("no such image") || e.contains("image not known")
    }

    /// `docker version`: the cheapest call that needs a reachable engine.
    /// Docker's also names its platform, which says Docker Desktop.
    pub fn version(&self) -> Cmd {
        let format = if self.is_docker() {
            "{{.Server.Version}} {{.Server.Platform.Name}}"
        } else {
            "{{.Server.Version}}"
        };
        self.cmd().args(["version", "--format", format])
    }

    pub fn pull(&self, image: &str) -> Cmd {
        self.cmd().args(["pull", image]).live()
    }

    /// The image's registry digests, space-separated: none (Docker) or only
    /// `localhost/...` ones (Podman) for an image built or loaded here.
    pub fn image_repo_digests(&self, image: &str) -> Cmd {
        self.cmd().args([
            "image",
            "inspect",
            "--format",
            "{{range .RepoDigests}}{{.}} {{end}}",
            image,
        ])
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

    /// Waits for the on-create commands (see the entrypoint): their status
    /// file is `status`, relative to the worktree `root`.
    pub fn wait_on_create(
        &self,
        container: &str,
        root: &Path,
        status: &Path,
        timeout: std::time::Duration,
    ) -> Step {
        Step::WaitOnCreate {
            root: root.to_path_buf(),
            status: status.to_path_buf(),
            timeout,
            state: self.exit_state(container),
            logs: self.logs(container, false, Some(40)),
            classify: self.classifier(),
        }
    }

    /// Fails the plan if the container dies right after `start`; done as
    /// soon as the entrypoint, in the worktree `root`, says it handed over.
    pub fn verify_started(&self, container: &str, root: &Path) -> Step {
        Step::VerifyStarted {
            ready: Some((root.to_path_buf(), PathBuf::from(READY_MARKER))),
            state: self.exit_state(container),
            logs: self.logs(container, false, Some(20)),
            classify: self.classifier(),
        }
    }

    /// `start`, after removing the last start's readiness marker.
    pub fn start_steps(&self, container: &str, root: &Path) -> [Step; 3] {
        [
            Step::RemoveBelow {
                root: root.to_path_buf(),
                relative: PathBuf::from(READY_MARKER),
            },
            Step::run_cmd(self.start(container), self.classifier()),
            self.verify_started(container, root),
        ]
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
            // Root, but with nothing besides chown and no network.
            "--network",
            "none",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CHOWN",
            "--security-opt",
            "no-new-privileges",
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

    /// Makes a shared cache volume (a compose session names them external,
    /// which compose does not create). Docker's create of an existing one
    /// is a no-op; Podman's fails with "already exists" (see
    /// `is_existing_volume`; 4.3 has no `--ignore`).
    pub fn create_cache_volume(&self, volume: &str) -> Cmd {
        self.cmd().args(["volume", "create", volume])
    }

    pub fn is_existing_volume(f: &Failure) -> bool {
        f.stderr.contains("already exists")
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

    /// Removes this session's container if it exists but is not running
    /// (a `run` that made it and failed to start it). Chosen by the
    /// session's unique id, never by name: a foreign container that holds
    /// the name is left alone.
    pub fn remove_failed(&self, session_id: &str) -> Cmd {
        let filter = format!("label={}={session_id}", label::ID);
        self.cmd()
            .args(["container", "prune", "--force", "--filter", &filter])
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
        if self.is_docker() {
            cmd.arg(format!(
                "{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Status}}}}\t{}",
                self.ps_session_label
            ))
        } else {
            // Podman's table `.State` is prose ("Up 3 minutes"); its JSON has the state.
            cmd.arg("json")
        }
    }

    /// (container name, state, status text, session label) from `list_sessions`.
    pub fn parse_sessions(&self, stdout: &str) -> Vec<(String, String, String, String)> {
        if self.is_docker() {
            stdout
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
                .collect()
        } else {
            {
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
}
