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
    let warnings = spec
        .map(|s| loss_warnings(s, delete_branch))
        .unwrap_or_default();
    if !std::io::stdin().is_terminal() {
        // Said even so: what --force would lose is what the user weighs.
        let lost: String = warnings.iter().map(|w| format!("; {w}")).collect();
        return Err(Error::input(format!(
            "refusing to delete session '{name}' without confirmation (no terminal to ask on){lost}"
        ))
        .with_fix(format!("clauderon delete --force {name}")));
    }
    let what = if delete_branch {
        "its container, worktree and branch"
    } else {
        "its container and worktree"
    };
    let mut question = format!("Delete session '{name}' ({what})");
    for w in &warnings {
        question = format!("{question}\n  warning: {w}");
    }
    if !warnings.is_empty() {
        question.push_str("\nDelete anyway");
    }
    ask(&question)
}

/// What deleting the session loses: uncommitted changes in its worktree
/// (modified and untracked files, each counted), and (when its branch goes)
/// every commit no other branch holds, by hash and subject.
pub(super) fn loss_warnings(spec: &SessionSpec, delete_branch: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    let (changed, untracked) = uncommitted_changes(spec);
    let total = changed.len() + untracked.len();
    if total > 0 {
        let kinds: Vec<String> = [("modified", &changed), ("untracked", &untracked)]
            .into_iter()
            .filter(|(_, paths)| !paths.is_empty())
            .map(|(kind, paths)| format!("{} {kind} ({})", paths.len(), first_few(paths)))
            .collect();
        warnings.push(format!(
            "its worktree {} has {total} uncommitted change(s) that will be LOST: {}",
            spec.worktree.display(),
            kinds.join(", "),
        ));
    }
    let unmerged = if delete_branch && spec.repo_root.exists() {
        super::land::recovery::unique_commits(&spec.repo_root, &spec.branch)
    } else {
        Vec::new()
    };
    if !unmerged.is_empty() {
        let list: Vec<String> = unmerged.iter().map(|(h, s)| format!("{h} {s:?}")).collect();
        warnings.push(format!(
            "its branch '{}' has {} commit(s) on no other branch: {} (kept under {}, see `clauderon status --deleted`)",
            spec.branch,
            unmerged.len(),
            list.join(", "),
            super::land::recovery::free_ref(&spec.repo_root, &spec.name)
        ));
    }
    warnings
}

fn first_few(paths: &[String]) -> String {
    let mut shown: Vec<String> = paths
        .iter()
        .take(10)
        .map(|p| crate::hooks::events::printable(p))
        .collect();
    if paths.len() > shown.len() {
        shown.push(format!("and {} more", paths.len() - shown.len()));
    }
    if shown.is_empty() {
        return "none".into();
    }
    shown.join(", ")
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

/// The worktree's modified (or staged) and untracked files, each file
/// counted once (an untracked directory by its files).
fn uncommitted_changes(spec: &SessionSpec) -> (Vec<String>, Vec<String>) {
    if !spec.worktree.exists() || !git::planted_config(&spec.worktree).is_ok_and(|p| p.is_empty()) {
        return (Vec::new(), Vec::new());
    }
    // (the config check above also covers the worktree's own config)
    let (mut changed, mut untracked) = (Vec::new(), Vec::new());
    for (new, path) in git::status_entries(&spec.worktree).unwrap_or_default() {
        match new {
            true => untracked.push(path),
            false => changed.push(path),
        }
    }
    (changed, untracked)
}
