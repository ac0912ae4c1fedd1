//! `clauderon merge NAME`: brings the session's branch into the user's
//! branch (the one checked out in the repository the session came from, or
//! `--into`). The merge is made in a temporary worktree of clauderon's, then
//! the user's branch moves to it (`merge --ff-only` where it is checked
//! out, so git itself refuses to overwrite local changes); a conflict is
//! found before anything changes, so a refusal leaves the user's
//! repository exactly as it was.

use std::path::{Path, PathBuf};

use super::{base_commit, branch_ref, checked_session, has_worktree, quoted};
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::git;
use crate::plan::{Plan, Step, Tolerate};
use crate::session::SessionSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Merge,
    Squash,
    Rebase,
}

pub struct MergeFlags {
    pub into: Option<String>,
    pub mode: Mode,
    pub include_uncommitted: bool,
    pub dry_run: bool,
}

/// Where the work goes: the branch, its commit, and the worktree it is
/// checked out in (if any: then that is the user's working tree).
struct Target {
    branch: String,
    commit: String,
    checked_out: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, name: &str, flags: MergeFlags) -> Result<()> {
    let _lock = (!flags.dry_run)
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    let spec = checked_session(&ctx.home, name)?;
    let target = target(&spec, flags.into.as_deref())?;
    let dirty = session_changes(&spec)?;
    let mut plan = Plan::default();
    if flags.include_uncommitted && dirty > 0 {
        commit_uncommitted(&mut plan, &spec, dirty);
    } else if dirty > 0 {
        plan.note(format!(
            "the session's worktree has {dirty} uncommitted change(s): they are not merged (--include-uncommitted commits them first)"
        ));
    }
    let new_work = flags.include_uncommitted && dirty > 0;
    if !new_work && merged_already(&spec.repo_root, &branch_ref(&spec), &target.commit) {
        let left = match dirty {
            0 => String::new(),
            n => format!(
                " Its worktree has {n} uncommitted change(s): --include-uncommitted commits and merges them."
            ),
        };
        crate::output::info(format!(
            "'{}' already has every commit of branch '{}': nothing to merge.{left}",
            target.branch, spec.branch
        ));
        return Ok(());
    }
    let conflicts = conflicts(&spec.repo_root, &target.commit, &branch_ref(&spec))?;
    if !conflicts.is_empty() {
        return Err(conflict_error(&spec, &target, &conflicts, flags.mode));
    }
    if let Some(tree) = &target.checked_out {
        check_not_overwritten(&spec, tree, &target)?;
    }
    merge_steps(&mut plan, &ctx.home, &spec, &target, flags.mode);
    print_or_execute(
        &format!("merge {name}"),
        &plan,
        crate::plan::Mode::from_dry_run(flags.dry_run),
    )?;
    if !flags.dry_run {
        crate::output::info(format!(
            "Merged session {name} (branch '{}') into '{}'.",
            spec.branch, target.branch
        ));
    }
    Ok(())
}

/// `--into`, else the branch checked out in the session's repository.
fn target(spec: &SessionSpec, into: Option<&str>) -> Result<Target> {
    let repo = &spec.repo_root;
    let branch = match into {
        Some(b) => b.to_string(),
        None => git::git(repo)
            .args(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .run()
            .map(|o| o.stdout.trim().to_string())
            .map_err(|_| {
                Error::input(format!(
                    "{} has no branch checked out (a detached HEAD)",
                    repo.display()
                ))
                .with_fix("name the branch to merge into: --into BRANCH")
            })?,
    };
    if branch == spec.branch {
        return Err(
            Error::input(format!("--into {branch:?} is the session's own branch"))
                .with_fix("name the branch the work should go to, e.g. --into main"),
        );
    }
    if branch.starts_with('-') || !git::branch_exists(repo, &branch)? {
        return Err(
            Error::input(format!("no branch {branch:?} in {}", repo.display()))
                .with_fix(format!("`git -C {} branch` lists them", quoted(repo))),
        );
    }
    let commit = git::resolve_commit(repo, &format!("refs/heads/{branch}"))?;
    let checked_out = checked_out_at(repo, &branch)?;
    if let Some(other) = checked_out.as_ref().filter(|p| !same_path(p, repo)) {
        return Err(Error::failed(format!(
            "branch '{branch}' is checked out in another worktree, {}",
            other.display()
        ))
        .with_fix(format!(
            "merge there by hand (git -C {} merge {}), or pick another --into",
            quoted(other),
            spec.branch
        )));
    }
    Ok(Target {
        branch,
        commit,
        checked_out,
    })
}

fn same_path(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
}

/// The worktree (main or linked) that has `branch` checked out.
fn checked_out_at(repo: &Path, branch: &str) -> Result<Option<PathBuf>> {
    let out = git::git(repo)
        .args(["worktree", "list", "--porcelain", "-z"])
        .run()
        .map_err(git::classify)?;
    let mut current = None;
    let wanted = format!("branch refs/heads/{branch}");
    for field in out.stdout.split('\0') {
        if let Some(path) = field.strip_prefix("worktree ") {
            current = Some(PathBuf::from(path));
        } else if field == wanted {
            return Ok(current);
        }
    }
    Ok(None)
}

/// Changed and untracked files in the session's worktree.
fn session_changes(spec: &SessionSpec) -> Result<usize> {
    if !has_worktree(spec) {
        return Ok(0);
    }
    Ok(status_paths(&spec.worktree)?.len())
}

/// `git status` paths (changed, staged, untracked), one per entry.
fn status_paths(dir: &Path) -> Result<Vec<String>> {
    Ok(git::status_entries(dir)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

fn commit_uncommitted(plan: &mut Plan, spec: &SessionSpec, dirty: usize) {
    let message = format!(
        "clauderon: uncommitted work of session '{}' ({dirty} file(s))",
        spec.name
    );
    plan.push(Step::run_cmd(
        git::git(&spec.worktree).args(["add", "--all", "--", "."]),
        git::classify,
    ));
    plan.push(Step::run_cmd(
        git::git(&spec.worktree).args(["commit", "--no-verify", "--no-edit", "-q", "-m", &message]),
        git::classify,
    ));
}

/// Files a merge of `source` into `target` would leave conflicted
/// (`git merge-tree` writes objects only: no ref, index or file changes).
fn conflicts(repo: &Path, target: &str, source: &str) -> Result<Vec<String>> {
    let cmd = git::git(repo).args([
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        target,
        source,
    ]);
    match cmd.run_any() {
        Ok((Some(0), _)) => Ok(Vec::new()),
        Ok((Some(1), out)) => Ok(out.lines().skip(1).map(String::from).collect()),
        Ok((code, _)) => Err(Error::failed(format!(
            "`{}` failed (exit {code:?})",
            cmd.shown()
        ))),
        Err(f) => Err(git::classify(f)),
    }
}

/// The session's branch is already in the target (its tip an ancestor).
fn merged_already(repo: &Path, source: &str, target: &str) -> bool {
    let cmd = git::git(repo).args(["merge-base", "--is-ancestor", source, target]);
    matches!(cmd.run_any(), Ok((Some(0), _)))
}

fn conflict_error(spec: &SessionSpec, target: &Target, files: &[String], mode: Mode) -> Error {
    Error::failed(format!(
        "merging branch '{}' into '{}' conflicts in: {}. Nothing was changed",
        spec.branch,
        target.branch,
        files.join(", ")
    ))
    .with_fix(conflict_fix(spec, target, files, mode))
}

/// The commands that do by hand what `mode` asked for, conflicts and all.
fn conflict_fix(spec: &SessionSpec, target: &Target, files: &[String], mode: Mode) -> String {
    let repo = quoted(&spec.repo_root);
    let checkout = match &target.checked_out {
        Some(_) => String::new(),
        None => format!("git -C {repo} switch {} && ", target.branch),
    };
    let files = files
        .iter()
        .map(|f| shell_words::quote(f).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let branch = &spec.branch;
    match mode {
        Mode::Merge => format!(
            "resolve it by hand: {checkout}git -C {repo} merge {branch}; edit the files, then git -C {repo} add {files} && git -C {repo} commit (or git -C {repo} merge --abort)"
        ),
        Mode::Squash => format!(
            "resolve it by hand: {checkout}git -C {repo} merge --squash {branch}; edit the files, then git -C {repo} add {files} && git -C {repo} commit (or git -C {repo} reset --merge)"
        ),
        Mode::Rebase => format!(
            "rebase the session's branch by hand in its worktree: git -C {wt} rebase {target}; edit the files, then git -C {wt} add {files} && git -C {wt} rebase --continue (or --abort); then clauderon merge --rebase {name}",
            wt = quoted(&spec.worktree),
            target = target.branch,
            name = spec.name,
        ),
    }
}

/// The user's own changes in the target's working tree that the merge
/// would touch: refused, named, before anything changes.
fn check_not_overwritten(spec: &SessionSpec, tree: &Path, target: &Target) -> Result<()> {
    let local = status_paths(tree)?;
    if local.is_empty() {
        return Ok(());
    }
    let base = git::git(&spec.repo_root)
        .args(["merge-base", &target.commit, &branch_ref(spec)])
        .run()
        .map(|o| o.stdout.trim().to_string())
        .or_else(|_| base_commit(spec))?;
    let touched = git::git(&spec.repo_root)
        .args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--name-only",
            "-z",
            &base,
        ])
        .arg(branch_ref(spec))
        .run()
        .map_err(git::classify)?
        .stdout;
    let touched: std::collections::HashSet<&str> = touched.split('\0').collect();
    let hit: Vec<&String> = local
        .iter()
        .filter(|f| touched.contains(f.as_str()))
        .collect();
    if hit.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = hit.iter().map(|s| s.as_str()).collect();
    Err(Error::failed(format!(
        "{} has changes the merge would overwrite: {}. Nothing was changed",
        tree.display(),
        names.join(", ")
    ))
    .with_fix(format!(
        "commit or stash them first (git -C {} stash --include-untracked), then merge again",
        quoted(tree)
    )))
}

/// The merge in a temporary worktree, then the target moved to it.
fn merge_steps(
    plan: &mut Plan,
    home: &crate::store::Home,
    spec: &SessionSpec,
    target: &Target,
    mode: Mode,
) {
    let repo = &spec.repo_root;
    let tmp = home.session_dir(&spec.name).join("merge");
    let result = format!("refs/clauderon/merging/{}", spec.name);
    let start = match mode {
        Mode::Rebase => branch_ref(spec),
        _ => target.commit.clone(),
    };
    let forget = vec![
        Step::ForgetWorktree {
            common_dir: spec.git_common_dir.clone(),
            worktree: tmp.clone(),
        },
        Step::RemoveDir { path: tmp.clone() },
    ];
    let add = git::git(repo)
        .args(["worktree", "add", "--quiet", "--detach"])
        .arg(tmp.to_string_lossy())
        .arg(&start);
    plan.push_undoable(Step::run_cmd(add, git::classify), forget);
    let in_tmp = || git::git(&tmp);
    work_steps(plan, &tmp, spec, target, mode);
    let keep = in_tmp().args(["update-ref", &result, "HEAD"]);
    let drop = git::git(repo).args(["update-ref", "-d", &result]);
    plan.push_undoable(
        Step::run_cmd(keep, git::classify),
        vec![Step::run_cmd(drop.clone(), git::classify)],
    );
    plan.push(Step::run_cmd(
        git::git(repo)
            .args(["worktree", "remove", "--force"])
            .arg(tmp.to_string_lossy()),
        git::classify,
    ));
    let advance = match &target.checked_out {
        Some(tree) => git::git(tree).args(["merge", "--ff-only", "-q", &result]),
        None => git::git(repo)
            .args(["update-ref", "-m", "clauderon merge"])
            .arg(format!("refs/heads/{}", target.branch))
            .args([&result, &target.commit]),
    };
    plan.push(Step::run_cmd(advance, git::classify));
    plan.push(Step::run_cmd(drop, git::classify));
}

/// The merge, squash or rebase itself, in the temporary worktree.
fn work_steps(plan: &mut Plan, tmp: &Path, spec: &SessionSpec, target: &Target, mode: Mode) {
    let in_tmp = || git::git(tmp);
    let message = format!(
        "Merge clauderon session '{}' (branch '{}') into '{}'",
        spec.name, spec.branch, target.branch
    );
    match mode {
        Mode::Merge => {
            plan.push(Step::run_cmd(
                in_tmp()
                    .args(["merge", "--no-edit", "-q", "-m", &message])
                    .arg(branch_ref(spec)),
                git::classify,
            ));
        }
        Mode::Squash => {
            plan.push(Step::run_cmd(
                in_tmp()
                    .args(["merge", "--squash", "-q"])
                    .arg(branch_ref(spec)),
                git::classify,
            ));
            let squash = format!("{message} (squashed)\n\n{}", spec.prompt);
            plan.push(Step::run_cmd(
                in_tmp().args(["commit", "--no-verify", "-q", "-m", squash.trim_end()]),
                git::classify,
            ));
        }
        Mode::Rebase => {
            let rebase = in_tmp().args(["rebase", "--no-autostash", "-q", &target.commit]);
            let abort = in_tmp().args(["rebase", "--abort"]);
            plan.push_with_cleanup(
                Step::run_cmd(rebase, git::classify),
                vec![],
                vec![Step::Run {
                    cmd: abort,
                    classify: git::classify,
                    tolerate: Some(Tolerate::If(|_| true)),
                }],
            );
        }
    }
}
