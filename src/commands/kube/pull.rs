//! `clauderon pull` and `delete` of kubernetes sessions: the agent's
//! commits come back onto the host branch before anything is removed.

use crate::backend::Backend;
use crate::backend::kubernetes::delete;
use crate::backend::verbs::DeleteFacts;
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Mode, Plan};
use crate::session::SessionSpec;

/// `clauderon pull <name>`.
pub fn run(ctx: &Ctx, name: &str, mode: Mode) -> Result<()> {
    let spec = ctx.home.load(name)?;
    if !spec.backend.in_cluster() {
        return Err(Error::input(format!(
            "session '{name}' runs on {}: its commits are on branch {} already",
            spec.backend, spec.branch
        ))
        .with_fix("pull is for kubernetes sessions, whose work lives in the cluster"));
    }
    let _lock = (!mode.is_dry_run())
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    pull(&spec, mode)
}

fn pull(spec: &SessionSpec, mode: Mode) -> Result<()> {
    let (_, kubectl) = super::target(spec)?;
    if !mode.is_dry_run() {
        git::check_config_is_safe(&spec.repo_root)?;
        if crate::backend::kubernetes::observe::pod(spec, &kubectl)?.is_none() {
            return Err(no_pod(spec));
        }
    }
    let mut plan = Plan::default();
    plan.push(delete::fetch_step(spec, &kubectl));
    print_or_execute("pull", &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Fetched the agent's commits onto branch {} in {} (nothing was checked out).",
            spec.branch,
            spec.repo_root.display()
        ));
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

/// Pulls (unless `discard`), then removes every object with the session's
/// labels, the branch if asked, and the record.
pub fn delete_plan(ctx: &Ctx, spec: &SessionSpec, flags: DeleteFlags) -> Result<Plan> {
    let DeleteFlags {
        force,
        discard,
        delete_branch,
        mode,
    } = flags;
    let (_, kubectl) = super::target(spec)?;
    if !discard && !mode.is_dry_run() {
        git::check_config_is_safe(&spec.repo_root)?;
        if crate::backend::kubernetes::observe::pod(spec, &kubectl)?.is_none() {
            return Err(no_pod(spec));
        }
    }
    let facts = DeleteFacts {
        state: crate::backend::ContainerState::Unknown,
        delete_branch,
        discard,
        force,
    };
    Ok(Backend::of(spec)?.delete(spec, &ctx.home, facts))
}

/// `clauderon delete` of a kubernetes session: asks first (unless
/// `force`), pulls (unless `discard`), removes everything it labelled.
pub fn delete(ctx: &Ctx, spec: &SessionSpec, flags: DeleteFlags) -> Result<()> {
    let plan = delete_plan(ctx, spec, flags)?;
    if !flags.mode.is_dry_run() && !flags.force && !confirm(spec, flags.discard)? {
        crate::output::info("Nothing deleted.");
        return Ok(());
    }
    print_or_execute("delete", &plan, flags.mode)
        .map_err(|e| e.context(format!("could not fully delete session '{}'", spec.name)))?;
    if !flags.mode.is_dry_run() {
        let kept = if flags.delete_branch {
            "the branch was deleted too".to_string()
        } else {
            format!(
                "branch {} is kept in {}",
                spec.branch,
                spec.repo_root.display()
            )
        };
        crate::output::info(format!("Deleted session {} ({kept}).", spec.name));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
pub struct DeleteFlags {
    pub force: bool,
    pub discard: bool,
    pub delete_branch: bool,
    pub mode: Mode,
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
