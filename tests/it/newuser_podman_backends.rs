//! Compose on Podman under BOTH network backends, whichever one this
//! machine's Podman picked (issue 20, item 17). Each test runs Podman with
//! a private containers.conf and storage (`CONTAINERS_CONF`,
//! `CONTAINERS_STORAGE_CONF`: the backend, a private network directory and
//! subnet pool, its own graph/run roots reading the shared test images
//! read-only), so the shared Podman and its configuration are never
//! touched. `podman system reset` of the private root cleans up.
use crate::common;

use std::path::Path;
use std::process::Command;

use crate::common::{Env, NOAGENT_IMAGE, podman_ready, unique};

/// A Podman of its own: `backend`, private roots, the shared store's images.
struct PrivatePodman {
    dir: tempfile::TempDir,
}

impl PrivatePodman {
    fn new(backend: &str, pool: &str) -> PrivatePodman {
        let dir = tempfile::Builder::new()
            .prefix("nu-podman")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        // runc and low ulimits, as ci-provision.sh configures the shared one.
        let conf = format!(
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
             [engine]\nruntime = \"runc\"\ntmp_dir = \"{d}/tmp\"\n\
             [network]\nnetwork_backend = \"{backend}\"\nnetwork_config_dir = \"{d}/networks\"\n\
             default_subnet_pools = [{{\"base\" = \"{pool}\", \"size\" = 24}}]\n"
        );
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{d}/graph\"\nrunroot = \"{d}/run\"\n\
             [storage.options]\nadditionalimagestores = [\"/var/lib/containers/storage\"]\n"
        );
        std::fs::create_dir(dir.path().join("networks")).unwrap();
        std::fs::write(dir.path().join("containers.conf"), conf).unwrap();
        std::fs::write(dir.path().join("storage.conf"), storage).unwrap();
        PrivatePodman { dir }
    }

    fn env(&self) -> Vec<(String, String)> {
        let file = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            ("CONTAINERS_CONF".into(), file("containers.conf")),
            ("CONTAINERS_STORAGE_CONF".into(), file("storage.conf")),
        ]
    }

    fn podman(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for PrivatePodman {
    fn drop(&mut self) {
        // Its containers, networks (its own directory), volumes and images.
        let _ = Command::new("podman")
            .args(["system", "reset", "--force"])
            .envs(self.env())
            .output();
    }
}

/// Podman, podman-compose and the backend's binary; under CI=true a
/// missing one fails the test (ci-provision.sh installs both backends).
fn ready(backend_binary: &Path, package: &str) -> bool {
    if !common::compose_tool_ready(podman_ready(), "podman-compose") {
        return false;
    }
    if backend_binary.exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!(
            "CI=true: {} is missing (apt install {package})",
            backend_binary.display()
        );
    }
    eprintln!("SKIPPED: {} is not installed", backend_binary.display());
    false
}

/// A database-like service answering `pong` on port 8000 and the agent's
/// service beside it (an image with no agent: its CLI comes from a volume).
fn two_services(env: &Env) -> String {
    let body = format!(
        r#"services:
  db:
    image: localhost/clauderon-test-base:1
    command: ["perl", "-MIO::Socket::INET", "-e", "$$SIG{{TERM}} = sub {{ exit 0 }}; $$s = IO::Socket::INET->new(LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die; while ($$c = $$s->accept) {{ print $$c qq(pong\n); close $$c }}"]
  dev:
    image: localhost/{NOAGENT_IMAGE}
    depends_on: [db]
"#
    );
    let path = env.repo().join("docker-compose.yml");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// Up to 10 s for the agent to answer `pong` from db:8000 (each try is
/// bounded: a dropped SYN would otherwise wait two minutes).
fn reaches_db(podman: &PrivatePodman, agent: &str) -> bool {
    let probe = "timeout 2 bash -c 'exec 3<>/dev/tcp/db/8000 && head -n1 <&3'";
    (0..20).any(|_| {
        let answer = podman.podman(&["exec", agent, "bash", "-c", probe]);
        answer == "pong" || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            false
        }
    })
}

/// netavark's bridges let bridged frames through FORWARD (the rule
/// `doctor` and a refused `create` print).
fn netavark_rule_present() -> bool {
    let rule = "-C FORWARD -i podman+ -o podman+ -m physdev --physdev-is-bridged -j ACCEPT";
    Command::new("iptables")
        .args(rule.split(' '))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Docker's FORWARD policy DROP with br_netfilter: netavark's internal
/// networks then drop their own traffic unless the rule is there.
fn forward_drops() -> bool {
    let nf = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables");
    let policy = Command::new("iptables").args(["-S", "FORWARD"]).output();
    nf.is_ok_and(|v| v.trim() == "1")
        && policy.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("-P FORWARD DROP"))
}

/// The session's env: the private Podman, an agent CLI image of its own.
fn session_env(podman: &PrivatePodman) -> Env {
    let mut env = Env::new();
    env.extra_env.extend(podman.env());
    let tag = unique("cli");
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[agent]\ncli_image = \"clauderon-test-cli\"\ncli_image_tag = \"{tag}\"\nauto_pull_cli = false\n"
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    let stub = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stub-agent.sh");
    env.run(&["agent-image", "build", "--from", stub]).ok();
    env
}

/// create, the agent reaches db by name, delete leaves no container.
fn compose_works(podman: &PrivatePodman, backend: &str) {
    assert_eq!(
        podman.podman(&["info", "--format", "{{.Host.NetworkBackend}}"]),
        backend
    );
    let env = session_env(podman);
    let name = unique("nubackend");
    let file = two_services(&env);
    let repo = env.repo().display().to_string();
    let args = [
        "create",
        "--backend",
        "podman",
        "--name",
        &name,
        "--repo",
        &repo,
    ];
    let mut args = args.to_vec();
    args.extend(["--prompt", "work", "--compose", &file, "--service", "dev"]);
    let blocked = backend == "netavark" && forward_drops() && !netavark_rule_present();
    if blocked {
        // Refused before anything is made, with the exact rule to add.
        let r = env.run(&args).fails();
        assert!(r.stderr.contains("netavark"), "{}", r.stderr);
        assert!(
            r.stderr.contains("iptables -I FORWARD -i podman+ -o podman+ -m physdev --physdev-is-bridged -j ACCEPT"),
            "{}",
            r.stderr
        );
        assert!(!env.home().join("sessions").join(&name).exists());
        return;
    }
    env.run(&args).ok();
    let agent = format!("clauderon-{name}");
    assert!(reaches_db(podman, &agent), "{backend}: db:8000 by name");
    env.run(&["delete", &name, "--force"]).ok();
    let label = format!("label=io.podman.compose.project=clauderon-{name}");
    assert_eq!(podman.podman(&["ps", "-aq", "--filter", &label]), "");
}

#[test]
fn compose_on_podman_works_under_netavark() {
    if !ready(
        Path::new("/usr/lib/podman/netavark"),
        "netavark aardvark-dns",
    ) {
        return;
    }
    let podman = PrivatePodman::new("netavark", "10.213.0.0/16");
    compose_works(&podman, "netavark");
}

#[test]
fn compose_on_podman_works_under_cni() {
    if !ready(
        Path::new("/usr/lib/cni/bridge"),
        "containernetworking-plugins",
    ) {
        return;
    }
    let podman = PrivatePodman::new("cni", "10.214.0.0/16");
    compose_works(&podman, "cni");
}
