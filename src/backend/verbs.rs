//! The plans of `create`, `start`, `refresh` and `delete`, asked of a
//! session's `Backend`: a command gathers the facts (the wiring, the
//! container's state), calls one of these, and prints or runs the plan.
//! Each backend's steps are in its own module (`oci`, `compose`,
//! `kubernetes`); this file only picks one.

use std::path::PathBuf;

use super::kubernetes;
use super::kubernetes::manifests::KubeWiring;
use super::oci::create::Extras;
use super::{Backend, ContainerState, Wiring};
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::store::Home;

/// How a session is wired to its daemon: on this host (Docker, Podman,
/// compose) or in its cluster (Kubernetes).
pub enum Wired<'w> {
    Host(&'w Wiring),
    Cluster(&'w KubeWiring),
}

/// What `create` needs besides the spec.
pub struct CreateFacts<'w> {
    pub wired: Wired<'w>,
    /// The line to append to the repository's exclude file (host backends).
    pub exclude: Option<(PathBuf, Vec<u8>)>,
    pub extras: Extras,
    /// A cluster's first create runs `kube setup` first: its steps.
    pub setup: Plan,
}

/// What `refresh` needs besides the spec.
pub struct RefreshFacts<'w> {
    pub wired: Wired<'w>,
    /// The container's state (host backends).
    pub state: ContainerState,
    /// Pull the image first (Docker, Podman).
    pub pull: bool,
    /// The record to write first, when the session's token was renewed
    /// (Kubernetes: the namespace's keys were made again).
    pub renewed: Option<SessionSpec>,
}

/// What `delete` needs besides the spec.
pub struct DeleteFacts {
    /// The container's state (host backends).
    pub state: ContainerState,
    pub delete_branch: bool,
    /// Kubernetes: drop the agent's commits instead of fetching them.
    pub discard: bool,
    /// Kubernetes with `discard`: an unreachable cluster does not keep the record.
    pub force: bool,
}

fn mismatch(verb: &str) -> Error {
    Error::failed(format!(
        "internal error: {verb} was given the wiring of another backend"
    ))
}

impl Backend<'_> {
    /// The plan of `create`, each step with its undo. Pure: the same spec
    /// and facts give the same plan, which the snapshot tests pin.
    pub fn create(&self, spec: &SessionSpec, home: &Home, facts: CreateFacts) -> Result<Plan> {
        match (self, facts.wired) {
            (Backend::Oci(engine) | Backend::Compose(engine, _), Wired::Host(wiring)) => {
                Ok(super::oci::create::create_plan_with(
                    spec,
                    home,
                    engine,
                    facts.exclude,
                    wiring,
                    facts.extras,
                ))
            }
            (Backend::Kube(..), Wired::Cluster(wiring)) => {
                kubernetes::create::create_plan(spec, home, wiring, facts.setup)
            }
            _ => Err(mismatch("create")),
        }
    }

    /// The steps that start a stopped session: its container; its compose
    /// project (and podman-compose's hosts file); its pod applied again
    /// (`replace`: the ended pod deleted first).
    pub fn start(
        &self,
        spec: &SessionSpec,
        cluster: Option<&KubeWiring>,
        replace: bool,
    ) -> Result<Plan> {
        let mut plan = Plan::default();
        match self {
            Backend::Oci(engine) => {
                for step in engine.start_steps(&spec.container_name(), &spec.worktree) {
                    plan.push(step);
                }
            }
            Backend::Compose(engine, c) => {
                for step in c.start_steps(spec, engine) {
                    plan.push(step);
                }
            }
            Backend::Kube(kubectl, k) => {
                let wiring = cluster.ok_or_else(|| mismatch("start"))?;
                return Ok(kubernetes::start::start_plan(
                    spec,
                    k,
                    kubectl,
                    wiring,
                    (replace, false),
                ));
            }
        }
        Ok(plan)
    }

    /// The steps of `attach` on a stopped session, before the attach
    /// itself: its container started, or its whole compose project
    /// without the readiness check (attach shows the agent itself).
    pub fn start_for_attach(&self, spec: &SessionSpec) -> Vec<Step> {
        match self {
            Backend::Oci(engine) => {
                let start = engine.start(&spec.container_name());
                vec![Step::run_cmd(start, engine.classifier())]
            }
            Backend::Compose(engine, c) => (c.start_steps(spec, engine).into_iter())
                .filter(|step| !matches!(step, Step::VerifyStarted { .. }))
                .collect(),
            Backend::Kube(..) => Vec::new(),
        }
    }

    /// The plan of `refresh`: a new container from the recorded spec (the
    /// old one set aside until it runs); the agent's compose service
    /// recreated alone; a new pod.
    pub fn refresh(&self, spec: &SessionSpec, home: &Home, facts: RefreshFacts) -> Result<Plan> {
        match (self, facts.wired) {
            (Backend::Oci(engine), Wired::Host(wiring)) => Ok(super::oci::refresh::refresh_plan(
                spec,
                home,
                engine,
                &facts.state,
                facts.pull,
                wiring,
            )),
            (Backend::Compose(engine, c), Wired::Host(wiring)) => Ok(
                super::compose::refresh::refresh_plan(spec, home, engine, wiring, c),
            ),
            (Backend::Kube(kubectl, k), Wired::Cluster(wiring)) => {
                let mut plan = Plan::default();
                if let Some(renewed) = &facts.renewed {
                    plan.push(super::record::record_step(renewed, home));
                }
                let pod = kubernetes::start::start_plan(spec, k, kubectl, wiring, (true, true));
                plan.steps.extend(pod.steps);
                Ok(plan)
            }
            _ => Err(mismatch("refresh")),
        }
    }

    /// The plan of `delete`: the container or compose project, the
    /// worktree, the session's directories; the agent's commits fetched
    /// from the pod first (unless discarded), then its objects.
    pub fn delete(&self, spec: &SessionSpec, home: &Home, facts: DeleteFacts) -> Plan {
        match self {
            Backend::Oci(engine) | Backend::Compose(engine, _) => super::oci::delete::delete_plan(
                spec,
                home,
                engine,
                &facts.state,
                facts.delete_branch,
            ),
            Backend::Kube(kubectl, k) => kubernetes::delete::delete_plan(
                spec,
                home,
                k,
                kubectl,
                (facts.discard, facts.force, facts.delete_branch),
            ),
        }
    }
}
