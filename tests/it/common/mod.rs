//! Test harness: runs the real `clauderon` binary in a throwaway home with a
//! throwaway git repository, and cleans up the containers it made.
#![allow(dead_code)]

pub mod api;
pub mod books;
pub mod codex;
pub mod compose;
pub mod daemon;
pub mod docker;
pub mod filters;
pub mod kube;
pub mod land;
pub mod podman;
pub mod upstream;

/// The spec, home and wiring the plan snapshots render from.
#[path = "../../support/plan_fixtures.rs"]
pub mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod standin;

// Re-exported so the tests keep calling them `common::…`; not every test
// binary calls every one.
#[allow(unused_imports)]
pub use compose::{
    assert_compose_refusals, assert_no_way_to_the_host, compose_refusals, compose_tool_ready,
};
#[allow(unused_imports)]
pub use daemon::{daemon_port, daemon_ports, fake_session, run_hook_script, run_hook_script_only};

pub const BASE_IMAGE: &str = "clauderon-test-base:1";
pub const NOBASH_IMAGE: &str = "clauderon-test-nobash:1";
pub const NOAGENT_IMAGE: &str = "clauderon-test-noagent:1";
pub const MUSL_IMAGE: &str = "clauderon-test-musl:1";

/// True if Docker is reachable and the test images exist. Outside CI a
/// missing engine skips the test (saying why); in CI (`CI=true`) it fails.
pub fn docker_ready() -> bool {
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let why = if !engine {
        "no Docker engine is reachable (`docker info` failed)"
    } else if !image_exists(BASE_IMAGE) || !image_exists(NOBASH_IMAGE) {
        "the test images are missing (run scripts/build-test-images.sh)"
    } else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true: {why}; tests that need Docker must not be skipped in CI");
    }
    eprintln!("SKIPPED: {why}");
    false
}

/// Like `docker_ready`, for Podman and all four test images.
pub fn podman_ready() -> bool {
    let engine = Command::new("podman")
        .args(["info", "--format", "{{.Host.Security.Rootless}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let images = [BASE_IMAGE, NOBASH_IMAGE, NOAGENT_IMAGE, MUSL_IMAGE];
    let why = if !engine {
        "Podman does not work here (`podman info` failed)"
    } else if !images.iter().all(|i| engine_image_exists("podman", i)) {
        "the Podman test images are missing (run ENGINE=podman scripts/build-test-images.sh)"
    } else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true: {why}; tests that need Podman must not be skipped in CI");
    }
    eprintln!("SKIPPED: {why}");
    false
}

pub fn engine_image_exists(engine: &str, image: &str) -> bool {
    Command::new(engine)
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn image_exists(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test User",
            "-c",
            "user.email=test@example.com",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Points docker at a socket that does not exist: the engine is "down".
pub fn engine_down(env: &mut Env) {
    env.extra_env.push((
        "DOCKER_HOST".into(),
        "unix:///nonexistent/docker.sock".into(),
    ));
}

/// A unique session name for a test (containers are global to the engine).
pub fn unique(prefix: &str) -> String {
    let n: u32 = std::process::id()
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos());
    format!("t-{prefix}-{:06x}", n & 0xffffff)
}

pub struct Env {
    pub home: tempfile::TempDir,
    pub repo: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self) -> Run {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Env {
    /// A fresh home and a repository with one commit and a `sub/` directory.
    pub fn new() -> Env {
        let home = tempfile::Builder::new()
            .prefix("clauderon-home")
            .tempdir()
            .unwrap();
        let repo = tempfile::Builder::new()
            .prefix("clauderon-repo")
            .tempdir()
            .unwrap();
        git(repo.path(), &["init", "-q", "-b", "main"]);
        git(repo.path(), &["config", "user.name", "Test User"]);
        git(repo.path(), &["config", "user.email", "test@example.com"]);
        std::fs::create_dir(repo.path().join("sub")).unwrap();
        std::fs::write(repo.path().join("sub/file.txt"), "hello\n").unwrap();
        std::fs::write(repo.path().join("README"), "readme\n").unwrap();
        git(repo.path(), &["add", "."]);
        git(repo.path(), &["commit", "-q", "-m", "initial"]);
        // Each test home gets its own daemon on a free port.
        std::fs::write(
            home.path().join("config.toml"),
            "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n",
        )
        .unwrap();
        Env {
            home,
            repo,
            extra_env: vec![],
        }
    }

    pub fn repo(&self) -> &Path {
        self.repo.path()
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Adds `toml` (whole sections, or keys of the last one) to the end of
    /// the home's config.toml.
    pub fn append_config(&self, toml: &str) {
        let config = self.home().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap_or_default();
        text.push_str(toml);
        std::fs::write(config, text).unwrap();
    }

    /// Runs clauderon as a user whose home is `home` (their ~/.claude,
    /// ~/.claude.json), the default Claude Code config dir.
    pub fn use_user_home(&mut self, home: &Path) {
        self.extra_env
            .push(("HOME".into(), home.display().to_string()));
        self.extra_env
            .push(("CLAUDE_CONFIG_DIR".into(), String::new()));
    }

    pub fn worktree(&self, name: &str) -> PathBuf {
        self.home().join("worktrees").join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clauderon"));
        cmd.args(args)
            .env("CLAUDERON_HOME", self.home())
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("clauderon runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `create` with the local test image, never pulling.
    pub fn create(&self, name: &str, prompt: &str, extra: &[&str]) -> Run {
        self.create_from(name, prompt, BASE_IMAGE, extra)
    }

    /// `create` from a local image, never pulling.
    pub fn create_from(&self, name: &str, prompt: &str, image: &str, extra: &[&str]) -> Run {
        let out = self
            .create_command(name, prompt, image, extra)
            .output()
            .expect("clauderon runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `create` command of `create_from`, to start without waiting.
    pub fn create_command(&self, name: &str, prompt: &str, image: &str, extra: &[&str]) -> Command {
        let repo = self.repo().to_string_lossy().to_string();
        let mut args = vec![
            "create",
            "--name",
            name,
            "--repo",
            &repo,
            "--prompt",
            prompt,
            "--image",
            image,
            "--pull-policy",
            "never",
        ];
        args.extend_from_slice(extra);
        self.command(&args)
    }

    /// A file the stub agent wrote in the session's worktree.
    pub fn stub_file(&self, name: &str, file: &str) -> Vec<u8> {
        let path = self.worktree(name).join(".clauderon/stub").join(file);
        std::fs::read(&path).unwrap_or_default()
    }

    /// Makes the stub agent act on one control line (fire a hook event).
    pub fn stub_control(&self, name: &str, line: &str) {
        use std::io::Write;
        let path = self.worktree(name).join(".clauderon/stub/control");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }

    /// Waits (bounded) until the stub agent has started `n` times.
    pub fn wait_for_runs(&self, name: &str, n: usize) {
        for _ in 0..100 {
            let runs = self.stub_file(name, "runs");
            if String::from_utf8_lossy(&runs).lines().count() >= n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the stub agent in {name} did not start {n} time(s)");
    }

    /// The stub agent's argv, split at NULs.
    pub fn stub_argv(&self, name: &str) -> Vec<String> {
        let raw = self.stub_file(name, "argv");
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    pub fn stub_env(&self, name: &str) -> Vec<String> {
        let raw = self.stub_file(name, "env");
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.command(&["daemon", "stop"]).output();
        // Remove every container this home made, whatever the test did.
        let filter = format!("label=clauderon.home={}", self.home().display());
        for (engine, rm) in [
            ("docker", &["rm", "-f"][..]),
            ("podman", &["rm", "-f", "-t", "0"][..]),
        ] {
            let Ok(out) = Command::new(engine)
                .args(["ps", "-aq", "--filter", &filter])
                .output()
            else {
                continue;
            };
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !ids.is_empty() {
                let _ = Command::new(engine).args(rm).args(&ids).output();
            }
        }
        // Containers run as root here and may leave root-owned files: tempdir cleanup copes.
    }
}

/// The JSON lines a test server logged (none yet: empty).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Starts a test server that prints the port it listens on as its first
/// line (tests/support/*.py), and returns it with that port.
pub fn spawn_server(mut cmd: Command) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    (child, port)
}
