//! What `delete` looks at before it removes anything: what an agent may
//! have planted in the repository, and what the user would lose (the
//! confirmation's uncommitted changes and unmerged commits).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git;
use crate::session::SessionSpec;
use crate::worktree;

/// What an agent may have planted in the repository: config keys that make
/// git run programs (or a config git cannot read), and hooks written since
/// the session was made.
#[derive(Default)]
pub(super) struct Planted {
    pub(super) config: Vec<String>,
    pub(super) hooks: Vec<PathBuf>,
}

impl Planted {
    pub(super) fn find(repo: &Path, common: &Path, since: u64) -> Planted {
        let config = git::planted_config(repo)
            .unwrap_or_else(|e| vec![format!("(its config cannot be read: {})", e.message)]);
        let changed_since = |p: &PathBuf| {
            std::fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .is_some_and(|t| t.as_secs() >= since)
        };
        let hooks = worktree::hooks_in(common)
            .into_iter()
            .filter(changed_since)
            .collect();
        Planted { config, hooks }
    }

    /// Says what was found and the exact commands that remove it.
    pub(super) fn warn(&self, repo: &Path, kept_branch: Option<&str>) {
        if !self.config.is_empty() {
            eprintln!(
                "clauderon: warning: {} has config that makes git run programs: {}. An agent may have planted it, so clauderon removes the session without running git there.\n  remove it: {}",
                repo.display(),
                self.config.join(", "),
                git::unset_commands(repo, &self.config)
            );
            if let Some(branch) = kept_branch {
                eprintln!(
                    "clauderon: the branch '{branch}' is kept (deleting it needs git); once the config is clean: git -C {} branch -D {branch}",
                    shell_words::quote(&repo.to_string_lossy())
                );
            }
        }
        if !self.hooks.is_empty() {
            let list: Vec<String> = self
                .hooks
                .iter()
                .map(|h| shell_words::quote(&h.to_string_lossy()).into_owned())
                .collect();
            eprintln!(
                "clauderon: warning: git hooks were written while the session ran (clauderon never runs them, but your own git would): {}\n  inspect them, then remove them: rm {}",
                list.join(", "),
                list.join(" ")
            );
        }
    }
}

/// Asks on a terminal; without one, refuses (scripts pass --force).
pub(super) fn confirm(name: &str, spec: Option<&SessionSpec>, delete_branch: bool) -> Result<bool> {
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
    let warnings = spec
        .map(|s| loss_warnings(s, delete_branch))
        .unwrap_or_default();
    let mut question = format!("Delete session '{name}' ({what})");
    for w in &warnings {
        question = format!("{question}\n  warning: {w}");
    }
    if !warnings.is_empty() {
        question.push_str("\nDelete anyway");
    }
    ask(&question)
}

/// What deleting the session loses: uncommitted changes in its worktree,
/// and (when its branch goes) commits no other branch holds.
pub(super) fn loss_warnings(spec: &SessionSpec, delete_branch: bool) -> Vec<String> {
    let mut warnings = Vec::new();
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
    warnings
}

/// Asks on the terminal; only `y` or `yes` is a yes.
pub fn ask(question: &str) -> Result<bool> {
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
    if !spec.worktree.exists() || !git::planted_config(&spec.worktree).is_ok_and(|p| p.is_empty()) {
        return 0;
    }
    // (the config check above also covers the worktree's own config)
    git::git(&spec.worktree)
        .args([
            "status",
            "--porcelain",
            "--no-renames",
            "--ignore-submodules=all",
        ])
        .run()
        .map(|o| o.stdout.lines().count())
        .unwrap_or(0)
}
