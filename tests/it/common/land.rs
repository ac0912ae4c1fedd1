//! Helpers for the landing tests (diff, merge, pr, send, delete): an agent's
//! work made inside its container, and a recording `gh` stand-in.

use std::path::{Path, PathBuf};

use super::{Env, git};

pub fn executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a shell script in the session's container, in /workspace (what an
/// agent's Bash tool does).
pub fn agent_does(engine: &str, name: &str, script: &str) {
    let out = std::process::Command::new(engine)
        .args(["exec", "-w", "/workspace", &format!("clauderon-{name}"), "bash", "-c"])
        .arg(format!(
            "set -e; export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@example.com GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@example.com; {script}"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{engine} exec: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The agent's usual work: one commit (`committed.txt`), one modified file
/// (README) and one untracked file (`untracked.txt`).
pub fn commit_modify_and_add(engine: &str, name: &str) {
    agent_does(
        engine,
        name,
        "printf 'one\\ntwo\\n' > committed.txt && git add committed.txt && git commit -qm 'agent: add committed' \
         && echo more >> README && echo new > untracked.txt",
    );
}

/// Everything `git status` and HEAD say of a repository, and its files' bytes.
pub fn snapshot(repo: &Path) -> (String, String, Vec<(PathBuf, Vec<u8>)>) {
    let status = git(repo, &["status", "--porcelain", "--untracked-files=all"]);
    let head = git(repo, &["rev-parse", "HEAD"]);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(repo).unwrap().flatten() {
        if entry.path().is_file() {
            files.push((entry.path(), std::fs::read(entry.path()).unwrap()));
        }
    }
    files.sort();
    (status, head, files)
}

/// A `gh` that records its argv (NUL-separated) and prints a PR URL; a
/// directory to put first on PATH.
pub fn gh_standin(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = dir.join("gh-argv");
    executable(
        &bin.join("gh"),
        &format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" > '{}'\necho https://github.com/o/r/pull/7\n",
            record.display()
        ),
    );
    bin
}

pub fn recorded_argv(dir: &Path) -> Vec<String> {
    std::fs::read(dir.join("gh-argv"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// PATH with `first` before the usual directories.
pub fn path_with(first: &Path) -> String {
    format!(
        "{}:{}",
        first.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

impl Env {
    pub fn with_origin(&self) -> tempfile::TempDir {
        let bare = tempfile::Builder::new()
            .prefix("clauderon-origin")
            .tempdir()
            .unwrap();
        git(bare.path(), &["init", "-q", "--bare"]);
        let url = bare.path().to_string_lossy().to_string();
        git(self.repo(), &["remote", "add", "origin", &url]);
        bare
    }
}

/// Commit ids (40 hex digits) as `[COMMIT]`: they change with every run.
pub fn without_commits(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_hexdigit() {
            word.push(c);
            continue;
        }
        out.push_str(if word.len() == 40 { "[COMMIT]" } else { &word });
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// A session started without a prompt: its agent waits for the user.
pub fn create_waiting(env: &Env, name: &str, extra: &[&str]) {
    let repo = env.repo().to_string_lossy().to_string();
    let mut args = vec![
        "create",
        "--name",
        name,
        "--repo",
        &repo,
        "--image",
        super::BASE_IMAGE,
        "--pull-policy",
        "never",
    ];
    args.extend_from_slice(extra);
    env.run(&args).ok();
    env.wait_for_runs(name, 1);
}
