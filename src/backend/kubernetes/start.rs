//! The steps that bring a session's pod up: apply it, wait for it to run,
//! wait for the entrypoint to hand over to the agent.

use std::time::Duration;

use super::manifests::KubeWiring;
use super::{self as kube, KubeSpec, Kubectl, classify, object_name};
use crate::error::Error;
use crate::exec::Failure;
use crate::plan::{Plan, Poll, Step};
use crate::session::SessionSpec;

/// Waits for the agent container to run; fails fast on a pod reason that
/// waiting does not fix.
pub fn wait_running(spec: &SessionSpec, k: &KubeSpec, kubectl: &Kubectl) -> Step {
    Step::Poll {
        cmd: kubectl.get_pod(&object_name(&spec.name)),
        what: "the agent pod to run".into(),
        check: kube::status::check_pod,
        timeout: Duration::from_secs(k.create_timeout),
        interval: Duration::from_millis(500),
        timeout_fix: format!(
            "`kubectl --context={} --namespace={} describe pod {}` shows why; raise [kubernetes] create_timeout (seconds) if the image is just slow to pull",
            k.context,
            k.namespace,
            object_name(&spec.name)
        ),
    }
}

/// Prints `ready` once the entrypoint has written its marker in this pod
/// (start.sh wrote the pod's uid next to it first); a fixed script, run
/// with the container's own environment.
const READY_CHECK: &str = "cd /workspace/.clauderon 2>/dev/null && [ -e ready ] && [ \"$(cat pod-uid 2>/dev/null)\" = \"$CLAUDERON_POD_UID\" ] && echo ready";

/// The readiness marker the entrypoint writes in the pod when it hands
/// over to the agent (after on-create and post-start).
fn ready_cmd(spec: &SessionSpec, kubectl: &Kubectl) -> crate::exec::Cmd {
    kubectl.exec(&object_name(&spec.name), ["bash", "-c", READY_CHECK])
}

fn check_ready(answer: std::result::Result<&str, Failure>) -> Poll {
    match answer {
        Ok(text) if text.trim() == "ready" => Poll::Ready,
        Ok(_) => Poll::Waiting("the entrypoint has not handed over yet".into()),
        // The check's own "not yet": exit 1, nothing said.
        Err(f) if f.code == Some(1) && f.stderr.trim().is_empty() => {
            Poll::Waiting("the entrypoint has not handed over yet".into())
        }
        Err(f) if f.stderr.contains("container not found") || f.stderr.contains("not running") || f.stderr.contains("completed pod") => {
            Poll::Failed(Error::failed(format!(
                "the agent container stopped before it handed over to the agent: {}",
                f.stderr_tail()
            ))
            .with_fix("`clauderon logs <name>` shows why: a failing --on-create/--post-start command, or an image without bash, git or the agent CLI"))
        }
        Err(f) => Poll::Failed(classify(f)),
    }
}

/// Waits until the agent runs (the pushed branch checked out, on-create
/// and post-start done).
pub fn wait_ready(spec: &SessionSpec, k: &KubeSpec, kubectl: &Kubectl) -> Step {
    let seconds = if spec.lifecycle.on_create.is_empty() {
        k.create_timeout
    } else {
        spec.lifecycle
            .on_create_timeout
            .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT)
    };
    Step::Poll {
        cmd: ready_cmd(spec, kubectl),
        what: "the entrypoint to hand over to the agent".into(),
        check: check_ready,
        timeout: Duration::from_secs(seconds),
        interval: Duration::from_millis(500),
        timeout_fix: format!(
            "`clauderon logs {}` shows what it is doing (a command waiting for input?); raise [lifecycle] on_create_timeout or [kubernetes] create_timeout",
            spec.name
        ),
    }
}

/// Applies the pod (start: the volume, files and policy are there), and
/// with `files` the session's ConfigMap and Secret too (refresh: the token
/// and CA they hold follow keys made again since create).
pub fn apply_pod(
    spec: &SessionSpec,
    k: &KubeSpec,
    kubectl: &Kubectl,
    wiring: &KubeWiring,
    files: bool,
) -> Step {
    let kinds: &[&str] = if files {
        &["ConfigMap", "Secret", "Pod"]
    } else {
        &["Pod"]
    };
    let pod = kube::manifests::session_manifests(spec, k, wiring)
        .into_iter()
        .filter(|m| kinds.iter().any(|kind| m["kind"] == *kind))
        .collect::<Vec<_>>();
    Step::run_cmd(kubectl.apply(&pod), classify)
}

/// The pod applied and waited for (with `files`, its ConfigMap and Secret
/// too); first the old pod deleted, when `replace` (an agent that ended,
/// or a refresh).
pub fn start_plan(
    spec: &SessionSpec,
    k: &KubeSpec,
    kubectl: &Kubectl,
    wiring: &KubeWiring,
    (replace, files): (bool, bool),
) -> Plan {
    let mut plan = Plan::default();
    if replace {
        plan.push(Step::run_cmd(
            kubectl.delete_pod(&object_name(&spec.name)),
            classify,
        ));
    }
    plan.push(apply_pod(spec, k, kubectl, wiring, files));
    plan.push(wait_running(spec, k, kubectl));
    plan.push(wait_ready(spec, k, kubectl));
    plan
}
