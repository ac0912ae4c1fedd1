//! Codex's images: `image check` of a musl image, `agent-image build
//! --agent codex`, and Claude Code's and Codex's CLI images side by side.

use crate::common;

use std::process::Command;

use crate::common::Env;
use crate::common::codex::{CODEX_CLI_IMAGE, codex_ready, mount_codex_cli};
use crate::common::filters::snapshot;
use serde_json::Value;

/// `image check`: a musl image is refused for Claude Code's mounted CLI
/// (it needs glibc) and accepted for Codex's (static).
#[test]
fn image_check_accepts_a_musl_image_for_codex_only() {
    if !codex_ready("podman", CODEX_CLI_IMAGE) {
        return;
    }
    let env = Env::new();
    mount_codex_cli(&env);
    let check = |agent: &str| {
        let args = ["image", "check", common::MUSL_IMAGE, "--backend", "podman"];
        let r = env.run(&[&args[..], &["--agent", agent, "--json"]].concat());
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        (r.code, v)
    };
    let (code, v) = check("codex");
    assert_eq!((code, &v["compatible"]), (0, &Value::Bool(true)), "{v}");
    let codex = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "codex in PATH")
        .unwrap();
    assert!(
        codex["detail"].as_str().unwrap().contains("static"),
        "{codex}"
    );
    let (code, v) = check("claude");
    assert_eq!((code, &v["compatible"]), (1, &Value::Bool(false)), "{v}");
}

/// `agent-image build --agent codex` fetches Codex's npm package and puts
/// both its binaries in the image, under Codex's own image name.
#[test]
fn agent_image_build_for_codex_renders_its_own_image() {
    let env = Env::new();
    let r = env
        .run(&["agent-image", "build", "--agent", "codex", "--dry-run"])
        .ok();
    let home = env.home().to_string_lossy().to_string();
    snapshot!(r.stdout.replace(&home, "[HOME]"));
    // --from a codex with no codex-code-mode-host beside it: refused.
    let dir = tempfile::tempdir().unwrap();
    let codex = dir.path().join("codex");
    std::fs::write(&codex, "#!/bin/sh\n").unwrap();
    let from = codex.to_string_lossy().to_string();
    let args = ["agent-image", "build", "--agent", "codex", "--from", &from];
    let r = env.run(&[&args[..], &["--dry-run"]].concat()).fails();
    assert!(r.stderr.contains("codex-code-mode-host"), "{}", r.stderr);
    assert!(!env.home().join("cache/agent-cli").exists());
}

/// Claude Code's and Codex's CLI images coexist, and a Podman session
/// mounts its own agent's.
#[test]
fn claude_and_codex_cli_images_coexist_on_podman() {
    if !common::podman_ready() {
        return;
    }
    let env = Env::new();
    let tag = common::unique("cli");
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[agent]\ncli_image = \"clauderon-test-cli\"\ncli_image_tag = \"{tag}\"\ncodex_cli_image = \"clauderon-test-codex-cli\"\ncodex_cli_image_tag = \"{tag}\"\nauto_pull_cli = false\n"
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    let images = [
        format!("clauderon-test-cli:{tag}"),
        format!("clauderon-test-codex-cli:{tag}"),
    ];
    let _cleanup = RemoveImages(images.to_vec());
    build_stub_cli_images(&env);
    for (image, agent) in images.iter().zip(["claude", "codex"]) {
        let format = "{{index .Labels \"org.clauderon.agent-cli\"}}";
        let args = ["image", "inspect", "--format", format, image];
        let label = Command::new("podman").args(args).output().unwrap();
        let label = String::from_utf8_lossy(&label.stdout);
        assert_eq!(label.trim(), agent, "{image}");
    }
    let repo = env.repo().to_string_lossy().to_string();
    let create = ["create", "--backend", "podman", "--agent", "codex"];
    let rest = ["--name", "mounts", "--repo", &repo, "--prompt", "p"];
    let image = ["--image", common::NOAGENT_IMAGE, "--dry-run"];
    let r = env.run(&[&create[..], &rest, &image].concat()).ok();
    assert!(
        r.stdout.contains(&format!(
            "type=image,src={},dst=/opt/clauderon-agent",
            images[1]
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(&images[0]), "{}", r.stdout);
}

/// Both agents' CLI images, from the stub agent (Codex's needs its
/// codex-code-mode-host beside it).
fn build_stub_cli_images(env: &Env) {
    let dir = tempfile::tempdir().unwrap();
    let stub = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stub-agent.sh");
    for name in ["codex", "codex-code-mode-host"] {
        std::fs::copy(stub, dir.path().join(name)).unwrap();
    }
    let codex = dir.path().join("codex").to_string_lossy().to_string();
    env.run(&["agent-image", "build", "--from", stub]).ok();
    let args = ["agent-image", "build", "--agent", "codex", "--from", &codex];
    env.run(&args).ok();
}

struct RemoveImages(Vec<String>);

impl Drop for RemoveImages {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = Command::new("podman")
                .args(["rmi", "--force", image])
                .output();
        }
    }
}
