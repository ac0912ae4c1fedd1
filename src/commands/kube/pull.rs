//! `clauderon pull` and `delete` of kubernetes sessions: the agent's
//! commits come back onto the host branch before anything is removed.

use crate::backend::kubernetes::{Kubectl, classify, transport};
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;

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
fn fetch_step(spec: &SessionSpec, kubectl: &Kubectl) -> Step {
    Step::run_cmd(transport::fetch(spec, kubectl), fetch_failed)
}

/// `clauderon pull <name>`.
pub fn run(ctx: &Ctx, name: &str, dry_run: bool) -> Result<()> {
    let spec = ctx.home.load(name)?;
    if spec.backend != crate::session::BackendKind::Kubernetes {
        return Err(Error::input(format!(
            "session '{name}' runs on {}: its commits are on branch {} already",
            spec.backend, spec.branch
        ))
        .with_fix("pull is for kubernetes sessions, whose work lives in the cluster"));
    }
    let _lock = (!dry_run)
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    pull(&spec, dry_run)
}

fn pull(spec: &SessionSpec, dry_run: bool) -> Result<()> {
    let (_, kubectl) = super::target(spec)?;
    if !dry_run {
        git::check_config_is_safe(&spec.repo_root)?;
        if super::lifecycle::observe(spec, &kubectl)?.is_none() {
            return Err(no_pod(spec));
        }
    }
    let mut plan = Plan::default();
    plan.push(fetch_step(spec, &kubectl));
    print_or_execute("pull", &plan, dry_run)?;
    if !dry_run {
        println!(
            "Fetched the agent's commits onto branch {} in {} (nothing was checked out).",
            spec.branch,
            spec.repo_root.display()
        );
    }
    Ok(())
}

fn no_pod(spec: &SessionSpec) -> Error {
    Error::failed(format!(
        "session '{}' has no running pod to fetch the agent's commits from",
        spec.name
    ))
    .with_fix(format!(
        "`clauderon start {0}` first (the work is on its volume), or `clauderon delete --discard {0}` to drop it",
        spec.name
    ))
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
pub fn delete_plan(ctx: &Ctx, spec: &SessionSpec, flags: DeleteFlags) -> Result<Plan> {
    let DeleteFlags {
        force,
        discard,
        delete_branch,
        dry_run,
    } = flags;
    let (k, kubectl) = super::target(spec)?;
    let mut plan = Plan::default();
    if !discard {
        if !dry_run {
            git::check_config_is_safe(&spec.repo_root)?;
            if super::lifecycle::observe(spec, &kubectl)?.is_none() {
                return Err(no_pod(spec));
            }
        }
        plan.push(fetch_step(spec, &kubectl));
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
        path: ctx.home.session_dir(&spec.name),
    });
    Ok(plan)
}

/// `clauderon delete` of a kubernetes session: asks first (unless
/// `force`), pulls (unless `discard`), removes everything it labelled.
pub fn delete(ctx: &Ctx, spec: &SessionSpec, flags: DeleteFlags) -> Result<()> {
    let plan = delete_plan(ctx, spec, flags)?;
    if !flags.dry_run && !flags.force && !confirm(spec, flags.discard)? {
        println!("Nothing deleted.");
        return Ok(());
    }
    print_or_execute("delete", &plan, flags.dry_run)
        .map_err(|e| e.context(format!("could not fully delete session '{}'", spec.name)))?;
    if !flags.dry_run {
        let kept = if flags.delete_branch {
            "the branch was deleted too".to_string()
        } else {
            format!(
                "branch {} is kept in {}",
                spec.branch,
                spec.repo_root.display()
            )
        };
        println!("Deleted session {} ({kept}).", spec.name);
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
pub struct DeleteFlags {
    pub force: bool,
    pub discard: bool,
    pub delete_branch: bool,
    pub dry_run: bool,
}

fn confirm(spec: &SessionSpec, discard: bool) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::input(format!(
            "refusing to delete session '{}' without confirmation (no terminal to ask on)",
            spec.name
        ))
        .with_fix(format!("clauderon delete --force {}", spec.name)));
    }
    let work = if discard {
        "the agent's commits in the pod are DISCARDED"
    } else {
        "the agent's commits are fetched onto the host branch first"
    };
    crate::commands::delete_checks::ask(&format!(
        "Delete session '{}' (its pod, volume, files and secret; {work})",
        spec.name
    ))
}
