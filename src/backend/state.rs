//! One container's state, asked of its engine: what `start`, `attach`,
//! `refresh` and `delete` decide their plans from.

use crate::backend::Backend;
use crate::backend::kubernetes;
use crate::backend::oci::Engine;
use crate::error::Result;
use crate::plan::{Mode, Plan};
use crate::session::SessionSpec;

/// What the engine says about a container, when it can be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// "running", "exited", "created", "paused", ...
    Present(String),
    Missing,
    /// The engine could not be asked (only tolerated in dry-run).
    Unknown,
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Present(s) if s == "running")
    }
}

/// The container's state, in one engine call; in dry-run an unreachable
/// engine is noted in the plan instead of failing.
pub fn observe_container(
    engine: &Engine,
    container: &str,
    mode: Mode,
    plan: &mut Plan,
) -> Result<ContainerState> {
    match engine.container_state(container).run() {
        Ok(out) => Ok(ContainerState::Present(out.stdout.trim().to_string())),
        Err(f) if Engine::is_no_such_container(&f) => Ok(ContainerState::Missing),
        Err(f) if mode.is_dry_run() => {
            plan.note(format!(
                "{} is not reachable ({}): assuming container {container} exists and is running",
                engine.program,
                engine.classify(f).message
            ));
            Ok(ContainerState::Unknown)
        }
        Err(f) => Err(engine.classify(f)),
    }
}

impl Backend<'_> {
    /// The session's container (its pod) as its engine (its cluster) sees
    /// it now, in one call. In a dry run an unreachable engine is noted in
    /// the plan, and a cluster is not asked (dry runs never call kubectl).
    pub fn observe_session(
        &self,
        spec: &SessionSpec,
        mode: Mode,
        plan: &mut Plan,
    ) -> Result<ContainerState> {
        match self {
            Backend::Oci(engine) | Backend::Compose(engine, _) => {
                observe_container(engine, &spec.container_name(), mode, plan)
            }
            Backend::Kube(..) if mode.is_dry_run() => Ok(ContainerState::Unknown),
            Backend::Kube(kubectl, _) => Ok(match kubernetes::observe::pod(spec, kubectl)? {
                None => ContainerState::Missing,
                Some(pod) => ContainerState::Present(kubernetes::status::summary(&pod).0),
            }),
        }
    }
}
