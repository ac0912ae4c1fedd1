//! A repository's devcontainer.json on a REAL Docker engine: an image, a
//! Dockerfile build (built once, then reused), a compose file, lifecycle
//! commands and environment; the fields left out named one line each, and
//! nothing run on the host; the real repositories' files under
//! tests/fixtures/devcontainer/ (their dry runs snapshotted); bad files
//! refused before anything exists.

use crate::common;

use std::path::Path;

use crate::common::{BASE_IMAGE, Env, Run, docker, docker_ok, docker_ready, unique};

/// Commits `files` (path, contents) to the test repository.
fn commit(env: &Env, files: &[(&str, &str)]) {
    for (path, body) in files {
        let p = env.repo().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    common::git(env.repo(), &["add", "-A"]);
    common::git(env.repo(), &["commit", "-q", "-m", "devcontainer"]);
}

/// `create` with no --image: the repository's devcontainer.json decides.
fn create(env: &Env, name: &str, extra: &[&str]) -> Run {
    let repo = env.repo().display().to_string();
    let mut args = vec!["create", "--name", name, "--repo", &repo, "--prompt", "hi"];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn exec_ok(container: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", container];
    all.extend_from_slice(args);
    docker_ok(&all)
}

/// Nothing of session `name`: no worktree, no session directory, no
/// container, no branch.
#[track_caller]
fn assert_nothing_made(env: &Env, name: &str) {
    assert!(!env.worktree(name).exists());
    assert!(!env.home().join("sessions").join(name).exists());
    let container = format!("clauderon-{name}");
    assert!(
        !docker(&["container", "inspect", &container])
            .status
            .success()
    );
    assert_eq!(
        common::git(env.repo(), &["branch", "--list", name]).trim(),
        ""
    );
}

/// A devcontainer.json with comments, trailing commas, unsupported
/// fields and an initializeCommand that would touch `marker` on the host.
fn image_file(marker: &Path) -> String {
    format!(
        r#"// the team's container
{{
  "name": "team", /* a block comment */
  "image": "{BASE_IMAGE}",
  "initializeCommand": "touch {}",
  "features": {{ "ghcr.io/devcontainers/features/node:1": {{}} }},
  "forwardPorts": [3000,],
  "someFutureKey": true,
  "postCreateCommand": "echo created > /workspace/.clauderon/dc-created",
  "postStartCommand": ["sh", "-c", "echo started >> /workspace/.clauderon/dc-started"],
  "containerEnv": {{ "EDITOR": "vim", "GREETING": "$(not run) 'q'", }},
}}
"#,
        marker.display()
    )
}

/// JSON with comments and trailing commas; an image; postCreateCommand
/// and postStartCommand; containerEnv; fields clauderon does not support,
/// among them initializeCommand, which would touch a marker on the host.
#[test]
fn image_devcontainer_runs_its_commands_and_names_what_it_leaves_out() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let marker = env.home().join("initialize-ran");
    let file = image_file(&marker);
    commit(&env, &[(".devcontainer/devcontainer.json", &file)]);
    let name = unique("dc-image");
    let dry = create(&env, &name, &["--dry-run"]).ok();
    assert!(dry.stdout.contains(BASE_IMAGE), "{}", dry.stdout);
    assert!(dry.stdout.contains("echo created"), "{}", dry.stdout);
    let run = create(&env, &name, &[]).ok();
    for field in [
        "initializeCommand",
        "features",
        "forwardPorts",
        "someFutureKey",
        "name",
    ] {
        let lines = run
            .stderr
            .lines()
            .filter(|l| l.contains(&format!("`{field}`")))
            .count();
        assert_eq!(lines, 1, "{field}: {}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("never runs repository code on the host"),
        "{}",
        run.stderr
    );
    assert!(!marker.exists(), "initializeCommand ran on the host");
    let c = format!("clauderon-{name}");
    assert_eq!(
        exec_ok(&c, &["cat", "/workspace/.clauderon/dc-created"]),
        "created"
    );
    assert_eq!(
        exec_ok(&c, &["cat", "/workspace/.clauderon/dc-started"]),
        "started"
    );
    assert_eq!(exec_ok(&c, &["printenv", "EDITOR"]), "vim");
    assert_eq!(exec_ok(&c, &["printenv", "GREETING"]), "$(not run) 'q'");
    let status = env.run(&["--json", "status", &name]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        v["setup"]["devcontainer"]["file"],
        ".devcontainer/devcontainer.json"
    );
    let text = env.run(&["status", &name]).ok().stdout;
    assert!(
        text.contains("Devcontainer .devcontainer/devcontainer.json"),
        "{text}"
    );
    env.run(&["delete", "--force", &name]).ok();
}

/// A Dockerfile build: built with the engine's build and a content-hash
/// tag, shown in the dry run; the next session reuses it; a changed
/// input builds anew. `--devcontainer NAME` picks a named one.
#[test]
fn dockerfile_build_is_built_once_then_reused() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let stamp = unique("build");
    let dockerfile = format!("FROM {BASE_IMAGE}\nARG STAMP\nRUN echo \"$STAMP\" > /built-marker\n");
    let json = format!(
        r#"{{ "build": {{ "dockerfile": "Dockerfile", "context": "..", "args": {{ "STAMP": "{stamp}" }} }} }}"#
    );
    commit(
        &env,
        &[
            (".devcontainer/py/Dockerfile", &dockerfile),
            (".devcontainer/py/devcontainer.json", &json),
        ],
    );
    let first = unique("dc-build");
    let dry = create(&env, &first, &["--devcontainer", "py", "--dry-run"]).ok();
    let arg = format!("--build-arg 'STAMP={stamp}'");
    let shown = dry.stdout.contains("--tag clauderon-devcontainer:") && dry.stdout.contains(&arg);
    assert!(shown, "{}", dry.stdout);
    let made = create(&env, &first, &["--devcontainer", "py"]).ok();
    let status: serde_json::Value =
        serde_json::from_str(&env.run(&["--json", "status", &first]).ok().stdout).unwrap();
    let tag = status["setup"]["devcontainer"]["built_image"]
        .as_str()
        .unwrap()
        .to_string();
    let _image = RemoveImage(tag.clone());
    assert_eq!(
        exec_ok(&format!("clauderon-{first}"), &["cat", "/built-marker"]),
        stamp,
        "{}",
        made.stderr
    );
    let second = unique("dc-build2");
    let again = create(&env, &second, &["--devcontainer", "py", "--dry-run"]).ok();
    assert!(!again.stdout.contains("docker build"), "{}", again.stdout);
    assert!(
        again.stdout.contains(&format!("{tag} is already built")),
        "{}",
        again.stdout
    );
    // A changed input is another image.
    std::fs::write(env.repo().join(".devcontainer/new-file"), "x").unwrap();
    let changed = create(&env, &second, &["--devcontainer", "py", "--dry-run"]).ok();
    assert!(
        changed.stdout.contains("docker build"),
        "{}",
        changed.stdout
    );
    assert!(!changed.stdout.contains(&tag), "{}", changed.stdout);
    env.run(&["delete", "--force", &first]).ok();
}

struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = docker(&["image", "rm", "-f", &self.0]);
    }
}

/// dockerComposeFile and service become clauderon's compose session.
#[test]
fn compose_devcontainer_is_a_compose_session() {
    if !common::compose_tool_ready(docker_ready(), "docker-compose") {
        return;
    }
    let env = Env::new();
    let compose = format!(
        "services:\n  dev:\n    image: {BASE_IMAGE}\n  cache:\n    image: {BASE_IMAGE}\n    command: sleep 600\n"
    );
    let json = r#"{ "dockerComposeFile": ["docker-compose.yml"], "service": "dev", "postCreateCommand": "echo hi > /workspace/.clauderon/dc-compose" }"#;
    commit(
        &env,
        &[
            (".devcontainer/docker-compose.yml", &compose),
            (".devcontainer/devcontainer.json", json),
        ],
    );
    let name = unique("dc-compose");
    let dry = create(&env, &name, &["--dry-run"]).ok();
    assert!(dry.stdout.contains("docker-compose.yml"), "{}", dry.stdout);
    create(&env, &name, &[]).ok();
    let v: serde_json::Value =
        serde_json::from_str(&env.run(&["--json", "status", &name]).ok().stdout).unwrap();
    assert_eq!(v["compose"]["service"], "dev");
    let made = std::fs::read_to_string(env.worktree(&name).join(".clauderon/dc-compose")).unwrap();
    assert_eq!(made, "hi\n");
    env.run(&["delete", "--force", &name]).ok();
}

/// (file, what its refusal says).
fn bad_cases() -> Vec<(String, &'static str)> {
    let big = format!(
        "{{ \"image\": \"{BASE_IMAGE}\", \"x\": \"{}\" }}",
        "a".repeat(5 * 1024 * 1024)
    );
    vec![
        (
            r#"{ "image": "--privileged" }"#.into(),
            "invalid image reference \"--privileged\"",
        ),
        (
            format!(r#"{{ "image": "{BASE_IMAGE}", "runArgs": ["--privileged"] }}"#),
            "runArgs --privileged",
        ),
        (
            format!(r#"{{ "image": "{BASE_IMAGE}", "runArgs": ["--cap-add=SYS_ADMIN"] }}"#),
            "runArgs --cap-add",
        ),
        (
            format!(
                r#"{{ "image": "{BASE_IMAGE}", "containerEnv": {{ "GITHUB_TOKEN": "ghp_0123456789abcdef" }} }}"#
            ),
            "GITHUB_TOKEN",
        ),
        (
            format!(r#"{{ "image": "{BASE_IMAGE}" "postCreateCommand": "x" }}"#),
            "not valid JSON with comments",
        ),
        (
            format!(
                r#"{{ "image": "{BASE_IMAGE}", "mounts": ["source=/etc,target=/x,type=bind"] }}"#
            ),
            "/etc",
        ),
        ("[1, 2]".into(), "top level must be an object"),
        (big, "larger than 1024 KiB"),
    ]
}

/// Files that must be refused, each naming why, before anything is made.
#[test]
fn bad_devcontainer_files_are_refused_and_nothing_is_made() {
    if !docker_ready() {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("devcontainer.json");
    std::fs::write(&secret, format!(r#"{{ "image": "{BASE_IMAGE}" }}"#)).unwrap();
    let cases = bad_cases();
    for (body, expected) in cases {
        let env = Env::new();
        commit(&env, &[(".devcontainer/devcontainer.json", &body)]);
        let r = create(&env, "refused", &[]).fails();
        assert_eq!(r.code, 2, "{expected}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{expected}: {}", r.stderr);
        assert!(r.stderr.contains("fix:"), "{expected}: {}", r.stderr);
        assert_nothing_made(&env, "refused");
    }
    // A link to a file outside the repository.
    let env = Env::new();
    std::fs::create_dir_all(env.repo().join(".devcontainer")).unwrap();
    std::os::unix::fs::symlink(&secret, env.repo().join(".devcontainer/devcontainer.json"))
        .unwrap();
    let r = create(&env, "refused", &[]).fails();
    assert!(r.stderr.contains("outside the repository"), "{}", r.stderr);
    assert_nothing_made(&env, "refused");
}

/// --no-devcontainer and --image leave the file alone; --devcontainer
/// with --image is a contradiction.
#[test]
fn flags_say_when_the_file_is_not_used() {
    let env = Env::new();
    commit(
        &env,
        &[(".devcontainer.json", r#"{ "image": "--privileged" }"#)],
    );
    let r = create(&env, "x", &["--no-devcontainer", "--dry-run"]);
    assert!(!r.stderr.contains("--privileged"), "{}", r.stderr);
    let r = create(&env, "x", &["--image", BASE_IMAGE, "--dry-run"]);
    assert!(!r.stderr.contains("--privileged"), "{}", r.stderr);
    let r = create(&env, "x", &["--image", BASE_IMAGE, "--devcontainer", "a"]).fails();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--devcontainer and --image"),
        "{}",
        r.stderr
    );
    let r = create(&env, "x", &["--devcontainer", "../x"]).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// The real repositories' files: each gives a plan or a clear refusal;
/// both are snapshotted (paths, ids and ports redacted).
#[test]
fn real_repositories_devcontainer_files() {
    if !docker_ready() {
        return;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/devcontainer");
    for (dir, plan) in [
        ("oso-image", true),
        ("remote-containers-demo-dockerfile", true),
        ("popcorn-time-compose", false),
        ("bustub-runargs", false),
        ("libdatadog-network", false),
    ] {
        let env = Env::new();
        copy_dir(&fixtures.join(dir), env.repo());
        common::git(env.repo(), &["add", "-A"]);
        common::git(env.repo(), &["commit", "-q", "-m", "fixture"]);
        let r = create(&env, "fixture", &["--dry-run", "--no-user-config"]);
        assert_eq!(r.code == 0, plan, "{dir}: {}\n{}", r.stdout, r.stderr);
        if !plan {
            assert_eq!(r.code, 2, "{dir}: {}", r.stderr);
        }
        let shown = redact(&format!("{}\n--- stderr ---\n{}", r.stdout, r.stderr), &env);
        insta::assert_snapshot!(dir, shown);
        assert_nothing_made(&env, "fixture");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The run-to-run differences of a dry run: temp paths, the session id,
/// ports, the user, the engine's version notes.
fn redact(text: &str, env: &Env) -> String {
    let mut out = collapse_heredocs(text)
        .replace(env!("CARGO_BIN_EXE_clauderon"), "[CLAUDERON]")
        .replace(&env.repo().display().to_string(), "[REPO]")
        .replace(&env.home().display().to_string(), "[HOME]");
    for marker in ["clauderon.id=", "uploads/", "CLAUDERON_SESSION_ID="] {
        out = redact_uuid_after(&out, marker);
    }
    // The user clauderon runs as: the owner of the directories it made.
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata(env.home()).unwrap();
    let uid = format!("--user {}:{}", me.uid(), me.gid());
    out = out.replace(&uid, "--user [UID]:[GID]");
    redact_digits_after(
        &redact_digits_after(&out, "127.0.0.1:"),
        "host.docker.internal:",
    )
}

/// The session files' bodies (the entrypoint, the hook script, managed
/// settings: snapshotted by their own tests) as one line each.
fn collapse_heredocs(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if inside {
            if line == "CLAUDERON_EOF" {
                inside = false;
                out.push_str("[contents]\nCLAUDERON_EOF\n");
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
        inside = line.ends_with("<<'CLAUDERON_EOF'");
    }
    out
}

fn redact_uuid_after(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let id: String = tail.chars().take(36).collect();
        if id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            out.push_str("[ID]");
            rest = &tail[36..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn redact_digits_after(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let n = tail.chars().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            out.push_str("[PORT]");
        }
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}
