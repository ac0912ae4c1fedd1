//! Hostile input and a hostile repository: values that look like flags are
//! refused before any engine runs, and config or hooks an agent plants in
//! the shared `.git` never run on the host, nor trap the session.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::{Env, docker_ready, git, unique};

/// Puts recording stand-ins for docker and podman first in PATH: each call
/// is appended to the returned file, so a test can prove none happened.
fn record_engine_calls(env: &mut Env) -> PathBuf {
    let bin = env.home().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.home().join("engine-calls");
    for engine in ["docker", "podman"] {
        let script = format!(
            "#!/bin/sh\necho \"{engine} $*\" >> '{}'\nexit 1\n",
            log.display()
        );
        executable(&bin.join(engine), &script);
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.extra_env.push(("PATH".into(), path));
    log
}

fn executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Flag-like values on the command line: usage errors naming the value.
fn assert_flag_like_arguments_refused(env: &Env, base: &[&str]) {
    let cases: &[(&[&str], &str)] = &[
        (&["--image=--privileged"], "invalid image reference"),
        (&["--image=-v=/:/host"], "invalid image reference"),
        (&["--image=$(id)"], "invalid image reference"),
        (
            &["--image", "python:3 --privileged"],
            "invalid image reference",
        ),
        (&["--image", "pyth\non:3"], "invalid image reference"),
        (&["--image", "ünicode:1"], "invalid image reference"),
        (&["--cap-add=--privileged"], "--cap-add"),
        (&["--cap-add=-v=/:/host"], "--cap-add"),
        (&["--cap-add", "$(id)"], "--cap-add"),
        (&["--env=--privileged=1"], "invalid --env name"),
        (&["--env=-v=/:/host"], "invalid --env name"),
        (&["--env", "$(id)=x"], "invalid --env name"),
        (&["--name=--privileged"], "invalid session name"),
        (&["--name", "$(id)"], "invalid session name"),
        (&["--base=--orphan"], "--base"),
        (&["--network=--privileged"], "--network"),
    ];
    for (extra, says) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{extra:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(says), "{extra:?}: {}", r.stderr);
    }
    for pull in [
        &["image", "pull", "--", "--privileged"][..],
        &["image", "check", "--", "-v=/:/host"],
    ] {
        let r = env.run(pull);
        assert_eq!(r.code, 2, "{pull:?}: {}", r.stderr);
        assert!(r.stderr.contains("invalid image reference"), "{}", r.stderr);
    }
}

/// The same values from config.toml: usage errors naming the key.
fn assert_flag_like_config_refused(env: &Env, base: &[&str]) {
    let config = env.home().join("config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    for (section, key) in [
        (
            "[docker]\ndefault_image = \"--privileged\"",
            "docker.default_image",
        ),
        (
            "[podman]\ndefault_image = \"-v=/:/host\"",
            "podman.default_image",
        ),
        ("[agent]\ncli_image = \"$(id)\"", "agent.cli_image"),
        (
            "[agent]\ncodex_cli_image = \"-v=/:/host\"",
            "agent.codex_cli_image",
        ),
        (
            "[agent]\ncodex_base_url = \"$(id)\\nx\"",
            "agent.codex_base_url",
        ),
        (
            "[agent]\ncodex_base_url = \"file:///etc/passwd\"",
            "agent.codex_base_url",
        ),
        (
            "[security]\ncap_add = [\"--privileged\"]",
            "security.cap_add",
        ),
        ("[network]\nmode = \"--privileged\"", "network.mode"),
        ("[proxy]\npolicy = \"--privileged\"", "proxy.policy"),
    ] {
        let text = if section.starts_with("[proxy]") {
            original.replace("[proxy]\n", &format!("{section}\n"))
        } else {
            format!("{original}{section}\n")
        };
        std::fs::write(&config, text).unwrap();
        let r = env.run(base);
        assert_eq!(r.code, 2, "{key}: {}", r.stderr);
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
    }
}

#[test]
fn flag_like_values_are_refused_before_any_engine_runs() {
    let mut env = Env::new();
    let calls = record_engine_calls(&mut env);
    let repo = env.repo().to_string_lossy().to_string();
    let base = ["create", "--repo", &repo, "--prompt", "x"];
    assert_flag_like_arguments_refused(&env, &base);
    assert_flag_like_config_refused(&env, &base);
    assert!(
        !calls.exists(),
        "an engine ran: {:?}",
        std::fs::read_to_string(&calls)
    );
    let sessions = std::fs::read_dir(env.home().join("sessions")).map_or(0, |d| d.count());
    assert_eq!(sessions, 0, "a session directory was made");
    assert_eq!(git(env.repo(), &["branch", "--list"]).trim(), "* main");
}

/// A program an agent could plant: it records that it ran (and passes its
/// input through, so git filters would still "work").
fn evil_program(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("ran");
    let program = dir.join("evil.sh");
    let script = format!("#!/bin/sh\necho \"$0 $*\" >> '{}'\ncat\n", marker.display());
    executable(&program, &script);
    (program, marker)
}

/// Every key of the matrix, set to the evil program.
fn planted_keys(program: &Path, include: &Path, repo: &Path) -> Vec<(String, String)> {
    let p = program.display().to_string();
    let mut keys: Vec<(String, String)> = [
        "core.fsmonitor",
        "core.hooksPath",
        "filter.evil.clean",
        "filter.evil.smudge",
        "filter.evil.process",
        "diff.external",
        "diff.evil.textconv",
        "core.sshCommand",
        "core.pager",
        "core.editor",
        "sequence.editor",
        "credential.helper",
        "gpg.program",
        "core.alternateRefsCommand",
    ]
    .iter()
    .map(|k| (k.to_string(), p.clone()))
    .collect();
    // core.hooksPath names a directory of hooks, not a program.
    keys[1].1 = program
        .parent()
        .unwrap()
        .join("hooks")
        .display()
        .to_string();
    keys.push(("include.path".into(), include.display().to_string()));
    keys.push((
        format!("includeIf.gitdir:{}/.git.path", repo.display()),
        include.display().to_string(),
    ));
    keys
}

/// A committed .gitattributes that makes a planted filter apply to every
/// file, and `program` as hooks in .git/hooks and in the hooksPath dir.
fn plant_attributes_and_hooks(env: &Env, program: &Path, hooks: &Path) {
    std::fs::write(
        env.repo().join(".gitattributes"),
        "* filter=evil diff=evil\n",
    )
    .unwrap();
    git(env.repo(), &["add", ".gitattributes"]);
    git(env.repo(), &["commit", "-q", "-m", "attributes"]);
    // Hooks written straight into .git/hooks, and into the hooksPath dir.
    for dir in [env.repo().join(".git/hooks"), hooks.to_path_buf()] {
        for hook in [
            "post-checkout",
            "reference-transaction",
            "pre-auto-gc",
            "post-commit",
        ] {
            std::fs::copy(program, dir.join(hook)).unwrap();
        }
    }
}

/// Each planted key alone: `create` refuses it naming the key (but
/// core.hooksPath, which is harmless), and `list` and `status` of
/// `session` still work; nothing planted runs.
fn assert_each_key_refused(env: &Env, keys: &[(String, String)], session: &str, marker: &Path) {
    for (key, value) in keys {
        git(env.repo(), &["config", key, value]);
        let other = unique("refused");
        let r = env.create(&other, "x", &[]);
        if key == "core.hooksPath" {
            // Pinned to /dev/null on every git call, so harmless here (and
            // legitimate: husky sets it): create goes ahead, running no hook.
            r.ok();
            env.run(&["delete", "--force", "--delete-branch", &other])
                .ok();
            git(env.repo(), &["config", "--unset-all", key]);
            assert!(
                !marker.exists(),
                "a hook ran: {:?}",
                std::fs::read_to_string(marker)
            );
            continue;
        }
        let named = if key.starts_with("include") {
            "core.fsmonitor"
        } else {
            key.as_str()
        };
        assert_ne!(r.code, 0, "{key}: create went ahead");
        assert!(
            r.stderr
                .to_ascii_lowercase()
                .contains(&named.to_ascii_lowercase())
                && r.stderr.contains("git -C"),
            "{key}: {}",
            r.stderr
        );
        assert!(
            !env.worktree(&other).exists() && !env.home().join("sessions").join(&other).exists()
        );
        env.run(&["list"]).ok();
        env.run(&["status", session]).ok();
        git(env.repo(), &["config", "--unset-all", key]);
        assert!(
            !marker.exists(),
            "{key} ran: {:?}",
            std::fs::read_to_string(marker)
        );
    }
}

/// Everything at once: refresh and delete still work, without running any of it.
fn assert_refresh_and_delete_run_nothing(
    env: &Env,
    keys: &[(String, String)],
    session: &str,
    marker: &Path,
) {
    for (key, value) in keys {
        git(env.repo(), &["config", key, value]);
    }
    env.run(&["refresh", "--no-pull", session]).ok();
    let r = env
        .run(&["delete", "--force", "--delete-branch", session])
        .ok();
    assert!(
        r.stderr.contains("core.fsmonitor (local)")
            && r.stderr
                .contains("config --local --unset-all core.fsmonitor")
            && r.stderr.contains("is kept"),
        "{}",
        r.stderr
    );
    assert!(
        !marker.exists(),
        "delete ran a planted program: {:?}",
        std::fs::read_to_string(marker)
    );
    assert!(!env.worktree(session).exists());
    assert!(!env.home().join("sessions").join(session).exists());
    let registrations = env.repo().join(".git/worktrees");
    assert_eq!(
        std::fs::read_dir(&registrations)
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    let ps = common::docker_ok(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name=clauderon-{session}"),
    ]);
    assert!(ps.trim().is_empty(), "the container is left: {ps}");
}

#[test]
fn planted_config_and_hooks_never_run_and_never_trap_the_session() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let evil = tempfile::tempdir().unwrap();
    let (program, marker) = evil_program(evil.path());
    let hooks = evil.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    let include = evil.path().join("planted.cfg");
    std::fs::write(
        &include,
        format!("[core]\n\tfsmonitor = {}\n", program.display()),
    )
    .unwrap();
    plant_attributes_and_hooks(&env, &program, &hooks);
    let session = unique("hostile");
    env.create(&session, "x", &[]).ok();
    env.wait_for_runs(&session, 1);
    assert!(
        !marker.exists(),
        "a hook ran during create: {:?}",
        std::fs::read_to_string(&marker)
    );

    let keys = planted_keys(&program, &include, env.repo());
    assert_each_key_refused(&env, &keys, &session, &marker);
    assert_refresh_and_delete_run_nothing(&env, &keys, &session, &marker);
}

#[test]
fn committed_links_do_not_redirect_host_side_directories() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), env.repo().join(".cargo")).unwrap();
    git(env.repo(), &["add", ".cargo"]);
    git(env.repo(), &["commit", "-q", "-m", "a link"]);
    let name = unique("links");
    let r = env.create(&name, "x", &[]).ok();
    assert!(
        r.stderr.contains("not preparing") && r.stderr.contains(".cargo/registry"),
        "{}",
        r.stderr
    );
    let made: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(made.is_empty(), "create made {made:?} outside the worktree");
}
