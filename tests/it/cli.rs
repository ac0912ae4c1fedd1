//! The CLI without an engine: help, bad input, config, and dry-run against
//! an unreachable engine. Every failure must exit non-zero, say how to fix
//! it, and leave nothing behind.

use crate::common;

use crate::common::filters::{snapshot, transcript};
use crate::common::{Env, engine_down};

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
    let mut shown = String::new();
    for args in [
        &["create", "--promt", "x"][..],
        &["create", "--prompt", "x", "--pull-policy", "sometimes"],
    ] {
        let r = env.run(args).fails();
        assert_eq!(r.code, 2);
        shown.push_str(&transcript(args, &r));
    }
    snapshot!(shown);
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let mut env = Env::new();
    engine_down(&mut env);
    let repo = env.repo().to_string_lossy().to_string();
    let cases: &[&[&str]] = &[
        &["--name", "Bad Name"],
        &["--name=-x"],
        &["--name", "a..b"],
        &["--name", "ünï"],
        &["--cpu-limit", "lots"],
        &["--memory-limit", "1k"],
        &["--env", "CLAUDERON_SURELY_UNSET"],
        &["--base", "no-such-ref"],
        &["--image", "two words"],
        &["--env", "HOME=/tmp"],
        &["--env", "HTTPS_PROXY=http://evil"],
    ];
    let mut shown = String::new();
    for extra in cases {
        let mut args = vec!["create", "--repo", &repo, "--prompt", "do it"];
        args.extend_from_slice(extra);
        let r = env.run(&args).fails();
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        shown.push_str(&transcript(&args, &r));
    }
    let args = ["create", "--repo", &repo, "--prompt", "  "];
    shown.push_str(&transcript(&args, &env.run(&args).fails()));
    // Each message whole: what is wrong, then `fix:` where there is one.
    snapshot!(shown);
    assert_nothing_created(&env);
}

#[test]
fn repo_that_is_not_git_is_refused() {
    let env = Env::new();
    let plain = tempfile::tempdir().unwrap();
    let plain = plain.path().to_str().unwrap();
    let mut shown = String::new();
    for repo in [plain, "/nonexistent/dir"] {
        let args = ["create", "--repo", repo, "--prompt", "x"];
        shown.push_str(&transcript(&args, &env.run(&args).fails()));
    }
    snapshot!(shown);
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
    snapshot!(r.stderr);
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
    assert_eq!(
        r.stderr,
        "clauderon: error: the docker engine is not running\n  fix: DOCKER_HOST is set to \
         \"unix:///nonexistent/docker.sock\": check that an engine listens there, or unset it \
         to use the local one; then start the Docker engine (`sudo systemctl start docker`, or \
         open Docker Desktop), then check `docker info`\n"
    );
    assert_eq!(r.code, 1);
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
    assert_eq!(
        r.stdout,
        "No sessions. Create one with: clauderon create --repo . --prompt \"...\"\n"
    );
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
        assert_eq!(
            r.stderr,
            "clauderon: error: no session named 'nope'\n  fix: `clauderon list` shows the sessions\n",
            "{cmd:?}"
        );
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
        r.stderr.contains("clauderon: warning: ANTHROPIC_API_KEY (set by --env or devcontainer.json) puts a credential inside the container, where the agent can read it; its value is kept out of the command line and dry-run output\n"),
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
    snapshot!(transcript(&["delete", "downdel"], &r));
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

/// `--prompt-file -` reads the task from stdin, byte for byte; with
/// `--prompt` too it is a usage error.
#[test]
fn prompt_file_reads_the_task_from_stdin() {
    let env = Env::new();
    let hostile = "-x it's \"q\"\n$(id) ✓\n";
    let mut cmd = env.command(&["create", "--dry-run", "--name", "pf", "--prompt-file", "-"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), hostile.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("$(id)"), "{plan}");
    let both = env
        .run(&["create", "--prompt", "x", "--prompt-file", "-"])
        .fails();
    assert_eq!(both.code, 2, "{}", both.stderr);
}
