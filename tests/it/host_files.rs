//! What a session gets from the host beyond its worktree, on real Docker
//! and Podman: uploads (`create --attach`, `upload`), `--mount`s and the
//! Talos config; and the refusals, which leave nothing behind.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::filters::{snapshot, transcript};
use crate::common::{Env, docker_ready, podman_ready, unique};
use serde_json::Value;

/// A hostile but legal file name: the agent gets it as one path.
const HOSTILE: &str = "-rf $(touch pwned) 'q' \"d\" ü.png";

/// An env whose HOME is a temp dir holding a secret store (`.ssh`), data
/// directories, a link to the store, and a Talos config; `[mounts]`
/// allows HOME, uploads are limited to 1000 bytes.
fn host_env(extra_config: &str) -> (Env, tempfile::TempDir) {
    let mut env = Env::new();
    let home = tempfile::Builder::new()
        .prefix("clauderon-user")
        .tempdir()
        .unwrap();
    let h = home.path();
    for d in [".ssh", "data/ro", "data/rw", ".talos"] {
        std::fs::create_dir_all(h.join(d)).unwrap();
    }
    std::fs::write(h.join(".ssh/id_ed25519"), "SECRET KEY\n").unwrap();
    std::fs::write(h.join("data/ro/readme"), "read me\n").unwrap();
    std::fs::write(h.join(".talos/config"), "context: test\n").unwrap();
    std::os::unix::fs::symlink(h.join(".ssh"), h.join("data/innocent")).unwrap();
    std::fs::write(
        env.home().join("config.toml"),
        format!("[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[mounts]\nallowed_roots = [\"~\"]\n[uploads]\nmax_bytes = 1000\n{extra_config}"),
    )
    .unwrap();
    env.extra_env.push(("HOME".into(), h.display().to_string()));
    (env, home)
}

fn exec(engine: &str, container: &str, args: &[&str]) -> std::process::Output {
    Command::new(engine)
        .args(["exec", container])
        .args(args)
        .output()
        .unwrap()
}

fn exec_ok(engine: &str, container: &str, args: &[&str]) -> String {
    let out = exec(engine, container, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status_json(env: &Env, name: &str) -> Value {
    serde_json::from_str(&env.run(&["--json", "status", name]).ok().stdout).unwrap()
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// create with an attachment, a read-only and a read-write mount, on `engine`.
fn create_with_files(env: &Env, user: &Path, engine: &str, name: &str) -> String {
    let shot = write(user, HOSTILE, "screenshot");
    let (ro, rw) = (user.join("data/ro"), user.join("data/rw"));
    let mut extra = vec!["--backend", engine];
    let attach = shot.display().to_string();
    let ro = format!("{}:/mnt/ro", ro.display());
    let rw = format!("{}:/mnt/rw:rw", rw.display());
    extra.extend(["--attach", &attach, "--mount", &ro, "--mount", &rw]);
    let run = env.create(name, "look at the screenshot", &extra).ok();
    let id = status_json(env, name)["session"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/workspace/.clauderon/uploads/{id}/{HOSTILE}");
    env.wait_for_runs(name, 1);
    let prompt = env.stub_argv(name).pop().unwrap();
    assert_eq!(
        prompt,
        format!("look at the screenshot\n\nFiles for this task (read-only):\n- {path}\n")
    );
    assert!(
        run.stdout.contains(&format!("Uploaded: {path}")),
        "{}",
        run.stdout
    );
    id
}

/// What every engine must show: the files where the prompt says, the
/// mounts' modes, TALOSCONFIG, a clean `git status`, and live uploads.
fn check_session(env: &Env, engine: &str, name: &str, id: &str) {
    let c = format!("clauderon-{name}");
    let dir = format!("/workspace/.clauderon/uploads/{id}");
    assert_eq!(
        exec_ok(engine, &c, &["cat", &format!("{dir}/{HOSTILE}")]),
        "screenshot"
    );
    assert_eq!(
        exec_ok(engine, &c, &["printenv", "CLAUDERON_UPLOADS"]).trim(),
        dir
    );
    assert!(
        !exec(engine, &c, &["touch", &format!("{dir}/new")])
            .status
            .success()
    );
    assert_eq!(exec_ok(engine, &c, &["cat", "/mnt/ro/readme"]), "read me\n");
    assert!(!exec(engine, &c, &["touch", "/mnt/ro/new"]).status.success());
    exec_ok(engine, &c, &["touch", "/mnt/rw/new"]);
    assert_eq!(
        exec_ok(engine, &c, &["printenv", "TALOSCONFIG"]).trim(),
        "/etc/clauderon/talos/config"
    );
    assert_eq!(
        exec_ok(engine, &c, &["cat", "/etc/clauderon/talos/config"]),
        "context: test\n"
    );
    let porcelain = common::git(
        &env.worktree(name),
        &["status", "--porcelain", "--untracked-files=all"],
    );
    assert_eq!(porcelain.trim(), "", "uploads show in git status");
    // A running session sees a new upload at once.
    let scratch = tempfile::tempdir().unwrap();
    let log = write(scratch.path(), "build.log", "log line\n");
    let dry = env
        .run(&["upload", "--dry-run", name, log.to_str().unwrap()])
        .ok()
        .stdout;
    let host = env.home().join("uploads").join(id).join("build.log");
    assert!(
        dry.contains(&format!("cp -- {} {}", log.display(), host.display())),
        "{dry}"
    );
    assert!(!host.exists(), "a dry run copied");
    let out = env.run(&["upload", name, log.to_str().unwrap()]).ok();
    assert_eq!(
        out.stdout.lines().next().unwrap(),
        format!("{dir}/build.log")
    );
    assert_eq!(
        exec_ok(engine, &c, &["cat", &format!("{dir}/build.log")]),
        "log line\n"
    );
}

/// Over the limit, a second file of a taken name, a directory, a pipe, a
/// link into a secret store: refused, nothing copied.
fn refused_uploads(env: &Env, name: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let big = write(scratch.path(), "big.bin", &"x".repeat(1000));
    let e = env.run(&["upload", name, big.to_str().unwrap()]).fails();
    assert!(
        e.stderr.contains("[uploads] max_bytes") && e.stderr.contains("nothing was copied"),
        "{}",
        e.stderr
    );
    let again = write(scratch.path(), "build.log", "other");
    env.run(&["upload", name, again.to_str().unwrap()]).fails();
    env.run(&["upload", name, scratch.path().to_str().unwrap()])
        .fails();
    let fifo = scratch.path().join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let e = env.run(&["upload", name, fifo.to_str().unwrap()]).fails();
    assert!(e.stderr.contains("not a regular file"), "{}", e.stderr);
    let key = Path::new(&env.extra_env[0].1).join(".ssh/id_ed25519");
    let link = scratch.path().join("innocent.txt");
    std::os::unix::fs::symlink(&key, &link).unwrap();
    let e = env.run(&["upload", name, link.to_str().unwrap()]).fails();
    assert!(e.stderr.contains("allow_secret_stores"), "{}", e.stderr);
}

/// refresh recreates the container with the same mounts, and refuses
/// before touching anything when a mounted host path is gone.
fn refresh_keeps_the_mounts(env: &Env, user: &Path, name: &str, id: &str) {
    env.run(&["refresh", "--no-pull", name]).ok();
    let c = format!("clauderon-{name}");
    let mounts = common::docker_ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}",
        &c,
    ]);
    for m in [
        "/mnt/ro=false",
        "/mnt/rw=true",
        "/etc/clauderon/talos/config=false",
    ] {
        assert!(mounts.contains(m), "{m} not in {mounts}");
    }
    exec_ok(
        "docker",
        &c,
        &[
            "cat",
            &format!("/workspace/.clauderon/uploads/{id}/build.log"),
        ],
    );
    // A mounted host path that is gone: refresh refuses before touching anything.
    let (ro, away) = (user.join("data/ro"), user.join("data/away"));
    std::fs::rename(&ro, &away).unwrap();
    let e = env.run(&["refresh", "--no-pull", name]).fails();
    assert!(
        e.stderr.contains("is gone") && e.stderr.contains("/mnt/ro"),
        "{}",
        e.stderr
    );
    exec_ok("docker", &c, &["true"]);
    std::fs::rename(&away, &ro).unwrap();
}

#[test]
fn docker_session_gets_uploads_mounts_and_talos_and_refresh_keeps_them() {
    if !docker_ready() {
        return;
    }
    let (env, user) = host_env("[talos]\nconfig = \"~/.talos/config\"\n");
    let name = unique("files");
    let id = create_with_files(&env, user.path(), "docker", &name);
    check_session(&env, "docker", &name, &id);
    assert!(user.path().join("data/rw/new").exists());
    refused_uploads(&env, &name);
    let files = status_json(&env, &name)["files"].clone();
    let names: Vec<&str> = files["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [HOSTILE, "build.log"]);
    assert_eq!(files["mounts"].as_array().unwrap().len(), 2);
    let text = env.run(&["status", &name]).ok().stdout;
    assert!(
        text.contains("at /mnt/rw (read-write)") && text.contains("Talos"),
        "{text}"
    );
    refresh_keeps_the_mounts(&env, user.path(), &name, &id);
    let uploads = env.home().join("uploads").join(&id);
    env.run(&["delete", "--force", &name]).ok();
    assert!(!uploads.exists(), "delete leaves the uploads");
}

#[test]
fn podman_session_gets_uploads_mounts_and_talos() {
    if !podman_ready() {
        return;
    }
    let (env, user) =
        host_env("[agent]\nmount_agent_cli = false\n[talos]\nconfig = \"~/.talos/config\"\n");
    let name = unique("pfiles");
    let id = create_with_files(&env, user.path(), "podman", &name);
    check_session(&env, "podman", &name, &id);
    env.run(&["delete", "--force", &name]).ok();
}

/// A refused create made nothing: no session, worktree, uploads or branch.
fn assert_nothing_made(env: &Env, name: &str) {
    for dir in ["sessions", "worktrees", "uploads"] {
        let d = env.home().join(dir);
        let left: Vec<_> = std::fs::read_dir(&d)
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{dir}: {left:?}");
    }
    let branches = common::git(env.repo(), &["branch", "--list", name]);
    assert_eq!(branches.trim(), "");
}

/// Each refused `--mount` says what allows it, and leaves nothing; what
/// each printed.
fn refused_mounts(env: &Env, name: &str, u: &str, outside: &Path) -> String {
    let cases: Vec<String> = vec![
        format!("{u}/.ssh:/ssh"),
        format!("{u}/data/innocent:/x"),
        format!("{u}:/home-of-user"),
        format!("{}:/x", outside.display()),
        format!("{u}/data/ro:/etc/x"),
        format!("{u}/data/ro:/workspace/src"),
        format!("{u}/data/ro:/x,readonly=false"),
        format!("{u}/data/ro:/a\nb"),
        format!("{u}/data/ro:/mnt/../etc"),
        format!("{}:/x", env.home().display()),
    ];
    let mut shown = String::new();
    for mount in &cases {
        let run = env.create(name, "p", &["--mount", mount]).fails();
        shown.push_str(&transcript(&["create", name, "--mount", mount], &run));
        assert_nothing_made(env, name);
    }
    shown
}

#[test]
fn refused_mounts_and_files_name_their_setting_and_leave_nothing() {
    if !docker_ready() {
        return;
    }
    let (env, user) = host_env("");
    let u = user.path().display().to_string();
    let outside = tempfile::tempdir().unwrap();
    let name = unique("refused");
    // (`create NAME` stands for `create --name NAME --repo REPO --prompt p
    // --image clauderon-test-base:1 --pull-policy never`.)
    snapshot!(refused_mounts(&env, &name, &u, outside.path()));
    let e = env
        .create(
            &name,
            "p",
            &["--mount", &format!("{u}/.ssh:/ssh"), "--dry-run"],
        )
        .fails();
    assert!(!e.stdout.contains("SECRET"), "{}", e.stdout);
    let big = write(outside.path(), "big.bin", &"x".repeat(1001));
    let e = env
        .create(&name, "p", &["--attach", big.to_str().unwrap()])
        .fails();
    assert!(e.stderr.contains("[uploads] max_bytes"), "{}", e.stderr);
    assert_nothing_made(&env, &name);
    let e = env
        .create(
            &name,
            "p",
            &[
                "--backend",
                "kubernetes",
                "--mount",
                &format!("{u}/data/ro"),
            ],
        )
        .fails();
    assert!(e.stderr.contains("docker and podman"), "{}", e.stderr);
    // A Talos config that is not there is a clear error at create.
    let conf = env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("[talos]\nconfig = \"~/.talos/missing\"\n");
    std::fs::write(&conf, text).unwrap();
    let e = env.create(&name, "p", &[]).fails();
    assert!(
        e.stderr.contains("[talos] config") && e.stderr.contains("missing"),
        "{}",
        e.stderr
    );
    assert_nothing_made(&env, &name);
}

#[test]
fn the_dry_run_shows_the_copies_and_mounts() {
    let (env, user) = host_env("[talos]\nconfig = \"~/.talos/config\"\n");
    let u = user.path().display().to_string();
    let shot = write(user.path(), "shot.png", "png");
    let mount = format!("{u}/data/rw:/data:rw");
    let out = env
        .create(
            "dry",
            "p",
            &[
                "--attach",
                shot.to_str().unwrap(),
                "--mount",
                &mount,
                "--dry-run",
            ],
        )
        .ok()
        .stdout;
    let at = out.find("clauderon.id=").expect("an id label") + "clauderon.id=".len();
    let id = &out[at..at + 36];
    let lines: Vec<String> = out
        .lines()
        .filter(|l| {
            l.contains("upload")
                || l.contains("talos")
                || l.contains("/data")
                || l.contains("TALOS")
        })
        .map(|l| {
            l.replace(id, "<id>")
                .replace(&u, "<user>")
                .replace(&env.home().display().to_string(), "<home>")
        })
        .collect();
    snapshot!(lines.join("\n"));
    assert_nothing_made(&env, "dry");
}

#[test]
fn config_show_lists_uploads_mounts_talos_and_notify() {
    let (env, _user) = host_env("[notify]\ncommand = [\"notify-send\", \"{session}\"]\n");
    let text = env.run(&["config", "show"]).ok().stdout;
    for line in [
        "[uploads]\nmax_bytes",
        "[mounts]\nallowed_roots          = [\"~\"]",
        "allow_secret_stores    = (none)",
        "[talos]\nconfig                 = (none: not mounted)",
        "command                = [\"notify-send\", \"{session}\"]",
        "bell                   = false",
        "debounce_secs          = 5",
        "timeout_secs           = 10",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let json: Value =
        serde_json::from_str(&env.run(&["--json", "config", "show"]).ok().stdout).unwrap();
    let shown = json.to_string();
    for key in [
        "max_bytes",
        "allowed_roots",
        "allow_secret_stores",
        "debounce_secs",
    ] {
        assert!(shown.contains(key), "{key} not in {shown}");
    }
    // A bad value names its key.
    std::fs::write(
        env.home().join("config.toml"),
        "[notify]\ntimeout_secs = 0\n",
    )
    .unwrap();
    let e = env.run(&["config", "show"]).fails();
    assert!(e.stderr.contains("notify.timeout_secs"), "{}", e.stderr);
}
