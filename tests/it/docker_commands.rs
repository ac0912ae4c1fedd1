//! Against a REAL Docker engine: names, delete, dry runs, the cache, verbose
//! output, broken records and the compatibility guide's walk-through.

use crate::common;

use crate::common::docker::{assert_no_trace, container_exists, state_of};
use crate::common::filters::{engine_transcript, snapshot, transcript};
use crate::common::{BASE_IMAGE, Env, docker, docker_ok, docker_ready, git, unique};
use serde_json::Value;

#[test]
fn names_already_taken_are_refused() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("taken");
    env.create(&name, "x", &[]).ok();
    let mut shown = transcript(&["create", &name], &env.create(&name, "x", &[]).fails());
    // A branch of that name.
    let other = unique("branch");
    git(env.repo(), &["branch", &other]);
    let r = env.create(&other, "x", &[]).fails();
    shown.push_str(&transcript(&["create", &other], &r));
    // A container of that name that is not ours.
    let foreign = unique("foreign");
    docker_ok(&[
        "create",
        "--name",
        &format!("clauderon-{foreign}"),
        BASE_IMAGE,
    ]);
    let r = env.create(&foreign, "x", &[]).fails();
    docker_ok(&["rm", "-f", &format!("clauderon-{foreign}")]);
    shown.push_str(&engine_transcript(&["create", &foreign], &r));
    // (`create NAME` stands for `create --name NAME --repo REPO --prompt x
    // --image clauderon-test-base:1 --pull-policy never`.)
    snapshot!(shown);
    assert!(!env.worktree(&foreign).exists());
}

#[test]
fn delete_cleans_up_what_was_removed_by_hand() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("byhand");
    env.create(&name, "x", &[]).ok();
    docker_ok(&["rm", "-f", &format!("clauderon-{name}")]);
    assert_eq!(state_of(&env, &name), "missing");
    std::fs::remove_dir_all(env.worktree(&name)).unwrap();
    env.run(&["delete", "--force", "--delete-branch", &name])
        .ok();
    assert_no_trace(&env, &name);
}

#[test]
fn delete_without_a_terminal_needs_force() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("confirm");
    env.create(&name, "x", &[]).ok();
    let r = env.run(&["delete", &name]).fails();
    snapshot!(transcript(&["delete", &name], &r));
    assert!(container_exists(&name));
    let r = env.run(&["delete", "--dry-run", &name]).ok();
    assert!(
        r.stdout
            .contains(&format!("docker rm --force clauderon-{name}")),
        "{}",
        r.stdout
    );
    assert!(container_exists(&name), "dry-run changed nothing");
    // What the question would warn of, the dry run says.
    std::fs::write(env.worktree(&name).join("unsaved.txt"), "work").unwrap();
    let r = env.run(&["delete", "--dry-run", &name]).ok();
    assert!(
        r.stdout
            .contains("1 uncommitted change(s) that will be LOST"),
        "{}",
        r.stdout
    );
    assert!(env.worktree(&name).join("unsaved.txt").exists());
    // Without a terminal to ask on: refused, naming what --force would lose.
    let r = env.run(&["delete", &name]).fails();
    assert!(
        r.stderr.contains("1 untracked (unsaved.txt)"),
        "{}",
        r.stderr
    );
    assert!(env.worktree(&name).join("unsaved.txt").exists());
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn dry_runs_print_exactly_and_change_nothing() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("dry");
    let r = env.create(&name, "x", &["--dry-run"]).ok();
    assert!(
        r.stdout.contains(&format!(
            "docker run \\\n    --detach \\\n    --name clauderon-{name}"
        )),
        "{}",
        r.stdout
    );
    assert!(!env.home().join("sessions").join(&name).exists());
    assert!(!container_exists(&name));
    env.create(&name, "x", &[]).ok();
    for (cmd, expect) in [
        ("stop", "docker stop"),
        ("refresh", "docker rename"),
        ("attach", "docker attach"),
    ] {
        let r = env.run(&[cmd, "--dry-run", &name]).ok();
        assert!(r.stdout.contains(expect), "{cmd}: {}", r.stdout);
    }
    assert_eq!(state_of(&env, &name), "running");
}

#[test]
fn clean_cache_shows_volumes_and_removes_them_with_force() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    // Docker's only: removing Podman's shared volumes while other tests
    // create Podman sessions is a suspect for a hang of every podman
    // command seen once here (Podman 4.3).
    docker_ok(&["volume", "create", "clauderon-sccache"]);
    let r = env.run(&["clean-cache", "--backend", "docker"]).ok();
    assert!(
        r.stdout.contains("clauderon-sccache") && r.stdout.contains("Nothing removed"),
        "{}",
        r.stdout
    );
    assert!(
        docker(&["volume", "inspect", "clauderon-sccache"])
            .status
            .success()
    );
    let r = env
        .run(&["clean-cache", "--backend", "docker", "--force", "--dry-run"])
        .ok();
    assert!(r.stdout.contains("docker volume rm"), "{}", r.stdout);
    // Other tests may be using the volumes right now: then removal must fail
    // with the fix, not silently.
    let r = env.run(&["clean-cache", "--backend", "docker", "--force"]);
    if r.code == 0 {
        assert!(r.stdout.contains("Removed"), "{}", r.stdout);
    } else {
        assert!(
            r.stderr.contains("in use") && r.stderr.contains("fix:"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn verbose_prints_each_command_without_secrets() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("verbose");
    let r = env
        .create(&name, "x", &["-v", "--env", "MY_TOKEN=hunter2-secret"])
        .ok();
    assert!(
        r.stderr.contains("+ git -C") && r.stderr.contains(" docker run --detach "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("MY_TOKEN=\"$MY_TOKEN\""), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2-secret"), "{}", r.stderr);
    let token =
        std::fs::read_to_string(env.home().join("sessions").join(&name).join("session.json"))
            .unwrap();
    let v: Value = serde_json::from_str(&token).unwrap();
    assert!(
        !r.stderr.contains(v["hook_token"].as_str().unwrap()),
        "the proxy token is printed"
    );
}

#[test]
fn a_broken_record_neither_hides_other_sessions_nor_loses_the_agents_branch() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    env.create("keep", "x", &[]).ok();
    env.create("other", "x", &[]).ok();
    let wt = env.worktree("keep");
    std::fs::write(wt.join("work.txt"), "the agent's work\n").unwrap();
    git(&wt, &["add", "work.txt"]);
    git(
        &wt,
        &[
            "-c",
            "user.name=a",
            "-c",
            "user.email=a@a",
            "commit",
            "-q",
            "-m",
            "agent commit",
        ],
    );
    std::fs::write(env.home().join("sessions/keep/session.json"), "").unwrap();
    let list = env.run(&["list"]).ok();
    assert!(list.stdout.contains("other"), "{}", list.stdout);
    // It says which record, and how to get rid of it.
    snapshot!(list.stderr);
    let dry = env
        .run(&["delete", "--force", "--dry-run", "keep"])
        .ok()
        .stdout;
    assert!(
        dry.contains("cannot read") && dry.contains("is kept"),
        "{dry}"
    );
    assert!(!dry.contains("branch -D"), "{dry}");
    env.run(&["delete", "--force", "keep"]).ok();
    let log = git(env.repo(), &["log", "--format=%s", "keep"]);
    assert!(log.contains("agent commit"), "the branch survives: {log}");
    assert!(
        !docker(&["inspect", "clauderon-keep"]).status.success(),
        "container removed"
    );
}

/// The compatibility guide's "Full integration test": a daemon in the
/// foreground, a session made without a prompt (`--repository`), and the
/// agent waiting for the user.
#[test]
fn the_guides_integration_test_works_as_written() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let mut daemon = env
        .command(&["daemon", "--http-port", "0"])
        .spawn()
        .unwrap();
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .run(&[
            "create",
            "--image",
            common::BASE_IMAGE,
            "--pull-policy",
            "never",
            "--name",
            "test-session",
            "--repository",
            &repo,
        ])
        .ok();
    assert!(r.stdout.contains("test-session"), "{}", r.stdout);
    assert_eq!(state_of(&env, "test-session"), "running");
    // The agent was started without a prompt, and waits.
    let argv = env.stub_argv("test-session");
    assert!(!argv.contains(&"--".to_string()), "{argv:?}");
    let mut status = String::new();
    for _ in 0..50 {
        status = env.run(&["list", "--json"]).ok().stdout;
        if status.contains("waiting-input") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(status.contains("\"waiting-input\""), "{status}");
    let r = env.run(&["create", "--repo", &repo, "--print"]).fails();
    assert!(r.stderr.contains("prompt"), "{}", r.stderr);
    env.run(&["delete", "--force", "test-session"]).ok();
    let _ = daemon.kill();
    let _ = daemon.wait();
}
