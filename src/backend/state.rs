//! One container's state, asked of its engine: what `start`, `attach`,
//! `refresh` and `delete` decide their plans from.

use crate::backend::oci::Engine;
use crate::error::Result;
use crate::plan::{Mode, Plan};

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
