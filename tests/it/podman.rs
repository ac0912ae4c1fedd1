//! Podman, for real: a session whose image has NO agent, the agent CLI
//! mounted from its own image (built here with `agent-image build` from the
//! stub agent), lifecycle commands, the image allowlist, and `image check`.

use crate::common;

use crate::common::podman::{create, podman, podman_env};
use crate::common::{BASE_IMAGE, Env, NOAGENT_IMAGE, git, podman_ready, unique};
use serde_json::Value;

fn state_of(env: &Env, name: &str) -> (String, String) {
    let rows: Vec<Value> = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let row = rows
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed"));
    (
        row["state"].as_str().unwrap().into(),
        row["backend"].as_str().unwrap().into(),
    )
}

/// Inside the container: the agent CLI mounted, the files the agent
/// writes owned by the invoking user, git working, and hooks reaching the
/// daemon through Podman's gateway.
fn assert_mounted_owned_and_hooked(env: &Env, name: &str, container: &str) {
    let inspect: Value =
        serde_json::from_str(&podman(&["container", "inspect", container])).unwrap();
    let mounts = inspect[0]["Mounts"].to_string();
    assert!(mounts.contains("/opt/clauderon-agent"), "{mounts}");
    assert!(inspect[0]["Config"]["Labels"]["clauderon.backend"] == "podman");
    // Files the agent writes in /workspace belong to the invoking user.
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout;
    let stub_dir = env.worktree(name).join(".clauderon/stub");
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(stub_dir.join("argv")).unwrap());
    assert_eq!(owner.to_string(), String::from_utf8(uid).unwrap().trim());
    // git works inside, hooks reach the daemon through Podman's gateway.
    let out = podman(&[
        "exec",
        container,
        "bash",
        "-c",
        "git status --short && git log --format=%s -1",
    ]);
    assert!(out.ends_with("initial"), "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !env
        .run(&["events", name])
        .ok()
        .stdout
        .contains("UserPromptSubmit")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no hook events arrived from the Podman container"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// list, logs, stop, start, refresh and attach of the running session.
fn assert_lifecycle(env: &Env, name: &str) {
    assert_eq!(state_of(env, name), ("running".into(), "podman".into()));
    assert!(
        env.run(&["logs", name, "--tail", "20"])
            .ok()
            .stdout
            .contains("stub agent running")
    );
    env.run(&["stop", name]).ok();
    assert_eq!(state_of(env, name).0, "exited");
    env.run(&["start", name]).ok();
    env.wait_for_runs(name, 2);
    env.run(&["refresh", "--no-pull", name]).ok();
    env.wait_for_runs(name, 3);
    assert_eq!(state_of(env, name).0, "running");
    assert!(
        env.run(&["attach", "--dry-run", name])
            .ok()
            .stdout
            .contains("podman attach")
    );
}

#[test]
fn podman_session_with_the_agent_mounted_from_its_image() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let name = unique("pod");
    let r = create(&env, &name, NOAGENT_IMAGE, &[]).ok();
    assert!(r.stdout.contains("podman"), "{}", r.stdout);
    env.wait_for_runs(&name, 1);
    // The agent ran from the mount, in a base image that has none.
    assert_eq!(
        env.stub_argv(&name),
        ["--dangerously-skip-permissions", "--", "podman task"]
    );
    assert_eq!(
        String::from_utf8(env.stub_file(&name, "cwd"))
            .unwrap()
            .trim(),
        "/workspace/sub"
    );
    let container = format!("clauderon-{name}");
    assert_mounted_owned_and_hooked(&env, &name, &container);
    assert_lifecycle(&env, &name);
    env.run(&["delete", "--force", "--delete-branch", &name])
        .ok();
    assert!(
        std::process::Command::new("podman")
            .args(["container", "exists", &container])
            .status()
            .unwrap()
            .code()
            == Some(1)
    );
    assert!(!env.worktree(&name).exists());
    assert!(
        git(env.repo(), &["branch", "--list", &name])
            .trim()
            .is_empty()
    );
}

#[test]
fn docker_and_podman_sessions_list_together() {
    if !podman_ready() || !common::docker_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let (p, d) = (unique("lp"), unique("ld"));
    create(&env, &p, BASE_IMAGE, &[]).ok();
    env.create(&d, "docker one", &[]).ok();
    let table = env.run(&["list"]).ok().stdout;
    assert!(
        table.contains(&p)
            && table.contains(&d)
            && table.contains("podman")
            && table.contains("docker"),
        "{table}"
    );
}

#[test]
fn lifecycle_on_create_once_post_start_every_start() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let name = unique("life");
    create(
        &env,
        &name,
        NOAGENT_IMAGE,
        &[
            "--on-create",
            "echo created >> /workspace/.clauderon/on-create.log",
            "--post-start",
            "echo \"started 'quoted' $((1+1))\" >> /workspace/.clauderon/post-start.log",
        ],
    )
    .ok();
    env.wait_for_runs(&name, 1);
    let read = |f: &str| {
        std::fs::read_to_string(env.worktree(&name).join(".clauderon").join(f)).unwrap_or_default()
    };
    assert_eq!(read("on-create.log"), "created\n");
    assert_eq!(read("post-start.log"), "started 'quoted' 2\n");
    env.run(&["stop", &name]).ok();
    env.run(&["start", &name]).ok();
    env.wait_for_runs(&name, 2);
    env.run(&["refresh", "--no-pull", &name]).ok();
    env.wait_for_runs(&name, 3);
    assert_eq!(read("on-create.log"), "created\n", "on-create runs once");
    assert_eq!(
        read("post-start.log").lines().count(),
        3,
        "post-start runs at every start"
    );
    let logs = env.run(&["logs", &name]).ok().stdout;
    assert!(
        logs.contains("post-start: echo"),
        "lifecycle output goes to the session log: {logs}"
    );
}

#[test]
fn failing_on_create_fails_the_session_and_rolls_back() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let name = unique("oc");
    let r = create(
        &env,
        &name,
        NOAGENT_IMAGE,
        &["--on-create", "echo preparing; echo broken >&2; exit 7"],
    );
    assert_eq!(
        r.code, 7,
        "clauderon exits with the command's code: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("exit code 7") && r.stderr.contains("broken"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    assert!(!env.home().join("sessions").join(&name).exists());
    assert!(!env.worktree(&name).exists());
    assert!(
        git(env.repo(), &["branch", "--list", &name])
            .trim()
            .is_empty()
    );
    let out = podman(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!out.contains(&name), "{out}");
}

#[test]
fn an_interrupted_podman_create_is_cleaned_up_by_delete() {
    if !podman_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("halfpod");
    // What a create interrupted between `podman create` and the record leaves.
    std::fs::create_dir_all(env.home().join("sessions").join(&name)).unwrap();
    let container = format!("clauderon-{name}");
    let label = format!("clauderon.home={}", env.home().display());
    let out = std::process::Command::new("podman")
        .args([
            "create", "--name", &container, "--label", &label, BASE_IMAGE, "true",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run(&["delete", "--force", &name]).ok();
    let left = std::process::Command::new("podman")
        .args(["ps", "-aq", "--filter", &format!("name=^{container}$")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "the podman container is left"
    );
    assert!(!env.home().join("sessions").join(&name).exists());
}
