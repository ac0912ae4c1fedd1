//! `clauderon doctor` on this machine with Podman, and with a PATH that
//! has no podman: Podman is optional (a warning, exit 0), Docker is not;
//! the engines' init binaries, the network mode and the compose tool are
//! checked beside them.

use std::path::Path;

use crate::common::{BASE_IMAGE, Env, docker_ready, podman_ready};
use serde_json::Value;

fn doctor(env: &Env, path: Option<&Path>) -> (i32, Vec<Value>) {
    let mut cmd = env.command(&["--json", "doctor"]);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    let out = cmd.output().unwrap();
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        checks.as_array().unwrap().clone(),
    )
}

fn verdict<'a>(checks: &'a [Value], name: &str) -> Option<&'a Value> {
    checks.iter().find(|c| c["name"] == name)
}

/// A PATH of links to the programs doctor may use, podman left out.
fn path_without_podman(dir: &Path) {
    for program in ["docker", "docker-init", "docker-compose", "kubectl"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .unwrap();
        let target = String::from_utf8_lossy(&found.stdout).trim().to_string();
        if !target.is_empty() {
            std::os::unix::fs::symlink(target, dir.join(program)).unwrap();
        }
    }
}

#[test]
fn doctor_with_and_without_podman() {
    if !docker_ready() || !podman_ready() {
        return;
    }
    let env = Env::new();
    env.append_config(&format!(
        "[docker]\ndefault_image = \"{BASE_IMAGE}\"\n[agent]\nmount_agent_cli = false\n"
    ));

    let (code, checks) = doctor(&env, None);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(verdict(&checks, "podman").unwrap()["verdict"], "ok");
    assert_eq!(verdict(&checks, "docker init").unwrap()["verdict"], "ok");
    let podman_init = verdict(&checks, "podman init").expect("podman's init is checked");
    // This machine has tini but no catatonit: a warning naming both fixes.
    if podman_init["verdict"] != "ok" {
        let fix = podman_init["fix"].as_str().unwrap();
        assert!(
            fix.contains("catatonit") && fix.contains("init_path"),
            "{fix}"
        );
    }
    assert_eq!(verdict(&checks, "network mode").unwrap()["verdict"], "ok");
    assert_eq!(verdict(&checks, "compose").unwrap()["verdict"], "ok");
    assert!(verdict(&checks, "kubectl").is_some());
    // The test image has no sccache: said once here, not in every session's log.
    let sccache = verdict(&checks, "docker sccache").expect("the default image is probed");
    assert_eq!(sccache["verdict"], "warn", "{sccache}");
    assert!(
        sccache["detail"]
            .as_str()
            .unwrap()
            .contains("sccache missing in clauderon-test-base")
            && sccache["detail"]
                .as_str()
                .unwrap()
                .contains("Rust builds run without a compile cache"),
        "{sccache}"
    );

    let bin = tempfile::tempdir().unwrap();
    path_without_podman(bin.path());
    let (code, checks) = doctor(&env, Some(bin.path()));
    assert_eq!(code, 0, "podman is optional: {checks:#?}");
    let podman = verdict(&checks, "podman").unwrap();
    assert_eq!(podman["verdict"], "warn", "{podman}");
    assert!(
        podman["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{podman}"
    );
    assert!(verdict(&checks, "podman init").is_none());
    assert_eq!(verdict(&checks, "docker").unwrap()["verdict"], "ok");
    let text = env
        .command(&["doctor"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("warn  podman ")),
        "{text}"
    );
}

/// Before any create there is no daemon: the credentials checked are the
/// shell's, which the daemon that create starts inherits.
#[test]
fn doctor_checks_the_shells_credentials_before_the_daemon_runs() {
    let env = Env::new();
    let credentials = |key: Option<&str>| {
        let mut cmd = env.command(&["--json", "doctor"]);
        for var in [
            "ANTHROPIC_API_KEY",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "OPENAI_API_KEY",
        ] {
            cmd.env_remove(var);
        }
        if let Some(k) = key {
            cmd.env("ANTHROPIC_API_KEY", k);
        }
        let out = cmd.output().unwrap();
        let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
        verdict(checks.as_array().unwrap(), "credentials")
            .cloned()
            .expect("credentials are checked with no daemon")
    };
    let none = credentials(None);
    assert_eq!(none["verdict"], "warn", "{none}");
    assert!(
        none["fix"].as_str().unwrap().contains("ANTHROPIC_API_KEY"),
        "{none}"
    );
    let secret = "sk-ant-doctor-test-value";
    let set = credentials(Some(secret));
    assert_eq!(set["verdict"], "ok", "{set}");
    assert!(
        !set.to_string().contains(secret),
        "the value is never shown: {set}"
    );
}

/// A home clauderon cannot make is a failure (exit 1) naming the fix;
/// the check leaves nothing in a home it can write.
#[test]
fn doctor_fails_on_a_home_it_cannot_write() {
    let env = Env::new();
    let out = env
        .command(&["--json", "doctor"])
        .env("CLAUDERON_HOME", "/proc/clauderon-doctor-test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let home = verdict(checks.as_array().unwrap(), "home").unwrap().clone();
    assert_eq!(home["verdict"], "fail", "{home}");
    assert!(home["fix"].as_str().unwrap().contains("CLAUDERON_HOME"));
    let (_, checks) = doctor(&env, None);
    assert_eq!(verdict(&checks, "home").unwrap()["verdict"], "ok");
    let left: Vec<_> = std::fs::read_dir(env.home()).unwrap().flatten().collect();
    assert!(
        left.iter()
            .all(|e| !e.file_name().to_string_lossy().contains("doctor")),
        "{left:?}"
    );
}
