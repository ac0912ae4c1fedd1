//! `clauderon daemon-image build` against real Docker: the image FROM
//! scratch runs this clauderon binary, and runs it the way the
//! Deployment does (a non-root user, a read-only root, the Secret's files
//! mounted read-only, its home on a tmpfs), answering its health check.

use crate::common;

use std::process::Command;

use crate::common::{Env, docker, docker_ok, docker_ready, unique};

struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "--force", &self.0]);
    }
}

struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "--force", &self.0]);
    }
}

/// The Secret's files as `kube setup` makes them, readable by the image's user.
fn secret_dir(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let ca = Env::new();
    let home = clauderon::store::Home {
        root: ca.home().to_path_buf(),
    };
    let keys = clauderon::cluster::keys::load_or_create(&home, "ctx", "ns", None).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in [
        ("session-key", keys.session_key.as_str()),
        ("proxy-ca.pem", &keys.ca_pem),
        ("proxy-ca-key.pem", &keys.ca_key_pem),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `docker run` of the image as the Deployment runs it; the container's name.
fn run_like_the_deployment(tag: &str, secret: &std::path::Path) -> String {
    secret_dir(secret);
    let name = unique("daemon-image");
    let mount = format!("{}:/etc/clauderon/daemon:ro", secret.display());
    docker_ok(&[
        "run",
        "--detach",
        "--name",
        &name,
        "--read-only",
        "--user",
        "65532:65532",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--tmpfs",
        "/var/lib/clauderon:uid=65532,gid=65532",
        "--env",
        "CLAUDERON_HOME=/var/lib/clauderon",
        "--volume",
        &mount,
        "--publish",
        "127.0.0.1::3030",
        tag,
        "daemon",
        "--cluster-dir",
        "/etc/clauderon/daemon",
    ]);
    name
}

/// Waits for the daemon in container `name` to answer `/health` (its readiness probe).
fn wait_for_health(name: &str) {
    let port = docker_ok(&["port", name, "3030/tcp"]);
    let addr = port.lines().next().unwrap().trim().to_string();
    let mut health = String::new();
    for _ in 0..100 {
        let out = Command::new("curl")
            .args([
                "--silent",
                "--max-time",
                "2",
                &format!("http://{addr}/health"),
            ])
            .output()
            .unwrap();
        health = String::from_utf8_lossy(&out.stdout).into_owned();
        if health.contains("is running") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let logs = docker(&["logs", name]);
    panic!("{health}\n{}", String::from_utf8_lossy(&logs.stderr));
}

#[test]
fn the_daemon_image_runs_this_clauderon_as_the_deployment_does() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let tag = format!("{}:1", unique("clauderon-daemon"));
    env.append_config(&format!("[kubernetes]\ndaemon_image = \"{tag}\"\n"));
    let dry = env.run(&["daemon-image", "build", "--dry-run"]).ok();
    assert!(dry.stdout.contains("FROM scratch"), "{}", dry.stdout);
    assert!(!common::image_exists(&tag), "a dry run built it");
    env.run(&["daemon-image", "build"]).ok();
    let _image = Image(tag.clone());
    let version = docker_ok(&["run", "--rm", &tag, "--version"]);
    let ours = env.run(&["--version"]).ok().stdout;
    assert_eq!(version.trim(), ours.trim());

    let dir = tempfile::tempdir().unwrap();
    let name = run_like_the_deployment(&tag, &dir.path().join("secret"));
    let _container = Container(name.clone());
    wait_for_health(&name);
    // What `list` runs in the daemon's pod answers from the same home.
    let statuses = docker_ok(&[
        "exec",
        &name,
        "/usr/local/bin/clauderon",
        "daemon",
        "statuses",
    ]);
    assert_eq!(statuses.trim(), r#"{"sessions":[]}"#);
}
