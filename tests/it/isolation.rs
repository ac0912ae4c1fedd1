//! Isolation against real engines: the proxy is the only way out, the
//! container is hardened, and clauderon's own init runs it (no catatonit).

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};

use crate::common::{BASE_IMAGE, Env, docker_ready, podman_ready, unique};

/// An HTTP server on every address of this machine, standing in for the
/// host's own services (a database, a dev server, a cloud metadata agent).
struct HostService {
    child: Child,
    port: u16,
}

impl HostService {
    fn start() -> HostService {
        let port = std::net::TcpListener::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "0.0.0.0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return HostService { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the stand-in host service did not start");
    }
}

impl Drop for HostService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This machine's IPv4 addresses besides loopback: its own (eth0) and the
/// engines' bridge gateways.
fn host_addresses() -> Vec<String> {
    clauderon::proxy::policy::own_addresses()
        .into_iter()
        .filter(|a| matches!(a, IpAddr::V4(v4) if !v4.is_loopback()))
        .map(|a| a.to_string())
        .collect()
}

fn engine_exec(engine: &str, container: &str, script: &str) -> (i32, String) {
    let out = Command::new(engine)
        .args(["exec", container, "bash", "-c", script])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn reach(port: u16, addr: &str) -> String {
    format!("curl -s -o /dev/null -m 3 --noproxy '*' -w '%{{http_code}}' http://{addr}:{port}/")
}

/// The host's services (`port`) answer a plain container on at least one
/// of the host's addresses, and the session on none.
fn assert_host_unreachable(engine: &str, container: &str, port: u16) {
    let addresses = host_addresses();
    let mut reached_from_plain = 0;
    for addr in &addresses {
        let plain = Command::new(engine)
            .args(["run", "--rm", BASE_IMAGE, "bash", "-c", &reach(port, addr)])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&plain.stdout).trim() == "200" {
            reached_from_plain += 1;
        }
        let (code, out) = engine_exec(engine, container, &reach(port, addr));
        assert!(
            code != 0 && !out.contains("200"),
            "{addr}:{} is reachable from the session: {out}",
            port
        );
    }
    assert!(
        reached_from_plain > 0,
        "the stand-in service ({addresses:?}) should answer a plain container"
    );
}

/// Only loopback and the proxy: no interface, no names, the proxy's own
/// 403; the hooks arrived, and status shows the network and hardening.
fn assert_only_the_proxy_and_hooks(env: &Env, engine: &str, name: &str, container: &str) {
    // No interface but loopback, so no IPv6 either; names do not resolve.
    let (_, dev) = engine_exec(engine, container, "tail -n +3 /proc/net/dev | cut -d: -f1");
    assert_eq!(dev.split_whitespace().collect::<Vec<_>>(), ["lo"], "{dev}");
    let (code, _) = engine_exec(
        engine,
        container,
        "curl -s -m 3 --noproxy '*' https://pypi.org/",
    );
    assert_ne!(code, 0);
    // The proxy answers (its own 403 for a host outside the policy) ...
    let (_, body) = engine_exec(engine, container, "curl -s -m 5 http://denied.invalid/");
    assert!(
        body.contains("clauderon proxy: denied.invalid is not allowed"),
        "{body}"
    );
    // ... and the hooks arrived: the stub agent's events are in status.
    let status = env.run(&["status", name]).ok().stdout;
    assert!(status.contains("SessionStart"), "{status}");
    assert!(status.contains("Network    proxy:"), "{status}");
    assert!(
        status.contains("all capabilities dropped; no-new-privileges; pids limit 4096"),
        "{status}"
    );
}

/// Hardened: no capabilities, no new privileges, a pids limit.
fn assert_hardened(engine: &str, container: &str) {
    let (_, proc_status) = engine_exec(engine, container, "cat /proc/self/status");
    assert!(
        proc_status.contains("CapEff:\t0000000000000000"),
        "{proc_status}"
    );
    assert!(proc_status.contains("NoNewPrivs:\t1"), "{proc_status}");
    let inspect = Command::new(engine)
        .args([
            "inspect",
            "--format",
            "{{.HostConfig.PidsLimit}}",
            container,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), "4096");
}

/// The whole guarantee, on one engine: the host's services answer a plain
/// container but not a session; the proxy and the hooks still work; the
/// container is hardened and runs clauderon's init as PID 1.
fn only_way_out(engine: &str) {
    let service = HostService::start();
    let env = Env::new();
    // The test image has the (stub) agent: no CLI image to mount.
    env.append_config("[agent]\nmount_agent_cli = false\n");
    let name = unique(&format!("iso-{engine}"));
    env.create(&name, "stay inside", &["--backend", engine])
        .ok();
    env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    assert_host_unreachable(engine, &container, service.port);
    assert_only_the_proxy_and_hooks(&env, engine, &name, &container);
    assert_hardened(engine, &container);
    // PID 1 is clauderon's init, whatever the engine ships (no catatonit).
    let (_, pid1) = engine_exec(engine, &container, "tr '\\0' ' ' </proc/1/cmdline");
    assert!(pid1.starts_with("/opt/clauderon/init "), "{pid1}");
    env.run(&["delete", "--force", &name]).ok();
}

#[test]
fn docker_session_reaches_only_the_proxy_and_hooks() {
    if !docker_ready() {
        return;
    }
    only_way_out("docker");
}

#[test]
fn podman_session_reaches_only_the_proxy_and_hooks() {
    if !podman_ready() {
        return;
    }
    only_way_out("podman");
}

#[test]
fn network_mode_open_is_explicit_and_shown() {
    if !docker_ready() {
        return;
    }
    let service = HostService::start();
    let env = Env::new();
    let name = unique("open");
    let r = env.create(&name, "x", &["--network", "open"]).ok();
    assert!(r.stderr.contains("--network open"), "{}", r.stderr);
    env.wait_for_runs(&name, 1);
    let gateway = crate::common::docker::bridge_gateway();
    let (_, out) = engine_exec(
        "docker",
        &format!("clauderon-{name}"),
        &reach(service.port, &gateway),
    );
    assert_eq!(out.trim(), "200", "open mode is the engine's network");
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("Network    open (--network open)"),
        "{status}"
    );
}

#[test]
fn a_planted_exclude_link_is_never_written_through() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let victim = env.home().join("victim.txt");
    std::fs::write(&victim, "the user's file\n").unwrap();
    let first = unique("plant");
    env.create(&first, "x", &[]).ok();
    env.wait_for_runs(&first, 1);
    // From inside the container: replace info/exclude with a link.
    let exclude = env.repo().join(".git/info/exclude");
    let script = format!(
        "rm -f {0} && ln -s {1} {0}",
        exclude.display(),
        victim.display()
    );
    let (code, out) = engine_exec("docker", &format!("clauderon-{first}"), &script);
    assert_eq!(code, 0, "{out}");
    let second = unique("plant2");
    let r = env.create(&second, "x", &[]).ok();
    assert!(
        r.stderr.contains("symbolic link") && r.stderr.contains("info/exclude"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the user's file\n"
    );
    assert!(std::fs::symlink_metadata(&exclude).unwrap().is_symlink());
}

#[test]
fn a_command_that_needs_a_dropped_capability_says_which_flag_gives_it() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let chown = "touch /tmp/f && chown 65534 /tmp/f";
    let name = unique("nocap");
    let r = env.create(&name, "x", &["--on-create", chown]);
    assert_ne!(r.code, 0, "chown without CAP_CHOWN should fail");
    assert!(
        r.stderr.contains("missing privilege") && r.stderr.contains("--cap-add CHOWN"),
        "{}",
        r.stderr
    );
    assert!(
        !env.worktree(&name).exists(),
        "the failed create was rolled back"
    );
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        // As root in the container, the capability given back is effective.
        let name = unique("cap");
        let r = env
            .create(&name, "x", &["--on-create", chown, "--cap-add", "chown"])
            .ok();
        assert!(
            r.stderr.contains("capabilities added: CHOWN"),
            "{}",
            r.stderr
        );
        let status = env.run(&["status", &name]).ok().stdout;
        assert!(
            status.contains("all capabilities dropped but CHOWN"),
            "{status}"
        );
    }
}
