//! Compose sessions: the agent runs in one service of the user's compose
//! file, the file's other services beside it, in one compose project per
//! session (`clauderon-<name>`). Every compose argv is built here, and each
//! names the project, every `-f` and the generated override.

mod check;
pub mod create;
pub mod forward;
pub mod podman;
pub mod refresh;
mod render;
mod repo_binds;
mod sweep;

use std::path::{Path, PathBuf};

use crate::backend::engine::Engine;
use crate::backend::engine::READY_MARKER;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::Step;
use crate::session::SessionSpec;

pub use check::{Options, Project, inspect};
pub use podman::check as check_podman;
pub use render::{host_lines, override_file};
pub use sweep::sweep;
// The spec's part: what a compose session records.
pub use crate::spec::compose::{ComposeSpec, Tool};

/// The override's name in the session's directory.
pub const OVERRIDE_NAME: &str = "compose-override.json";

impl Tool {
    /// Docker: the plugin when `docker compose version` answers, else
    /// `docker-compose` on PATH. Podman: `podman-compose` on PATH. None is
    /// an error naming the package.
    pub fn detect(engine: &Engine) -> Result<Tool> {
        if !engine.is_docker() {
            return match on_path("podman-compose") {
                Some(_) => Ok(Tool::PodmanCompose),
                None => Err(Error::input("no compose tool found for podman").with_fix(
                    "install podman-compose (Debian/Ubuntu: `sudo apt install podman-compose`; elsewhere `pip install podman-compose`)",
                )),
            };
        }
        if Cmd::new(["docker", "compose", "version"]).run().is_ok() {
            return Ok(Tool::DockerPlugin);
        }
        if on_path("docker-compose").is_some() {
            return Ok(Tool::DockerCompose);
        }
        Err(Error::input("no compose tool found for docker").with_fix(
            "install docker-compose (Debian/Ubuntu: `sudo apt install docker-compose`) or Docker's compose plugin (`docker-compose-plugin`)",
        ))
    }

    /// The Python the tool itself runs on (its `#!` line), whose PyYAML
    /// reads the files as the tool does; else `python3` from PATH.
    pub fn python(self) -> String {
        let program = match self {
            Tool::DockerPlugin => None,
            Tool::DockerCompose => on_path("docker-compose"),
            Tool::PodmanCompose => on_path("podman-compose"),
        };
        program
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| interpreter(&bytes))
            .unwrap_or_else(|| "python3".into())
    }

    /// Without the credentials' variables: compose interpolates
    /// `${ANTHROPIC_API_KEY}` in a compose file (which the agent can edit)
    /// from its environment, into a service's.
    fn program(self) -> Cmd {
        match self {
            Tool::DockerPlugin => Cmd::new(["docker", "compose"]),
            Tool::DockerCompose => Cmd::new(["docker-compose"]),
            Tool::PodmanCompose => Cmd::new(["podman-compose"]),
        }
        .without_env(&crate::proxy::credentials::credential_env_vars())
    }

    /// `<tool> -p PROJECT -f FILE...`: what every call starts with.
    fn base(self, project: &str, files: &[PathBuf]) -> Cmd {
        let mut cmd = self.program().args(["--project-name", project]);
        for file in files {
            cmd = cmd.args(["--file".to_string(), file.display().to_string()]);
        }
        cmd
    }

    /// The merged, normalised config of the user's files, as YAML (what v1
    /// prints, and v2's default; see `yaml_to_json`). Docker's tools only:
    /// podman-compose has no `config` (see `podman::normalise`).
    pub fn config(self, project: &str, files: &[PathBuf]) -> Cmd {
        self.base(project, files).arg("config")
    }

    /// The services, in the order of the user's file (`config` sorts them).
    pub fn services(self, project: &str, files: &[PathBuf]) -> Cmd {
        self.base(project, files).args(["config", "--services"])
    }
}

/// `dir/program` of the first PATH directory that has it.
fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The interpreter of a `#!` line naming a Python (`/usr/bin/python3`, or
/// `/usr/bin/env python3`).
fn interpreter(script: &[u8]) -> Option<String> {
    let line = script.strip_prefix(b"#!")?.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let python = if first.ends_with("/env") {
        words.next()?
    } else {
        first
    };
    python.contains("python").then(|| python.to_string())
}

/// Compose v1 prints only YAML (PyYAML's, folded at 80 columns), and v2
/// prints it by default, so both are read the same way (a stand-in plugin
/// that forwards to v1 works too). v1 is itself Python with PyYAML, so
/// converting with the same library is exact where a hand-written YAML
/// reader would not be; the YAML goes in on stdin and the program is a
/// constant.
pub fn yaml_to_json(python: &str, yaml: &str) -> Cmd {
    Cmd::new([
        python,
        "-c",
        "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
    ])
    .stdin(yaml.as_bytes().to_vec(), "<compose config>".into())
}

impl ComposeSpec {
    pub fn project(spec: &SessionSpec) -> String {
        spec.container_name()
    }

    fn podman(&self) -> bool {
        self.tool == Tool::PodmanCompose
    }

    /// Every call on the session's project: its name, the user's files and
    /// the override.
    fn cmd(&self, spec: &SessionSpec) -> Cmd {
        let mut files = self.files.clone();
        files.push(self.override_file.clone());
        self.tool.base(&Self::project(spec), &files)
    }

    /// `up --detach` (of `service` alone with `--no-deps`). Secret variables
    /// reach compose through its environment (the override names them
    /// without a value). podman-compose 1.0.3 ignores `pids_limit`, so the
    /// limit goes to each of its `podman run`s (every service's).
    fn up_cmd(&self, spec: &SessionSpec, secrets: &[(String, String)], only: &[&str]) -> Cmd {
        let mut cmd = self.cmd(spec);
        if self.podman() {
            let pids = match spec.security.pids_limit {
                0 => -1,
                n => i64::from(n),
            };
            cmd = cmd.arg(format!("--podman-run-args=--pids-limit={pids}"));
        }
        cmd = cmd
            .args(["up", "--detach", "--no-color"])
            .args(only.iter().copied());
        for (name, value) in secrets {
            cmd = cmd.secret_env(name, value);
        }
        cmd.live()
    }

    /// `up` of the whole project; a failure shows the services' last lines.
    /// On podman-compose (whose `up` exits 0 whatever happened), then the
    /// check that every service started, which writes the hosts file.
    pub fn up_steps(
        &self,
        spec: &SessionSpec,
        engine: &Engine,
        secrets: &[(String, String)],
    ) -> Vec<Step> {
        let mut steps = vec![Step::RunWithLogs {
            cmd: self.up_cmd(spec, secrets, &[]),
            logs: self.logs_tail(spec, 20),
            classify: engine.classifier(),
        }];
        steps.extend(self.hosts_step(spec));
        steps
    }

    /// The agent's service recreated from the current override, the other
    /// services (and their data) left as they are. podman-compose's
    /// `--force-recreate` takes the dependencies down too, so there the
    /// agent's container is removed first and `up` makes it alone (its
    /// `podman run` of the running dependencies fails on their names and
    /// leaves them be).
    pub fn recreate_steps(
        &self,
        spec: &SessionSpec,
        engine: &Engine,
        secrets: &[(String, String)],
    ) -> Vec<Step> {
        let classify = engine.classifier();
        let service = self.service.as_str();
        if !self.podman() {
            let only = ["--no-deps", "--force-recreate", service];
            return vec![Step::RunWithLogs {
                cmd: self.up_cmd(spec, secrets, &only),
                logs: self.logs_tail(spec, 20),
                classify,
            }];
        }
        let mut steps = vec![
            Step::Run {
                cmd: engine.remove(&spec.container_name()),
                classify,
                tolerate: Some(crate::plan::Tolerate::If(Engine::is_no_such_container)),
            },
            Step::RunWithLogs {
                cmd: self.up_cmd(spec, secrets, &["--no-deps", service]),
                logs: self.logs_tail(spec, 20),
                classify,
            },
        ];
        steps.extend(self.hosts_step(spec));
        steps
    }

    /// The hosts file mounted in every service (podman-compose only).
    pub fn hosts_file(&self) -> Option<PathBuf> {
        self.podman()
            .then(|| self.override_file.with_file_name(podman::HOSTS_NAME))
    }

    fn hosts_step(&self, spec: &SessionSpec) -> Option<Step> {
        let path = self.hosts_file()?;
        let project = Self::project(spec);
        let containers = (self.services.iter())
            .map(|s| match s == &self.service {
                true => spec.container_name(),
                false => podman::container_name(&project, s),
            })
            .collect();
        Some(Step::ComposeHosts {
            containers,
            base: path.with_extension("base"),
            path,
        })
    }

    /// The project, its networks and its volumes (named ones too); from the
    /// override alone when the user's files are gone (it names the agent's
    /// service with its image, every network and named volume; the other
    /// services' containers go as orphans). podman-compose's leftovers
    /// (see `podman::leftovers`) go after it.
    pub fn down_steps(
        &self,
        spec: &SessionSpec,
        engine: &Engine,
        from_override: bool,
    ) -> Vec<Step> {
        let project = Self::project(spec);
        let cmd = match from_override {
            true => self
                .tool
                .base(&project, std::slice::from_ref(&self.override_file)),
            false => self.cmd(spec),
        };
        let mut steps = vec![Step::run_cmd(self.tool.down(cmd), engine.classifier())];
        steps.extend(self.tool.leftovers(&project, &self.networks, engine));
        steps
    }

    /// Whether every one of the user's compose files is still there.
    pub fn files_exist(&self) -> bool {
        self.files.iter().all(|f| f.is_file())
    }

    pub fn stop(&self, spec: &SessionSpec) -> Cmd {
        self.cmd(spec).arg("stop").live()
    }

    /// `start` of the whole project, after removing the last start's
    /// readiness marker, then (podman-compose) the hosts file, and the
    /// agent's check.
    pub fn start_steps(&self, spec: &SessionSpec, engine: &Engine) -> Vec<Step> {
        let mut steps = vec![
            Step::RemoveBelow {
                root: spec.worktree.clone(),
                relative: PathBuf::from(READY_MARKER),
            },
            Step::run_cmd(self.cmd(spec).arg("start").live(), engine.classifier()),
        ];
        steps.extend(self.hosts_step(spec));
        steps.push(engine.verify_started(&spec.container_name(), &spec.worktree));
        steps
    }

    /// The last lines of every service's output (for a failed `up`).
    pub fn logs_tail(&self, spec: &SessionSpec, lines: u32) -> Cmd {
        let cmd = self.cmd(spec).arg("logs");
        // podman-compose's `logs` has no --no-color.
        let cmd = if self.podman() {
            cmd
        } else {
            cmd.arg("--no-color")
        };
        cmd.arg(format!("--tail={lines}"))
    }
}

impl Tool {
    /// `down` with the volumes; compose v1/v2 also remove orphans
    /// (podman-compose has no such option: see `leftovers`).
    fn down(self, base: Cmd) -> Cmd {
        let cmd = base.args(["down", "--volumes"]);
        match self {
            Tool::PodmanCompose => cmd.live(),
            _ => cmd.arg("--remove-orphans").live(),
        }
    }

    /// What `down` leaves, removed by label; nothing for Docker's tools.
    fn leftovers(self, project: &str, networks: &[String], engine: &Engine) -> Vec<Step> {
        if self != Tool::PodmanCompose {
            return Vec::new();
        }
        (podman::leftovers(project, networks).into_iter())
            .map(|cmd| Step::Run {
                cmd,
                classify: engine.classifier(),
                tolerate: Some(crate::plan::Tolerate::If(|_| true)),
            })
            .collect()
    }
}

/// `down` of a session's project from its override alone, for a session
/// whose record is gone or broken (an interrupted create): the override
/// names the project's networks, volumes and the agent's service, and the
/// other services go as orphans. With no compose tool, nothing to run.
pub fn down_unrecorded(engine: &Engine, session: &str, override_file: &Path) -> Vec<Step> {
    // The hosts file, written before the override, is podman-compose's.
    let podman = override_file.with_file_name(podman::HOSTS_NAME).exists();
    let Ok(tool) = Tool::detect(engine) else {
        return Vec::new();
    };
    if podman == engine.is_docker() {
        return Vec::new();
    }
    let project = crate::session::container_name(session);
    let base = tool.base(&project, &[override_file.to_path_buf()]);
    let mut steps = vec![Step::run_cmd(tool.down(base), engine.classifier())];
    // Without the record, the one network every project has.
    steps.extend(tool.leftovers(&project, &["default".to_string()], engine));
    steps
}

/// The project's containers and their states, one engine call by the
/// label compose puts on them (see `parse_service_states`). Podman's table
/// `.State` is prose ("Up 3 minutes"); its JSON has the state.
pub fn service_states(engine: &Engine, project: &str) -> Cmd {
    let filter = format!("label=com.docker.compose.project={project}");
    let cmd = engine
        .cmd()
        .args(["ps", "--all", "--filter", &filter, "--format"]);
    match engine.is_docker() {
        true => cmd.arg("{{.Label \"com.docker.compose.service\"}}\t{{.State}}"),
        false => cmd.arg("json"),
    }
}

/// (service, state) pairs from `service_states`.
pub fn parse_service_states(engine: &Engine, stdout: &str) -> Vec<(String, String)> {
    if engine.is_docker() {
        return (stdout.lines())
            .filter_map(|l| l.split_once('\t'))
            .map(|(name, state)| (name.to_string(), state.to_string()))
            .collect();
    }
    let all: Vec<serde_json::Value> = serde_json::from_str(stdout.trim()).unwrap_or_default();
    (all.iter())
        .map(|c| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&c["Labels"]["com.docker.compose.service"]),
                text(&c["State"]),
            )
        })
        .collect()
}

/// Makes a file path absolute against `base` (the repository).
pub fn absolute(path: &Path, base: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
