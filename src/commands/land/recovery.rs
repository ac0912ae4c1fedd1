//! Nothing lost on delete: the commits a session's branch holds that no
//! other branch does are named before it goes, and kept under a recovery
//! ref (`refs/clauderon/deleted/<name>`) in the user's repository, so `git gc`
//! cannot drop them. `status --deleted` lists the refs (from an index in
//! the home) with the one command that restores each; they are pruned
//! after 30 days.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::git;
use crate::plan::Step;
use crate::session::SessionSpec;
use crate::store::Home;

/// How long a recovery ref is kept.
pub const KEEP_SECS: u64 = 30 * 24 * 60 * 60;

/// One deleted branch kept under a recovery ref.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kept {
    pub session: String,
    pub branch: String,
    pub repo: PathBuf,
    #[serde(rename = "ref")]
    pub reference: String,
    pub commit: String,
    /// The commits on no other branch, as "hash subject".
    pub commits: Vec<String>,
    pub deleted_at: u64,
}

impl Kept {
    /// The one command that brings the branch back.
    pub fn restore_command(&self) -> String {
        format!(
            "git -C {} branch {} {}",
            super::quoted(&self.repo),
            self.branch,
            self.reference
        )
    }
}

fn index_path(home: &Home) -> PathBuf {
    home.root.join("deleted-branches.jsonl")
}

/// Commits of the session's branch that no other branch has, newest
/// first, as (short hash, subject). Unknown (git failed): none.
pub fn unique_commits(repo: &Path, branch: &str) -> Vec<(String, String)> {
    let own = format!("refs/heads/{branch}");
    let out = git::git(repo)
        .args([
            "log",
            "--no-show-signature",
            "--format=%h%x00%s",
            &own,
            "--not",
        ])
        // (--branches matches --exclude against the name below refs/heads/)
        .arg(format!("--exclude={branch}"))
        .args(["--branches", "--"])
        .run();
    out.map(|o| {
        o.stdout
            .lines()
            .filter_map(|l| l.split_once('\0'))
            .map(|(h, s)| (h.to_string(), crate::hooks::events::printable(s)))
            .collect()
    })
    .unwrap_or_default()
}

/// The recovery ref for `name`: `refs/clauderon/deleted/<name>`, or with a
/// number when an earlier deletion of that name is still kept.
pub(crate) fn free_ref(repo: &Path, name: &str) -> String {
    let exists = |r: &str| {
        git::git(repo)
            .args(["show-ref", "--verify", "--quiet", r])
            .run()
            .is_ok()
    };
    let first = format!("refs/clauderon/deleted/{name}");
    (1..100)
        .map(|n| match n {
            1 => first.clone(),
            n => format!("{first}-{n}"),
        })
        .find(|r| !exists(r))
        .unwrap_or(first)
}

/// What deleting the branch would keep: None if nothing is on it alone.
pub fn to_keep(spec: &SessionSpec, commit: &str) -> Option<Kept> {
    let commits = unique_commits(&spec.repo_root, &spec.branch);
    if commits.is_empty() {
        return None;
    }
    Some(Kept {
        session: spec.name.clone(),
        branch: spec.branch.clone(),
        repo: spec.repo_root.clone(),
        reference: free_ref(&spec.repo_root, &spec.name),
        commit: commit.to_string(),
        commits: commits.iter().map(|(h, s)| format!("{h} {s}")).collect(),
        deleted_at: crate::session::now(),
    })
}

/// The steps that keep the commits before `branch -D`: the ref, and its
/// line in the index `status --deleted` reads.
pub fn keep_steps(home: &Home, kept: &Kept) -> Vec<Step> {
    let mut line = serde_json::to_vec(kept).expect("json serializes");
    line.push(b'\n');
    vec![
        Step::run_cmd(
            git::git(&kept.repo)
                .args([
                    "update-ref",
                    "-m",
                    "clauderon delete: kept",
                    &kept.reference,
                ])
                .arg(&kept.commit),
            git::classify,
        ),
        Step::AppendFile {
            path: index_path(home),
            contents: line,
        },
    ]
}

/// The kept refs that still exist, after pruning those older than 30 days
/// (in repositories whose config is safe to run git in).
pub fn list(home: &Home) -> Result<Vec<Kept>> {
    let path = index_path(home);
    let all: Vec<Kept> = crate::jsonl::read(&path);
    let now = crate::session::now();
    let mut left = Vec::new();
    for kept in all {
        let safe = kept.repo.is_dir() && git::check_config_is_safe(&kept.repo).is_ok();
        if !safe {
            continue;
        }
        let at = git::git(&kept.repo)
            .args(["rev-parse", "--verify", "--quiet", &kept.reference])
            .run()
            .map(|o| o.stdout.trim().to_string());
        match at {
            Ok(c) if c == kept.commit && now.saturating_sub(kept.deleted_at) > KEEP_SECS => {
                let _ = git::git(&kept.repo)
                    .args(["update-ref", "-d", &kept.reference, &kept.commit])
                    .run();
            }
            Ok(c) if c == kept.commit => left.push(kept),
            _ => {}
        }
    }
    rewrite_index(&path, &left)?;
    Ok(left)
}

fn rewrite_index(path: &Path, kept: &[Kept]) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let mut text = Vec::new();
    for k in kept {
        text.extend(serde_json::to_vec(k).expect("json serializes"));
        text.push(b'\n');
    }
    crate::plan::write_atomic(path, &text, 0o600)
}

/// `clauderon status --deleted`.
pub fn print(home: &Home) -> Result<()> {
    let kept = list(home)?;
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!(
            kept.iter()
                .map(|k| {
                    let mut v = serde_json::to_value(k).expect("json serializes");
                    v["restore"] = k.restore_command().into();
                    v
                })
                .collect::<Vec<_>>()
        ));
        return Ok(());
    }
    if kept.is_empty() {
        println!("No deleted session branches are kept.");
        return Ok(());
    }
    for k in &kept {
        let days =
            (KEEP_SECS.saturating_sub(crate::session::now().saturating_sub(k.deleted_at))) / 86_400;
        println!(
            "{}  branch '{}' in {} (kept {days} more day(s))",
            k.session,
            k.branch,
            k.repo.display()
        );
        for c in &k.commits {
            println!("    {c}");
        }
        println!("  restore: {}", k.restore_command());
    }
    Ok(())
}
