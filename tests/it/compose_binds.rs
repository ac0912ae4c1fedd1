//! The agent service's bind mounts of the repository come from its
//! worktree (the mount itself is tested in `compose` and
//! `compose_podman`): one of a path the worktree does not hold is refused
//! before anything is made, naming the path and the ways out.

use crate::common::{self, BASE_IMAGE, Env, docker_ready};

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
    let sessions = std::fs::read_dir(env.home().join("sessions"));
    assert!(
        sessions.map_or(true, |mut d| d.next().is_none()),
        "nothing made"
    );
}
