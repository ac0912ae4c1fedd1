//! What a new user hit with images (issue 20, item 8), against real
//! Docker: a local-only image on refresh is one line, not the engine's
//! pull error and a warning repeating it.

use crate::common::{BASE_IMAGE, Env, docker_ready, unique};

#[test]
fn refresh_of_a_local_only_image_keeps_it_in_one_line() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("nulocal");
    let repo = env.repo().to_string_lossy().to_string();
    // The test helpers create with pull policy never; this is the default one.
    let made = env
        .command(&[
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "work",
            "--image",
            BASE_IMAGE,
            "--pull-policy",
            "if-not-present",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let kept = format!("kept the local image {BASE_IMAGE} (it is not in a registry)");

    let plan = env.run(&["refresh", "--dry-run", &name]).ok();
    assert!(plan.stdout.contains(&kept), "{}", plan.stdout);
    assert!(!plan.stdout.contains(" pull "), "{}", plan.stdout);

    let r = env.run(&["refresh", &name]).ok();
    let said: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("kept the local image"))
        .collect();
    assert_eq!(said, [format!("clauderon: {kept}")], "{}", r.stderr);
    for raw in [
        "pull access denied",
        "repository does not exist",
        "Error response",
        "could not pull",
    ] {
        assert!(!r.stderr.contains(raw), "{raw}: {}", r.stderr);
    }
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn create_with_a_missing_image_shows_the_engines_words_once() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("numiss");
    let image = format!("clauderon-{name}-nowhere:1");
    let repo = env.repo().to_string_lossy().to_string();
    let out = env
        .command(&[
            "create",
            "--name",
            &name,
            "--repo",
            &repo,
            "--prompt",
            "work",
            "--image",
            &image,
            "--pull-policy",
            "if-not-present",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("clauderon: error:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        error.ends_with("image not available (the engine said why above)"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Error response").count(), 1, "{stderr}");
    assert!(!stderr.contains("--help"), "{stderr}");
}

/// The tested Claude Code version lives in one file, read by
/// `agent-image build` and by scripts/build-agent-image.sh; `--version`
/// picks another, and a value that is not a version is refused.
#[test]
fn agent_image_build_fetches_the_pinned_version_or_the_one_asked_for() {
    let env = Env::new();
    let pinned = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/claude-code.version"),
    )
    .unwrap();
    let pinned = pinned.trim();
    let home = env.home().to_string_lossy().to_string();
    let r = env.run(&["agent-image", "build", "--dry-run"]).ok();
    assert!(
        r.stdout
            .contains(&format!("@anthropic-ai/claude-code-linux-x64@{pinned}")),
        "{}",
        r.stdout
    );
    let r = env
        .run(&["agent-image", "build", "--dry-run", "--version", "2.0.1"])
        .ok();
    insta::assert_snapshot!(r.stdout.replace(&home, "[HOME]"));
    let script = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-agent-image.sh"),
    )
    .unwrap();
    assert!(script.contains("templates/claude-code.version"));
    for bad in ["1.0;rm -rf /", "latest", "1.0 2.0", "$(id)"] {
        let r = env.run(&["agent-image", "build", "--dry-run", "--version", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("is not a version"), "{}", r.stderr);
    }
    let both = [
        "agent-image",
        "build",
        "--dry-run",
        "--version",
        "2.0.1",
        "--update",
    ];
    assert_eq!(env.run(&both).code, 2);
    let from = [
        "agent-image",
        "build",
        "--dry-run",
        "--from",
        "/bin/sh",
        "--version",
        "2.0.1",
    ];
    assert_eq!(env.run(&from).code, 2);
}

/// doctor names the Claude Code version in the default image, beside the
/// tested one (a tiny image whose `claude --version` answers like the real one).
#[test]
fn doctor_reports_the_default_images_claude_version() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let image = format!("clauderon-test-{}:1", unique("nuver"));
    let ctx = tempfile::tempdir().unwrap();
    let tested = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/claude-code.version"),
    )
    .unwrap();
    let script = format!("#!/bin/sh\necho '{} (Claude Code)'\n", tested.trim());
    let claude = ctx.path().join("claude");
    std::fs::write(&claude, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\nCOPY claude /usr/local/bin/claude\n"),
    )
    .unwrap();
    let dir = ctx.path().to_string_lossy().to_string();
    crate::common::docker_ok(&["build", "-q", "-t", &image, &dir]);
    env.append_config(&format!("[docker]\ndefault_image = \"{image}\"\n"));
    let out = env.command(&["--json", "doctor"]).output().unwrap();
    crate::common::docker_ok(&["rmi", "-f", &image]);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker claude version")
        .unwrap_or_else(|| panic!("{checks:#}"));
    assert_eq!(version["verdict"], "ok", "{version}");
    assert!(
        version["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} (Claude Code) in {image}", tested.trim())),
        "{version}"
    );
}

/// start on a finished --print run refuses, naming what resumes it
/// (issue 20, item 7).
#[test]
fn start_on_a_finished_print_run_refuses_with_the_fix() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("nustart");
    env.create(&name, "sum it up", &["--print"]).ok();
    let done = env.worktree(&name).join(".clauderon/print.done");
    for _ in 0..100 {
        if done.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(done.exists(), "the print run did not finish");
    let r = env.run(&["start", &name]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("was a --print run and has answered"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("clauderon send {name} MESSAGE")),
        "{}",
        r.stderr
    );
    env.run(&["delete", "--force", &name]).ok();
}
