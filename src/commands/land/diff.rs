//! `clauderon diff NAME`: the agent's work against the session's base, in
//! three parts: the commits on its branch, the worktree's uncommitted
//! changes, and its untracked files. Paged and coloured on a terminal, as
//! git does; plain otherwise; `--json` counts each file's changes.

use std::io::{IsTerminal, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{base_commit, branch_ref, checked_session, commits, diff_cmd, has_worktree};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::git;
use crate::session::SessionSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Patch,
    Stat,
    NameOnly,
}

impl Format {
    fn flag(self) -> Option<&'static str> {
        match self {
            Format::Patch => None,
            Format::Stat => Some("--stat"),
            Format::NameOnly => Some("--name-only"),
        }
    }
}

pub fn run(ctx: &Ctx, name: &str, format: Format, paths: &[String]) -> Result<()> {
    check_paths(paths)?;
    let spec = checked_session(&ctx.home, name)?;
    let base = base_commit(&spec)?;
    let untracked = untracked_files(&spec, paths)?;
    if crate::output::json() {
        crate::output::print_json(&as_json(&spec, &base, paths, &untracked)?);
        return Ok(());
    }
    let color = std::io::stdout().is_terminal();
    let text = render(&spec, &base, format, paths, &untracked, color)?;
    if color {
        page(&spec.repo_root, &text)
    } else {
        print_plain(&text)
    }
}

/// Paths after `--` name files of the session's worktree, from its root:
/// one that leads outside it (absolute, or climbing with `..`) is bad input.
fn check_paths(paths: &[String]) -> Result<()> {
    use std::path::Component;
    for p in paths {
        let mut depth = 0i32;
        let path = Path::new(p);
        let escapes = path.is_absolute()
            || path.components().any(|c| {
                match c {
                    Component::ParentDir => depth -= 1,
                    Component::Normal(_) => depth += 1,
                    _ => {}
                }
                depth < 0
            });
        if escapes {
            return Err(
                Error::input(format!("{p:?} is outside the session's worktree"))
                    .with_fix("give paths from the repository's root, e.g. src/main.rs"),
            );
        }
    }
    Ok(())
}

fn print_plain(text: &[u8]) -> Result<()> {
    std::io::stdout()
        .write_all(text)
        .map_err(|e| Error::io("could not write the diff", e))
}

/// The three parts, each under a heading that says what it is.
fn render(
    spec: &SessionSpec,
    base: &str,
    format: Format,
    paths: &[String],
    untracked: &[String],
    color: bool,
) -> Result<Vec<u8>> {
    let color_flag = if color {
        "--color=always"
    } else {
        "--color=never"
    };
    let mut out = Vec::new();
    let range = format!("{base}..{}", branch_ref(spec));
    let listed = commits(&spec.repo_root, &range, paths)?;
    let short = &base[..base.len().min(12)];
    heading(
        &mut out,
        &format!(
            "Commits on '{}' since {short}: {}",
            spec.branch,
            listed.len()
        ),
    );
    for (hash, subject) in &listed {
        out.extend_from_slice(format!("  {hash} {subject}\n").as_bytes());
    }
    let mut committed = diff_cmd(&spec.repo_root, "diff").arg(color_flag);
    committed = with_format(committed, format)
        .arg(base)
        .arg(branch_ref(spec));
    out.extend(run_diff(committed, paths)?);
    if !has_worktree(spec) {
        return Ok(out);
    }
    heading(
        &mut out,
        "Uncommitted changes in the worktree (against its HEAD)",
    );
    let worktree =
        with_format(diff_cmd(&spec.worktree, "diff").arg(color_flag), format).arg("HEAD");
    out.extend(run_diff(worktree, paths)?);
    heading(&mut out, &format!("Untracked files: {}", untracked.len()));
    for file in untracked {
        let cmd = with_format(diff_cmd(&spec.worktree, "diff").arg(color_flag), format).args([
            "--no-index",
            "--",
            "/dev/null",
            file,
        ]);
        out.extend(no_index(&cmd)?);
    }
    Ok(out)
}

fn heading(out: &mut Vec<u8>, text: &str) {
    if !out.is_empty() {
        out.push(b'\n');
    }
    out.extend_from_slice(format!("### {text}\n").as_bytes());
}

fn with_format(cmd: crate::exec::Cmd, format: Format) -> crate::exec::Cmd {
    match format.flag() {
        Some(flag) => cmd.arg(flag),
        None => cmd,
    }
}

fn run_diff(cmd: crate::exec::Cmd, paths: &[String]) -> Result<Vec<u8>> {
    let cmd = cmd.arg("--").args(paths);
    cmd.run()
        .map(|o| o.stdout.into_bytes())
        .map_err(git::classify)
}

/// `git diff --no-index` exits 1 when the files differ, which they do.
fn no_index(cmd: &crate::exec::Cmd) -> Result<Vec<u8>> {
    match cmd.run_any() {
        Ok((Some(0 | 1), out)) => Ok(out.into_bytes()),
        Ok((code, _)) => Err(Error::failed(format!(
            "`{}` failed (exit {code:?})",
            cmd.shown()
        ))),
        Err(f) => Err(git::classify(f)),
    }
}

/// Untracked files of the worktree (ignored ones left out), under `paths`.
fn untracked_files(spec: &SessionSpec, paths: &[String]) -> Result<Vec<String>> {
    if !has_worktree(spec) {
        return Ok(Vec::new());
    }
    let out = git::git(&spec.worktree)
        .args(["ls-files", "-z", "--others", "--exclude-standard", "--"])
        .args(paths)
        .run()
        .map_err(git::classify)?;
    Ok(out
        .stdout
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect())
}

/// `--numstat -z` records as {path, added, deleted} (binary: null counts).
fn numstat(dir: &Path, rest: &[&str], no_index_diff: bool) -> Result<Vec<Value>> {
    let cmd = diff_cmd(dir, "diff")
        .args(["--numstat", "-z"])
        .args(rest.iter().copied());
    let text = match no_index_diff {
        true => String::from_utf8_lossy(&no_index(&cmd)?).into_owned(),
        false => cmd.run().map_err(git::classify)?.stdout,
    };
    let mut files = Vec::new();
    let mut fields = text.split('\0');
    while let Some(record) = fields.next().filter(|r| !r.is_empty()) {
        let mut parts = record.splitn(3, '\t');
        let (added, deleted, path) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
        // A rename: the path is empty and the next two fields are old and new.
        let path = match path {
            "" => {
                let _old = fields.next();
                fields.next().unwrap_or("").to_string()
            }
            p => p.to_string(),
        };
        let count = |n: Option<&str>| n.and_then(|n| n.parse::<u64>().ok());
        files.push(json!({"path": path, "added": count(added), "deleted": count(deleted)}));
    }
    Ok(files)
}

fn as_json(
    spec: &SessionSpec,
    base: &str,
    paths: &[String],
    untracked: &[String],
) -> Result<Value> {
    let range = format!("{base}..{}", branch_ref(spec));
    let listed: Vec<Value> = commits(&spec.repo_root, &range, paths)?
        .into_iter()
        .map(|(hash, subject)| json!({"hash": hash, "subject": subject}))
        .collect();
    let branch = branch_ref(spec);
    let with_paths = |mut args: Vec<&'static str>| -> Vec<String> {
        let mut v: Vec<String> = args.drain(..).map(String::from).collect();
        v.push("--".into());
        v.extend(paths.iter().cloned());
        v
    };
    let mut rest = vec![base.to_string(), branch];
    rest.extend(with_paths(vec![]));
    let committed = numstat(&spec.repo_root, &refs(&rest), false)?;
    let (mut uncommitted, mut new_files) = (Vec::new(), Vec::new());
    if has_worktree(spec) {
        uncommitted = numstat(&spec.worktree, &refs(&with_paths(vec!["HEAD"])), false)?;
        for file in untracked {
            let rest = ["--no-index", "--", "/dev/null", file.as_str()];
            let mut stat = numstat(&spec.worktree, &rest, true)?;
            for s in &mut stat {
                s["path"] = json!(file);
            }
            new_files.extend(stat);
        }
    }
    Ok(json!({
        "session": spec.name,
        "branch": spec.branch,
        "base": base,
        "commits": listed,
        "committed": committed,
        "uncommitted": uncommitted,
        "untracked": new_files,
    }))
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Through the user's pager, as git would page (`git var GIT_PAGER`: the
/// environment, then the user's config; the repository's own was checked).
fn page(repo: &Path, text: &[u8]) -> Result<()> {
    let pager = git::git(repo)
        .args(["var", "GIT_PAGER"])
        .run()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_else(|_| "less".into());
    if pager.is_empty() || pager == "cat" {
        return print_plain(text);
    }
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", &pager]).stdin(std::process::Stdio::piped());
    for (k, v) in [("LESS", "FRX"), ("LV", "-c")] {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    let Ok(mut child) = cmd.spawn() else {
        return print_plain(text);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early (q) closes its input: not an error.
        let _ = stdin.write_all(text);
    }
    let _ = child.wait();
    Ok(())
}
