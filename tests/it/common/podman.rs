//! Podman sessions: a home whose agent CLI image holds the stub agent, and
//! `create` and `podman` as the Podman tests call them.

use super::{Env, Run, unique};

/// The test's agent CLI image, removed when the test ends.
pub struct CliImage(pub String);

impl Drop for CliImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("podman")
            .args(["rmi", "--force", &self.0])
            .output();
    }
}

/// An env whose agent CLI image (unique to it) holds the stub agent.
pub fn podman_env() -> (Env, CliImage) {
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

/// `podman ARGS`, which must succeed; its stdout, trimmed.
pub fn podman(args: &[&str]) -> String {
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

/// `create` of a Podman session in `sub/`, from a local image (never
/// pulled, unless `extra` names a `--pull-policy`).
pub fn create(env: &Env, name: &str, image: &str, extra: &[&str]) -> Run {
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
    ];
    if !extra.contains(&"--pull-policy") {
        args.extend(["--pull-policy", "never"]);
    }
    args.extend_from_slice(extra);
    env.run(&args)
}
