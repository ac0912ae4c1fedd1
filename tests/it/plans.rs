//! Snapshot tests of rendered plans: the full argv of every command and
//! every file written, for a matrix of options. No engine needed.

use std::path::PathBuf;

use crate::common::filters::snapshot;
use crate::common::fixtures;
use fixtures::{home, spec, wiring};

use clauderon::backend::ContainerState;
use clauderon::backend::oci::create::create_plan;
use clauderon::backend::oci::delete::delete_plan;
use clauderon::backend::oci::refresh::refresh_plan;
use clauderon::backend::oci::{DOCKER, PODMAN};
use clauderon::backend::{HostNetwork, Wiring};
use clauderon::isolation::{NetworkMode, Security};
use clauderon::limits::{Cpu, Limits, Memory};
use clauderon::session::{Agent, BackendKind, GitIdentity, PullPolicy, SessionSpec};

/// The `docker create` command of a rendered plan (it spans several lines).
/// (Docker makes and starts it with one `run --detach`.)
fn docker_create(plan: &str) -> String {
    engine_create(plan, "docker run \\\n    --detach")
}

/// The command of a rendered plan that makes the container: `podman
/// create`, or what `docker_create` names.
fn engine_create(plan: &str, engine: &str) -> String {
    let start = match engine {
        "podman" => plan.find("podman create"),
        made_by => plan.find(made_by),
    }
    .expect("plan creates a container");
    let mut out = String::new();
    for line in plan[start..].lines() {
        out.push_str(line);
        out.push('\n');
        if !line.ends_with('\\') {
            break;
        }
    }
    out
}

fn create(spec: &SessionSpec, exclude: bool) -> String {
    let exclude = exclude.then(|| {
        (
            PathBuf::from("/home/dev/project/.git/info/exclude"),
            clauderon::git::EXCLUDE_BLOCK.as_bytes().to_vec(),
        )
    });
    create_plan(spec, &home(), &DOCKER, exclude, &wiring()).render()
}

#[test]
fn create_default_claude() {
    snapshot!(create(&spec(), true));
}

#[test]
fn create_codex_with_limits_env_and_subdir() {
    let mut s = spec();
    s.agent = Agent::Codex;
    s.limits = Limits {
        cpu: Some(Cpu::parse("500m").unwrap()),
        memory: Some(Memory::parse("2Gi").unwrap()),
        ..Default::default()
    };
    s.env = vec![
        ("RUST_LOG".into(), "debug".into()),
        ("WITH SPACE".replace(' ', "_"), "a b 'c' $(d)".into()),
    ];
    s.subdir = "crates/core/".into();
    s.pull_policy = PullPolicy::Always;
    snapshot!(create(&s, false));
}

#[test]
fn create_without_the_proxy() {
    let mut s = spec();
    s.agent = Agent::Codex;
    let no_proxy = Wiring {
        http_port: 4000,
        proxy: None,
        ..wiring()
    };
    let plan = create_plan(&s, &home(), &DOCKER, None, &no_proxy).render();
    assert!(
        !plan.contains("HTTPS_PROXY") && !plan.contains("proxy-ca"),
        "{plan}"
    );
    // Network mode proxy without the proxy: only the hook listener is forwarded.
    assert!(
        !plan.contains("proxy.sock") && plan.contains("hooks.sock"),
        "{plan}"
    );
    s.network = NetworkMode::Open;
    let plan = create_plan(&s, &home(), &DOCKER, None, &no_proxy).render();
    assert!(plan.contains("CLAUDERON_HTTP_PORT=4000"), "{plan}");
}

#[test]
fn create_as_root_with_never_pull_policy() {
    let mut s = spec();
    s.uid = 0;
    s.gid = 0;
    s.pull_policy = PullPolicy::Never;
    s.git_identity = GitIdentity::default();
    let plan = create(&s, false);
    assert!(plan.contains("--env 'IS_SANDBOX=1'"), "{plan}");
    assert!(plan.contains("--user 0:0"));
    assert!(plan.contains("--pull never"));
    assert!(!plan.contains("GIT_AUTHOR_NAME"));
}

#[test]
fn create_with_hostile_prompt_keeps_it_out_of_argv() {
    let mut s = spec();
    s.prompt = "-rf \"quotes\" 'single' $(rm -rf /) `id` \\ \n second line\n\u{1F600} ünïcödé\nCLAUDERON_EOF\n".into();
    let plan = create(&s, false);
    // The prompt is written to a file, shown pasteably, never in docker argv.
    assert!(!docker_create(&plan).contains("rm -rf /"));
    snapshot!(plan);
}

#[test]
fn secrets_never_appear_in_dry_run() {
    let mut s = spec();
    s.env = vec![
        (
            "ANTHROPIC_API_KEY".into(),
            "sk-ant-api03-SUPERSECRETVALUE1234567890".into(),
        ),
        ("GH_TOKEN".into(), "ghp_topsecret".into()),
    ];
    let plan = create(&s, false);
    assert!(!plan.contains("SUPERSECRET"), "{plan}");
    assert!(!plan.contains("1234567890"), "{plan}");
    assert!(!plan.contains("ghp_topsecret"), "{plan}");
    assert!(
        !plan.contains("0123456789abcdef-test-token"),
        "the proxy token is not shown: {plan}"
    );
    assert!(
        plan.contains(
            r#"ANTHROPIC_API_KEY="$ANTHROPIC_API_KEY" GH_TOKEN="$GH_TOKEN" docker run \"#
        )
    );
    assert!(plan.contains("--env ANTHROPIC_API_KEY \\"));
}

#[test]
fn paths_with_commas_and_spaces_are_quoted() {
    let mut s = spec();
    s.repo_root = "/home/dev/my project, v2".into();
    s.git_common_dir = "/home/dev/my project, v2/.git".into();
    snapshot!(create(&s, false));
}

#[test]
fn refresh_of_a_running_session() {
    let plan = refresh_plan(
        &spec(),
        &home(),
        &DOCKER,
        &ContainerState::Present("running".into()),
        true,
        &wiring(),
    );
    snapshot!(plan.render());
}

#[test]
fn refresh_of_a_missing_container_without_pull() {
    let plan = refresh_plan(
        &spec(),
        &home(),
        &DOCKER,
        &ContainerState::Missing,
        false,
        &wiring(),
    );
    snapshot!(plan.render());
}

#[test]
fn delete_with_branch() {
    // The repository path does not exist here, so the plan only removes
    // what clauderon owns: that is the "repository is gone" case.
    let plan = delete_plan(
        &spec(),
        &home(),
        &DOCKER,
        &ContainerState::Present("exited".into()),
        true,
    );
    snapshot!(plan.render());
}

#[test]
fn delete_removes_the_worktree_and_its_registration_without_git() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.repo_root = dir.path().join("project");
    s.git_common_dir = s.repo_root.join(".git");
    let registration = s.git_common_dir.join("worktrees/fix-bug-a1b2");
    std::fs::create_dir_all(&registration).unwrap();
    std::fs::write(
        registration.join("gitdir"),
        format!("{}/.git\n", s.worktree.display()),
    )
    .unwrap();
    let plan = delete_plan(
        &s,
        &home(),
        &DOCKER,
        &ContainerState::Present("running".into()),
        true,
    )
    .render()
    .replace(&dir.path().display().to_string(), "/tmp/T");
    // Only the branch needs git (and only when the repository's config is clean).
    assert_eq!(plan.matches("git -C").count(), 1, "{plan}");
    snapshot!(plan);
}

fn podman_wiring(rootless: bool) -> Wiring {
    Wiring {
        host: HostNetwork {
            gateway: if rootless {
                "10.0.2.2".into()
            } else {
                "10.88.0.1".into()
            },
            rootless,
            remote: false,
        },
        ..wiring()
    }
}

fn podman_spec(mounted: bool) -> SessionSpec {
    let mut s = spec();
    s.backend = BackendKind::Podman;
    s.image = "python:3.12".into();
    s.agent_cli_image = mounted.then(|| "clauderon-agent-cli:latest".into());
    s
}

#[test]
fn create_podman_rootful_with_the_agent_cli_mounted() {
    let plan = create_plan(
        &podman_spec(true),
        &home(),
        &PODMAN,
        None,
        &podman_wiring(false),
    )
    .render();
    assert!(
        plan.contains(
            "--mount 'type=image,src=clauderon-agent-cli:latest,dst=/opt/clauderon-agent'"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("--env 'CLAUDERON_AGENT_DIR=/opt/clauderon-agent'"),
        "{plan}"
    );
    assert!(!plan.contains("--userns"), "{plan}");
    snapshot!(plan);
}

#[test]
fn create_podman_rootless_without_image_mount() {
    let plan = create_plan(
        &podman_spec(false),
        &home(),
        &PODMAN,
        None,
        &podman_wiring(true),
    )
    .render();
    assert!(plan.contains("--userns=keep-id"), "{plan}");
    // Network mode proxy: no network, so no slirp4netns host loopback.
    assert!(plan.contains("--network none"), "{plan}");
    assert!(!plan.contains("slirp4netns"), "{plan}");
    assert!(!plan.contains("type=image"), "{plan}");
    snapshot!(plan);
}

#[test]
fn create_podman_rootless_in_network_mode_open() {
    let mut s = podman_spec(false);
    s.network = NetworkMode::Open;
    let plan = create_plan(&s, &home(), &PODMAN, None, &podman_wiring(true)).render();
    let create = engine_create(&plan, "podman");
    assert!(
        create.contains("slirp4netns:allow_host_loopback=true"),
        "{create}"
    );
    assert!(
        create.contains("--add-host host.containers.internal:10.0.2.2"),
        "{create}"
    );
    assert!(
        !create.contains("--network none") && !create.contains("--forward"),
        "{create}"
    );
    snapshot!(create);
}

#[test]
fn network_mode_proxy_has_no_network_and_reaches_the_daemon_through_sockets() {
    let create = docker_create(&create(&spec(), false));
    for want in [
        "--network none",
        "--mount 'type=bind,src=/home/dev/.clauderon/run,dst=/run/clauderon,readonly'",
        "--mount 'type=bind,src=/home/dev/.clauderon/bin/clauderon-init,dst=/opt/clauderon/init,readonly'",
        "--entrypoint /opt/clauderon/init clauderon-agent:latest",
        "--forward '127.0.0.1:39128=/run/clauderon/proxy.sock'",
        "--forward '127.0.0.1:39130=/run/clauderon/hooks.sock'",
        "-- bash /etc/clauderon/session/entrypoint.sh",
        "--env 'CLAUDERON_HOST=127.0.0.1'",
        "--env 'CLAUDERON_HTTP_PORT=39130'",
        "--env 'NO_PROXY=localhost,127.0.0.1'",
        "--cap-drop ALL",
        "--security-opt no-new-privileges",
        "--pids-limit=4096",
    ] {
        assert!(create.contains(want), "{want}\n{create}");
    }
    for never in [
        "--add-host",
        "--init",
        "host.docker.internal",
        "--privileged",
    ] {
        assert!(!create.contains(never), "{never}\n{create}");
    }
}

#[test]
fn create_in_network_mode_open() {
    let mut s = spec();
    s.network = NetworkMode::Open;
    let create = docker_create(&create(&s, false));
    assert!(
        create.contains("--add-host host.docker.internal:host-gateway"),
        "{create}"
    );
    assert!(
        !create.contains("--network") && !create.contains("/run/clauderon"),
        "{create}"
    );
    assert!(
        create.contains("--cap-drop ALL"),
        "hardening stays on: {create}"
    );
    snapshot!(create);
}

#[test]
fn hardening_escape_hatches_are_rendered() {
    let mut s = spec();
    s.security = Security {
        cap_add: vec!["CHOWN".into(), "SETUID".into()],
        pids_limit: 0,
        no_new_privileges: false,
    };
    let create = docker_create(&create(&s, false));
    assert!(
        create.contains("--cap-drop ALL \\\n    --cap-add CHOWN \\\n    --cap-add SETUID"),
        "{create}"
    );
    assert!(!create.contains("no-new-privileges"), "{create}");
    assert!(
        create.contains("--pids-limit=-1"),
        "no limit is -1: {create}"
    );
}

#[test]
fn env_taken_by_name_stays_out_of_argv() {
    let mut s = spec();
    s.env = vec![
        ("DATABASE_URL".into(), "postgres://u:hunter2@db/x".into()),
        ("PLAIN".into(), "visible".into()),
    ];
    s.env_from_host = vec!["DATABASE_URL".into()];
    let plan = create(&s, false);
    assert!(!plan.contains("hunter2"), "{plan}");
    assert!(plan.contains("DATABASE_URL=\"$DATABASE_URL\""), "{plan}");
    assert!(plan.contains("--env DATABASE_URL \\\n"), "{plan}");
    assert!(plan.contains("--env 'PLAIN=visible'"), "{plan}");
}

#[test]
fn without_the_helper_the_engine_init_is_used() {
    let mut s = spec();
    s.network = NetworkMode::Open;
    let w = Wiring {
        init_helper: false,
        ..wiring()
    };
    let create = create_plan(&s, &home(), &DOCKER, None, &w).render();
    let create = docker_create(&create);
    assert!(create.contains("--init"), "{create}");
    assert!(
        create.contains(
            "--entrypoint bash clauderon-agent:latest /etc/clauderon/session/entrypoint.sh"
        ),
        "{create}"
    );
    assert!(!create.contains("clauderon-init"), "{create}");
}

#[test]
fn create_with_lifecycle_commands() {
    let mut s = spec();
    s.lifecycle.on_create = vec![
        "pip install -r requirements.txt".into(),
        "echo 'quoted' $(date)".into(),
    ];
    s.lifecycle.post_start = vec!["make dev-server &".into()];
    let plan = create(&s, false);
    assert!(plan.contains("container/on-create-001"), "{plan}");
    assert!(plan.contains("container/post-start-001"), "{plan}");
    assert!(
        plan.contains("# wait for the on-create commands to finish"),
        "{plan}"
    );
    assert!(
        !docker_create(&plan).contains("pip install"),
        "lifecycle commands are files, not argv"
    );
}
