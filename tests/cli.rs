//! The CLI without an engine: help, bad input, config, and dry-run against
//! an unreachable engine. Every failure must exit non-zero, say how to fix
//! it, and leave nothing behind.

mod common;

use common::{Env, engine_down};

const COMMANDS: &[&str] = &[
    "create",
    "list",
    "attach",
    "logs",
    "stop",
    "start",
    "refresh",
    "delete",
    "clean-cache",
    "config",
];

fn assert_nothing_created(env: &Env) {
    let sessions = env.home().join("sessions");
    let count = std::fs::read_dir(&sessions).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        count,
        0,
        "a session directory was left in {}",
        sessions.display()
    );
    let worktrees = env.home().join("worktrees");
    assert_eq!(
        std::fs::read_dir(&worktrees)
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    let branches = common::git(env.repo(), &["branch", "--format=%(refname:short)"]);
    assert_eq!(branches.trim(), "main", "a branch was left behind");
}

#[test]
fn every_command_has_help() {
    let env = Env::new();
    let top = env.run(&["--help"]).ok();
    for c in COMMANDS {
        assert!(top.stdout.contains(c), "top-level help lists {c}");
        let help = env.run(&[c, "--help"]).ok();
        assert!(help.stdout.contains("Usage: clauderon"), "{c} --help");
    }
    let create = env.run(&["create", "--help"]).ok().stdout;
    for flag in [
        "--repo",
        "--prompt",
        "--name",
        "--backend",
        "--agent",
        "--image",
        "--pull-policy",
        "--cpu-limit",
        "--memory-limit",
        "--base",
        "--env",
        "--dry-run",
    ] {
        assert!(create.contains(flag), "create --help shows {flag}");
    }
}

#[test]
fn wrong_flag_is_a_usage_error() {
    let env = Env::new();
    let r = env.run(&["create", "--promt", "x"]).fails();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--promt"), "{}", r.stderr);
    let r = env
        .run(&["create", "--prompt", "x", "--pull-policy", "sometimes"])
        .fails();
    assert!(r.stderr.contains("always"), "{}", r.stderr);
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let mut env = Env::new();
    engine_down(&mut env);
    let repo = env.repo().to_string_lossy().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--name", "Bad Name"], "invalid session name"),
        (&["--name=-x"], "invalid session name"),
        (&["--name", "a..b"], "invalid session name"),
        (&["--name", "ünï"], "invalid session name"),
        (&["--cpu-limit", "lots"], "--cpu-limit"),
        (&["--memory-limit", "1k"], "--memory-limit"),
        (
            &["--env", "CLAUDERON_SURELY_UNSET"],
            "not set in your environment",
        ),
        (&["--base", "no-such-ref"], "--base"),
        (&["--image", "two words"], "invalid image"),
        (&["--env", "HOME=/tmp"], "clauderon sets HOME itself"),
        (
            &["--env", "HTTPS_PROXY=http://evil"],
            "clauderon sets HTTPS_PROXY itself",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["create", "--repo", &repo, "--prompt", "do it"];
        args.extend_from_slice(extra);
        let r = env.run(&args).fails();
        assert!(r.stderr.contains(expected), "{extra:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("clauderon: error:"), "{}", r.stderr);
    }
    let r = env
        .run(&["create", "--repo", &repo, "--prompt", "  "])
        .fails();
    assert!(r.stderr.contains("prompt is empty"));
    assert_nothing_created(&env);
}

#[test]
fn repo_that_is_not_git_is_refused() {
    let env = Env::new();
    let plain = tempfile::tempdir().unwrap();
    let r = env
        .run(&[
            "create",
            "--repo",
            plain.path().to_str().unwrap(),
            "--prompt",
            "x",
        ])
        .fails();
    assert!(
        r.stderr.contains("not inside a git repository"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("fix:"), "{}", r.stderr);
    let r = env
        .run(&["create", "--repo", "/nonexistent/dir", "--prompt", "x"])
        .fails();
    assert!(r.stderr.contains("no such directory"), "{}", r.stderr);
}

#[test]
fn repo_config_that_runs_programs_is_refused() {
    let mut env = Env::new();
    engine_down(&mut env);
    common::git(
        env.repo(),
        &["config", "filter.evil.smudge", "touch /tmp/pwned"],
    );
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .run(&["create", "--repo", &repo, "--prompt", "x", "--dry-run"])
        .fails();
    assert!(r.stderr.contains("filter.evil.smudge"), "{}", r.stderr);
    assert!(r.stderr.contains("--unset-all"), "{}", r.stderr);
    assert_nothing_created(&env);
}

#[test]
fn engine_down_is_a_clear_error_and_dry_run_still_works() {
    let mut env = Env::new();
    engine_down(&mut env);
    let repo = env.repo().join("sub").to_string_lossy().to_string();
    let r = env
        .run(&["create", "--repo", &repo, "--prompt", "x", "--name", "down"])
        .fails();
    assert!(r.stderr.contains("not running"), "{}", r.stderr);
    assert!(r.stderr.contains("docker info"), "{}", r.stderr);
    assert_nothing_created(&env);

    let r = env
        .run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--name",
            "down",
            "--dry-run",
        ])
        .ok();
    assert!(
        r.stdout.contains("# docker is not reachable"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("docker run \\\n    --detach"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("--workdir /workspace/sub"),
        "{}",
        r.stdout
    );
    assert_nothing_created(&env);

    let r = env.run(&["list"]).ok();
    assert!(r.stdout.contains("No sessions"), "{}", r.stdout);
}

#[test]
fn unknown_sessions_are_reported() {
    let env = Env::new();
    for cmd in [
        &["attach", "nope"][..],
        &["logs", "nope"],
        &["stop", "nope"],
        &["start", "nope"],
        &["refresh", "nope"],
        &["delete", "--force", "nope"],
    ] {
        let r = env.run(cmd).fails();
        assert!(
            r.stderr.contains("no session named 'nope'"),
            "{cmd:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("clauderon list"), "{}", r.stderr);
    }
}

#[test]
fn dry_run_hides_secrets_and_derives_a_name() {
    let mut env = Env::new();
    engine_down(&mut env);
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "Fix the flaky test!",
            "--env",
            "ANTHROPIC_API_KEY=sk-ant-api03-verysecretvalue",
            "--dry-run",
        ])
        .ok();
    assert!(
        !r.stdout.contains("verysecretvalue") && !r.stderr.contains("verysecretvalue"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("--name clauderon-fix-the-flaky-test-"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("warning: --env ANTHROPIC_API_KEY"),
        "{}",
        r.stderr
    );
}

#[test]
fn delete_with_the_engine_down() {
    let mut env = Env::new();
    engine_down(&mut env);
    common::fake_session(&env, "downdel", "tok");
    let r = env.run(&["delete", "downdel"]).fails();
    assert!(r.stderr.contains("delete --force downdel"), "{}", r.stderr);
    assert!(
        env.home().join("sessions/downdel").exists(),
        "nothing removed without --force"
    );
    // The rest goes; the container is named with its command, and it exits 1.
    let r = env.run(&["delete", "--force", "downdel"]).fails();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("docker rm -f clauderon-downdel") && r.stderr.contains("Cannot connect"),
        "{}",
        r.stderr
    );
    assert!(!env.home().join("sessions/downdel").exists());
}

#[test]
fn completions_and_the_man_page_come_from_the_flag_definitions() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = env.run(&["completions", shell]).ok();
        assert!(
            r.stdout.contains("clauderon") && r.stdout.contains("create"),
            "{shell}"
        );
    }
    let man = env.run(&["man"]).ok().stdout;
    assert!(
        man.contains(".TH clauderon 1") && man.contains("completions"),
        "{man}"
    );
    let r = env.run(&["completions", "tcsh"]).fails();
    assert!(r.stderr.contains("possible values"), "{}", r.stderr);
}

#[test]
fn daemon_and_ca_rotation_dry_runs_change_nothing() {
    let env = Env::new();
    for args in [
        &["daemon", "start", "--dry-run"][..],
        &["daemon", "restart", "--dry-run"],
        &["daemon", "stop", "--dry-run"],
    ] {
        let r = env.run(args).ok();
        assert!(
            r.stdout.contains("(dry run: nothing was changed)"),
            "{args:?}: {}",
            r.stdout
        );
    }
    let r = env.run(&["daemon", "start", "--dry-run"]).ok();
    assert!(r.stdout.contains("daemon --http-port 0"), "{}", r.stdout);
    assert!(
        !env.home().join("daemon.json").exists(),
        "a daemon was started"
    );
    let r = env.run(&["proxy", "ca", "--rotate", "--dry-run"]).ok();
    assert!(r.stdout.contains("proxy-ca-key.pem"), "{}", r.stdout);
    assert!(
        !env.home().join("proxy-ca-key.pem").exists(),
        "a CA was made"
    );
    let r = env.run(&["proxy", "ca", "--dry-run"]).fails();
    assert!(r.stderr.contains("--rotate"), "{}", r.stderr);
}

#[test]
fn doctor_names_what_is_missing_and_fails_without_an_engine() {
    let mut env = Env::new();
    engine_down(&mut env);
    env.extra_env.push((
        "CONTAINER_HOST".into(),
        "unix:///nonexistent/podman.sock".into(),
    ));
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("fail  docker") && r.stdout.contains("fix:"),
        "{}",
        r.stdout
    );
    let r = env.run(&["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let docker = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker")
        .unwrap();
    assert_eq!(docker["verdict"], "fail", "{docker}");
    assert!(
        docker["fix"].as_str().unwrap().contains("DOCKER_HOST"),
        "{docker}"
    );
}

#[test]
fn events_all_merges_every_sessions_events_in_order() {
    let env = Env::new();
    for (name, events) in [
        ("alpha", [("SessionStart", 10), ("Stop", 30)]),
        ("beta", [("UserPromptSubmit", 20), ("SessionEnd", 40)]),
    ] {
        common::fake_session(&env, name, "tok");
        let lines: String = events
            .iter()
            .map(|(e, t)| format!("{{\"event\":\"{e}\",\"received_at\":{t}}}\n"))
            .collect();
        std::fs::write(
            env.home().join("sessions").join(name).join("events.jsonl"),
            lines,
        )
        .unwrap();
    }
    let out = env.run(&["events", "--all"]).ok().stdout;
    let order: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(order, ["alpha", "beta", "alpha", "beta"], "{out}");
    assert!(out.contains("SessionEnd"), "{out}");
    // One-shot --json is one document: an array.
    let json = env.run(&["events", "--all", "--json"]).ok().stdout;
    let all: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let first = &all[0];
    assert_eq!(
        (first["session"].as_str(), first["event"].as_str()),
        (Some("alpha"), Some("SessionStart"))
    );
    let r = env.run(&["events"]).fails();
    assert_eq!(r.code, 2, "a name or --all: {}", r.stderr);
    assert!(
        env.run(&["events", "alpha", "--all"])
            .fails()
            .stderr
            .contains("cannot be used with")
    );
}
