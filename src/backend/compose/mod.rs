//! Compose sessions: the agent runs in one service of the user's compose
//! file, the file's other services beside it, in one compose project per
//! session (`clauderon-<name>`). Every compose argv is built here, and each
//! names the project, every `-f` and the generated override.

mod check;
mod render;
mod sweep;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::engine::Engine;
use crate::backend::engine::READY_MARKER;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::Step;
use crate::session::SessionSpec;

pub use check::{Options, Project, inspect};
pub use render::override_file;
pub use sweep::sweep;

/// Which program speaks compose for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// `docker compose` (the CLI plugin, Compose v2).
    DockerPlugin,
    /// `docker-compose` (Compose v1, Debian's 1.29).
    DockerCompose,
}

/// What a compose session records: the user's files, the agent's service,
/// the tool, and the override clauderon wrote for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeSpec {
    /// Absolute paths, in the order given (later files override earlier).
    pub files: Vec<PathBuf>,
    pub service: String,
    pub tool: Tool,
    pub override_file: PathBuf,
    /// The project's networks (made internal in network mode proxy).
    pub networks: Vec<String>,
    /// The file's named volumes, declared in the override too, so that the
    /// override alone can take the project down.
    #[serde(default)]
    pub volumes: Vec<String>,
}

/// The override's name in the session's directory.
pub const OVERRIDE_NAME: &str = "compose-override.json";

impl Tool {
    /// The plugin when `docker compose version` answers, else
    /// `docker-compose` on PATH; neither is an error naming the package.
    pub fn detect(engine: &Engine) -> Result<Tool> {
        if !engine.is_docker() {
            return Err(Error::input(
                "compose sessions run on the docker backend for now (podman-compose is not supported yet)",
            )
            .with_fix("pass --backend docker, or drop --compose"));
        }
        if Cmd::new(["docker", "compose", "version"]).run().is_ok() {
            return Ok(Tool::DockerPlugin);
        }
        let on_path = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|d| d.join("docker-compose").is_file())
        });
        if on_path {
            return Ok(Tool::DockerCompose);
        }
        Err(Error::input("no compose tool found for docker").with_fix(
            "install docker-compose (Debian/Ubuntu: `sudo apt install docker-compose`) or Docker's compose plugin (`docker-compose-plugin`)",
        ))
    }

    fn program(self) -> Cmd {
        match self {
            Tool::DockerPlugin => Cmd::new(["docker", "compose"]),
            Tool::DockerCompose => Cmd::new(["docker-compose"]),
        }
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
    /// prints, and v2's default; see `yaml_to_json`).
    pub fn config(self, project: &str, files: &[PathBuf]) -> Cmd {
        self.base(project, files).arg("config")
    }

    /// The services, in the order of the user's file (`config` sorts them).
    pub fn services(self, project: &str, files: &[PathBuf]) -> Cmd {
        self.base(project, files).args(["config", "--services"])
    }
}

/// Compose v1 prints only YAML (PyYAML's, folded at 80 columns), and v2
/// prints it by default, so both are read the same way (a stand-in plugin
/// that forwards to v1 works too). v1 is itself Python with PyYAML, so
/// converting with the same library is exact where a hand-written YAML
/// reader would not be; the YAML goes in on stdin and the program is a
/// constant.
pub fn yaml_to_json(yaml: &str) -> Cmd {
    Cmd::new([
        "python3",
        "-c",
        "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
    ])
    .stdin(yaml.as_bytes().to_vec(), "<compose config>".into())
}

impl ComposeSpec {
    pub fn project(spec: &SessionSpec) -> String {
        spec.container_name()
    }

    /// Every call on the session's project: its name, the user's files and
    /// the override.
    fn cmd(&self, spec: &SessionSpec) -> Cmd {
        let mut files = self.files.clone();
        files.push(self.override_file.clone());
        self.tool.base(&Self::project(spec), &files)
    }

    /// `up --detach`: the project, the agent's service recreated from the
    /// override. Secret variables reach compose through its environment
    /// (the override names them without a value).
    pub fn up(&self, spec: &SessionSpec, secrets: &[(String, String)]) -> Cmd {
        let mut cmd = self.cmd(spec).args(["up", "--detach", "--no-color"]);
        for (name, value) in secrets {
            cmd = cmd.secret_env(name, value);
        }
        cmd.live()
    }

    /// The agent's service recreated from the current override, the other
    /// services (and their data) left as they are.
    pub fn recreate_agent(&self, spec: &SessionSpec, secrets: &[(String, String)]) -> Cmd {
        let mut cmd = self.cmd(spec).args([
            "up",
            "--detach",
            "--no-color",
            "--no-deps",
            "--force-recreate",
            &self.service,
        ]);
        for (name, value) in secrets {
            cmd = cmd.secret_env(name, value);
        }
        cmd.live()
    }

    /// The project, its networks and its volumes (named ones too).
    pub fn down(&self, spec: &SessionSpec) -> Cmd {
        self.cmd(spec)
            .args(["down", "--volumes", "--remove-orphans"])
            .live()
    }

    /// `down` from the override alone, for a session whose compose file is
    /// gone: it names the agent's service (with its image), every network
    /// and named volume; the other services' containers go as orphans.
    pub fn down_from_override(&self, spec: &SessionSpec) -> Cmd {
        let files = [self.override_file.clone()];
        self.tool
            .base(&Self::project(spec), &files)
            .args(["down", "--volumes", "--remove-orphans"])
            .live()
    }

    /// Whether every one of the user's compose files is still there.
    pub fn files_exist(&self) -> bool {
        self.files.iter().all(|f| f.is_file())
    }

    pub fn stop(&self, spec: &SessionSpec) -> Cmd {
        self.cmd(spec).arg("stop").live()
    }

    pub fn start(&self, spec: &SessionSpec) -> Cmd {
        self.cmd(spec).arg("start").live()
    }

    /// `start` of the whole project, after removing the last start's
    /// readiness marker, and the agent's check.
    pub fn start_steps(&self, spec: &SessionSpec, engine: &Engine) -> Vec<Step> {
        vec![
            Step::RemoveBelow {
                root: spec.worktree.clone(),
                relative: PathBuf::from(READY_MARKER),
            },
            Step::run_cmd(self.start(spec), engine.classifier()),
            engine.verify_started(&spec.container_name(), &spec.worktree),
        ]
    }

    /// The last lines of every service's output (for a failed `up`).
    pub fn logs_tail(&self, spec: &SessionSpec, lines: u32) -> Cmd {
        self.cmd(spec)
            .args(["logs", "--no-color", &format!("--tail={lines}")])
    }
}

/// `down` of a session's project from its override alone, for a session
/// whose record is gone or broken (an interrupted create): the override
/// names the project's networks, volumes and the agent's service, and the
/// other services go as orphans. With no compose tool, nothing to run.
pub fn down_unrecorded(engine: &Engine, session: &str, override_file: &Path) -> Option<Cmd> {
    let tool = Tool::detect(engine).ok()?;
    let project = crate::session::container_name(session);
    let cmd = tool.base(&project, &[override_file.to_path_buf()]).args([
        "down",
        "--volumes",
        "--remove-orphans",
    ]);
    Some(cmd.live())
}

/// The project's containers and their states, one engine call by the
/// label compose puts on them: `service<TAB>state` lines.
pub fn service_states(engine: &Engine, project: &str) -> Cmd {
    engine.cmd().args([
        "ps",
        "--all",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Label \"com.docker.compose.service\"}}\t{{.State}}",
    ])
}

/// Makes a file path absolute against `base` (the repository).
pub fn absolute(path: &Path, base: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
