//! `pr` with a recording `gh` stand-in and a local bare repository as
//! origin; `delete` that keeps a recovery ref; and the planted-config
//! matrix for diff, merge and pr, with a marker proving nothing ran.

use crate::common::filters::snapshot;
use crate::common::land::{
    commit_modify_and_add, executable, gh_standin, path_with, recorded_argv,
};
use crate::common::{Env, docker_ready, git, unique};

#[test]
fn pr_pushes_to_the_recorded_origin_and_runs_gh_as_recorded() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let origin = env.with_origin();
    let name = unique("pr");
    env.create(&name, "Add the committed file\nwith details", &[])
        .ok();
    env.wait_for_runs(&name, 1);
    commit_modify_and_add("docker", &name);
    let status = env.run(&["status", &name]).ok();
    assert!(
        status
            .stdout
            .contains(&origin.path().to_string_lossy().to_string()),
        "{}",
        status.stdout
    );
    // Without gh: the branch is pushed, the error names the package.
    let bare_path = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which("git"), bare_path.path().join("git")).unwrap();
    env.extra_env = vec![("PATH".into(), bare_path.path().to_string_lossy().into())];
    // Its dry run shows the push and says why no `gh pr create` follows.
    let dry = env.run(&["pr", "--dry-run", &name]).ok().stdout;
    assert!(dry.contains("# gh is not installed: the branch is pushed and the pull request is left to open by hand\n"), "{dry}");
    assert!(
        dry.contains(" push ") && !dry.contains("gh pr create"),
        "{dry}"
    );
    let r = env.run(&["pr", &name]).fails();
    assert!(
        r.stderr.contains("`gh`") && r.stderr.contains("apt install gh"),
        "{}",
        r.stderr
    );
    // A planted pushurl does not redirect the push.
    let elsewhere = tempfile::tempdir().unwrap();
    git(elsewhere.path(), &["init", "-q", "--bare"]);
    git(
        env.repo(),
        &[
            "config",
            "remote.origin.pushurl",
            &elsewhere.path().to_string_lossy(),
        ],
    );
    let gh = tempfile::tempdir().unwrap();
    env.extra_env = vec![("PATH".into(), path_with(&gh_standin(gh.path())))];
    let dry = env.run(&["pr", "--dry-run", "--draft", &name]).ok();
    assert!(
        dry.stdout.contains("push") && dry.stdout.contains("gh pr create"),
        "{}",
        dry.stdout
    );
    assert!(recorded_argv(gh.path()).is_empty(), "a dry run ran gh");
    let shown = dry
        .stdout
        .replace(&origin.path().to_string_lossy().to_string(), "[ORIGIN]");
    snapshot!("pr_dry_run", shown);
    let body = env.home().join("body.md");
    std::fs::write(&body, "the body\n").unwrap();
    let r = env
        .run(&[
            "pr",
            &name,
            "--draft",
            "--title",
            "-t 'x' $(id)",
            "--body-file",
            &body.to_string_lossy(),
            "--base",
            "main",
        ])
        .ok();
    assert!(
        r.stdout.contains("https://github.com/o/r/pull/7") || r.stderr.contains("pull/7"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let tip = git(env.repo(), &["rev-parse", &name]);
    assert_eq!(git(origin.path(), &["rev-parse", &name]), tip);
    let other = std::process::Command::new("git")
        .args([
            "-C",
            &elsewhere.path().to_string_lossy(),
            "rev-parse",
            "--verify",
            "--quiet",
            &name,
        ])
        .output()
        .unwrap();
    assert!(
        !other.status.success(),
        "the push followed the planted pushurl"
    );
    assert_eq!(
        recorded_argv(gh.path()),
        [
            "pr".to_string(),
            "create".into(),
            format!("--head={name}"),
            "--title=-t 'x' $(id)".into(),
            format!("--body-file={}", body.display()),
            "--base=main".into(),
            "--draft".into()
        ]
    );
    let status = env.run(&["status", &name]).ok();
    assert!(status.stdout.contains("pull/7"), "{}", status.stdout);
}

fn which(program: &str) -> std::path::PathBuf {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn pr_without_a_remote_fails_with_the_reason() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("prnone");
    env.create(&name, "x", &[]).ok();
    let r = env.run(&["pr", &name]).fails();
    assert!(
        r.stderr.contains("no remote") && r.stderr.contains("fix:"),
        "{}",
        r.stderr
    );
}

#[test]
fn delete_names_what_is_lost_and_keeps_a_recovery_ref() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("lost");
    env.create(&name, "x", &[]).ok();
    env.wait_for_runs(&name, 1);
    commit_modify_and_add("docker", &name);
    let hash = git(env.repo(), &["rev-parse", "--short", &name])
        .trim()
        .to_string();
    let dry = env
        .run(&["delete", "--dry-run", "--delete-branch", &name])
        .ok();
    assert!(
        dry.stdout.contains(&hash) && dry.stdout.contains("agent: add committed"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("2 uncommitted change(s)") && dry.stdout.contains("untracked.txt"),
        "{}",
        dry.stdout
    );
    let r = env
        .run(&["delete", "--force", "--delete-branch", &name])
        .ok();
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains(&hash)
            && all.contains("agent: add committed")
            && all.contains("2 uncommitted"),
        "{all}"
    );
    let restore = all
        .lines()
        .find_map(|l| l.split("Restore the branch with: ").nth(1))
        .unwrap_or_else(|| panic!("no restore command: {all}"))
        .to_string();
    assert!(
        git(env.repo(), &["branch", "--list", &name])
            .trim()
            .is_empty()
    );
    let listed = env.run(&["status", "--deleted"]).ok();
    assert!(
        listed.stdout.contains(&name) && listed.stdout.contains(&restore),
        "{}",
        listed.stdout
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &restore])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        git(env.repo(), &["log", "-1", "--format=%s", &name]).trim(),
        "agent: add committed"
    );
    // Kept 30 days: an older one is pruned (its ref removed) when listed.
    let index = env.home().join("deleted-branches.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    let mut kept: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    kept["deleted_at"] = (kept["deleted_at"].as_u64().unwrap() - 31 * 86_400).into();
    std::fs::write(&index, format!("{kept}\n")).unwrap();
    let listed = env.run(&["--json", "status", "--deleted"]).ok();
    assert_eq!(listed.stdout.trim(), "[]", "{}", listed.stdout);
    let reference = kept["ref"].as_str().unwrap();
    assert!(
        git(env.repo(), &["for-each-ref", reference])
            .trim()
            .is_empty(),
        "{reference} was not pruned"
    );
}

/// The keys and hooks an agent could plant against diff, merge and pr.
#[test]
fn planted_config_runs_nothing_during_diff_merge_and_pr() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let _origin = env.with_origin();
    let evil = tempfile::tempdir().unwrap();
    let marker = evil.path().join("ran");
    let program = evil.path().join("evil.sh");
    executable(
        &program,
        &format!("#!/bin/sh\necho \"$0 $*\" >> '{}'\ncat\n", marker.display()),
    );
    std::fs::write(
        env.repo().join(".gitattributes"),
        "* merge=evil diff=evil filter=evil\n",
    )
    .unwrap();
    git(env.repo(), &["add", ".gitattributes"]);
    git(env.repo(), &["commit", "-qm", "attributes"]);
    let name = unique("planted");
    env.create(&name, "x", &[]).ok();
    env.wait_for_runs(&name, 1);
    commit_modify_and_add("docker", &name);
    for hook in [
        "pre-merge-commit",
        "post-merge",
        "pre-push",
        "post-checkout",
        "post-commit",
        "pre-commit",
        "commit-msg",
        "reference-transaction",
        "pre-rebase",
        "post-rewrite",
    ] {
        std::fs::copy(&program, env.repo().join(".git/hooks").join(hook)).unwrap();
    }
    let gh = tempfile::tempdir().unwrap();
    env.extra_env = vec![("PATH".into(), path_with(&gh_standin(gh.path())))];
    let p = program.to_string_lossy().to_string();
    // Program-running keys: refused by each command, naming the key.
    for key in [
        "merge.evil.driver",
        "core.gitProxy",
        "core.askPass",
        "core.pager",
        "core.editor",
        "diff.external",
        "diff.evil.textconv",
        "filter.evil.clean",
        "core.fsmonitor",
    ] {
        git(env.repo(), &["config", key, &p]);
        for cmd in [&["diff", &name][..], &["merge", &name], &["pr", &name]] {
            let r = env.run(cmd).fails();
            assert!(
                r.stderr.to_lowercase().contains(&key.to_lowercase()),
                "{cmd:?} {key}: {}",
                r.stderr
            );
        }
        git(env.repo(), &["config", "--unset-all", key]);
    }
    // Network redirects: pr refuses them; diff and merge are not affected.
    let bait = tempfile::tempdir().unwrap();
    for (key, value) in [
        (
            format!("url.{}.insteadOf", bait.path().display()),
            _origin.path().to_string_lossy().to_string(),
        ),
        ("http.proxy".into(), "http://127.0.0.1:9".into()),
    ] {
        git(env.repo(), &["config", &key, &value]);
        let r = env.run(&["pr", &name]).fails();
        assert!(
            r.stderr.to_lowercase().contains(&key.to_lowercase()),
            "{key}: {}",
            r.stderr
        );
        git(env.repo(), &["config", "--unset-all", &key]);
    }
    // Hooks and a pushurl only: everything works, and no hook runs.
    git(
        env.repo(),
        &[
            "config",
            "remote.origin.pushurl",
            &bait.path().to_string_lossy(),
        ],
    );
    env.run(&["diff", &name]).ok();
    env.run(&["merge", "--include-uncommitted", &name]).ok();
    env.run(&["pr", &name]).ok();
    assert!(
        !marker.exists(),
        "a planted program ran: {:?}",
        std::fs::read_to_string(&marker)
    );
    assert_eq!(
        git(_origin.path(), &["rev-parse", &name]),
        git(env.repo(), &["rev-parse", &name])
    );
}

/// A pushurl already in the shared config when the session is made (an
/// earlier session's agent could have written it) is not where `pr` pushes,
/// nor the repository the GitHub credential opens: both are `remote.origin.url`.
#[test]
fn a_pushurl_planted_before_create_is_not_recorded() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    let origin = env.with_origin();
    let elsewhere = tempfile::tempdir().unwrap();
    git(elsewhere.path(), &["init", "-q", "--bare"]);
    let planted = elsewhere.path().to_string_lossy().to_string();
    git(env.repo(), &["config", "remote.origin.pushurl", &planted]);
    let name = unique("prpre");
    env.create(&name, "noop", &[]).ok();
    let status = env.run(&["status", &name]).ok();
    let origin_path = origin.path().to_string_lossy().to_string();
    assert!(status.stdout.contains(&origin_path), "{}", status.stdout);
    assert!(!status.stdout.contains(&planted), "{}", status.stdout);
    let gh = tempfile::tempdir().unwrap();
    env.extra_env = vec![("PATH".into(), path_with(&gh_standin(gh.path())))];
    let dry = env.run(&["pr", "--dry-run", &name]).ok();
    assert!(dry.stdout.contains(&origin_path), "{}", dry.stdout);
    assert!(!dry.stdout.contains(&planted), "{}", dry.stdout);
}
