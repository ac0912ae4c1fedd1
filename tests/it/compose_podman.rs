//! Compose sessions against REAL Podman with Debian's podman-compose
//! (1.0.3): the agent (from an image with no agent, its CLI from an image
//! volume) in one service, the others beside it, names from the hosts
//! file, one project per session, nothing left behind.

use crate::common;

use std::process::Command;

use crate::common::{BASE_IMAGE, Env, NOAGENT_IMAGE, podman_ready, unique};
use serde_json::Value;

/// Podman, its test images and podman-compose; under CI=true a missing
/// one fails the test.
fn ready() -> bool {
    common::compose_tool_ready(podman_ready(), "podman-compose")
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman").args(args).output().unwrap()
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The test's env (agent CLI image of its own, built from the stub agent)
/// and a guard that removes the image and whatever the project left.
fn env_for(session: &str) -> (Env, Project) {
    let env = Env::new();
    let tag = unique("cli");
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[agent]\ncli_image = \"clauderon-test-cli\"\ncli_image_tag = \"{tag}\"\nauto_pull_cli = false\n"
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    let stub = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stub-agent.sh");
    env.run(&["agent-image", "build", "--from", stub]).ok();
    let project = Project {
        name: format!("clauderon-{session}"),
        cli: format!("clauderon-test-cli:{tag}"),
    };
    (env, project)
}

struct Project {
    name: String,
    cli: String,
}

impl Project {
    fn filter(&self) -> String {
        format!("label=io.podman.compose.project={}", self.name)
    }

    /// (containers, networks, volumes, pods) of the project, and the
    /// session's agent CLI volume.
    fn leftovers(&self) -> Vec<String> {
        let f = self.filter();
        let cli = format!("name={}-agent-cli", self.name);
        vec![
            podman_ok(&["ps", "-aq", "--filter", &f]),
            podman_ok(&["network", "ls", "-q", "--filter", &f]),
            podman_ok(&["volume", "ls", "-q", "--filter", &f]),
            podman_ok(&[
                "pod",
                "ls",
                "-q",
                "--filter",
                &format!("name={}", self.name),
            ]),
            podman_ok(&["volume", "ls", "-q", "--filter", &cli]),
        ]
    }

    #[track_caller]
    fn assert_gone(&self) {
        assert_eq!(self.leftovers(), vec![String::new(); 5]);
    }

    fn states(&self) -> Vec<String> {
        let out = podman_ok(&["ps", "-a", "--filter", &self.filter(), "--format", "json"]);
        let all: Vec<Value> = serde_json::from_str(&out).unwrap_or_default();
        all.iter()
            .map(|c| c["State"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let f = self.filter();
        let _ = podman(&["rm", "--force", "--filter", &f]);
        let _ = podman(&["network", "prune", "--force", "--filter", &f]);
        let _ = podman(&["volume", "prune", "--force", "--filter", &f]);
        let _ = podman(&[
            "volume",
            "rm",
            "--force",
            &format!("{}-agent-cli", self.name),
        ]);
        let _ = podman(&["rmi", "--force", &self.cli]);
    }
}

/// A database-like service answering `pong` on port 8000, with a named
/// volume; it exits on SIGTERM (no init: Podman's needs catatonit).
const DB: &str = r#"  db:
    image: localhost/clauderon-test-base:1
    volumes:
      - data:/data
    command: ["perl", "-MIO::Socket::INET", "-e", "$$SIG{TERM} = sub { exit 0 }; $$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die; while ($$c = $$s->accept) { print $$c qq(pong\n); close $$c }"]
"#;

fn write_compose(env: &Env, body: &str) -> String {
    let path = env.repo().join("docker-compose.yml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// The volume declared empty (`data:`), as files often do.
fn two_services(env: &Env) -> String {
    let body = format!(
        "services:\n{DB}  dev:\n    image: localhost/{NOAGENT_IMAGE}\n    depends_on: [db]\nvolumes:\n  data:\n"
    );
    write_compose(env, &body)
}

fn create(env: &Env, name: &str, file: &str, extra: &[&str]) -> common::Run {
    let repo = env.repo().display().to_string();
    let mut args = vec!["create", "--backend", "podman", "--name", name];
    args.extend(["--repo", &repo, "--prompt", "work", "--compose", file]);
    args.extend_from_slice(extra);
    env.run(&args)
}

fn exec(container: &str, script: &str) -> std::process::Output {
    podman(&["exec", container, "bash", "-c", script])
}

/// Up to 10 s for the agent to answer `pong` from db:8000.
fn reaches_db(agent: &str) -> bool {
    for _ in 0..50 {
        let out = exec(
            agent,
            "timeout 2 bash -c 'exec 3<>/dev/tcp/db/8000 && head -n1 <&3'",
        );
        if String::from_utf8_lossy(&out.stdout).trim() == "pong" {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    false
}

/// The daemon's address on podman's bridge: its gateway.
fn bridge_gateway() -> String {
    podman_ok(&[
        "network",
        "inspect",
        "podman",
        "--format",
        "{{range .Subnets}}{{.Gateway}}{{end}}",
    ])
}

/// `list` shows the session running; `status` both services running and
/// the agent's hook events.
fn assert_listed_with_its_services(env: &Env, name: &str) {
    let list: Vec<Value> = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let row = list.iter().find(|r| r["name"] == name).expect("listed");
    assert_eq!(row["state"], "running");
    let status = env.run(&["status", name, "--json"]).ok().stdout;
    let status: Value = serde_json::from_str(&status).unwrap();
    let services = status["compose"]["services"].as_array().unwrap();
    assert_eq!(services.len(), 2, "{services:?}");
    assert!(
        services.iter().all(|s| s["state"] == "running"),
        "{services:?}"
    );
    // The agent's hooks reached the daemon (through the mounted sockets:
    // the network has no route to it).
    let events = status["recent_events"].as_array().unwrap();
    assert!(!events.is_empty(), "{status}");
}

/// What the override gave the agent's container through podman-compose:
/// labels, user, no capabilities, no-new-privileges, the pids limit, the
/// helper as entrypoint, the session's env, the caches and the CLI volume.
fn assert_agent_container(agent: &str, name: &str) {
    let inspected: Value = serde_json::from_str(&podman_ok(&["inspect", agent])).unwrap();
    let labels = &inspected[0]["Config"]["Labels"];
    assert_eq!(labels["clauderon.session"], name);
    assert_eq!(labels["com.docker.compose.service"], "dev");
    assert_eq!(inspected[0]["HostConfig"]["PidsLimit"], 4096);
    let mounts = inspected[0]["Mounts"].to_string();
    for volume in [
        "clauderon-cargo-registry",
        "clauderon-sccache",
        "-agent-cli",
    ] {
        assert!(mounts.contains(volume), "{volume}: {mounts}");
    }
    let config = &inspected[0]["Config"];
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    let uid = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(config["User"], format!("{}:{}", uid.0, uid.1));
    assert_eq!(config["Entrypoint"], "/opt/clauderon/init");
    let env = config["Env"].to_string();
    assert!(env.contains("CLAUDERON_SESSION_ID="), "{env}");
    let opts = inspected[0]["HostConfig"]["SecurityOpt"].to_string();
    assert!(opts.contains("no-new-privileges"), "{opts}");
    let caps = exec(agent, "grep CapEff /proc/1/status");
    let caps = String::from_utf8_lossy(&caps.stdout).to_string();
    assert!(caps.contains("0000000000000000"), "{caps}");
}

#[test]
fn the_agent_reaches_its_database_by_name_and_delete_leaves_nothing() {
    if !ready() {
        return;
    }
    let name = unique("pcompose");
    let (env, project) = env_for(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    let agent = format!("clauderon-{name}");
    assert_agent_container(&agent, &name);
    // The stub agent ran from the CLI volume (the image has no agent).
    env.wait_for_runs(&name, 1);
    let net = format!("{}_default", project.name);
    let internal = podman_ok(&["network", "inspect", &net, "--format", "{{.Internal}}"]);
    assert_eq!(internal, "true");
    assert!(reaches_db(&agent), "db:8000 by name");
    common::assert_no_way_to_the_host(
        "podman",
        &bridge_gateway(),
        &env,
        &[agent.clone(), format!("{}_db_1", project.name)],
    );
    assert_listed_with_its_services(&env, &name);
    env.run(&["stop", &name]).ok();
    assert!(
        project.states().iter().all(|s| s == "exited"),
        "{:?}",
        project.states()
    );
    env.run(&["start", &name]).ok();
    assert!(
        project.states().iter().all(|s| s == "running"),
        "{:?}",
        project.states()
    );
    // New addresses after the restart: the hosts file followed them.
    assert!(reaches_db(&agent), "db:8000 by name after start");
    env.wait_for_runs(&name, 2);
    env.run(&["delete", "--force", &name]).ok();
    project.assert_gone();
    assert!(!env.worktree(&name).exists());
    podman_ok(&["volume", "inspect", "clauderon-cargo-registry"]);
}

/// A bind mount of the repository in the agent's service is mounted from
/// the session's worktree (podman-compose replaces the file's entry by
/// what follows its source, as written).
#[test]
fn the_agents_bind_mount_of_the_repository_is_its_worktree() {
    if !ready() {
        return;
    }
    let name = unique("pbind");
    let (env, _project) = env_for(&name);
    let body = format!(
        "services:\n  dev:\n    image: localhost/{NOAGENT_IMAGE}\n    volumes: [\".:/workspaces/app:z\"]\n"
    );
    let file = write_compose(&env, &body);
    create(&env, &name, &file, &[]).ok();
    let agent = format!("clauderon-{name}");
    common::compose::assert_repo_bind_is_the_worktree("podman", &agent, &env);
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn refresh_recreates_the_agent_and_keeps_the_database_and_its_volume() {
    if !ready() {
        return;
    }
    let name = unique("pcompose-refresh");
    let (env, project) = env_for(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    env.wait_for_runs(&name, 1);
    let agent = format!("clauderon-{name}");
    let db = format!("{}_db_1", project.name);
    let id = |c: &str| podman_ok(&["inspect", "--format", "{{.Id}}", c]);
    let (agent_before, db_before) = (id(&agent), id(&db));
    assert!(exec(&db, "echo kept > /data/row").status.success());
    env.run(&["refresh", &name]).ok();
    env.wait_for_runs(&name, 2);
    assert_ne!(id(&agent), agent_before, "the agent's container is new");
    assert_eq!(id(&db), db_before, "the database kept running");
    assert!(reaches_db(&agent), "the new agent finds db");
    env.run(&["stop", &name]).ok();
    env.run(&["start", &name]).ok();
    let row = exec(&db, "cat /data/row");
    assert_eq!(String::from_utf8_lossy(&row.stdout).trim(), "kept");
    env.run(&["delete", "--force", &name]).ok();
    project.assert_gone();
}

#[test]
fn a_failing_dependency_rolls_everything_back_and_names_it() {
    if !ready() {
        return;
    }
    let name = unique("pcompose-fail");
    let (env, project) = env_for(&name);
    let body = format!(
        "services:\n  db:\n    image: {BASE_IMAGE}\n    command: [\"bash\", \"-c\", \"echo db-broke-here; exit 3\"]\n    volumes: [\"data:/data\"]\n  dev:\n    image: localhost/{NOAGENT_IMAGE}\n    depends_on: [db]\nvolumes:\n  data: {{}}\n"
    );
    let file = write_compose(&env, &body);
    let r = create(&env, &name, &file, &["--service", "dev"]).fails();
    assert!(
        r.stderr.contains("_db_1 exited with code 3"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("db-broke-here"), "{}", r.stderr);
    assert!(r.stderr.contains("rolled back"), "{}", r.stderr);
    project.assert_gone();
    assert!(!env.worktree(&name).exists());
    assert!(!env.home().join("sessions").join(&name).exists());
}

/// Each refused construct, read through clauderon's reading of the files
/// (podman-compose has no `config`): refused before anything exists.
#[test]
fn refused_constructs_say_why_and_leave_nothing() {
    if !ready() {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let mut cases = common::compose_refusals(outside.path());
    cases.push(("deploy: {replicas: 2}".into(), "replicas"));
    cases.push(("extends: dev".into(), "extends"));
    common::assert_compose_refusals(cases, |env, file| {
        create(env, "refused", file, &["--service", "dev"])
    });
}

#[test]
fn hostile_service_names_and_values_reach_no_shell() {
    if !ready() {
        return;
    }
    let env = Env::new();
    let marker = env.home().join("pwned");
    let hostile = format!("$(touch {})", marker.display());
    let body = format!("services:\n  \"x;{hostile}\":\n    image: {BASE_IMAGE}\n");
    let file = write_compose(&env, &body);
    create(&env, "hostile", &file, &[]).fails();
    // A hostile value is only data: the dry run prints it, nothing runs it.
    let body = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n    environment:\n      X: \"`touch {0}` $$(touch {0})\"\n",
        marker.display()
    );
    let file = write_compose(&env, &body);
    create(&env, "hostile", &file, &["--dry-run"]).ok();
    let r = create(&env, "hostile", &file, &["--service", &hostile]).fails();
    assert!(r.stderr.contains("has no service"), "{}", r.stderr);
    assert!(!marker.exists());
    assert!(!env.worktree("hostile").exists());
}

/// Two files merged as podman-compose merges them (the second adds to the
/// first's services), with `${VAR}` from the repository's `.env`; a
/// construct refused in the second file is refused too.
#[test]
fn several_files_merge_and_interpolate_as_podman_compose_does() {
    if !ready() {
        return;
    }
    let name = unique("pcompose-merge");
    let (env, project) = env_for(&name);
    std::fs::write(
        env.repo().join(".env"),
        "DB_TAG=1\nGREETING=hello from .env\n",
    )
    .unwrap();
    // The agent's own command (a string) is replaced by the agent's.
    let first = format!(
        "services:\n  db:\n    image: localhost/clauderon-test-base:${{DB_TAG}}\n    command: [\"sleep\", \"300\"]\n  dev:\n    image: localhost/{NOAGENT_IMAGE}\n    command: sleep infinity\n"
    );
    let first = write_compose(&env, &first);
    let second = env.repo().join("compose.extra.yml");
    std::fs::write(
        &second,
        "services:\n  db:\n    environment:\n      GREETING: ${GREETING}\n",
    )
    .unwrap();
    let second = second.display().to_string();
    create(
        &env,
        &name,
        &first,
        &["--compose", &second, "--service", "dev"],
    )
    .ok();
    env.wait_for_runs(&name, 1);
    let db = format!("{}_db_1", project.name);
    let vars = podman_ok(&["inspect", "--format", "{{.Config.Env}}", &db]);
    assert!(vars.contains("GREETING=hello from .env"), "{vars}");
    env.run(&["delete", "--force", &name]).ok();
    project.assert_gone();
    // A list can only be appended to by podman-compose: refused.
    let listed = std::fs::read_to_string(&first)
        .unwrap()
        .replace("command: sleep infinity", "command: [sleep, infinity]");
    std::fs::write(&first, listed).unwrap();
    let r = create(&env, "listed", &first, &["--service", "dev", "--dry-run"]).fails();
    assert!(r.stderr.contains("command: as a list"), "{}", r.stderr);
    std::fs::write(&second, "services:\n  db:\n    privileged: true\n").unwrap();
    let r = create(&env, "merged", &first, &["--compose", &second, "--dry-run"]).fails();
    assert!(r.stderr.contains("privileged"), "{}", r.stderr);
    // A network declared empty cannot be made internal by the override.
    let body = format!("services:\n  dev:\n    image: {BASE_IMAGE}\nnetworks:\n  default:\n");
    let file = write_compose(&env, &body);
    let r = create(&env, "emptynet", &file, &["--dry-run"]).fails();
    assert!(r.stderr.contains("default: {}"), "{}", r.stderr);
}

#[test]
fn a_daemon_start_sweeps_projects_whose_session_is_gone() {
    if !ready() {
        return;
    }
    let name = unique("pcompose-sweep");
    let (env, project) = env_for(&name);
    let file = two_services(&env);
    create(&env, &name, &file, &["--service", "dev"]).ok();
    std::fs::remove_dir_all(env.home().join("sessions").join(&name)).unwrap();
    env.run(&["daemon", "stop"]).ok();
    env.run(&["daemon", "start"]).ok();
    for _ in 0..150 {
        if project.leftovers() == vec![String::new(); 5] {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    project.assert_gone();
}

/// The compose file gone, or the session's record: the override alone
/// takes the project down, with what podman-compose's down leaves.
#[test]
fn delete_takes_the_project_down_without_the_file_or_the_record() {
    if !ready() {
        return;
    }
    for lost in ["file", "record"] {
        let name = unique("pcompose-gone");
        let (env, project) = env_for(&name);
        let file = two_services(&env);
        create(&env, &name, &file, &["--service", "dev"]).ok();
        let lose = match lost {
            "file" => std::path::PathBuf::from(&file),
            _ => env.home().join("sessions").join(&name).join("session.json"),
        };
        std::fs::remove_file(lose).unwrap();
        env.run(&["delete", "--force", &name]).ok();
        project.assert_gone();
        assert!(!env.home().join("sessions").join(&name).exists(), "{lost}");
    }
}
