//! A repository's devcontainer.json on REAL Podman: a Dockerfile build
//! (`podman build`, tagged by its inputs' hash), its postCreateCommand and
//! containerEnv, the agent CLI mounted from its image as in any Podman
//! session; then reused by the next session.

use crate::common;

use crate::common::podman::{podman, podman_env};
use crate::common::{podman_ready, unique};

/// Removes the built image, even when the test failed.
struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("podman")
            .args(["rmi", "--force", &self.0])
            .output();
    }
}

#[test]
fn podman_builds_and_reuses_the_devcontainer_image() {
    if !podman_ready() {
        return;
    }
    let (env, _cli) = podman_env();
    let stamp = unique("pbuild");
    let files = [
        (
            ".devcontainer/Dockerfile",
            "FROM localhost/clauderon-test-base:1\nARG STAMP\nRUN echo \"$STAMP\" > /built-marker\n"
                .to_string(),
        ),
        (
            ".devcontainer/devcontainer.json",
            format!(
                r#"{{ "build": {{ "dockerfile": "Dockerfile", "args": {{ "STAMP": "{stamp}" }} }},
                   // comments are fine
                   "postCreateCommand": "echo made > /workspace/.clauderon/dc-podman",
                   "containerEnv": {{ "EDITOR": "vim" }}, }}"#
            ),
        ),
    ];
    for (path, body) in &files {
        let p = env.repo().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    common::git(env.repo(), &["add", "-A"]);
    common::git(env.repo(), &["commit", "-q", "-m", "devcontainer"]);
    let repo = env.repo().display().to_string();
    let name = unique("dc-podman");
    let create = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "create",
            "--backend",
            "podman",
            "--name",
            name,
            "--repo",
            &repo,
            "--prompt",
            "hi",
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let dry = create(&name, &["--dry-run"]).ok().stdout;
    assert!(
        dry.contains("podman build") && dry.contains("--tag clauderon-devcontainer:"),
        "{dry}"
    );
    create(&name, &[]).ok();
    let v: serde_json::Value =
        serde_json::from_str(&env.run(&["--json", "status", &name]).ok().stdout).unwrap();
    let tag = v["setup"]["devcontainer"]["built_image"]
        .as_str()
        .unwrap()
        .to_string();
    let _image = RemoveImage(tag.clone());
    let c = format!("clauderon-{name}");
    assert_eq!(podman(&["exec", &c, "cat", "/built-marker"]), stamp);
    assert_eq!(
        podman(&["exec", &c, "cat", "/workspace/.clauderon/dc-podman"]),
        "made"
    );
    assert_eq!(podman(&["exec", &c, "printenv", "EDITOR"]), "vim");
    let again = create(&unique("dc-podman2"), &["--dry-run"]).ok().stdout;
    assert!(
        !again.contains("podman build") && again.contains("is already built"),
        "{again}"
    );
    env.run(&["delete", "--force", &name]).ok();
}
