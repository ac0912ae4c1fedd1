//! Compose files the backends must refuse, and whether a compose tool is
//! installed.

use std::path::Path;
use std::process::Command;

use super::{BASE_IMAGE, Env, Run};

/// Compose constructs refused on every engine: (a line of service `other`,
/// what the refusal says). Bind sources relative to the file and from
/// `${HOME}` are resolved as compose resolves them.
pub fn compose_refusals(outside: &Path) -> Vec<(String, &'static str)> {
    vec![
        ("privileged: true".into(), "privileged"),
        ("cap_add: [NET_ADMIN]".into(), "cap_add"),
        ("pid: host".into(), "pid: host"),
        ("network_mode: host".into(), "network_mode: host"),
        ("container_name: fixed".into(), "container_name"),
        (
            "security_opt: [\"seccomp:unconfined\"]".into(),
            "security_opt",
        ),
        (
            format!("volumes: [\"{}:/x\"]", outside.display()),
            "only paths inside",
        ),
        ("volumes: [\"../..:/x\"]".into(), "only paths inside"),
        ("volumes: [\"${HOME}:/x\"]".into(), "only paths inside"),
        ("ports: [\"18080:80\"]".into(), "allow_ports"),
        ("build: .".into(), "allow_build"),
    ]
}

/// For each case, a file with services `dev` and `other` (which has the
/// case's line): `create` must fail naming `other` and the reason, before
/// anything exists.
pub fn assert_compose_refusals(cases: Vec<(String, &str)>, create: impl Fn(&Env, &str) -> Run) {
    for (line, expected) in cases {
        let env = Env::new();
        let body = format!(
            "services:\n  dev:\n    image: {BASE_IMAGE}\n  other:\n    image: {BASE_IMAGE}\n    {line}\n"
        );
        let path = env.repo().join("docker-compose.yml");
        std::fs::write(&path, body).unwrap();
        let r = create(&env, &path.display().to_string()).fails();
        assert!(r.stderr.contains(expected), "{line}: {}", r.stderr);
        assert!(r.stderr.contains("\"other\""), "{line}: {}", r.stderr);
        assert!(!env.worktree("refused").exists(), "{line}");
        assert!(!env.home().join("sessions/refused").exists(), "{line}");
    }
}

/// `engine_ready` (Docker's or Podman's check, already made) and a compose
/// `tool` that answers `version`; under CI=true a missing tool fails the
/// test, naming the package (Debian's is named like the tool).
pub fn compose_tool_ready(engine_ready: bool, tool: &str) -> bool {
    if !engine_ready {
        return false;
    }
    let answers = Command::new(tool).arg("version").output();
    if answers.is_ok_and(|o| o.status.success()) {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true: {tool} is missing (apt install {tool})");
    }
    eprintln!("SKIPPED: {tool} is not installed");
    false
}

/// The daemon's port on the engine's bridge `gateway` answers a container
/// on the engine's default network (the control), and none of
/// `containers` (the agent, its database): no route out of the project.
pub fn assert_no_way_to_the_host(engine: &str, gateway: &str, env: &Env, containers: &[String]) {
    let port = super::daemon_port(env);
    let probe = format!("timeout 3 bash -c 'exec 3<>/dev/tcp/{gateway}/{port}' && echo reached");
    let reached = |args: &[&str]| {
        let out = Command::new(engine).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("reached")
    };
    let control = ["run", "--rm", BASE_IMAGE, "bash", "-c", &probe];
    assert!(reached(&control), "the probe works from {engine}'s bridge");
    for container in containers {
        let inside = ["exec", container.as_str(), "bash", "-c", &probe];
        assert!(!reached(&inside), "{container} reached the host");
    }
}

/// In the agent's container (`engine exec`), what the agent writes at
/// /workspace shows at /workspaces/app, the compose file's bind mount of
/// the repository, and neither write reaches the user's checkout.
#[track_caller]
pub fn assert_repo_bind_is_the_worktree(engine: &str, agent: &str, env: &super::Env) {
    let script = "echo mine > /workspace/by-agent && cat /workspaces/app/by-agent && touch /workspaces/app/second";
    let out = std::process::Command::new(engine)
        .args(["exec", agent, "bash", "-c", script])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mine\n", "{err}");
    for file in ["by-agent", "second"] {
        assert!(!env.repo().join(file).exists(), "{file} in your checkout");
    }
}
