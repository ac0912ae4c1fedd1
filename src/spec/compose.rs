//! What a compose session records (see `backend::compose` for its plans).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which program speaks compose for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// `docker compose` (the CLI plugin, Compose v2).
    DockerPlugin,
    /// `docker-compose` (Compose v1, Debian's 1.29).
    DockerCompose,
    /// `podman-compose` (Debian's 1.0.3): no `config`, no `ps --format`,
    /// no networks removed by `down` (see `podman`).
    PodmanCompose,
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
    /// Every service, in the file's order (podman-compose: the containers
    /// whose addresses go into the hosts file).
    #[serde(default)]
    pub services: Vec<String>,
    /// The agent service's keys the user wrote as strings, which the
    /// override writes as strings too (podman-compose; see
    /// `podman::shell_forms`).
    #[serde(default)]
    pub shell_form: Vec<String>,
    /// The agent service's bind mounts of the repository, mounted from the
    /// worktree instead (see `backend::compose::repo_binds`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_binds: Vec<RepoBind>,
}

/// A bind mount of a path of the repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoBind {
    /// The source, relative to the repository's root (empty: the root).
    pub path: PathBuf,
    /// What follows the source, as written: `TARGET[:MODE]`.
    pub mount: String,
}
