//! Compose sessions against a REAL Docker engine with Debian's
//! docker-compose (1.29): the agent in one service, the others beside it,
//! one project per session, nothing left behind.

use crate::common;

use std::path::Path;

use crate::common::{BASE_IMAGE, Env, docker, docker_ok, docker_ready, unique};
use serde_json::Value;

/// Docker and docker-compose; under CI=true a missing one fails the test.
fn compose_ready() -> bool {
    common::compose_tool_ready(docker_ready(), "docker-compose")
}

/// No container, network or volume of the project, no worktree, no
/// session directory.
#[track_caller]
fn assert_nothing_left(env: &Env, name: &str, project: &Project) {
    project.assert_gone();
    assert!(!env.worktree(name).exists());
    assert!(!env.home().join("sessions").join(name).exists());
}

/// Removes whatever a test's project left, even when the test failed.
struct Project(String);

impl Project {
    #[track_caller]
    fn assert_gone(&self) {
        assert_eq!(
            self.leftovers(),
            (String::new(), String::new(), String::new())
        );
    }

    fn of(session: &str) -> Project {
        Project(format!("clauderon-{session}"))
    }

    fn filter(&self) -> String {
        format!("label=com.docker.compose.project={}", self.0)
    }

    /// (containers, networks, volumes) of the project.
    fn leftovers(&self) -> (String, String, String) {
        let f = self.filter();
        (
            docker_ok(&["ps", "-aq", "--filter", &f]),
            docker_ok(&["network", "ls", "-q", "--filter", &f]),
            docker_ok(&["volume", "ls", "-q", "--filter", &f]),
        )
    }

    fn states(&self) -> Vec<String> {
        let f = self.filter();
        let out = docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &f,
            "--format",
            "{{.Names}} {{.State}}",
        ]);
        let mut lines: Vec<String> = out.lines().map(String::from).collect();
        lines.sort();
        lines
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let (c, n, v) = self.leftovers();
        for (kind, ids) in [("container", c), ("network", n), ("volume", v)] {
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let rm: &[&str] = if kind == "container" {
                    &["rm", "-f"]
                } else {
                    &["rm"]
                };
                let _ = docker(&[&[kind][..], rm, &ids].concat());
            }
        }
    }
}

/// A database-like service answering `pong` on port 8000 (the test image
/// has perl, not python), with a named volume.
const DB: &str = r#"  db:
    image: clauderon-test-base:1
    init: true
    volumes:
      - data:/data
    command: ["perl", "-MIO::Socket::INET", "-e", "$$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die; while ($$c = $$s->accept) { print $$c qq(pong\n); close $$c }"]
"#;

fn write_compose(env: &Env, body: &str) -> String {
    let path = env.repo().join("docker-compose.yml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

fn create(env: &Env, name: &str, file: &str, extra: &[&str]) -> common::Run {
    let repo = env.repo().display().to_string();
    let mut args = vec![
        "create",
        "--name",
        name,
        "--repo",
        &repo,
        "--prompt",
        "work",
        "--compose",
        file,
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn two_services(env: &Env) -> String {
    let body = format!(
        "services:\n{DB}  dev:\n    image: {BASE_IMAGE}\n    depends_on: [db]\nvolumes:\n  data: {{}}\n"
    );
    write_compose(env, &body)
}

fn exec(container: &str, script: &str) -> std::process::Output {
    docker(&["exec", container, "bash", "-c", script])
}

/// The agent's container: hardened, labelled, the shared caches mounted.
fn assert_agent_container(agent: &str, name: &str) {
    let inspected: Value =
        serde_json::from_str(&docker_ok(&["container", "inspect", agent])).unwrap();
    let host = &inspected[0]["HostConfig"];
    assert_eq!(host["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(inspected[0]["Config"]["Labels"]["clauderon.session"], name);
    assert_eq!(
        inspected[0]["Config"]["Labels"]["com.docker.compose.service"],
        "dev"
    );
    // The shared caches are mounted, as in any session.
    let mounts = inspected[0]["Mounts"].as_array().unwrap();
    for cache in [
        "clauderon-cargo-registry",
        "clauderon-cargo-git",
        "clauderon-sccache",
    ] {
        assert!(
            mounts.iter().any(|m| m["Name"] == cache),
            "{cache} not mounted: {mounts:?}"
        );
    }
}

/// `list` finds the session by its labels; `status` shows both services.
fn assert_listed_with_its_services(env: &Env, name: &str) {
    // list: found by its labels.
    let list: Vec<Value> = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let row = list.iter().find(|r| r["name"] == name).expect("listed");
    assert_eq!(row["state"], "running");
    let status = env.run(&["status", name, "--json"]).ok();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["compose"]["service"], "dev");
    assert_eq!(status["compose"]["services"].as_array().unwrap().len(), 2);
}

#[test]
fn the_agent_reaches_its_database_by_name_and_delete_leaves_nothing() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose");
    let project = Project::of(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    let agent = format!("clauderon-{name}");
    assert_agent_container(&agent, &name);
    // The project's network has no way out; the agent still finds `db`.
    let net = format!("{}_default", project.0);
    assert_eq!(
        docker_ok(&["network", "inspect", &net, "--format", "{{.Internal}}"]),
        "true"
    );
    let mut answer = String::new();
    for _ in 0..50 {
        let out = exec(
            &agent,
            "timeout 2 bash -c 'exec 3<>/dev/tcp/db/8000 && head -n1 <&3'",
        );
        answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if answer == "pong" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(answer, "pong");
    // ...and nothing on the host, for the agent or its database.
    common::assert_no_way_to_the_host(
        "docker",
        &common::docker::bridge_gateway(),
        &env,
        &[agent.clone(), format!("{}_db_1", project.0)],
    );
    env.wait_for_runs(&name, 1);
    assert_listed_with_its_services(&env, &name);
    // stop and start: the whole project, and the agent resumes.
    env.run(&["stop", &name]).ok();
    assert!(
        project.states().iter().all(|s| s.ends_with(" exited")),
        "{:?}",
        project.states()
    );
    env.run(&["start", &name]).ok();
    assert!(
        project.states().iter().all(|s| s.ends_with(" running")),
        "{:?}",
        project.states()
    );
    env.wait_for_runs(&name, 2);
    env.run(&["delete", "--force", &name]).ok();
    assert_nothing_left(&env, &name, &project);
    // `down --volumes` left the shared caches (external in the override).
    docker_ok(&["volume", "inspect", "clauderon-cargo-registry"]);
}

#[test]
fn a_failing_dependency_rolls_everything_back_and_shows_its_output() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose-fail");
    let project = Project::of(&name);
    let body = format!(
        "services:\n  db:\n    image: {BASE_IMAGE}\n    init: true\n    command: [\"bash\", \"-c\", \"echo db-broke-here; sleep 60\"]\n    volumes: [\"data:/data\"]\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      retries: 1\n  dev:\n    image: {BASE_IMAGE}\n    depends_on:\n      db:\n        condition: service_healthy\nvolumes:\n  data: {{}}\n"
    );
    let file = write_compose(&env, &body);
    let r = create(&env, &name, &file, &["--service", "dev"]).fails();
    assert!(r.stderr.contains("unhealthy"), "{}", r.stderr);
    assert!(r.stderr.contains("db-broke-here"), "{}", r.stderr);
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    assert_nothing_left(&env, &name, &project);
}

/// Each refused construct: the create fails before anything exists, and
/// the error names the reason and what allows it.
#[test]
fn refused_constructs_say_why_and_leave_nothing() {
    if !compose_ready() {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let cases = common::compose_refusals(outside.path());
    common::assert_compose_refusals(cases, |env, file| {
        create(env, "refused", file, &["--service", "dev"])
    });
}

/// A bind mount of the repository in the agent's service (a
/// devcontainer's `..:/workspaces/app`) is mounted from the session's
/// worktree: the agent sees its own files there, never your checkout.
#[test]
fn the_agents_bind_mount_of_the_repository_is_its_worktree() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("bind");
    let project = Project::of(&name);
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n    volumes: [\".:/workspaces/app:cached\"]\n"
    );
    let file = write_compose(&env, &body);
    create(&env, &name, &file, &[]).ok();
    let agent = format!("clauderon-{name}");
    common::compose::assert_repo_bind_is_the_worktree("docker", &agent, &env);
    env.run(&["delete", "--force", &name]).ok();
    assert_nothing_left(&env, &name, &project);
}

#[test]
fn hostile_service_names_reach_no_shell() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let marker = env.home().join("pwned");
    let hostile = format!("$(touch {})", marker.display());
    let body = format!("services:\n  \"x;{hostile}\":\n    image: {BASE_IMAGE}\n");
    let file = write_compose(&env, &body);
    create(&env, "hostile", &file, &[]).fails();
    let body = format!("services:\n  dev:\n    image: {BASE_IMAGE}\n");
    let file = write_compose(&env, &body);
    let r = create(&env, "hostile", &file, &["--service", &hostile]).fails();
    assert!(r.stderr.contains("has no service"), "{}", r.stderr);
    assert!(!marker.exists());
    assert!(!env.worktree("hostile").exists());
    assert!(!Path::new(&env.home().join("sessions/hostile")).exists());
}

#[test]
fn service_without_compose_and_image_with_compose_are_refused() {
    let env = Env::new();
    let r = env
        .run(&["create", "--prompt", "x", "--service", "dev", "--dry-run"])
        .fails();
    assert!(r.stderr.contains("--compose"), "{}", r.stderr);
}

#[test]
fn refresh_recreates_the_agent_and_keeps_the_database_and_its_volume() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose-refresh");
    let project = Project::of(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    env.wait_for_runs(&name, 1);
    let agent = format!("clauderon-{name}");
    let db = format!("{}_db_1", project.0);
    let id = |c: &str| docker_ok(&["inspect", "--format", "{{.Id}}", c]);
    let (agent_before, db_before) = (id(&agent), id(&db));
    assert!(exec(&db, "echo kept > /data/row").status.success());
    env.run(&["refresh", &name]).ok();
    env.wait_for_runs(&name, 2);
    assert_ne!(id(&agent), agent_before, "the agent's container is new");
    assert_eq!(id(&db), db_before, "the database kept running");
    let row = exec(&db, "cat /data/row");
    assert_eq!(String::from_utf8_lossy(&row.stdout).trim(), "kept");
    // stop/start keep the volume too.
    env.run(&["stop", &name]).ok();
    env.run(&["start", &name]).ok();
    let row = exec(&db, "cat /data/row");
    assert_eq!(String::from_utf8_lossy(&row.stdout).trim(), "kept");
    env.run(&["delete", "--force", &name]).ok();
    project.assert_gone();
}

#[test]
fn delete_takes_the_project_down_even_when_the_compose_file_is_gone() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose-gone");
    let project = Project::of(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    std::fs::remove_file(&file).unwrap();
    let r = env.run(&["delete", "--force", &name]).ok();
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    project.assert_gone();
    assert!(!env.worktree(&name).exists());
}

#[test]
fn delete_of_a_session_without_its_record_takes_its_project_down() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose-norecord");
    let project = Project::of(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    // A record lost or broken (the session directory and override remain).
    std::fs::remove_file(env.home().join("sessions").join(&name).join("session.json")).unwrap();
    env.run(&["delete", "--force", &name]).ok();
    project.assert_gone();
    assert!(!env.home().join("sessions").join(&name).exists());
}

#[test]
fn a_daemon_start_sweeps_projects_whose_session_is_gone() {
    if !compose_ready() {
        return;
    }
    let env = Env::new();
    let name = unique("compose-sweep");
    let project = Project::of(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    // The session's directory (record and override) gone by hand.
    std::fs::remove_dir_all(env.home().join("sessions").join(&name)).unwrap();
    env.run(&["daemon", "stop"]).ok();
    env.run(&["daemon", "start"]).ok();
    let empty = (String::new(), String::new(), String::new());
    for _ in 0..100 {
        if project.leftovers() == empty {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(project.leftovers(), empty);
}

/// The allowlist covers every service's image, not only the agent's; a
/// service built from `build:` (allowed by allow_build) is exempt.
#[test]
fn the_allowlist_applies_to_every_services_image() {
    if !compose_ready() {
        return;
    }
    let mut env = Env::new();
    env.extra_env
        .push(("CLAUDERON_ALLOWED_IMAGES".into(), "clauderon-test-*".into()));
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n  cache:\n    image: evil.example/redis:7\n"
    );
    let file = write_compose(&env, &body);
    let r = create(&env, "allow", &file, &["--service", "dev", "--dry-run"]).fails();
    for part in ["\"cache\"", "evil.example/redis:7", "clauderon-test-*"] {
        assert!(r.stderr.contains(part), "{part}: {}", r.stderr);
    }
    assert!(!env.worktree("allow").exists());
    env.append_config("[compose]\nallow_build = true\n");
    std::fs::write(
        env.repo().join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\n"),
    )
    .unwrap();
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n  cache:\n    build: .\n    image: built/anything:1\n"
    );
    let file = write_compose(&env, &body);
    create(&env, "allow", &file, &["--service", "dev", "--dry-run"]).ok();
}

/// A compose file (which the agent can edit) that interpolates a
/// credential's variable gets nothing: compose runs without them, so no
/// service's environment (or `docker inspect`) holds the secret.
#[test]
fn compose_files_cannot_interpolate_the_credentials() {
    if !compose_ready() {
        return;
    }
    let mut env = Env::new();
    let secret = "sk-ant-compose-interpolation-test-1234";
    env.extra_env
        .push(("ANTHROPIC_API_KEY".into(), secret.into()));
    env.extra_env.push(("GH_TOKEN".into(), secret.into()));
    // A configured rule's variable is a credential too.
    env.extra_env.push(("RV_GATEWAY_KEY".into(), secret.into()));
    let cfg = env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("[[proxy.rules]]\nhost = \"llm.test\"\nheader = \"authorization\"\nformat = \"text\"\nplaceholder = \"gw-placeholder\"\nenv = \"RV_GATEWAY_KEY\"\n");
    std::fs::write(&cfg, text).unwrap();
    let name = unique("compose-interp");
    let project = Project::of(&name);
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n  db:\n    image: {BASE_IMAGE}\n    command: sleep infinity\n    environment:\n      STOLEN: \"${{ANTHROPIC_API_KEY:-none}}\"\n      STOLEN_GH: \"${{GH_TOKEN:-none}}\"\n      STOLEN_GW: \"${{RV_GATEWAY_KEY:-none}}\"\n"
    );
    let file = write_compose(&env, &body);
    let plan = create(&env, &name, &file, &["--service", "dev", "--dry-run"]).ok();
    assert!(
        plan.stdout.contains("env -u ANTHROPIC_API_KEY"),
        "{}",
        plan.stdout
    );
    create(&env, &name, &file, &["--service", "dev"]).ok();
    let db = format!("{}_db_1", project.0);
    let inspect = docker_ok(&["inspect", &db, &format!("clauderon-{name}")]);
    assert!(!inspect.contains(secret), "the secret reached a service");
    assert!(inspect.contains("STOLEN=none"), "{inspect}");
    env.run(&["delete", "--force", &name]).ok();
    assert_nothing_left(&env, &name, &project);
}
