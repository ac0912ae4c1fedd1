//! Which compose program a session uses: Docker's `docker compose` plugin
//! when it answers, else `docker-compose`; neither is an error naming the
//! package. The plugin is a real CLI plugin (found by the real `docker` in
//! a DOCKER_CONFIG of the test's own) that forwards to the real
//! docker-compose 1.29, so the engine and the compose behind it are real.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{BASE_IMAGE, Env, docker_ok, docker_ready, unique};

/// Answers docker's plugin metadata question, logs each call, and hands
/// the rest (without the `compose` that docker passes first) to v1.
const PLUGIN: &str = r#"#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"clauderon tests","Version":"1.29.2","ShortDescription":"forwards to docker-compose"}'
  exit 0
fi
shift
echo "$*" >> "$(dirname "$0")/calls.log"
exec docker-compose "$@"
"#;

fn compose_v1_ready() -> bool {
    common::compose_tool_ready(docker_ready(), "docker-compose")
}

/// A DOCKER_CONFIG with the forwarding plugin in it.
fn plugin_config(dir: &Path) {
    let plugins = dir.join("cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let plugin = plugins.join("docker-compose");
    std::fs::write(&plugin, PLUGIN).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn write_file(env: &Env) -> String {
    let body = format!("services:\n  dev:\n    image: {BASE_IMAGE}\n");
    let path = env.repo().join("docker-compose.yml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn the_docker_compose_plugin_is_preferred_when_it_answers() {
    if !compose_v1_ready() {
        return;
    }
    let config = tempfile::tempdir().unwrap();
    plugin_config(config.path());
    let mut env = Env::new();
    env.extra_env
        .push(("DOCKER_CONFIG".into(), config.path().display().to_string()));
    let file = write_file(&env);
    let repo = env.repo().display().to_string();
    let name = unique("compose-plugin");
    let create = |extra: &[&str]| {
        let mut args = vec!["create", "--name", &name, "--repo", &repo];
        args.extend(["--prompt", "x", "--compose", &file]);
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let dry = create(&["--dry-run"]).ok();
    assert!(
        dry.stdout
            .contains(" docker compose \\\n    --project-name"),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("docker-compose --project-name"));
    create(&[]).ok();
    let agent = format!("clauderon-{name}");
    let service = docker_ok(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"com.docker.compose.service\"}}",
        &agent,
    ]);
    assert_eq!(service, "dev");
    env.run(&["delete", "--force", &name]).ok();
    let calls = std::fs::read_to_string(config.path().join("cli-plugins/calls.log")).unwrap();
    for call in ["config", " up ", " down "] {
        assert!(calls.contains(call), "{call}: {calls}");
    }
    let project = format!("label=com.docker.compose.project=clauderon-{name}");
    assert_eq!(docker_ok(&["ps", "-aq", "--filter", &project]), "");
}

#[test]
fn no_compose_tool_is_an_error_naming_the_package() {
    if !docker_ready() {
        return;
    }
    // A PATH with docker and git but no docker-compose, and no plugin.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["docker", "git"] {
        let found = which(tool).expect("on PATH");
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    let config = tempfile::tempdir().unwrap();
    let mut env = Env::new();
    env.extra_env
        .push(("PATH".into(), bin.path().display().to_string()));
    env.extra_env
        .push(("DOCKER_CONFIG".into(), config.path().display().to_string()));
    let file = write_file(&env);
    let repo = env.repo().display().to_string();
    let r = env
        .run(&[
            "create",
            "--name",
            "notool",
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--compose",
            &file,
        ])
        .fails();
    assert!(r.stderr.contains("no compose tool"), "{}", r.stderr);
    assert!(
        r.stderr.contains("apt install docker-compose"),
        "{}",
        r.stderr
    );
    assert!(!env.worktree("notool").exists());
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}
