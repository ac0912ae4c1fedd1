//! Images, for real on Podman: musl images and missing agent CLI images are
//! refused with the fix, the image allowlist, and `image check`'s verdicts.

use crate::common;

use crate::common::filters::{snapshot, transcript};
use crate::common::podman::{create, podman_env};
use crate::common::{
    BASE_IMAGE, Env, MUSL_IMAGE, NOAGENT_IMAGE, NOBASH_IMAGE, podman_ready, unique,
};
use serde_json::Value;

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

/// `create --dry-run` from `image`, which the allowlist judges.
fn create_dry_run(env: &Env, image: &str) -> common::Run {
    let repo = env.repo().to_string_lossy().to_string();
    let args = ["create", "--repo", &repo, "--prompt", "x", "--image", image];
    env.run(&[&args[..], &["--dry-run"]].concat())
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
    // (`create --image X` stands for `create --repo REPO --prompt x --image X
    // --dry-run`.)
    let mut shown = String::new();
    for image in ["evil.io/python:3", "node:20", "ghcr.io/myorgevil/x:1"] {
        let r = create_dry_run(&env, image).fails();
        shown.push_str(&transcript(&["create", "--image", image], &r));
    }
    for image in [
        "python:3.12",
        "docker.io/library/python:3.12-slim",
        "ghcr.io/myorg/tool:1",
    ] {
        create_dry_run(&env, image).ok();
    }
    // The environment variable wins over the file.
    env.extra_env
        .push(("CLAUDERON_ALLOWED_IMAGES".into(), "node:*, debian:*".into()));
    create_dry_run(&env, "node:20").ok();
    let r = create_dry_run(&env, "python:3.12").fails();
    shown.push_str("# CLAUDERON_ALLOWED_IMAGES='node:*, debian:*'\n");
    shown.push_str(&transcript(&["create", "--image", "python:3.12"], &r));
    let args = ["image", "pull", "--dry-run", "python:3.12"];
    shown.push_str(&transcript(&args, &env.run(&args).fails()));
    snapshot!(shown);
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

/// An image Podman cannot pull (its registry unreachable) is the same
/// error as on Docker: "image not available", exit 2, the fix, the
/// engine's own words once and nothing left.
#[test]
fn an_image_podman_cannot_pull_is_not_available_with_the_fix() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let name = unique("nopull");
    let extra = ["--pull-policy", "if-not-present"];
    let r = create(&env, &name, "localhost:1/nothing:1", &extra).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let error = format!(
        "clauderon: error: could not create session '{name}': image not available (the engine said why above)\n"
    );
    assert!(r.stderr.contains(&error), "{}", r.stderr);
    let fix = "  fix: check the image name; build or load it locally, or log in to its registry (`podman login`); with --pull-policy never it must already be local (`podman images`)\n";
    assert!(r.stderr.ends_with(fix), "{}", r.stderr);
    let said = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error: initializing source"));
    assert_eq!(said.count(), 1, "{}", r.stderr);
    assert!(!env.worktree(&name).exists());
}
