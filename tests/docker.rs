//! Integration tests against a REAL Docker engine, with locally built test
//! images (scripts/build-test-images.sh) whose `claude`/`codex` is a stub
//! that records its argv and environment in the worktree.

mod common;

use std::collections::HashMap;

use common::{BASE_IMAGE, Env, NOBASH_IMAGE, docker, docker_ok, docker_ready, git, unique};
use serde_json::Value;

fn inspect(container: &str) -> Value {
    let out = docker_ok(&["container", "inspect", container]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

fn env_map(inspected: &Value) -> HashMap<String, String> {
    inspected["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e.as_str()?
                .split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn list_json(env: &Env) -> Vec<Value> {
    let r = env.run(&["list", "--json"]).ok();
    serde_json::from_str(&r.stdout).unwrap()
}

fn state_of(env: &Env, name: &str) -> String {
    list_json(env)
        .into_iter()
        .find(|row| row["name"] == name)
        .map(|row| row["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

fn container_exists(name: &str) -> bool {
    docker(&["container", "inspect", &format!("clauderon-{name}")])
        .status
        .success()
}

fn assert_no_trace(env: &Env, name: &str) {
    assert!(!container_exists(name), "container of {name} left behind");
    assert!(
        !env.home().join("sessions").join(name).exists(),
        "session dir of {name} left behind"
    );
    assert!(
        !env.worktree(name).exists(),
        "worktree of {name} left behind"
    );
    let branches = git(env.repo(), &["branch", "--list", name]);
    assert!(branches.trim().is_empty(), "branch {name} left behind");
    let worktrees = git(env.repo(), &["worktree", "list"]);
    assert!(
        !worktrees.contains(name),
        "worktree registration of {name} left behind: {worktrees}"
    );
}

#[test]
fn full_lifecycle_create_list_logs_stop_start_refresh_delete() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("life");
    let sub = env.repo().join("sub").to_string_lossy().to_string();
    let r = env
        .run(&[
            "create",
            "--name",
            &name,
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
        r.stdout.contains(&name) && r.stdout.contains("clauderon attach"),
        "{}",
        r.stdout
    );
    env.wait_for_runs(&name, 1);

    // What the container looks like to the engine.
    let c = inspect(&format!("clauderon-{name}"));
    let e = env_map(&c);
    let uid = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let gid = String::from_utf8(
        std::process::Command::new("id")
            .arg("-g")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        c["Config"]["User"],
        format!("{}:{}", uid.trim(), gid.trim())
    );
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
    let labels = &c["Config"]["Labels"];
    assert_eq!(labels["clauderon.session"], name.as_str());
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
        env.worktree(&name).to_string_lossy().as_ref()
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

    // What the agent got.
    assert_eq!(
        env.stub_argv(&name),
        ["--dangerously-skip-permissions", "--", "Fix the bug"]
    );
    assert_eq!(
        String::from_utf8(env.stub_file(&name, "cwd"))
            .unwrap()
            .trim(),
        "/workspace/sub"
    );
    let claude_json: Value =
        serde_json::from_slice(&std::fs::read(env.worktree(&name).join(".claude.json")).unwrap())
            .unwrap();
    assert_eq!(claude_json["hasCompletedOnboarding"], true);
    assert_eq!(claude_json["bypassPermissionsModeAccepted"], true);
    assert_eq!(
        claude_json["projects"]["/workspace"]["hasTrustDialogAccepted"],
        true
    );

    // Nothing clauderon or the agent wrote shows up in git status.
    let status = git(
        &env.worktree(&name),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert!(status.trim().is_empty(), "worktree is dirty: {status}");

    assert_eq!(state_of(&env, &name), "running");
    let table = env.run(&["list"]).ok().stdout;
    assert!(
        table.contains("NAME") && table.contains(&name) && table.contains("running"),
        "{table}"
    );

    // create returns when the entrypoint hands over to the agent, which
    // prints a moment later.
    let mut logs = env.run(&["logs", &name, "--tail", "50"]).ok();
    for _ in 0..50 {
        if logs.stdout.contains("stub agent running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        logs = env.run(&["logs", &name, "--tail", "50"]).ok();
    }
    assert!(
        logs.stdout.contains("stub agent running"),
        "{}",
        logs.stdout
    );

    env.run(&["stop", &name]).ok();
    assert_eq!(state_of(&env, &name), "exited");
    env.run(&["start", &name]).ok();
    env.wait_for_runs(&name, 2);
    assert_eq!(state_of(&env, &name), "running");

    let before = c["Id"].as_str().unwrap().to_string();
    env.run(&["refresh", &name, "--no-pull"]).ok();
    env.wait_for_runs(&name, 3);
    let after = inspect(&format!("clauderon-{name}"));
    assert_ne!(
        after["Id"].as_str().unwrap(),
        before,
        "refresh recreates the container"
    );
    assert_eq!(env_map(&after), e, "same environment after refresh");
    assert_eq!(after["HostConfig"]["NanoCpus"], c["HostConfig"]["NanoCpus"]);
    assert_eq!(after["HostConfig"]["Memory"], c["HostConfig"]["Memory"]);
    assert_eq!(after["Config"]["Image"], BASE_IMAGE);
    assert!(!container_exists(&format!("{name}-refresh-old")));
    assert_eq!(state_of(&env, &name), "running");

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
            .contains(&"CODEX_HOME=/workspace/.codex".to_string())
    );
    // Its config and placeholder login, copied into CODEX_HOME.
    let codex_home = env.worktree(&name).join(".codex");
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

#[test]
fn failed_container_start_rolls_everything_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("rollback");
    let r = env.create_from(&name, "x", NOBASH_IMAGE, &[]).fails();
    assert!(
        r.stderr
            .contains(&format!("could not create session '{name}'")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    assert_no_trace(&env, &name);
    // The name is free again.
    env.create(&name, "x", &[]).ok();
}

#[test]
fn missing_image_with_never_pull_policy_is_refused_and_rolled_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("noimg");
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .create_from(&name, "x", "clauderon-no-such-image:0", &[])
        .fails();
    // Classified from `docker create`'s own stderr (no probe in advance).
    assert!(
        r.stderr.contains("image not available") && r.stderr.contains("--pull-policy never"),
        "{}",
        r.stderr
    );
    assert_no_trace(&env, &name);
    // With pulling allowed, the pull fails (no registry here) and is rolled back.
    let r = env
        .run(&[
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            "clauderon-no-such-image:0",
        ])
        .fails();
    assert!(r.stderr.contains("image not available"), "{}", r.stderr);
    assert_no_trace(&env, &name);
}

#[test]
fn names_already_taken_are_refused() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("taken");
    env.create(&name, "x", &[]).ok();
    let r = env.create(&name, "x", &[]).fails();
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    // A branch of that name.
    let other = unique("branch");
    git(env.repo(), &["branch", &other]);
    let r = env.create(&other, "x", &[]).fails();
    assert!(
        r.stderr
            .contains(&format!("branch '{other}' already exists")),
        "{}",
        r.stderr
    );
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
    assert!(
        r.stderr.contains("container name already in use") && r.stderr.contains("docker rm -f"),
        "{}",
        r.stderr
    );
    assert!(!env.worktree(&foreign).exists());
}

#[test]
fn concurrent_creates_of_one_name_have_exactly_one_winner() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("race");
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.create_command(&name, "race", BASE_IMAGE, &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    // The winner's session is intact.
    env.wait_for_runs(&name, 1);
    assert_eq!(state_of(&env, &name), "running");
    assert!(env.worktree(&name).join("README").exists());
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
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert!(container_exists(&name));
    let r = env.run(&["delete", "--dry-run", &name]).ok();
    assert!(
        r.stdout
            .contains(&format!("docker rm --force clauderon-{name}")),
        "{}",
        r.stdout
    );
    assert!(container_exists(&name), "dry-run changed nothing");
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
    docker_ok(&["volume", "create", "clauderon-sccache"]);
    let r = env.run(&["clean-cache"]).ok();
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
    let r = env.run(&["clean-cache", "--force", "--dry-run"]).ok();
    assert!(r.stdout.contains("docker volume rm"), "{}", r.stdout);
    // Other tests may be using the volumes right now: then removal must fail
    // with the fix, not silently.
    let r = env.run(&["clean-cache", "--force"]);
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
fn interrupted_create_leaves_nothing_half_made() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    for delay_ms in [300u64, 700, 1100] {
        let name = unique("sigterm");
        let repo = env.repo().to_string_lossy().to_string();
        let args = [
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            common::BASE_IMAGE,
            "--pull-policy",
            "never",
        ];
        let child = env
            .command(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            // Finished before the signal: a whole session.
            Some(0) => assert_eq!(state_of(&env, &name), "running"),
            Some(130) => {
                assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
                assert_no_trace(&env, &name);
            }
            // Killed before it started changing anything.
            None => assert_no_trace(&env, &name),
            other => panic!("exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

#[test]
fn a_run_that_fails_at_start_leaves_no_container() {
    if !docker_ready() {
        return;
    }
    // An image where /opt is a file: the container is made, then fails to
    // start (the helper cannot be mounted at /opt/clauderon/init).
    let image = "clauderon-test-badopt:1";
    if !common::image_exists(image) {
        let dockerfile = format!("FROM {BASE_IMAGE}\nRUN rm -rf /opt && touch /opt\n");
        let mut build = std::process::Command::new("docker")
            .args(["build", "-q", "-t", image, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut build.stdin.take().unwrap(), dockerfile.as_bytes()).unwrap();
        assert!(build.wait().unwrap().success(), "docker build of {image}");
    }
    let env = Env::new();
    let name = unique("badopt");
    let r = env.create_from(&name, "x", image, &[]).fails();
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    assert_no_trace(&env, &name);
    let left = docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=clauderon.home={}", env.home().display()),
    ]);
    assert!(left.trim().is_empty(), "a container is left: {left}");
}

#[test]
fn a_hanging_on_create_times_out_and_rolls_back() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let config = env.home().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}[lifecycle]\non_create_timeout = 2\n"),
    )
    .unwrap();
    let name = unique("hang");
    let started = std::time::Instant::now();
    let r = env
        .create(&name, "x", &["--on-create", "sleep 300"])
        .fails();
    assert!(
        started.elapsed().as_secs() < 30,
        "create waited {:?}",
        started.elapsed()
    );
    assert!(
        r.stderr.contains("did not finish within 2 s") && r.stderr.contains("on_create_timeout"),
        "{}",
        r.stderr
    );
    assert_no_trace(&env, &name);
}

#[test]
fn a_session_being_created_cannot_be_deleted_at_the_same_time() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("busy");
    let create = env
        .create_command(&name, "x", BASE_IMAGE, &["--on-create", "sleep 3"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until create is in its on-create wait (the worktree exists).
    for _ in 0..100 {
        if env.worktree(&name).join(".clauderon").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = env.run(&["delete", "--force", &name]).fails();
    assert!(
        r.stderr
            .contains("another clauderon command is changing session"),
        "{}",
        r.stderr
    );
    assert!(create.wait_with_output().unwrap().status.success());
    env.run(&["delete", "--force", &name]).ok();
    assert!(!env.worktree(&name).exists());
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
    assert!(
        list.stderr.contains("session.json"),
        "says which record: {}",
        list.stderr
    );
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
