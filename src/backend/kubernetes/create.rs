//! The plan of a kubernetes create: the branch on the host, the session's
//! manifests applied, the pod waited for, the branch pushed in. Every
//! step that makes something has its undo.

use super::manifests::{KubeWiring, session_manifests};
use super::start::{wait_ready, wait_running};
use super::{KubeSpec, Kubectl, classify, transport};
use crate::backend::record::{record_step, reserve_session_dir};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::store::Home;

/// The steps of a kubernetes create, each with its undo. Pure. The
/// `setup` steps (namespace, daemon) run after the branch is made (a dry
/// run shows them there; a real create runs them first, see `run`).
pub fn create_plan(
    spec: &SessionSpec,
    home: &Home,
    wiring: &KubeWiring,
    setup: Plan,
) -> Result<Plan> {
    let k = crate::backend::session::recorded_kube_spec(spec)?;
    let kubectl = Kubectl::for_spec(k);
    let mut plan = Plan::default();
    reserve_session_dir(&mut plan, home, &spec.name);
    plan.push(record_step(spec, home));
    let repo = &spec.repo_root;
    plan.push_undoable(
        Step::run_cmd(
            git::git(repo).args(["branch", "--no-track", &spec.branch, &spec.base]),
            git::classify,
        ),
        vec![Step::run_cmd(
            git::git(repo).args(["branch", "-D", &spec.branch]),
            git::classify,
        )],
    );
    plan.steps.extend(setup.steps);
    add_cluster_steps(&mut plan, spec, k, &kubectl, wiring);
    Ok(plan)
}

/// Apply (undone by deleting everything with the session's labels, also
/// when the apply itself fails halfway), wait, push, wait for the agent.
fn add_cluster_steps(
    plan: &mut Plan,
    spec: &SessionSpec,
    k: &KubeSpec,
    kubectl: &Kubectl,
    wiring: &KubeWiring,
) {
    let remove = || {
        vec![Step::run_cmd(
            kubectl.delete_session(&spec.name, &k.home_label),
            classify,
        )]
    };
    plan.push_with_cleanup(
        Step::run_cmd(kubectl.apply(&session_manifests(spec, k, wiring)), classify),
        remove(),
        remove(),
    );
    plan.push(wait_running(spec, k, kubectl));
    plan.push(Step::run_cmd(transport::push(spec, kubectl), push_failed));
    plan.push(wait_ready(spec, k, kubectl));
}

fn push_failed(f: crate::exec::Failure) -> Error {
    if f.stderr.contains("kubectl") || f.stderr.contains("Error from server") {
        return classify(f);
    }
    Error::failed(format!(
        "could not push the session's branch into the pod: {}",
        f.stderr_tail()
    ))
    .with_fix("the image needs git (`git-receive-pack` in PATH); `clauderon logs <name>` shows the pod's side")
}
