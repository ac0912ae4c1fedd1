//! `diff` and `merge` against real Docker (and Podman for merge): the
//! agent's commits, uncommitted and untracked files, clean and refused
//! merges that leave the user's repository byte-identical.

use crate::common::filters::snapshot;
use crate::common::land::{
    agent_does, commit_modify_and_add, snapshot as repo_state, without_commits,
};
use crate::common::{Env, docker_ready, git, podman_ready, unique};
use serde_json::Value;

fn session(env: &Env, prefix: &str, extra: &[&str]) -> String {
    let name = unique(prefix);
    env.create(&name, "Add a file", extra).ok();
    env.wait_for_runs(&name, 1);
    name
}

#[test]
fn diff_shows_commits_uncommitted_and_untracked_work() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = session(&env, "diff", &[]);
    commit_modify_and_add("docker", &name);
    let r = env.run(&["diff", &name]).ok();
    let out = &r.stdout;
    let at = |s: &str| {
        out.find(s)
            .unwrap_or_else(|| panic!("{s:?} missing:\n{out}"))
    };
    assert!(at("agent: add committed") < at("+two"), "{out}");
    assert!(at("+two") < at("Uncommitted changes") && at("Uncommitted changes") < at("+more"));
    assert!(at("+more") < at("Untracked files: 1") && at("Untracked files: 1") < at("+new"));
    assert!(!out.contains('\u{1b}'), "colour without a terminal:\n{out}");

    let json: Value =
        serde_json::from_str(&env.run(&["--json", "diff", &name]).ok().stdout).unwrap();
    let one = |part: &str, path: &str, added: u64| {
        assert_eq!(json[part].as_array().unwrap().len(), 1, "{part}: {json}");
        assert_eq!(json[part][0]["path"], path, "{json}");
        assert_eq!(json[part][0]["added"], added, "{json}");
        assert_eq!(json[part][0]["deleted"], 0, "{json}");
    };
    one("committed", "committed.txt", 2);
    one("uncommitted", "README", 1);
    one("untracked", "untracked.txt", 1);
    assert_eq!(json["commits"][0]["subject"], "agent: add committed");

    let stat = env.run(&["diff", "--stat", &name]).ok().stdout;
    assert!(
        stat.contains("committed.txt | 2 ++") && stat.contains("README"),
        "{stat}"
    );
    let names = env
        .run(&["diff", "--name-only", &name, "--", "README"])
        .ok()
        .stdout;
    assert!(
        names.contains("README") && !names.contains("committed.txt"),
        "{names}"
    );
    // Paths also pick the commits listed; one outside the worktree is bad input.
    let readme = env.run(&["diff", &name, "--", "README"]).ok().stdout;
    assert!(!readme.contains("agent: add committed"), "{readme}");
    let outside = env.run(&["diff", &name, "--", "../../etc/passwd"]).fails();
    assert_eq!(outside.code, 2, "{}", outside.stderr);
    assert!(
        outside.stderr.contains("outside the session's worktree"),
        "{}",
        outside.stderr
    );
    let unknown = env.run(&["diff", "no-such-session"]).fails();
    assert!(
        unknown.stderr.contains("no-such-session"),
        "{}",
        unknown.stderr
    );
}

fn assert_clean_merges(env: &Env, engine: &str, extra: &[&str]) {
    let name = session(env, "merge", extra);
    commit_modify_and_add(engine, &name);
    let before = repo_state(env.repo());
    let dry = env.run(&["merge", "--dry-run", &name]).ok();
    assert!(
        dry.stdout.contains("worktree add") && dry.stdout.contains("--ff-only"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("uncommitted change(s)"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        repo_state(env.repo()),
        before,
        "a dry run changed the repository"
    );
    if engine == "docker" {
        snapshot!("merge_dry_run", without_commits(&dry.stdout));
    }
    env.run(&["merge", &name]).ok();
    assert_eq!(
        std::fs::read_to_string(env.repo().join("committed.txt")).unwrap(),
        "one\ntwo\n"
    );
    assert!(!env.repo().join("untracked.txt").exists());
    assert_eq!(git(env.repo(), &["status", "--porcelain"]), "");
    // Again, with nothing new: said, and main does not move.
    let head = git(env.repo(), &["rev-parse", "main"]);
    let again = env.run(&["merge", &name]).ok();
    assert!(
        again.stdout.contains("nothing to merge"),
        "{}",
        again.stdout
    );
    assert_eq!(git(env.repo(), &["rev-parse", "main"]), head);
    // --include-uncommitted: the README change and the new file come too.
    env.run(&["merge", "--include-uncommitted", &name]).ok();
    assert_eq!(
        std::fs::read_to_string(env.repo().join("untracked.txt")).unwrap(),
        "new\n"
    );
    assert!(
        std::fs::read_to_string(env.repo().join("README"))
            .unwrap()
            .ends_with("more\n")
    );
    let subject = git(env.repo(), &["log", "-1", "--format=%s"]);
    assert!(
        subject.contains(&name)
            || git(env.repo(), &["log", "--format=%s"]).contains("uncommitted work"),
        "{subject}"
    );
    // --squash: two agent commits become one on main.
    agent_does(
        engine,
        &name,
        "echo a > s1 && git add s1 && git commit -qm s1 && echo b > s2 && git add s2 && git commit -qm s2",
    );
    let count = |r: &str| {
        git(env.repo(), &["rev-list", "--count", r])
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    let was = count("main");
    env.run(&["merge", "--squash", &name]).ok();
    assert_eq!(count("main"), was + 1);
    assert!(env.repo().join("s1").exists() && env.repo().join("s2").exists());
    assert!(git(env.repo(), &["log", "-1", "--format=%B"]).contains("squashed"));
}

fn assert_refusals_change_nothing(env: &Env, engine: &str, extra: &[&str]) {
    let name = session(env, "conflict", extra);
    agent_does(
        engine,
        &name,
        "echo agent > README && git commit -qam 'agent: readme'",
    );
    std::fs::write(env.repo().join("README"), "user\n").unwrap();
    git(env.repo(), &["commit", "-qam", "user: readme"]);
    std::fs::write(env.repo().join("local.txt"), "user's own, uncommitted\n").unwrap();
    let before = repo_state(env.repo());
    let r = env.run(&["merge", &name]).fails();
    assert!(
        r.stderr.contains("conflicts in: README") && r.stderr.contains("merge --abort"),
        "{}",
        r.stderr
    );
    assert_eq!(
        repo_state(env.repo()),
        before,
        "a refused merge changed the repository"
    );
    // The fix does by hand what was asked: a squash is not a merge.
    let r = env.run(&["merge", "--squash", &name]).fails();
    assert!(
        r.stderr.contains("merge --squash") && r.stderr.contains("reset --merge"),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(env.repo()), before);
    // --into another branch: conflicts the same way; the branch stays.
    git(env.repo(), &["branch", "other", "main"]);
    let other = git(env.repo(), &["rev-parse", "other"]);
    env.run(&["merge", "--into", "other", &name]).fails();
    assert_eq!(git(env.repo(), &["rev-parse", "other"]), other);
    // Local changes the merge would overwrite: refused, named.
    let name2 = session(env, "dirty", extra);
    agent_does(
        engine,
        &name2,
        "echo agent > sub/file.txt && git commit -qam 'agent: sub'",
    );
    std::fs::write(env.repo().join("sub/file.txt"), "user edit\n").unwrap();
    let before = repo_state(env.repo());
    let r = env.run(&["merge", &name2]).fails();
    assert!(
        r.stderr.contains("would overwrite: sub/file.txt") && r.stderr.contains("stash"),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(env.repo()), before);
    assert_eq!(
        std::fs::read_to_string(env.repo().join("sub/file.txt")).unwrap(),
        "user edit\n"
    );
    // into a branch not checked out: merged there, the user's tree untouched.
    env.run(&["merge", "--into", "other", &name2]).ok();
    assert_eq!(git(env.repo(), &["show", "other:sub/file.txt"]), "agent\n");
    assert_eq!(repo_state(env.repo()), before);
}

#[test]
fn merge_on_docker() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    assert_clean_merges(&env, "docker", &[]);
    assert_refusals_change_nothing(&env, "docker", &[]);
}

#[test]
fn merge_on_podman() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = crate::common::podman::podman_env();
    let extra = ["--backend", "podman"];
    assert_clean_merges(&env, "podman", &extra);
    assert_refusals_change_nothing(&env, "podman", &extra);
}
