//! Snapshot tests of compose sessions' plans (Docker's tools and
//! podman-compose): the override, every compose argv, and delete's steps.
//! No engine needed.

use crate::common::filters::snapshot;
use crate::common::fixtures;

use clauderon::backend::ContainerState;
use clauderon::backend::compose::{ComposeSpec, OVERRIDE_NAME, Tool};
use clauderon::backend::oci::create::create_plan;
use clauderon::backend::oci::delete::delete_plan;
use clauderon::backend::oci::{DOCKER, PODMAN};
use clauderon::limits::{Cpu, Limits, Memory};
use clauderon::session::BackendKind;
use clauderon::spec::compose::RepoBind;
use fixtures::{home, spec, wiring};

/// A compose session: the override (every `$` doubled, the hostile value a
/// plain string in JSON), then `up` naming the project, the user's file and
/// the override; delete takes the project down with its volumes.
#[test]
fn create_and_delete_compose_session() {
    let mut s = spec();
    s.image = "postgres-dev:1".into();
    s.env = vec![("GREETING".into(), "$HOME; $(rm -rf /) \"q\"".into())];
    s.limits = Limits {
        cpu: Some(Cpu::parse("1.5").unwrap()),
        memory: Some(Memory::parse("1Gi").unwrap()),
        ..Default::default()
    };
    s.compose = Some(ComposeSpec {
        files: vec!["/home/dev/project/docker-compose.yml".into()],
        service: "dev".into(),
        tool: Tool::DockerCompose,
        override_file: home().session_dir(&s.name).join(OVERRIDE_NAME),
        networks: vec!["default".into(), "backend".into()],
        volumes: vec!["data".into()],
        services: vec!["db".into(), "dev".into()],
        shell_form: vec![],
        // `..:/workspaces/app:cached` in the file: from the worktree.
        repo_binds: vec![RepoBind {
            path: "".into(),
            mount: "/workspaces/app:cached".into(),
        }],
    });
    let created = create_plan(&s, &home(), &DOCKER, None, &wiring()).render();
    assert!(
        created.contains("\"GREETING=$$HOME; $$(rm -rf /) \\\"q\\\"\""),
        "{created}"
    );
    let deleted = delete_plan(&s, &home(), &DOCKER, &ContainerState::Missing, false).render();
    snapshot!(format!("{created}\n# --- delete ---\n{deleted}"));
}

/// The same on Podman with podman-compose 1.0.3: the agent CLI from an
/// image volume, the hosts file in every service (no DNS), the pids limit
/// through --podman-run-args, the check after `up` that writes the hosts
/// file, and a delete that also removes what podman-compose's down leaves.
#[test]
fn create_and_delete_podman_compose_session() {
    let mut s = spec();
    s.backend = BackendKind::Podman;
    s.image = "localhost/postgres-dev:1".into();
    s.agent_cli_image = Some("clauderon-agent-cli:r9".into());
    s.compose = Some(ComposeSpec {
        files: vec!["/home/dev/project/docker-compose.yml".into()],
        service: "dev".into(),
        tool: Tool::PodmanCompose,
        override_file: home().session_dir(&s.name).join(OVERRIDE_NAME),
        networks: vec!["default".into()],
        volumes: vec!["data".into()],
        services: vec!["db".into(), "dev".into()],
        shell_form: vec![],
        repo_binds: Vec::new(),
    });
    let created = create_plan(&s, &home(), &PODMAN, None, &wiring()).render();
    let deleted = delete_plan(&s, &home(), &PODMAN, &ContainerState::Missing, false).render();
    snapshot!(format!("{created}\n# --- delete ---\n{deleted}"));
}

/// Rootless Podman cannot map the user into a podman-compose service:
/// refused, naming what works instead.
#[test]
fn podman_compose_on_rootless_podman_is_refused() {
    use clauderon::commands::create::compose::check_wiring;
    let mut s = spec();
    s.backend = BackendKind::Podman;
    s.compose = Some(ComposeSpec {
        files: vec!["/home/dev/project/docker-compose.yml".into()],
        service: "dev".into(),
        tool: Tool::PodmanCompose,
        override_file: home().session_dir(&s.name).join(OVERRIDE_NAME),
        networks: vec!["default".into()],
        volumes: vec![],
        services: vec!["dev".into()],
        shell_form: vec![],
        repo_binds: Vec::new(),
    });
    let mut w = wiring();
    check_wiring(&s, &w).unwrap();
    w.host.rootless = true;
    let e = check_wiring(&s, &w).unwrap_err();
    assert!(e.message.contains("rootful Podman"), "{}", e.message);
    assert!(e.fix.unwrap().contains("--backend docker"));
}
