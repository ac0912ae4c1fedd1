//! The parts of a session's spec that its backends, the executor and the
//! commands all read: the kinds of agent and backend, the agent's options,
//! the compose and Kubernetes sub-specs and the extra mounts. Data only:
//! nothing here imports a module above `spec` (see `docs/architecture.md`).

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod agent_options;
pub mod compose;
pub mod devcontainer;
pub mod host_policy;
pub mod kubernetes;
pub mod landing;
pub mod mcp;
pub mod mounts;
pub mod secret_source;
pub mod user_config;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    Claude,
    Codex,
}

impl Agent {
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Docker,
    Podman,
    Kubernetes,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Docker => "docker",
            BackendKind::Podman => "podman",
            BackendKind::Kubernetes => "kubernetes",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
