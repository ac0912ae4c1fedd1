//! A session's backend, built from its spec: what a command asks for the
//! plan of a verb or the step of `attach` and `logs`, instead of matching
//! on the kind of backend and the compose spec itself.

use super::compose::ComposeSpec;
use super::engine::Engine;
use super::kubernetes::{self, KubeSpec, Kubectl, object_name};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Classify, Plan, Step};
use crate::session::{BackendKind, SessionSpec};

/// The backend a recorded session runs on.
pub enum Backend<'s> {
    /// One container on Docker or Podman.
    Oci(Engine),
    /// The agent's service in a compose project on Docker or Podman.
    Compose(Engine, &'s ComposeSpec),
    /// A pod in a Kubernetes namespace.
    Kube(Kubectl, &'s KubeSpec),
}

impl<'s> Backend<'s> {
    pub fn of(spec: &'s SessionSpec) -> Result<Backend<'s>> {
        if spec.backend == BackendKind::Kubernetes {
            let k = recorded_kube_spec(spec)?;
            return Ok(Backend::Kube(Kubectl::for_spec(k), k));
        }
        let engine = Engine::for_kind(spec.backend)?;
        Ok(match &spec.compose {
            Some(c) => Backend::Compose(engine, c),
            None => Backend::Oci(engine),
        })
    }

    /// Reads a failed call of this backend's program.
    pub fn classifier(&self) -> Classify {
        match self {
            Backend::Oci(engine) | Backend::Compose(engine, _) => engine.classifier(),
            Backend::Kube(..) => kubernetes::classify,
        }
    }

    /// `stop`, one call: the container; the whole compose project (the
    /// agent's dependencies stop with it); the pod, deleted (its volume,
    /// files and secret stay, so `start` applies it again).
    pub fn stop(&self, spec: &SessionSpec) -> Plan {
        let cmd = match self {
            Backend::Oci(engine) => engine.stop(&spec.container_name()),
            Backend::Compose(_, compose) => compose.stop(spec),
            Backend::Kube(kubectl, _) => kubectl.delete_pod(&object_name(&spec.name)),
        };
        let mut plan = Plan::default();
        plan.push(Step::run_cmd(cmd, self.classifier()));
        plan
    }

    /// `attach`: the agent's terminal.
    pub fn attach(&self, spec: &SessionSpec) -> Step {
        Step::Interactive {
            cmd: self.attach_cmd(spec),
            fix: None,
        }
    }

    /// The command of `attach`'s step (a Kubernetes dry run prints it alone).
    pub fn attach_cmd(&self, spec: &SessionSpec) -> Cmd {
        match self {
            Backend::Oci(engine) | Backend::Compose(engine, _) => {
                engine.attach(&spec.container_name())
            }
            Backend::Kube(kubectl, _) => kubectl.attach(&object_name(&spec.name)),
        }
    }

    /// `logs`: the agent's output, followed with `follow`.
    pub fn logs(&self, spec: &SessionSpec, follow: bool, tail: Option<u64>) -> Step {
        let cmd = match self {
            Backend::Oci(engine) | Backend::Compose(engine, _) => {
                engine.logs(&spec.container_name(), follow, tail)
            }
            Backend::Kube(kubectl, _) => kubectl.logs(&object_name(&spec.name), follow, tail),
        };
        Step::Interactive { cmd, fix: None }
    }
}

/// The Kubernetes part of a kubernetes session's record.
pub fn recorded_kube_spec(spec: &SessionSpec) -> Result<&KubeSpec> {
    spec.kubernetes.as_ref().ok_or_else(|| {
        Error::failed(format!(
            "the record of session '{}' has no kubernetes context and namespace",
            spec.name
        ))
        .with_fix(format!(
            "remove it with `clauderon delete --discard {}` and create it again",
            spec.name
        ))
    })
}
