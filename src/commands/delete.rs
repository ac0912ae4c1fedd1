//! `clauderon delete`: removes whatever of the session still exists
//! (container, worktree, record), so a session half-removed by hand, or
//! left incomplete by an interrupted create, still cleans up.

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::backend::oci::{ENGINES, Engine};
use crate::backend::verbs::DeleteFacts;
use crate::commands::flow;
use crate::commands::{ContainerState, Ctx, observe_container, print_or_execute};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Mode, Plan};
use crate::session::{self, SessionSpec, container_name};
use crate::store::Home;
use crate::worktree;

use super::delete_checks::{Planted, confirm, loss_warnings};
use super::land::recovery;
pub use crate::commands::kube::pull::DeleteFlags;

pub fn run(ctx: &Ctx, name: &str, flags: DeleteFlags) -> Result<()> {
    let (home, mode) = (&ctx.home, flags.mode);
    // Validated before any path is built from it (`delete ..` must not rm -rf the home).
    let unknown = |_| Error::not_found(format!("no session named {name:?}"));
    session::validate_name(name)
        .map_err(|e| unknown(e).with_fix("`clauderon list` shows the sessions"))?;
    let _lock = (!mode.is_dry_run())
        .then(|| home.lock_session(name))
        .transpose()?;
    let spec = load_for_delete(home, name)?;
    match spec.as_ref().map(|s| s.backend) {
        Some(kind) => flow::of(kind).delete(ctx, name, spec, flags),
        None => on_host(ctx, name, None, flags),
    }
}

/// `delete` on this host, also of what is left without a record.
pub(crate) fn on_host(
    ctx: &Ctx,
    name: &str,
    spec: Option<SessionSpec>,
    flags: DeleteFlags,
) -> Result<()> {
    let DeleteFlags {
        force,
        delete_branch,
        mode,
        ..
    } = flags;
    let home = &ctx.home;
    refuse_discard(flags)?;
    let mut plan = Plan::default();
    let containers = find_containers(home, name, spec.as_ref(), force, mode, &mut plan)?;
    let engine = containers[0].0;
    let (repo, planted) = inspect_repository(home, name, spec.as_ref());
    // git runs on the repository only when nothing there would make it run a program.
    let use_git = repo.is_some() && planted.config.is_empty();
    let git = repo.as_ref().map(|r| r.1.as_path()).filter(|_| use_git);
    let sub = removal_plan(
        home,
        name,
        spec.as_ref(),
        &containers,
        git,
        (force, delete_branch),
    )?;
    let tip = with_git_spec(&spec, use_git)
        .filter(|_| delete_branch)
        .and_then(branch_tip);
    let kept = keep_recovery(
        home,
        with_git_spec(&spec, use_git),
        tip.as_deref(),
        &mut plan,
    );
    keep_spend(home, name, &mut plan);
    plan.notes.extend(sub.notes);
    plan.steps.extend(sub.steps);
    if let Some((root, _)) = &repo {
        let kept = spec.as_ref().filter(|_| delete_branch);
        planted.warn(root, kept.map(|s| s.branch.as_str()));
    }
    let with_git = with_git_spec(&spec, use_git);
    if !confirmed(&mut plan, name, with_git, &flags)? {
        crate::output::info("Nothing deleted.");
        return Ok(());
    }
    print_or_execute(&format!("delete {name}"), &plan, mode)
        .map_err(|e| e.context(format!("could not fully delete session '{name}'")))?;
    if let Some(why) = crate::backend::oci::delete::take_container_left() {
        return Err(container_left(home, name, &engine, &why));
    }
    if !mode.is_dry_run() {
        print_done(name, spec.as_ref(), delete_branch, tip, kept.as_ref());
    }
    Ok(())
}

/// --discard drops the agent's commits in a pod: a docker/podman session's
/// work is on its host branch already.
fn refuse_discard(flags: DeleteFlags) -> Result<()> {
    if !flags.discard {
        return Ok(());
    }
    Err(
        Error::input("--discard is for kubernetes sessions (their work lives in the cluster)")
            .with_fix("a docker/podman session's work is on its branch already: drop --discard"),
    )
}

/// A deleted branch whose commits no other branch holds gets a recovery
/// ref first (its steps lead the plan); what was kept, for the report.
fn keep_recovery(
    home: &Home,
    spec: Option<&SessionSpec>,
    tip: Option<&str>,
    plan: &mut Plan,
) -> Option<recovery::Kept> {
    let kept = spec.zip(tip).and_then(|(s, tip)| recovery::to_keep(s, tip));
    for step in kept.iter().flat_map(|k| recovery::keep_steps(home, k)) {
        plan.push(step);
    }
    kept
}

/// The session's spend outlives it (`proxy::usage::deleted`): the daily
/// budget and `clauderon usage` keep counting it. Before the directory goes.
pub(crate) fn keep_spend(home: &Home, name: &str, plan: &mut Plan) {
    use crate::proxy::usage::deleted;
    if let Some(contents) = deleted::lines(home, name) {
        plan.push(crate::plan::Step::AppendFile {
            path: deleted::path(home),
            contents,
        });
    }
}

/// The backend's plan for a recorded session; for one without a readable
/// record, what is left of it, whose branch goes only when asked or when it
/// holds no commit another branch does not also hold. `git`: the
/// repository's `.git`, when git may run there.
fn removal_plan(
    home: &Home,
    name: &str,
    spec: Option<&SessionSpec>,
    containers: &[(Engine, ContainerState)],
    git: Option<&Path>,
    (force, delete_branch): (bool, bool),
) -> Result<Plan> {
    let Some(spec) = spec else {
        let branch = git.map(|c| (c, delete_branch || !has_own_commits(c, name)));
        return Ok(crate::backend::oci::delete::incomplete_plan(
            name, home, containers, branch,
        ));
    };
    let facts = DeleteFacts {
        state: containers[0].1.clone(),
        delete_branch: delete_branch && git.is_some(),
        discard: false,
        force,
    };
    Ok(Backend::of(spec)?.delete(spec, home, facts))
}

fn with_git_spec(spec: &Option<SessionSpec>, use_git: bool) -> Option<&SessionSpec> {
    spec.as_ref().filter(|_| use_git)
}

/// The rest is removed, the container is not: exit 1 naming the exact
/// command, and mark the engine so `list` shows the container (as an
/// orphan, with the same fix) even when no session of this home uses that
/// engine any more.
fn container_left(home: &Home, name: &str, engine: &Engine, why: &str) -> Error {
    let container = container_name(name);
    let marked = home.mark_leftover(engine.kind);
    let mut message = format!(
        "deleted {name}'s worktree and record, but not its container {container}: {}",
        why
    );
    if let Err(e) = marked {
        message.push_str(&format!(" ({})", e.message));
    }
    Error::failed(message).with_fix(format!(
        "once the engine is back: `{} rm -f {container}` (`clauderon list` shows it until then)",
        engine.program
    ))
}

/// Asked unless --force; a dry run asks nothing, and its plan notes what
/// the question would have warned of; --force asks nothing but still says it.
fn confirmed(
    plan: &mut Plan,
    name: &str,
    with_git: Option<&SessionSpec>,
    flags: &DeleteFlags,
) -> Result<bool> {
    if flags.mode.is_dry_run() {
        for w in with_git
            .map(|s| loss_warnings(s, flags.delete_branch))
            .unwrap_or_default()
        {
            plan.note(format!("warning: {w}"));
        }
        return Ok(true);
    }
    if flags.force {
        for w in with_git
            .map(|s| loss_warnings(s, flags.delete_branch))
            .unwrap_or_default()
        {
            eprintln!("clauderon: warning: {w}");
        }
        return Ok(true);
    }
    confirm(name, with_git, flags.delete_branch)
}

/// The record, or None for a session directory without a readable one
/// (an interrupted create, a broken record); an unknown name is an error.
fn load_for_delete(home: &Home, name: &str) -> Result<Option<SessionSpec>> {
    match home.load(name) {
        Ok(spec) => Ok(Some(spec)),
        Err(_) if home.session_dir(name).is_dir() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where the branch points, so a deleted one can be recovered (`git branch NAME <commit>`).
fn branch_tip(spec: &SessionSpec) -> Option<String> {
    git::git(&spec.repo_root)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{}", spec.branch))
        .run()
        .ok()
        .map(|o| o.stdout.trim().to_string())
}

/// The session's container on its engine; for an interrupted create (no
/// record) on every engine that answers, since it may have got as far as a
/// container on either.
fn find_containers(
    home: &Home,
    name: &str,
    spec: Option<&SessionSpec>,
    force: bool,
    mode: Mode,
    plan: &mut Plan,
) -> Result<Vec<(Engine, ContainerState)>> {
    let engines: Vec<Engine> = match spec {
        Some(s) => vec![Engine::for_kind(s.backend)?],
        None => ENGINES.to_vec(),
    };
    let mut containers = Vec::new();
    for engine in engines {
        let state = match spec {
            // --force asks nothing first: the removal itself tells a missing
            // container (or an engine that is down) from its stderr.
            Some(_) if force && !mode.is_dry_run() => ContainerState::Unknown,
            Some(_) => container_state(&engine, name, force, mode, plan)?,
            None => unrecorded_container(home, &engine, name),
        };
        containers.push((engine, state));
    }
    Ok(containers)
}

/// Only a container of this home counts: another home may have a session
/// of the same name.
fn unrecorded_container(home: &Home, engine: &Engine, name: &str) -> ContainerState {
    let container = container_name(name);
    match engine.container_home(&container).run() {
        Ok(out) if out.stdout.trim() == home.root.to_string_lossy() => {
            ContainerState::Present("unknown".into())
        }
        Ok(_) => ContainerState::Missing,
        Err(f) if Engine::is_no_such_container(&f) || f.not_found => ContainerState::Missing,
        // Said, not silently skipped: a container may be left there.
        Err(f) => {
            eprintln!(
                "clauderon: warning: could not ask {} about {container} ({}); if it exists, remove it with `{} rm -f {container}`",
                engine.program,
                engine.classify(f).message,
                engine.program
            );
            ContainerState::Missing
        }
    }
}

/// The session's repository (its top level and `.git`; for an interrupted
/// create, read from the worktree's `.git` file), if it still exists, and
/// what an agent may have planted there.
fn inspect_repository(
    home: &Home,
    name: &str,
    spec: Option<&SessionSpec>,
) -> (Option<(PathBuf, PathBuf)>, Planted) {
    let repo = match spec {
        Some(s) => Some((s.repo_root.clone(), s.git_common_dir.clone())),
        None => worktree::common_dir_of(&home.worktree_path(name))
            .map(|common| (common.clone(), common)),
    }
    .filter(|(root, _)| root.exists());
    let since = spec.map_or(0, |s| s.created_at);
    let planted = repo
        .as_ref()
        .map(|(root, common)| Planted::find(root, common, since))
        .unwrap_or_default();
    (repo, planted)
}

/// The container's state; with --force an unreachable engine does not keep
/// the rest of the session (worktree, record) from being removed.
fn container_state(
    engine: &Engine,
    name: &str,
    force: bool,
    mode: Mode,
    plan: &mut Plan,
) -> Result<ContainerState> {
    let container = container_name(name);
    match observe_container(engine, &container, mode, plan) {
        Ok(state) => Ok(state),
        Err(err) if force => {
            eprintln!(
                "clauderon: warning: {} ({}); the container {container} is left: remove it with `{} rm -f {container}` once the engine is back",
                err.message, engine.program, engine.program
            );
            Ok(ContainerState::Missing)
        }
        Err(err) => {
            let fix = err.fix.clone().unwrap_or_else(|| "start the engine".into());
            Err(err.with_fix(format!(
                "{fix}; or `clauderon delete --force {name}` removes the rest and leaves the container"
            )))
        }
    }
}

fn print_done(
    name: &str,
    spec: Option<&SessionSpec>,
    delete_branch: bool,
    tip: Option<String>,
    kept: Option<&recovery::Kept>,
) {
    if let Some(k) = kept {
        crate::output::info(format!(
            "Deleted {name} and its branch '{}'. Its {} commit(s) on no other branch are kept as {}:\n  {}\nRestore the branch with: {}",
            k.branch,
            k.commits.len(),
            k.reference,
            k.commits.join("\n  "),
            k.restore_command()
        ));
        return;
    }
    match (spec, delete_branch, tip) {
        (Some(s), true, Some(tip)) => crate::output::info(format!(
            "Deleted {name} and its branch '{}' (it was at {tip}; `git branch {} {tip}` brings it back).",
            s.branch, s.branch
        )),
        (Some(s), _, _) if s.repo_root.exists() => crate::output::info(format!(
            "Deleted {name}. Its branch '{}' is kept in {}.",
            s.branch,
            s.repo_root.display()
        )),
        _ => crate::output::info(format!("Deleted {name}.")),
    }
}

/// Does the branch hold a commit no other ref holds? (Unknown counts as yes.)
fn has_own_commits(common: &Path, branch: &str) -> bool {
    let own = format!("refs/heads/{branch}");
    let out = git::git(common)
        .args(["for-each-ref", "--format=%(refname)", "--contains"])
        .arg(&own)
        .run();
    match out {
        // The tip is in another ref too: every commit of the branch is.
        Ok(o) => !o
            .stdout
            .lines()
            .any(|r| r.trim() != own && !r.trim().is_empty()),
        Err(f) => !f.stderr.contains("malformed object name"),
    }
}
