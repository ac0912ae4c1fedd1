//! Podman, for real: a session whose image has NO agent, the agent CLI
//! mounted from its own image (built here with `agent-image build` from the
//! stub agent), lifecycle commands, the image allowlist, and `image check`.

mod common;

use common::{BASE_IMAGE, Env, MUSL_IMAGE, NOAGENT_IMAGE, NOBASH_IMAGE, git, podman_ready, unique};
use serde_json::Value;

/// The test's agent CLI image, removed when the test ends.
struct CliImage(String);

impl Drop for CliImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("podman")
            .args(["rmi", "--force", &self.0])
            .output();
    }
}

/// An env whose agent CLI image (unique to it) holds the stub agent.
fn podman_env() -> (Env, CliImage) {
    let env = Env::new();
    let tag = unique("cli");
    std::fs::write(
        env.home().join("config.toml"),
        format!("[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[agent]\ncli_image = \"clauderon-test-cli\"\ncli_image_tag = \"{tag}\"\nauto_pull_cli = false\n"),
    )
    .unwrap();
    let stub = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stub-agent.sh");
    env.run(&["agent-image", "build", "--from", stub]).ok();
    (env, CliImage(format!("clauderon-test-cli:{tag}")))
}

fn podman(args: &[&str]) -> String {
    let out = std::process::Command::new("podman")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn create(env: &Env, name: &str, image: &str, extra: &[&str]) -> common::Run {
    let repo = env.repo().join("sub").to_string_lossy().to_string();
    let mut args = vec![
        "create",
        "--backend",
        "podman",
        "--name",
        name,
        "--repo",
        &repo,
        "--prompt",
        "podman task",
        "--image",
        image,
        "--pull-policy",
        "never",
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

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
    let inspect: Value =
        serde_json::from_str(&podman(&["container", "inspect", &container])).unwrap();
    let mounts = inspect[0]["Mounts"].to_string();
    assert!(mounts.contains("/opt/clauderon-agent"), "{mounts}");
    assert!(inspect[0]["Config"]["Labels"]["clauderon.backend"] == "podman");
    // Files the agent writes in /workspace belong to the invoking user.
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout;
    let stub_dir = env.worktree(&name).join(".clauderon/stub");
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(stub_dir.join("argv")).unwrap());
    assert_eq!(owner.to_string(), String::from_utf8(uid).unwrap().trim());
    // git works inside, hooks reach the daemon through Podman's gateway.
    let out = podman(&[
        "exec",
        &container,
        "bash",
        "-c",
        "git status --short && git log --format=%s -1",
    ]);
    assert!(out.ends_with("initial"), "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !env
        .run(&["events", &name])
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

    assert_eq!(state_of(&env, &name), ("running".into(), "podman".into()));
    assert!(
        env.run(&["logs", &name, "--tail", "20"])
            .ok()
            .stdout
            .contains("stub agent running")
    );
    env.run(&["stop", &name]).ok();
    assert_eq!(state_of(&env, &name).0, "exited");
    env.run(&["start", &name]).ok();
    env.wait_for_runs(&name, 2);
    env.run(&["refresh", "--no-pull", &name]).ok();
    env.wait_for_runs(&name, 3);
    assert_eq!(state_of(&env, &name).0, "running");
    assert!(
        env.run(&["attach", "--dry-run", &name])
            .ok()
            .stdout
            .contains("podman attach")
    );
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
fn musl_images_are_refused_when_the_cli_is_mounted() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let name = unique("musl");
    let r = create(&env, &name, MUSL_IMAGE, &[]).fails();
    assert!(
        r.stderr.contains("musl") && r.stderr.contains("Debian-based"),
        "{}",
        r.stderr
    );
    assert!(!env.worktree(&name).exists());
}

#[test]
fn image_check_reports_a_missing_cli_image() {
    if !podman_ready() {
        return;
    }
    let env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        "[agent]\ncli_image = \"clauderon-no-such-cli\"\n",
    )
    .unwrap();
    let (code, v) = check(&env, NOAGENT_IMAGE, "podman");
    assert_eq!(code, 1, "{v}");
    assert!(failed(&v).contains(&"agent CLI image".to_string()), "{v}");
}

#[test]
fn missing_cli_image_says_how_to_build_it() {
    if !podman_ready() {
        return;
    }
    let env = Env::new();
    std::fs::write(
        env.home().join("config.toml"),
        "[agent]\ncli_image = \"clauderon-no-such-cli\"\nauto_pull_cli = false\n",
    )
    .unwrap();
    let name = unique("nocli");
    let r = create(&env, &name, NOAGENT_IMAGE, &[]).fails();
    assert!(
        r.stderr.contains("clauderon agent-image build"),
        "{}",
        r.stderr
    );
    assert!(!env.worktree(&name).exists());
}

#[test]
fn image_allowlist_refuses_before_anything_is_created() {
    let mut env = Env::new();
    env.extra_env
        .push(("DOCKER_HOST".into(), "unix:///nonexistent.sock".into()));
    std::fs::write(
        env.home().join("config.toml"),
        "[images]\nallowed_patterns = [\"python:*\", \"ghcr.io/myorg/*\"]\n",
    )
    .unwrap();
    let repo = env.repo().to_string_lossy().to_string();
    for image in ["evil.io/python:3", "node:20", "ghcr.io/myorgevil/x:1"] {
        let r = env
            .run(&[
                "create",
                "--repo",
                &repo,
                "--prompt",
                "x",
                "--image",
                image,
                "--dry-run",
            ])
            .fails();
        assert!(
            r.stderr.contains("not allowed") && r.stderr.contains("python:*, ghcr.io/myorg/*"),
            "{image}: {}",
            r.stderr
        );
    }
    for image in [
        "python:3.12",
        "docker.io/library/python:3.12-slim",
        "ghcr.io/myorg/tool:1",
    ] {
        env.run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            image,
            "--dry-run",
        ])
        .ok();
    }
    // The environment variable wins over the file.
    env.extra_env
        .push(("CLAUDERON_ALLOWED_IMAGES".into(), "node:*, debian:*".into()));
    env.run(&[
        "create",
        "--repo",
        &repo,
        "--prompt",
        "x",
        "--image",
        "node:20",
        "--dry-run",
    ])
    .ok();
    let r = env
        .run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--image",
            "python:3.12",
            "--dry-run",
        ])
        .fails();
    assert!(
        r.stderr.contains("CLAUDERON_ALLOWED_IMAGES"),
        "{}",
        r.stderr
    );
    let r = env
        .run(&["image", "pull", "--dry-run", "python:3.12"])
        .fails();
    assert!(r.stderr.contains("not allowed"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(env.home().join("sessions"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

fn check(env: &Env, image: &str, backend: &str) -> (i32, Value) {
    let r = env.run(&["image", "check", image, "--backend", backend, "--json"]);
    (
        r.code,
        serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}{}", r.stdout, r.stderr)),
    )
}

fn failed(v: &Value) -> Vec<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["required"] == true && c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn image_check_verdicts() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let (code, v) = check(&env, BASE_IMAGE, "podman");
    assert_eq!((code, &v["compatible"]), (0, &Value::Bool(true)), "{v}");
    // No agent in the image, but mountable on Podman (glibc).
    let (code, v) = check(&env, NOAGENT_IMAGE, "podman");
    assert_eq!(code, 0, "{v}");
    let (code, v) = check(&env, NOBASH_IMAGE, "podman");
    assert_eq!(code, 1);
    assert!(failed(&v).contains(&"bash".to_string()), "{v}");
    let (code, v) = check(&env, MUSL_IMAGE, "podman");
    assert_eq!(code, 1);
    let f = failed(&v);
    assert!(
        f.contains(&"claude in PATH".to_string())
            && f.contains(&"C library".to_string())
            && !f.contains(&"bash".to_string()),
        "{v}"
    );
    let text = env
        .run(&["image", "check", MUSL_IMAGE, "--backend", "podman"])
        .fails()
        .stdout;
    assert!(text.contains("musl") && text.contains("fix:"), "{text}");
    // image list: compatible first.
    let list: Vec<Value> = serde_json::from_str(
        &env.run(&["image", "list", "--backend", "podman", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    let first_bad = list
        .iter()
        .position(|l| l["compatible"] != true)
        .unwrap_or(list.len());
    assert!(
        list[first_bad..].iter().all(|l| l["compatible"] != true),
        "compatible images come first: {list:?}"
    );
    assert!(list.iter().any(
        |l| l["image"].as_str().unwrap().contains("clauderon-test-musl")
            && l["compatible"] == false
    ));
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
