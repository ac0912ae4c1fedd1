//! Landing the agent's work on the host: `diff`, `merge`, `pr`, `send`,
//! `transcript`, and the recovery refs `delete` keeps. Every git command
//! here is `git::git` (hooks, fsmonitor and submodules pinned off), run only
//! after `git::check_config_is_safe` has found no program-running config in
//! the repository or the session's worktree: the agent can write the shared
//! `.git`, and these commands run on the host.

pub mod diff;
pub mod merge;
pub mod pr;
pub mod pr_status;
pub mod recovery;
pub mod send;
pub mod transcript;

use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::git;
use crate::plan::Mode;
use crate::session::SessionSpec;
use crate::spec::landing::{Landing, Remote};
use std::path::Path;

/// The session's record, with its repository checked: it exists, it has
/// the session's branch, and neither it nor the worktree has config that
/// would run a program.
pub fn checked_session(home: &crate::store::Home, name: &str) -> Result<SessionSpec> {
    let spec = home.load(name)?;
    if !spec.repo_root.is_dir() {
        return Err(Error::failed(format!(
            "the repository of session '{name}' ({}) is gone",
            spec.repo_root.display()
        ))
        .with_fix(format!("`clauderon delete {name}` removes what is left")));
    }
    git::check_config_is_safe(&spec.repo_root)?;
    if has_worktree(&spec) {
        git::check_config_is_safe(&spec.worktree)?;
    }
    if !git::branch_exists(&spec.repo_root, &spec.branch)? {
        let fix = format!(
            "`git -C {} branch` lists the branches (a kubernetes session's: `clauderon pull {name}` fetches it)",
            quoted(&spec.repo_root)
        );
        return Err(Error::failed(format!(
            "the branch '{}' of session '{name}' is not in {}",
            spec.branch,
            spec.repo_root.display()
        ))
        .with_fix(fix));
    }
    Ok(spec)
}

/// The session's worktree on the host (a kubernetes session's lives in the
/// cluster: only its fetched branch is here).
pub fn has_worktree(spec: &SessionSpec) -> bool {
    spec.worktree.join(".git").exists()
}

/// Where the session's branch left its base: the merge base of the commit
/// recorded at create (or the `--base` ref, for older records) and the branch.
pub fn base_commit(spec: &SessionSpec) -> Result<String> {
    let from = spec
        .landing
        .base_commit
        .clone()
        .unwrap_or_else(|| spec.base.clone());
    git::git(&spec.repo_root)
        .args(["merge-base", "--end-of-options", &from])
        .arg(branch_ref(spec))
        .run()
        .map(|o| o.stdout.trim().to_string())
        .map_err(|f| {
            git::classify(f).context(format!(
                "could not find where branch '{}' left {from}",
                spec.branch
            ))
        })
}

pub fn branch_ref(spec: &SessionSpec) -> String {
    format!("refs/heads/{}", spec.branch)
}

/// Commits in `range` (`A..B`) that touch `paths` (all when none), oldest
/// last, as (short hash, subject); the subject is made printable (it is the
/// agent's text).
pub fn commits(
    repo: &std::path::Path,
    range: &str,
    paths: &[String],
) -> Result<Vec<(String, String)>> {
    let out = git::git(repo)
        .args([
            "log",
            "--no-show-signature",
            "--format=%h%x00%s",
            range,
            "--",
        ])
        .args(paths)
        .run()
        .map_err(git::classify)?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('\0'))
        .map(|(h, s)| (h.to_string(), crate::hooks::events::printable(s)))
        .collect())
}

/// `git` pinned for diffs: no external diff, no textconv.
pub fn diff_cmd(dir: &std::path::Path, sub: &str) -> Cmd {
    git::git(dir).args([sub, "--no-ext-diff", "--no-textconv"])
}

pub fn quoted(path: &std::path::Path) -> String {
    shell_words::quote(&path.to_string_lossy()).into_owned()
}

/// The landing commands, from their parsed flags.
pub fn dispatch(ctx: &crate::commands::Ctx, command: crate::cli::Command) -> Result<()> {
    use crate::cli::Command;
    match command {
        Command::Diff(a) => {
            let format = match (a.stat, a.name_only) {
                (true, _) => diff::Format::Stat,
                (_, true) => diff::Format::NameOnly,
                _ => diff::Format::Patch,
            };
            diff::run(ctx, &a.name, format, &a.paths)
        }
        Command::Transcript(a) => transcript::run(ctx, &a.name, a.follow),
        Command::Send(a) => {
            let source = match (a.file, a.message) {
                (Some(f), _) => send::Source::File(f),
                (None, Some(m)) if m == "-" => send::Source::Stdin,
                (None, m) => send::Source::Text(m.unwrap_or_default()),
            };
            send::run(ctx, &a.name, source, Mode::from_dry_run(a.dry_run))
        }
        Command::Merge(a) => {
            let mode = match (a.squash, a.rebase) {
                (true, _) => merge::Mode::Squash,
                (_, true) => merge::Mode::Rebase,
                _ => merge::Mode::Merge,
            };
            let flags = merge::MergeFlags {
                into: a.into,
                mode,
                include_uncommitted: a.include_uncommitted,
                dry_run: a.dry_run,
            };
            merge::run(ctx, &a.name, flags)
        }
        Command::Pr(a) if a.refresh => pr_status::refresh(&ctx.home, &a.name),
        Command::Pr(a) => {
            let flags = pr::PrFlags {
                draft: a.draft,
                title: a.title,
                body_file: a.body_file,
                base: a.base,
                dry_run: a.dry_run,
            };
            pr::run(ctx, &a.name, flags)
        }
        _ => unreachable!("only the landing commands are passed here"),
    }
}

/// The landing record, read at create, from a repository whose config was just checked.
pub fn record_landing(repo: &Path, base_commit: String) -> Landing {
    Landing {
        base_commit: Some(base_commit),
        remote: push_remote(repo),
    }
}

/// `origin` if the repository has it, else its only remote.
fn push_remote(repo: &Path) -> Option<Remote> {
    let out = git::git(repo).arg("remote").run().ok()?.stdout;
    let remotes: Vec<&str> = out.lines().map(str::trim).collect();
    let name = if remotes.contains(&"origin") {
        "origin"
    } else if let [only] = remotes.as_slice() {
        only
    } else {
        return None;
    };
    // The URL as written, as the GitHub scope uses it: not `get-url --push`,
    // whose pushurl and insteadOf an earlier session's agent could have
    // written into the shared config (DESIGN: never push to those).
    let url = git::git(repo)
        .args(["config", "--get", &format!("remote.{name}.url")])
        .run()
        .ok()?
        .stdout
        .trim()
        .to_string();
    (!url.is_empty()).then(|| Remote {
        name: name.to_string(),
        url,
    })
}
