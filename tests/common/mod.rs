//! Test harness: runs the real `clauderon` binary in a throwaway home with a
//! throwaway git repository, and cleans up the containers it made.
#![allow(dead_code)]

pub mod api;
pub mod kube;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod standin;

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

/// A session record on disk, as `create` writes it, without any engine.
pub fn fake_session(env: &Env, name: &str, token: &str) -> String {
    let id = clauderon::session::new_uuid();
    let spec = clauderon::session::SessionSpec {
        name: name.into(),
        id: id.clone(),
        backend: clauderon::session::BackendKind::Docker,
        agent: clauderon::session::Agent::Claude,
        image: "x".into(),
        pull_policy: clauderon::session::PullPolicy::Never,
        limits: Default::default(),
        env: vec![],
        prompt: "p".into(),
        repo_root: env.repo().into(),
        git_common_dir: env.repo().join(".git"),
        subdir: String::new(),
        base: "HEAD".into(),
        branch: name.into(),
        worktree: env.worktree(name),
        uid: 0,
        gid: 0,
        git_identity: Default::default(),
        created_at: 1,
        hook_token: token.into(),
        lifecycle: Default::default(),
        agent_cli_image: None,
        network: Default::default(),
        security: Default::default(),
        env_from_host: vec![],
        isolation_recorded: true,
        agent_options: Default::default(),
        kubernetes: None,
        compose: None,
        uploads: false,
        mounts: vec![],
        talos_config: None,
    };
    let dir = env.home().join("sessions").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("session.json"),
        clauderon::store::record_bytes(&spec),
    )
    .unwrap();
    id
}

/// Starts this home's daemon and returns (hook port, proxy port).
pub fn daemon_ports(env: &Env) -> (u16, Option<u16>) {
    env.run(&["daemon", "start"]).ok();
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.home().join("daemon.json")).unwrap()).unwrap();
    (
        info["port"].as_u64().unwrap() as u16,
        info["proxy_port"].as_u64().map(|p| p as u16),
    )
}

pub fn daemon_port(env: &Env) -> u16 {
    daemon_ports(env).0
}

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

/// Runs the real hook script (`files`: the session's files) on the host
/// against the daemon listening on `port`.
pub fn run_hook_script(
    files: &Path,
    name: &str,
    id: &str,
    port: u16,
    payload: &str,
) -> (i32, std::time::Duration, String) {
    use std::io::Write;
    let start = std::time::Instant::now();
    let mut child = std::process::Command::new("bash")
        .arg(files.join("send_status.sh"))
        .env("CLAUDERON_SESSION_FILES", files)
        .env("CLAUDERON_SESSION_ID", id)
        .env("CLAUDERON_SESSION", name)
        .env("CLAUDERON_HTTP_PORT", port.to_string())
        .env("CLAUDERON_HOST", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        start.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
