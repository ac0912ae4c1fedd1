//! The agent service's bind mounts of the repository come from its
//! worktree (the mount itself is tested in `compose` and
//! `compose_podman`): one of a path the worktree does not hold is refused
//! before anything is made, naming the path and the ways out.

use crate::common::{self, BASE_IMAGE, Env, NOAGENT_IMAGE, docker_ready, podman_ready};

#[track_caller]
fn assert_nothing_made(env: &Env) {
    let made = match std::fs::read_dir(env.home().join("sessions")) {
        Ok(mut dir) => dir.next().is_some(),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    };
    assert!(!made, "a session was made");
}

#[test]
fn a_bind_of_a_path_the_worktree_lacks_is_refused() {
    if !common::compose_tool_ready(docker_ready(), "docker-compose") {
        return;
    }
    let env = Env::new();
    // Ignored files: in your checkout, never in a worktree.
    std::fs::write(env.repo().join(".env"), "TOKEN=mine\n").unwrap();
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n    volumes: [\".:/workspaces/app\", \"./.env:/app/.env:ro\"]\n"
    );
    let file = env.repo().join("docker-compose.yml");
    std::fs::write(&file, body).unwrap();
    let file = file.display().to_string();
    let repo = env.repo().display().to_string();
    let args = [
        "create",
        "--repo",
        &repo,
        "--prompt",
        "p",
        "--compose",
        &file,
    ];
    let r = env.run(&args).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "clauderon: error: service \"dev\" mounts .env of the repository, which is not in the session's worktree (not in HEAD): the agent's service sees only its worktree\n  fix: commit it, mount it in another service, or give it with --mount (read-only)\n"
    );
    assert_nothing_made(&env);
}

/// A long-syntax bind of the repository cannot be replaced by the
/// worktree's (podman-compose replaces only strings): refused, where `up`
/// would fail with "duplicate mount destination".
#[test]
fn a_long_form_bind_mount_of_the_repository_is_refused_on_podman() {
    if !common::compose_tool_ready(podman_ready(), "podman-compose") {
        return;
    }
    let env = Env::new();
    let body = format!(
        "services:\n  dev:\n    image: localhost/{NOAGENT_IMAGE}\n    volumes:\n      - {{type: bind, source: ., target: /workspaces/app}}\n"
    );
    let file = env.repo().join("docker-compose.yml");
    std::fs::write(&file, body).unwrap();
    let (file, repo) = (file.display().to_string(), env.repo().display().to_string());
    let args = [
        "create",
        "--backend",
        "podman",
        "--repo",
        &repo,
        "--prompt",
        "p",
    ];
    let r = env
        .run(&[&args[..], &["--compose", &file]].concat())
        .fails();
    let real = env.repo().canonicalize().unwrap();
    let want = format!(
        "service \"dev\" uses a bind mount of {} at /workspaces/app: podman-compose cannot put the session's worktree in place of a mount written in long syntax (type: bind), so the agent would get your checkout",
        real.display()
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert_nothing_made(&env);
}
