//! The plan of a kubernetes delete: the agent's commits fetched onto the
//! host branch (unless discarded), every object with the session's labels
//! removed, the branch if asked, and the record.

use super::{KubeSpec, Kubectl, classify, transport};
use crate::error::Error;
use crate::git;
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::store::Home;

fn fetch_failed(f: crate::exec::Failure) -> Error {
    if f.stderr.contains("non-fast-forward") || f.stderr.contains("rejected") {
        return Error::failed(format!(
            "the agent's branch is not a fast-forward of the host branch: {}",
            f.stderr_tail()
        ))
        .with_fix("the agent rewrote history or the host branch moved: fetch it into another ref by hand (see `clauderon pull --dry-run`), or delete with --discard");
    }
    if f.stderr.contains("checked out") {
        return Error::failed(format!(
            "the host branch is checked out: {}",
            f.stderr_tail()
        ))
        .with_fix("switch that checkout to another branch first: pull never touches a checkout");
    }
    classify(f)
}

/// The fetch step of a session's branch.
pub fn fetch_step(spec: &SessionSpec, kubectl: &Kubectl) -> Step {
    Step::run_cmd(transport::fetch(spec, kubectl), fetch_failed)
}

fn classify_text(f: &crate::exec::Failure) -> String {
    classify(crate::exec::Failure {
        shown: f.shown.clone(),
        short: f.short.clone(),
        code: f.code,
        stderr: f.stderr.clone(),
        not_found: f.not_found,
        live: f.live,
    })
    .message
}

/// Pulls (unless `discard`), then removes every object with the session's
/// labels, the branch if asked, and the record.
pub fn delete_plan(
    spec: &SessionSpec,
    home: &Home,
    k: &KubeSpec,
    kubectl: &Kubectl,
    (discard, force, delete_branch): (bool, bool, bool),
) -> Plan {
    let mut plan = Plan::default();
    if !discard {
        plan.push(fetch_step(spec, kubectl));
    }
    // --discard --force: a cluster that is gone for good must not keep the
    // record here forever; what may be left there is named instead.
    let tolerate = (discard && force).then_some(crate::plan::Tolerate::If(|f| {
        let unreachable = classify_text(f).contains("not reachable");
        if unreachable {
            eprintln!("clauderon: warning: the cluster is not reachable; the session's objects may be left there (remove them later with: {})", f.shown);
        }
        unreachable
    }));
    plan.push(Step::Run {
        cmd: kubectl.delete_session(&spec.name, &k.home_label),
        classify,
        tolerate,
    });
    if delete_branch {
        plan.push(Step::run_cmd(
            git::git(&spec.repo_root).args(["branch", "-D", &spec.branch]),
            git::classify,
        ));
    }
    plan.push(Step::RemoveDir {
        path: home.session_dir(&spec.name),
    });
    plan
}
