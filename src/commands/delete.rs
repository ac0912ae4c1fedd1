//! `clauderon delete`: removes whatever of the session still exists
//! (container, worktree, record), so a session half-removed by hand, or
//! left incomplete by an interrupted create, still cleans up.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::backend::oci::{DOCKER, Engine};
use crate::commands::{ContainerState, Ctx, observe_container, print_or_execute};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Plan, Step};
use crate::session::{self, SessionSpec, container_name};
use crate::store::Home;

pub fn run(ctx: &Ctx, name: &str, force: bool, delete_branch: bool, dry_run: bool) -> Result<()> {
    let home = &ctx.home;
    // Validated before any path is built from it (`delete ..` must not rm -rf the home).
    session::validate_name(name).map_err(|_| {
        Error::input(format!("no session named {name:?}"))
            .with_fix("`clauderon list` shows the sessions")
    })?;
    let spec = match home.load(name) {
        Ok(spec) => Some(spec),
        // An interrupted create leaves a directory without a record.
        Err(_) if home.session_dir(name).is_dir() => None,
        Err(e) => return Err(e),
    };
    let engine = spec
        .as_ref()
        .map(|s| Engine::for_kind(s.backend))
        .unwrap_or(DOCKER);
    let container = container_name(name);
    let mut plan = Plan::default();
    let state = match observe_container(&engine, &container, dry_run, &mut plan) {
        Ok(state) => state,
        // With --force, an unreachable engine does not keep the rest of the
        // session (worktree, record) from being removed.
        Err(err) if force => {
            eprintln!(
                "clauderon: warning: {} ({}); the container {container} is left: remove it with `{} rm -f {container}` once the engine is back",
                err.message, engine.program, engine.program
            );
            ContainerState::Missing
        }
        Err(err) => {
            let fix = err.fix.clone().unwrap_or_else(|| "start the engine".into());
            return Err(err.with_fix(format!(
                "{fix}; or `clauderon delete --force {name}` removes the rest and leaves the container"
            )));
        }
    };
    match &spec {
        Some(spec) => {
            if spec.repo_root.exists() {
                git::check_config_is_safe(&spec.repo_root)?;
            }
            plan.steps
                .extend(delete_plan(spec, home, &engine, &state, delete_branch).steps);
        }
        None => {
            let repo = worktree_repo(&home.worktree_path(name));
            if let Some(common) = &repo {
                git::check_config_is_safe(common)?;
            }
            plan.steps
                .extend(incomplete_plan(name, home, &engine, &state, repo.as_deref()).steps);
        }
    }
    // So a deleted branch can be recovered: `git branch NAME <commit>`.
    let branch_tip = spec
        .as_ref()
        .filter(|s| delete_branch && s.repo_root.exists())
        .and_then(|s| {
            git::git(&s.repo_root)
                .args(["rev-parse", "--verify", "--quiet"])
                .arg(format!("refs/heads/{}", s.branch))
                .run()
                .ok()
        });
    if !dry_run && !force && !confirm(name, spec.as_ref(), delete_branch)? {
        println!("Nothing deleted.");
        return Ok(());
    }
    print_or_execute("delete", &plan, dry_run)
        .map_err(|e| e.context(format!("could not fully delete session '{name}'")))?;
    if !dry_run {
        match (&spec, delete_branch) {
            (Some(s), false) if s.repo_root.exists() => println!(
                "Deleted {name}. Its branch '{}' is kept in {}.",
                s.branch,
                s.repo_root.display()
            ),
            (Some(s), true) if branch_tip.is_some() => {
                let tip = branch_tip
                    .map(|o| o.stdout.trim().to_string())
                    .unwrap_or_default();
                println!(
                    "Deleted {name} and its branch '{}' (it was at {tip}; `git branch {} {tip}` brings it back).",
                    s.branch, s.branch
                );
            }
            _ => println!("Deleted {name}."),
        }
    }
    Ok(())
}

pub fn delete_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    state: &ContainerState,
    delete_branch: bool,
) -> Plan {
    let mut plan = Plan::default();
    if *state != ContainerState::Missing {
        plan.push(Step::Run {
            cmd: engine.remove(&spec.container_name()),
            classify: engine.classifier(),
            tolerate: Some(Engine::is_no_such_container),
        });
    }
    let repo = &spec.repo_root;
    let wt = spec.worktree.to_string_lossy().to_string();
    let repo_exists = repo.exists();
    if repo_exists {
        // Twice forced: the worktree is locked (so git in the container cannot
        // prune it), and this also drops the registration of a worktree
        // directory that was deleted by hand.
        plan.push(Step::Run {
            cmd: git::git(repo).args(["worktree", "remove", "--force", "--force", &wt]),
            classify: git::classify,
            tolerate: Some(|f| f.stderr.contains("is not a working tree")),
        });
    }
    plan.push(Step::RemoveDir {
        path: spec.worktree.clone(),
    });
    if repo_exists {
        plan.push(Step::run_cmd(
            git::git(repo).args(["worktree", "prune"]),
            git::classify,
        ));
        if delete_branch {
            plan.push(Step::Run {
                cmd: git::git(repo).args(["branch", "-D", &spec.branch]),
                classify: git::classify,
                tolerate: Some(|f| f.stderr.contains("not found")),
            });
        }
    } else {
        plan.note(format!(
            "repository {} is gone: only removing files clauderon owns",
            repo.display()
        ));
    }
    plan.push(Step::RemoveDir {
        path: home.session_dir(&spec.name),
    });
    plan
}

/// The main repository's `.git` of a worktree directory, if it is one.
fn worktree_repo(worktree: &Path) -> Option<PathBuf> {
    if !worktree.join(".git").exists() {
        return None;
    }
    let out = git::git(worktree)
        .args(["rev-parse", "--git-common-dir"])
        .run()
        .ok()?;
    let dir = PathBuf::from(out.stdout.trim());
    Some(if dir.is_absolute() {
        dir
    } else {
        worktree.join(dir)
    })
}

/// An interrupted create: remove the container, the worktree (and its
/// registration and branch, which that create made: it checked first that
/// the branch did not exist) and the session directory.
fn incomplete_plan(
    name: &str,
    home: &Home,
    engine: &Engine,
    state: &ContainerState,
    repo: Option<&Path>,
) -> Plan {
    let mut plan = Plan::default();
    plan.note(format!(
        "session '{name}' has no record (its creation was interrupted): removing what exists"
    ));
    if *state != ContainerState::Missing {
        plan.push(Step::Run {
            cmd: engine.remove(&container_name(name)),
            classify: engine.classifier(),
            tolerate: Some(Engine::is_no_such_container),
        });
    }
    let worktree = home.worktree_path(name);
    if let Some(common) = repo {
        let wt = worktree.to_string_lossy().to_string();
        plan.push(Step::run_cmd(
            git::git(common).args(["worktree", "remove", "--force", "--force", &wt]),
            git::classify,
        ));
        plan.push(Step::Run {
            cmd: git::git(common).args(["branch", "-D", name]),
            classify: git::classify,
            tolerate: Some(|f| f.stderr.contains("not found")),
        });
    }
    plan.push(Step::RemoveDir { path: worktree });
    plan.push(Step::RemoveDir {
        path: home.session_dir(name),
    });
    plan
}

/// Asks on a terminal; without one, refuses (scripts pass --force).
fn confirm(name: &str, spec: Option<&SessionSpec>, delete_branch: bool) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::input(format!(
            "refusing to delete session '{name}' without confirmation (no terminal to ask on)"
        ))
        .with_fix(format!("clauderon delete --force {name}")));
    }
    let what = if delete_branch {
        "its container, worktree and branch"
    } else {
        "its container and worktree"
    };
    let mut warnings = Vec::new();
    if let Some(spec) = spec {
        let changes = uncommitted_changes(spec);
        if changes > 0 {
            warnings.push(format!(
                "its worktree {} has {changes} uncommitted change(s) that will be LOST",
                spec.worktree.display()
            ));
        }
        let unmerged = if delete_branch {
            unmerged_commits(spec)
        } else {
            0
        };
        if unmerged > 0 {
            warnings.push(format!(
                "its branch '{}' has {unmerged} commit(s) on no other branch that will be LOST",
                spec.branch
            ));
        }
    }
    let mut question = format!("Delete session '{name}' ({what})");
    for w in &warnings {
        question = format!("{question}\n  warning: {w}");
    }
    if !warnings.is_empty() {
        question.push_str("\nDelete anyway");
    }
    eprint!("{question}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("could not read the answer", e))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Commits on the session's branch that no other branch has.
fn unmerged_commits(spec: &SessionSpec) -> usize {
    if !spec.repo_root.exists() {
        return 0;
    }
    let branch = format!("refs/heads/{}", spec.branch);
    git::git(&spec.repo_root)
        .args(["rev-list", "--count", &branch, "--not"])
        .arg(format!("--exclude={branch}"))
        .arg("--branches")
        .run()
        .ok()
        .and_then(|o| o.stdout.trim().parse().ok())
        .unwrap_or(0)
}

fn uncommitted_changes(spec: &SessionSpec) -> usize {
    if !spec.worktree.exists() || git::check_config_is_safe(&spec.worktree).is_err() {
        return 0;
    }
    // (the config check above also covers the worktree's own config)
    git::git(&spec.worktree)
        .args(["status", "--porcelain", "--no-renames"])
        .run()
        .map(|o| o.stdout.lines().count())
        .unwrap_or(0)
}
