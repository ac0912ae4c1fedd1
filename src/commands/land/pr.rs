//! `clauderon pr NAME`: pushes the session's branch to the remote URL
//! recorded when the session was created (never to a `pushurl` or
//! `insteadOf` the agent could have planted since), then opens a pull
//! request with the GitHub CLI, as the user, with the user's own login.
//! The agent's proxy token plays no part.

use std::path::{Path, PathBuf};

use super::{branch_ref, checked_session, quoted};
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::git;
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::spec::landing::Remote;

pub struct PrFlags {
    pub draft: bool,
    pub title: Option<String>,
    pub body_file: Option<PathBuf>,
    pub base: Option<String>,
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, name: &str, flags: PrFlags) -> Result<()> {
    let _lock = (!flags.dry_run)
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    let spec = checked_session(&ctx.home, name)?;
    let remote = recorded_remote(&spec, name)?;
    git::check_no_redirects(&spec.repo_root)?;
    check_flags(&flags)?;
    let github = github_repo(&remote.url);
    let mut plan = Plan::default();
    plan.push(Step::run_cmd(push(&spec, &remote.url), git::classify));
    let gh = find_in_path("gh");
    let body = flags
        .body_file
        .clone()
        .unwrap_or_else(|| ctx.home.session_dir(name).join("pr-body.md"));
    if flags.body_file.is_none() {
        plan.push(Step::WriteFile {
            path: body.clone(),
            contents: default_body(&ctx.home, &spec),
            mode: 0o600,
            secret: false,
        });
    }
    let create = gh_create(&spec, &flags, &body, github.as_deref());
    let cwd = match &github {
        Some(_) => ctx.home.session_dir(name),
        None => spec.repo_root.clone(),
    };
    if gh.is_none() {
        plan.note("gh is not installed: the branch is pushed and the pull request is left to open by hand");
    }
    // Shown only when it would run: without gh the run stops after the push.
    if flags.dry_run && gh.is_some() {
        plan.push(Step::run_cmd(create.clone(), |f| f.into_error()));
    }
    print_or_execute(
        &format!("pr {name}"),
        &plan,
        crate::plan::Mode::from_dry_run(flags.dry_run),
    )?;
    if flags.dry_run {
        return Ok(());
    }
    let Some(_) = gh else {
        return Err(no_gh(&spec, github.as_deref(), flags.base.as_deref()));
    };
    let url = open_pull_request(&create, &cwd)?;
    super::pr_status::remember(&ctx.home, name, &url)?;
    crate::output::info(format!(
        "Opened {url} from branch '{}' (pushed to {}).",
        spec.branch, remote.url
    ));
    Ok(())
}

/// The remote recorded when the session was created: the only one `pr`
/// pushes to.
fn recorded_remote(spec: &SessionSpec, name: &str) -> Result<Remote> {
    spec.landing.remote.clone().ok_or_else(|| {
        Error::failed(format!(
            "session '{name}' has no remote to push to: {} had no remote when the session was created",
            spec.repo_root.display()
        ))
        .with_fix(format!(
            "push by hand (git -C {} push URL {}), or add a GitHub remote (git remote add origin URL) before creating a session",
            quoted(&spec.repo_root),
            spec.branch
        ))
    })
}

/// Refuses an empty `--title`, a `--base` that is no branch name (or could
/// pass for an option), and a `--body-file` that is not there.
fn check_flags(flags: &PrFlags) -> Result<()> {
    if flags.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::input("--title is empty").with_fix("give a title, or leave --title out"));
    }
    if let Some(base) = flags.base.as_deref()
        && (base.starts_with('-')
            || base.contains("..")
            || base
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c)))
    {
        return Err(
            Error::input(format!("--base {base:?} is not a branch name"))
                .with_fix("name the branch the pull request goes into, e.g. --base main"),
        );
    }
    if let Some(f) = &flags.body_file
        && !f.is_file()
    {
        return Err(Error::input(format!(
            "--body-file {}: no such file",
            f.display()
        )));
    }
    Ok(())
}

/// Runs `gh pr create` (the branch is already pushed); the pull request's
/// URL is the last line of its output that starts with `http`.
fn open_pull_request(create: &Cmd, cwd: &Path) -> Result<String> {
    let out = create.run_in(cwd).map_err(|f| {
        f.into_error()
            .context("the branch is pushed, but `gh pr create` failed")
            .with_fix("`gh auth status` checks your GitHub login; then run `clauderon pr` again")
    })?;
    Ok(out
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("http"))
        .unwrap_or("")
        .trim()
        .to_string())
}

/// `git push URL refs/heads/B:refs/heads/B`: an explicit URL, so no
/// `remote.*.pushurl` applies (and `insteadOf`, which would, was refused).
fn push(spec: &SessionSpec, url: &str) -> Cmd {
    git::git(&spec.repo_root)
        .args([
            "push",
            "--no-verify",
            "--no-recurse-submodules",
            "--porcelain",
            "--end-of-options",
            url,
        ])
        .arg(format!("{}:{}", branch_ref(spec), branch_ref(spec)))
}

fn gh_create(spec: &SessionSpec, flags: &PrFlags, body: &Path, github: Option<&str>) -> Cmd {
    let title = flags.title.clone().unwrap_or_else(|| default_title(spec));
    // `--flag=VALUE`: a value that starts with `-` stays a value.
    let mut cmd = Cmd::new(["gh", "pr", "create"]).arg(format!("--head={}", spec.branch));
    cmd = cmd.arg(format!("--title={title}"));
    cmd = cmd.arg(format!("--body-file={}", body.to_string_lossy()));
    if let Some(base) = &flags.base {
        cmd = cmd.arg(format!("--base={base}"));
    }
    if flags.draft {
        cmd = cmd.arg("--draft");
    }
    if let Some(repo) = github {
        cmd = cmd.arg(format!("--repo={repo}"));
    }
    cmd
}

fn default_title(spec: &SessionSpec) -> String {
    let first = spec
        .prompt
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut title: String = crate::transcript::clean(first).chars().take(72).collect();
    if title.is_empty() {
        title = format!("clauderon session {}", spec.name);
    }
    title
}

/// The prompt, and the agent's last words from its transcript.
fn default_body(home: &crate::store::Home, spec: &SessionSpec) -> Vec<u8> {
    let mut body = format!(
        "Work of the clauderon session `{}` ({} agent).\n",
        spec.name, spec.agent
    );
    if !spec.prompt.trim().is_empty() {
        body.push_str(&format!(
            "\n## Prompt\n\n{}\n",
            crate::transcript::clean(spec.prompt.trim())
        ));
    }
    let last = crate::transcript::locate(home, spec)
        .and_then(|(root, rel)| crate::transcript::records(&root, &rel).ok())
        .map(|r| crate::transcript::entries(spec.agent, &r))
        .and_then(|e| {
            e.into_iter()
                .rev()
                .find(|e| e.kind == crate::transcript::Kind::Assistant)
        });
    if let Some(summary) = last {
        body.push_str(&format!("\n## Summary\n\n{}\n", summary.text.trim()));
    }
    body.into_bytes()
}

/// `OWNER/REPO` of a github.com remote URL (https, ssh or scp-like).
pub fn github_repo(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))
        .or_else(|| url.strip_prefix("git@github.com:"))?;
    let path = rest.trim_end_matches('/').trim_end_matches(".git");
    let (owner, repo) = path.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (ok(owner) && ok(repo)).then(|| format!("{owner}/{repo}"))
}

fn no_gh(spec: &SessionSpec, github: Option<&str>, base: Option<&str>) -> Error {
    let by_hand = match github {
        Some(repo) => format!(
            "open it by hand: https://github.com/{repo}/compare/{}{}?expand=1",
            base.map(|b| format!("{b}...")).unwrap_or_default(),
            spec.branch
        ),
        None => format!(
            "open a pull request for branch '{}' on your forge",
            spec.branch
        ),
    };
    Error::failed(format!(
        "the branch '{}' is pushed, but the GitHub CLI (gh) is not installed, so no pull request was opened",
        spec.branch
    ))
    .with_fix(format!("install the package `gh` (sudo apt install gh), run `gh auth login`, then `clauderon pr {}` again; or {by_hand}", spec.name))
}

pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
}
