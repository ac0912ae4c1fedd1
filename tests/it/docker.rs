//! Integration tests against a REAL Docker engine, with locally built test
//! images (scripts/build-test-images.sh) whose `claude`/`codex` is a stub
//! that records its argv and environment in the worktree.

use std::collections::HashMap;

use crate::common::docker::{
    assert_no_trace, container_exists, env_map, inspect, list_json, state_of,
};
use crate::common::{BASE_IMAGE, Env, docker_ok, docker_ready, git, unique};
use serde_json::Value;

/// `create` of the lifecycle test: a subdirectory, limits and an env value.
fn create_in_sub_with_limits(env: &Env, name: &str) {
    let sub = env.repo().join("sub").to_string_lossy().to_string();
    let r = env
        .run(&[
            "create",
            "--name",
            name,
            "--repo",
            &sub,
            "--prompt",
            "Fix the bug",
            "--image",
            BASE_IMAGE,
            "--pull-policy",
            "never",
            "--cpu-limit",
            "500m",
            "--memory-limit",
            "256Mi",
            "--env",
            "FOO=bar baz",
        ])
        .ok();
    assert!(
        r.stdout.contains(name) && r.stdout.contains("clauderon attach"),
        "{}",
        r.stdout
    );
}

/// The output of `id FLAG` (`-u`, `-g`) for the user running the tests.
fn id(flag: &str) -> String {
    let out = std::process::Command::new("id").arg(flag).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// User, environment, limits and hardening, as the engine sees them.
fn assert_config_and_hardening(c: &Value, e: &HashMap<String, String>) {
    assert_eq!(c["Config"]["User"], format!("{}:{}", id("-u"), id("-g")));
    assert_eq!(e["HOME"], "/workspace");
    assert_eq!(e["TERM"], "xterm-256color");
    assert_eq!(e["CARGO_HOME"], "/workspace/.cargo");
    assert_eq!(e["SCCACHE_DIR"], "/workspace/.cache/sccache");
    assert_eq!(e["GIT_AUTHOR_NAME"], "Test User");
    assert_eq!(e["GIT_COMMITTER_EMAIL"], "test@example.com");
    assert_eq!(e["FOO"], "bar baz");
    assert_eq!(e["CLAUDERON_SESSION_ID"].len(), 36);
    assert!(
        !e.contains_key("RUSTC_WRAPPER"),
        "the test image has no sccache"
    );
    assert!(!e.contains_key("CODEX_HOME"));
    assert_eq!(c["Config"]["WorkingDir"], "/workspace/sub");
    assert_eq!(c["HostConfig"]["NanoCpus"], 500_000_000u64);
    assert_eq!(c["HostConfig"]["Memory"], 256u64 * 1024 * 1024);
    // Network mode proxy and the hardened defaults.
    assert_eq!(c["HostConfig"]["NetworkMode"], "none");
    assert_eq!(c["HostConfig"]["CapDrop"].to_string(), r#"["ALL"]"#);
    assert_eq!(c["HostConfig"]["PidsLimit"], 4096);
    assert!(
        c["HostConfig"]["SecurityOpt"]
            .to_string()
            .contains("no-new-privileges"),
        "{}",
        c["HostConfig"]["SecurityOpt"]
    );
}

/// The session's labels and mounts, as the engine sees them.
fn assert_labels_and_mounts(c: &Value, env: &Env, name: &str) {
    let labels = &c["Config"]["Labels"];
    assert_eq!(labels["clauderon.session"], name);
    assert_eq!(labels["clauderon.backend"], "docker");
    assert_eq!(labels["clauderon.agent"], "claude");
    assert_eq!(
        labels["clauderon.repo"],
        env.repo().to_string_lossy().as_ref()
    );
    let mounts = c["Mounts"].as_array().unwrap();
    let dest = |d: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == d)
            .unwrap_or_else(|| panic!("no mount at {d}"))
            .clone()
    };
    assert_eq!(
        dest("/workspace")["Source"],
        env.worktree(name).to_string_lossy().as_ref()
    );
    assert_eq!(dest("/workspace")["RW"], true);
    let git_dir = env.repo().join(".git").to_string_lossy().to_string();
    assert_eq!(dest(&git_dir)["Source"], git_dir.as_str());
    assert_eq!(
        dest("/workspace/.cargo/registry")["Name"],
        "clauderon-cargo-registry"
    );
    assert_eq!(dest("/workspace/.cargo/git")["Name"], "clauderon-cargo-git");
    assert_eq!(
        dest("/workspace/.cache/sccache")["Name"],
        "clauderon-sccache"
    );
    assert_eq!(dest("/etc/clauderon/session")["RW"], false);
}

/// What the agent got: argv, working directory and Claude's settings; and
/// nothing clauderon or the agent wrote shows up in git status.
fn assert_the_agents_view(env: &Env, name: &str) {
    assert_eq!(
        env.stub_argv(name),
        ["--dangerously-skip-permissions", "--", "Fix the bug"]
    );
    assert_eq!(
        String::from_utf8(env.stub_file(name, "cwd"))
            .unwrap()
            .trim(),
        "/workspace/sub"
    );
    // Claude Code's state is in CLAUDE_CONFIG_DIR, the session's own copy
    // of the user's ~/.claude (issue 25), not in the worktree.
    let state = env
        .home()
        .join("sessions")
        .join(name)
        .join("agent-config/claude/.claude.json");
    let claude_json: Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    assert_eq!(claude_json["hasCompletedOnboarding"], true);
    assert_eq!(claude_json["bypassPermissionsModeAccepted"], true);
    assert_eq!(
        claude_json["projects"]["/workspace"]["hasTrustDialogAccepted"],
        true
    );
    let status = git(
        &env.worktree(name),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(status.trim().is_empty(), "worktree is dirty: {status}");
}

/// `list` (table and JSON) shows the session running, and `logs` shows
/// the agent's output.
fn assert_listed_and_logged(env: &Env, name: &str) {
    assert_eq!(state_of(env, name), "running");
    let table = env.run(&["list"]).ok().stdout;
    assert!(
        table.contains("NAME") && table.contains(name) && table.contains("running"),
        "{table}"
    );
    // create returns when the entrypoint hands over to the agent, which
    // prints a moment later.
    let mut logs = env.run(&["logs", name, "--tail", "50"]).ok();
    for _ in 0..50 {
        if logs.stdout.contains("stub agent running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        logs = env.run(&["logs", name, "--tail", "50"]).ok();
    }
    assert!(
        logs.stdout.contains("stub agent running"),
        "{}",
        logs.stdout
    );
}

/// stop, start, then refresh, which recreates the container (`c`, as
/// first created) with the same environment and limits.
fn stop_start_and_refresh(env: &Env, name: &str, c: &Value) {
    env.run(&["stop", name]).ok();
    assert_eq!(state_of(env, name), "exited");
    env.run(&["start", name]).ok();
    env.wait_for_runs(name, 2);
    assert_eq!(state_of(env, name), "running");

    let before = c["Id"].as_str().unwrap().to_string();
    env.run(&["refresh", name, "--no-pull"]).ok();
    env.wait_for_runs(name, 3);
    let after = inspect(&format!("clauderon-{name}"));
    assert_ne!(
        after["Id"].as_str().unwrap(),
        before,
        "refresh recreates the container"
    );
    assert_eq!(
        env_map(&after),
        env_map(c),
        "same environment after refresh"
    );
    assert_eq!(after["HostConfig"]["NanoCpus"], c["HostConfig"]["NanoCpus"]);
    assert_eq!(after["HostConfig"]["Memory"], c["HostConfig"]["Memory"]);
    assert_eq!(after["Config"]["Image"], BASE_IMAGE);
    assert!(!container_exists(&format!("{name}-refresh-old")));
    assert_eq!(state_of(env, name), "running");
}

#[test]
fn full_lifecycle_create_list_logs_stop_start_refresh_delete() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("life");
    create_in_sub_with_limits(&env, &name);
    env.wait_for_runs(&name, 1);

    // What the container looks like to the engine.
    let c = inspect(&format!("clauderon-{name}"));
    assert_config_and_hardening(&c, &env_map(&c));
    assert_labels_and_mounts(&c, &env, &name);
    assert_the_agents_view(&env, &name);
    assert_listed_and_logged(&env, &name);
    stop_start_and_refresh(&env, &name, &c);

    // delete keeps the branch by default.
    env.run(&["delete", "--force", &name]).ok();
    assert!(!container_exists(&name));
    assert!(!env.worktree(&name).exists());
    assert!(
        !git(env.repo(), &["branch", "--list", &name])
            .trim()
            .is_empty(),
        "branch kept"
    );
    assert!(list_json(&env).is_empty());
}

#[test]
fn git_works_inside_the_container_and_commits_reach_the_host() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("git");
    env.create(&name, "commit something", &[]).ok();
    env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    let out = docker_ok(&[
        "exec",
        &container,
        "bash",
        "-c",
        "git status --short && echo new > new.txt && git add new.txt && git commit -q -m 'from the agent' && git gc -q --prune=now && git worktree prune && git log --format=%an:%s -1",
    ]);
    assert!(out.ends_with("Test User:from the agent"), "{out}");
    let log = git(env.repo(), &["log", "--format=%s", "-1", &name]);
    assert_eq!(log.trim(), "from the agent");
    // git gc / worktree prune in the container did not unregister the worktree.
    let worktrees = git(env.repo(), &["worktree", "list", "--porcelain"]);
    assert!(
        worktrees.contains(&env.worktree(&name).to_string_lossy().to_string()),
        "{worktrees}"
    );
    env.run(&["delete", "--force", "--delete-branch", &name])
        .ok();
    assert_no_trace(&env, &name);
}

#[test]
fn hostile_prompts_reach_the_agent_byte_for_byte() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let prompts = [
        "-rf --help leading dash",
        "quotes \" ' `backticks` $(touch /tmp/pwned) ${HOME} \\ end",
        "multi\nline\n\n  indented\ttab\n",
        "unicode: ünïcödé 日本語 🚀 \u{200b}",
        "CLAUDERON_EOF\n'; exit 1; '",
    ];
    for (i, prompt) in prompts.iter().enumerate() {
        let name = unique(&format!("p{i}"));
        env.create(&name, prompt, &[]).ok();
        env.wait_for_runs(&name, 1);
        assert_eq!(
            env.stub_argv(&name),
            ["--dangerously-skip-permissions", "--", prompt],
            "prompt {i}"
        );
        env.run(&["delete", "--force", "--delete-branch", &name])
            .ok();
    }
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}

#[test]
fn codex_sessions_get_codex_home_and_its_flags() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("codex");
    env.create(&name, "use codex", &["--agent", "codex"]).ok();
    env.wait_for_runs(&name, 1);
    assert_eq!(
        String::from_utf8(env.stub_file(&name, "name"))
            .unwrap()
            .trim(),
        "codex"
    );
    assert_eq!(
        env.stub_argv(&name),
        [
            "--dangerously-bypass-approvals-and-sandbox",
            "--dangerously-bypass-hook-trust",
            "--",
            "use codex"
        ]
    );
    assert!(
        env.stub_env(&name)
            .contains(&"CODEX_HOME=/clauderon/codex".to_string())
    );
    // Its config and placeholder login, copied into CODEX_HOME (the
    // session's copy of the user's ~/.codex, outside the worktree).
    let codex_home = env
        .home()
        .join("sessions")
        .join(&name)
        .join("agent-config/codex");
    let config = std::fs::read_to_string(codex_home.join("config.toml")).unwrap();
    assert!(
        config.starts_with(clauderon::codex::CONFIG_MARKER),
        "{config}"
    );
    assert!(config.contains("approval_policy = \"never\""));
    let auth = std::fs::read_to_string(codex_home.join("auth.json")).unwrap();
    assert!(auth.contains(clauderon::proxy::rules::OPENAI_PLACEHOLDER));
}

#[test]
fn restarted_agent_resumes_its_conversation() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("resume");
    env.create(&name, "first", &[]).ok();
    env.wait_for_runs(&name, 1);
    // What Claude Code leaves on disk after a conversation.
    let transcripts = env.worktree(&name).join(".claude/projects/-workspace");
    std::fs::create_dir_all(&transcripts).unwrap();
    std::fs::write(transcripts.join("abc.jsonl"), "{}\n").unwrap();
    env.run(&["stop", &name]).ok();
    env.run(&["start", &name]).ok();
    env.wait_for_runs(&name, 2);
    assert_eq!(
        env.stub_argv(&name),
        ["--dangerously-skip-permissions", "--continue"]
    );
}
