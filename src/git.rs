//! Git on the host, hardened: an agent can write the shared `.git`, so every
//! git command clauderon runs pins hooks and fsmonitor off, and clauderon
//! refuses to run git at all when repository config would execute a program.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::exec::{Cmd, Failure};
use crate::session::GitIdentity;

/// `git -C <dir>` with the pins that stop repository config from running
/// programs: no hooks, no fsmonitor, and never into submodules (whose own
/// config, in `.git/modules/`, an agent can write and nothing checks).
pub fn git(dir: &Path) -> Cmd {
    Cmd::new(["git", "-C"]).args([
        dir.to_string_lossy().as_ref(),
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "submodule.recurse=false",
        "-c",
        "diff.ignoreSubmodules=all",
    ])
}

pub fn classify(f: Failure) -> Error {
    if f.not_found {
        return Error::unavailable("`git` is not installed or not in PATH")
            .with_fix("install git (e.g. `sudo apt install git`)");
    }
    f.into_error()
}

#[derive(Clone, Debug)]
pub struct Repo {
    pub root: PathBuf,
    pub common_dir: PathBuf,
    /// Path of the given directory inside the repository, "" at the top.
    pub prefix: String,
}

/// Finds the repository that contains `path`.
pub fn resolve_repo(path: &Path) -> Result<Repo> {
    if !path.exists() {
        return Err(
            Error::not_found(format!("--repo {}: no such directory", path.display()))
                .with_fix("pass the path of a git repository (or run clauderon inside one)"),
        );
    }
    let out = git(path)
        .args([
            "rev-parse",
            "--show-toplevel",
            "--git-common-dir",
            "--show-prefix",
        ])
        .run()
        .map_err(|f| {
            if f.stderr.contains("not a git repository") {
                Error::not_found(format!("{} is not inside a git repository", path.display()))
                    .with_fix(
                        "pass --repo a directory of a git repository (or run `git init` there)",
                    )
            } else if f
                .stderr
                .contains("this operation must be run in a work tree")
            {
                Error::input(format!(
                    "{} is a bare repository or a .git directory",
                    path.display()
                ))
                .with_fix("pass --repo a checkout (a directory with files), not the .git directory")
            } else {
                classify(f)
            }
        })?;
    let mut lines = out.stdout.lines();
    let (Some(root), Some(common)) = (lines.next(), lines.next()) else {
        return Err(
            Error::failed(format!("{} looks like a bare repository", path.display()))
                .with_fix("pass --repo a checkout, not a bare repository"),
        );
    };
    // Relative to `path` when git prints it relative (git < 2.31 has no
    // --path-format=absolute).
    let common = path.join(common);
    let common_dir = std::fs::canonicalize(&common).unwrap_or(common);
    Ok(Repo {
        root: PathBuf::from(root),
        common_dir,
        prefix: lines.next().unwrap_or("").to_string(),
    })
}

/// The commit `base` names, or a clear error.
pub fn resolve_commit(repo: &Path, base: &str) -> Result<String> {
    let out = git(repo)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{base}^{{commit}}"))
        .run();
    match out {
        Ok(o) => Ok(o.stdout.trim().to_string()),
        Err(f) if f.not_found => Err(classify(f)),
        Err(_) if base == "HEAD" => Err(Error::input(format!(
            "{} has no commits yet, so there is nothing to branch from",
            repo.display()
        ))
        .with_fix("make a first commit, or pass --base <ref>")),
        // A named thing that is not there: not found (404 over HTTP).
        Err(_) => Err(Error::not_found(format!(
            "--base {base:?} does not name a commit in {}",
            repo.display()
        ))
        .with_fix("pass a branch, tag or commit that exists (see `git branch -a`)")),
    }
}

pub fn branch_exists(repo: &Path, branch: &str) -> Result<bool> {
    match git(repo)
        .args(["show-ref", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}"))
        .run()
    {
        Ok(_) => Ok(true),
        Err(f) if f.code == Some(1) => Ok(false),
        Err(f) => Err(classify(f)),
    }
}

/// `user.name` and `user.email` as git resolves them, in one call.
pub fn identity(repo: &Path) -> GitIdentity {
    let out = git(repo)
        .args(["config", "-z", "--get-regexp", r"^user\.(name|email)$"])
        .run()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let mut id = GitIdentity::default();
    // The last value of a key wins, as with `git config --get`.
    for entry in out.split('\0') {
        let (key, value) = entry.split_once('\n').unwrap_or((entry, ""));
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        match key {
            "user.name" => id.name = value,
            "user.email" => id.email = value,
            _ => {}
        }
    }
    id
}

fn is_bool(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0" | ""
    )
}

/// Keys that make git run a program, which an agent could plant in the
/// shared repository config to run code on the host.
fn executes_program(key: &str, value: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let (section, rest) = key.split_once('.').unwrap_or((&key, ""));
    let last = rest.rsplit('.').next().unwrap_or("");
    match section {
        "core" => match rest {
            "fsmonitor" => !is_bool(value),
            "hookspath" => false, // always pinned to /dev/null
            "sshcommand" | "pager" | "editor" | "askpass" | "gitproxy" | "alternaterefscommand" => {
                true
            }
            // Not a program, but it moves where git reads and writes files.
            "worktree" => true,
            _ => false,
        },
        "filter" => matches!(last, "clean" | "smudge" | "process"),
        "diff" => rest == "external" || matches!(last, "textconv" | "command"),
        "merge" => last == "driver",
        "gpg" => last == "program",
        "credential" => last == "helper",
        "sequence" => rest == "editor",
        "uploadpack" => rest == "packobjectshook",
        "remote" => matches!(last, "uploadpack" | "receivepack" | "vcs"),
        // `pager.<cmd> = false` turns the pager off; anything else names one.
        "pager" => !is_bool(value),
        "difftool" | "mergetool" | "man" | "browser" => last == "cmd" || last == "path",
        "interactive" => rest == "difffilter",
        "submodule" => last == "update" && value.starts_with('!'),
        _ => false,
    }
}

/// The keys of the repository's own (local or worktree, includes
/// followed) config that would make git run a program, as "key (scope)".
/// Reading config runs nothing, so this is safe on a hostile repository.
pub fn planted_config(repo: &Path) -> Result<Vec<String>> {
    local_config_matching(repo, executes_program)
}

/// Keys that send git's network traffic somewhere else than the URL it is
/// given (a proxy, a rewritten URL, a trusted CA): a push clauderon makes
/// to the URL recorded at create must not follow them.
fn redirects_network(key: &str, _value: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let (section, rest) = key.split_once('.').unwrap_or((&key, ""));
    let last = rest.rsplit('.').next().unwrap_or("");
    match section {
        "http" => matches!(
            last,
            "proxy" | "sslverify" | "sslcainfo" | "sslcapath" | "curloptresolve"
        ),
        "url" => matches!(last, "insteadof" | "pushinsteadof"),
        "remote" => last == "proxy",
        _ => false,
    }
}

/// The repository's own config keys that would redirect a push (see
/// `redirects_network`), as "key (scope)".
pub fn planted_redirects(repo: &Path) -> Result<Vec<String>> {
    local_config_matching(repo, redirects_network)
}

/// Refuses a push when the repository's own config would redirect it.
pub fn check_no_redirects(repo: &Path) -> Result<()> {
    refuse_planted(
        repo,
        planted_redirects(repo)?,
        "refusing to push from",
        "redirects git's network traffic",
        "",
    )
}

/// The refusal for planted keys: what they do, and the commands that remove them.
fn refuse_planted(
    repo: &Path,
    keys: Vec<String>,
    refusing: &str,
    does: &str,
    more: &str,
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "{refusing} {}: its repository config {does}: {}. An agent may have written it; check it before trusting it",
        repo.display(),
        keys.join(", ")
    ))
    .with_fix(format!(
        "if you did not set it yourself, remove it: {}{more}",
        unset_commands(repo, &keys)
    )))
}

/// `git status` entries of a worktree, each file once (an untracked
/// directory by its files): (untracked?, path).
pub fn status_entries(dir: &Path) -> Result<Vec<(bool, String)>> {
    let out = git(dir)
        .args([
            "status",
            "--porcelain",
            "-z",
            "--no-renames",
            "--untracked-files=all",
        ])
        .run()
        .map_err(classify)?;
    Ok(out
        .stdout
        .split('\0')
        .filter(|e| e.len() > 3)
        .map(|e| (e.starts_with("??"), e[3..].to_string()))
        .collect())
}

fn local_config_matching(repo: &Path, matches: fn(&str, &str) -> bool) -> Result<Vec<String>> {
    let out = git(repo)
        .args(["config", "--list", "--show-scope", "-z"])
        .run()
        .map_err(classify)?;
    let fields: Vec<&str> = out.stdout.split('\0').collect();
    let mut dangerous = Vec::new();
    for pair in fields.chunks(2) {
        let [scope, entry] = pair else { continue };
        if !matches!(*scope, "local" | "worktree") {
            continue;
        }
        let (key, value) = entry.split_once('\n').unwrap_or((entry, ""));
        if matches(key, value) {
            dangerous.push(format!("{key} ({scope})"));
        }
    }
    Ok(dangerous)
}

/// The commands that remove planted keys: `config --unset-all` in the
/// file each comes from (reading and writing config runs nothing).
pub fn unset_commands(repo: &Path, planted: &[String]) -> String {
    let repo = shell_words::quote(&repo.to_string_lossy()).into_owned();
    planted
        .iter()
        .map(|d| {
            let key = d.split(' ').next().unwrap_or("");
            let scope = if d.ends_with("(worktree)") {
                "--worktree"
            } else {
                "--local"
            };
            format!("git -C {repo} config {scope} --unset-all {key}")
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// Refuses to go on when the repository's own (local or worktree) config
/// would make git run a program on the host.
pub fn check_config_is_safe(repo: &Path) -> Result<()> {
    refuse_planted(
        repo,
        planted_config(repo)?,
        "refusing to run git in",
        "makes git run a program",
        " (keys set by an included file: remove the include.path / includeIf entry instead)",
    )
}

/// Patterns, anchored at the worktree root, for what the agent and its tools
/// write under `HOME=/workspace`. They go in the repository's `info/exclude`
/// so `git status` stays clean without touching tracked files.
pub const EXCLUDE_BLOCK: &str = "\
# clauderon: files agent sessions write in their worktree (HOME=/workspace)
/.claude/
/.claude.json*
/.cargo/
/.cache/
/.codex/
/.clauderon/
/.local/
# end clauderon
";

/// What to append to `info/exclude` so every pattern of the block is there
/// (only the missing ones), or None if nothing is missing. The user's own
/// lines are never touched. The file is in the `.git` an agent can write:
/// if it (or `info/`) is a planted link or not a file of ours, nothing is
/// written and a warning says what was found.
pub fn exclude_addition(common_dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    let path = common_dir.join("info").join("exclude");
    if let Some((offender, why)) = crate::safe_fs::planted(&path) {
        eprintln!(
            "clauderon: warning: not adding clauderon's patterns to {}: {why}. An agent may have planted it; check it, then remove it (rm {}) so the next create writes a plain file",
            path.display(),
            shell_words::quote(&offender.to_string_lossy())
        );
        return None;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let present: std::collections::HashSet<&str> = current.lines().map(str::trim).collect();
    let missing: Vec<&str> = EXCLUDE_BLOCK
        .lines()
        .filter(|l| !l.starts_with('#') && !present.contains(l))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut lines: Vec<&str> = EXCLUDE_BLOCK
        .lines()
        .filter(|l| l.starts_with('#'))
        .collect();
    lines.splice(1..1, missing);
    let mut text = String::new();
    if !current.is_empty() && !current.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&lines.join("\n"));
    text.push('\n');
    Some((path, text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclude_keeps_user_lines_and_adds_only_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("info")).unwrap();
        let file = dir.path().join("info/exclude");
        std::fs::write(&file, "*.mine\n/.claude/").unwrap();
        let (path, add) = exclude_addition(dir.path()).unwrap();
        let add = String::from_utf8(add).unwrap();
        assert!(add.starts_with("\n# clauderon"), "{add}");
        assert!(
            !add.contains("/.claude/\n") && add.contains("/.claude.json*\n"),
            "{add}"
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, add.as_bytes()).unwrap();
        assert!(
            std::fs::read_to_string(&file)
                .unwrap()
                .starts_with("*.mine\n")
        );
        assert!(exclude_addition(dir.path()).is_none());
        // A repository without info/ gets the whole block.
        let empty = tempfile::tempdir().unwrap();
        assert!(exclude_addition(empty.path()).is_some());
    }

    #[test]
    fn program_running_keys_are_recognised() {
        for (k, v) in [
            ("filter.lfs.smudge", "x"),
            ("diff.external", "x"),
            ("diff.foo.textconv", "x"),
            ("core.fsmonitor", "/tmp/evil"),
            ("core.sshCommand", "x"),
            ("credential.helper", "x"),
        ] {
            assert!(executes_program(k, v), "{k}");
        }
        for (k, v) in [
            ("core.fsmonitor", "false"),
            ("core.hooksPath", "/x"),
            ("user.name", "x"),
            ("remote.origin.url", "x"),
        ] {
            assert!(!executes_program(k, v), "{k}");
        }
    }
}
