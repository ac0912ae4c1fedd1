//! A run's volumes and a session's `mount` over the HTTP API, against real
//! Docker: mounted read-only unless `:rw` when under `[api]
//! allowed_volume_roots` (not `[mounts] allowed_roots`), refused with a 400
//! that says why otherwise, and nothing is left behind by a refusal.

use crate::common::api::{Api, assert_mounted, start_api};
use crate::common::{BASE_IMAGE, Env, docker_ready};
use serde_json::{Value, json};

/// The API of `volume_env` and its HOME (`u`).
struct Setup {
    api: Api,
    u: String,
    _user: tempfile::TempDir,
}

/// A daemon whose HOME is a temp dir with a secret store (`.ssh`), data
/// directories, a link to the store and a directory with a comma in its
/// name. `[api] allowed_volume_roots` is that HOME; `[mounts]
/// allowed_roots` is the test repository, which the API must not follow.
fn volume_env() -> Setup {
    let mut env = Env::new();
    let user = tempfile::Builder::new()
        .prefix("clauderon-user")
        .tempdir()
        .unwrap();
    let u = user.path().canonicalize().unwrap();
    for d in [".ssh", "data/ro", "data/rw", "data/ro2", "da,ta"] {
        std::fs::create_dir_all(u.join(d)).unwrap();
    }
    std::fs::write(u.join(".ssh/id_ed25519"), "SECRET KEY\n").unwrap();
    std::fs::write(u.join("data/ro/readme"), "read me\n").unwrap();
    std::os::unix::fs::symlink(u.join(".ssh"), u.join("data/innocent")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\n[mounts]\nallowed_roots = [\"{}\"]\n[api]\nlisten = \"127.0.0.1:{port}\"\nallowed_volume_roots = [\"~\"]\n",
        env.repo().display()
    );
    std::fs::write(env.home().join("config.toml"), config).unwrap();
    env.extra_env.push(("HOME".into(), u.display().to_string()));
    start_api(&env, port);
    Setup {
        api: Api::on(env, port),
        u: u.display().to_string(),
        _user: user,
    }
}

fn sessions(env: &Env) -> Vec<Value> {
    let out = env.run(&["list", "--json"]).ok().stdout;
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The run's volumes as mounted: (host, container, writable).
fn expected_mounts(u: &str) -> [(String, &'static str, bool); 3] {
    [
        (format!("{u}/data/ro"), "/data", false),
        (format!("{u}/data/rw"), "/out", true),
        (format!("{u}/data/ro2"), "/ro2", false),
    ]
}

#[test]
fn run_volumes_under_the_apis_roots_are_mounted_read_only_unless_rw() {
    if !docker_ready() {
        return;
    }
    let s = volume_env();
    let (api, u, repo) = (&s.api, &s.u, &s.api.repo);
    let body = json!({"prompt": "x", "docker": {"image": BASE_IMAGE, "volumes": [
        format!("{repo}:/workspace"),
        format!("{u}/data/ro:/data"),
        format!("{u}/data/rw:/out:rw"),
        format!("{u}/data/ro2:/ro2:ro"),
    ]}});
    let (code, run) = api.post("/run", &body);
    assert_eq!(
        (code, run["status"].as_str()),
        (200, Some("completed")),
        "{run}"
    );
    let name = run["session_id"].as_str().unwrap().to_string();
    assert_eq!(run["session"], name.as_str());
    // The repository is the volume at /workspace.
    let worktree = run["worktree"].as_str().unwrap();
    assert!(std::path::Path::new(worktree).join("README").exists());
    // The session records them (GET /sessions/{session_id})...
    let (code, status) = api.get(&format!("/sessions/{name}"));
    assert_eq!(code, 200, "{status}");
    let mounts = &status["files"]["mounts"];
    assert_eq!(
        *mounts,
        json!([
            {"host": format!("{u}/data/ro"), "container": "/data", "rw": false},
            {"host": format!("{u}/data/rw"), "container": "/out", "rw": true},
            {"host": format!("{u}/data/ro2"), "container": "/ro2", "rw": false},
        ]),
        "{status}"
    );
    // ...and the engine mounted them so.
    assert_mounted("docker", &name, &expected_mounts(u));
    api.env.run(&["delete", "--force", &name]).ok();
}

/// Volumes a run may not have, the status (403 for a rule's refusal, 404
/// for a path that is not there, 400 for the rest) and what it says.
fn hostile_volumes(u: &str, repo: &str) -> Vec<(String, u16, &'static str)> {
    vec![
        // Under [mounts] allowed_roots, which governs the CLI, not the API.
        (
            format!("{repo}/sub:/x"),
            403,
            "outside [api] allowed_volume_roots (",
        ),
        (format!("{u}/.ssh:/ssh"), 403, "secret store ~/.ssh"),
        (format!("{u}/data/innocent:/x"), 403, "secret store ~/.ssh"),
        (format!("{u}:/home-of-user"), 403, "secret store ~/.ssh"),
        (format!("{u}/data/ro:/a\nb"), 400, "control characters"),
        (format!("{u}/da,ta:/x"), 400, "commas"),
        (format!("{u}/data/ro:/x:rx"), 400, "neither ro nor rw"),
        (format!("{u}/data/ro:/x:ro:rw"), 400, "not HOST:CONTAINER"),
        (format!("{u}/data/ro"), 400, "not HOST:CONTAINER"),
        ("data/ro:/x".to_string(), 400, "absolute"),
        (format!("{u}/data/ro:/workspace/x"), 400, "pick another"),
        (format!("{u}/data/ro:/etc/x"), 400, "pick another"),
        (format!("{u}/nope:/x"), 404, "cannot be used"),
        (format!("{repo}:/workspace:ro"), 400, "cannot be read-only"),
    ]
}

/// Async, a refused volume: the 202 comes first, the job ends in error
/// with the reason, and no session was made.
fn assert_async_refusal_makes_nothing(api: &Api, body: &Value) {
    let (code, started) = api.post("/run/async", body);
    assert_eq!(code, 202, "{started}");
    let id = started["job_id"].as_str().unwrap();
    let job = api.wait_job(id, |j| j["status"] != "running");
    assert_eq!(job["status"], "failed", "{job}");
    let why = job["result"]["fix"].as_str().unwrap_or_default();
    assert!(why.contains("[api] allowed_volume_roots"), "{job}");
    let session = started["session_id"].as_str().unwrap();
    let (code, _) = api.get(&format!("/sessions/{session}"));
    assert_eq!(code, 404, "nothing was made");
    assert!(sessions(&api.env).is_empty());
}

#[test]
fn run_volumes_outside_the_apis_roots_or_hostile_are_a_400_leaving_nothing() {
    if !docker_ready() {
        return;
    }
    let s = volume_env();
    let (api, u, repo) = (&s.api, &s.u, &s.api.repo);
    for (volume, status, says) in &hostile_volumes(u, repo) {
        let body = json!({"prompt": "x", "repo": repo, "docker": {"image": BASE_IMAGE, "volumes": [volume]}});
        let (code, answer) = api.post("/run", &body);
        assert_eq!(code, *status, "{volume:?}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(says), "{volume:?}: {answer}");
    }
    // The refusal names the roots, and its fix the API's setting.
    let body = json!({"prompt": "x", "docker": {"volumes": [format!("{repo}/sub:/x")]}});
    let (_, answer) = api.post("/run", &body);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains(&format!("({u})")),
        "{answer}"
    );
    let fix = answer["fix"].as_str().unwrap();
    assert!(fix.contains("[api] allowed_volume_roots"), "{answer}");
    assert_async_refusal_makes_nothing(api, &body);
    // A run without a repository made a scratch one, removed on refusal.
    crate::common::api::assert_no_scratch_left(&api.env);
}

#[test]
fn a_sessions_mount_goes_to_create_under_the_apis_roots() {
    if !docker_ready() {
        return;
    }
    let s = volume_env();
    let (api, u, repo) = (&s.api, &s.u, &s.api.repo);
    let create = |mount: &[String]| {
        let body = json!({"prompt": "x", "repo": repo, "image": BASE_IMAGE, "pull_policy": "never", "mount": mount});
        api.post("/v1/sessions?dry_run=1", &body)
    };
    let (code, plan) = create(&[format!("{u}/data/ro:/data"), format!("{u}/data/rw:/out:rw")]);
    assert_eq!(code, 200, "{plan}");
    let plan = plan.to_string();
    // The plan's `docker run` mounts them: read-only unless `:rw`.
    for shown in [
        format!("src={u}/data/ro,dst=/data,readonly\""),
        format!("src={u}/data/rw,dst=/out\""),
    ] {
        assert!(plan.contains(&shown), "{shown} not in {plan}");
    }
    let (code, answer) = create(&[format!("{repo}/sub:/x")]);
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["fix"]
            .as_str()
            .unwrap()
            .contains("[api] allowed_volume_roots"),
        "{answer}"
    );
    let (code, answer) = create(&[format!("{u}/.ssh")]);
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("secret store"),
        "{answer}"
    );
    assert!(sessions(&api.env).is_empty());
}

#[test]
fn allowed_volume_roots_must_be_absolute_and_config_show_lists_them() {
    let env = Env::new();
    let cfg = env.home().join("config.toml");
    for bad in ["\"\"", "\"data\""] {
        std::fs::write(&cfg, format!("[api]\nallowed_volume_roots = [{bad}]\n")).unwrap();
        let r = env.run(&["config", "show"]).fails();
        assert!(
            r.stderr.contains("api.allowed_volume_roots"),
            "{}",
            r.stderr
        );
    }
    let r = env.run(&["config", "show"]).fails();
    assert!(r.stderr.contains("absolute path or ~/PATH"), "{}", r.stderr);
    std::fs::write(
        &cfg,
        "[api]\nallowed_volume_roots = [\"~/data\", \"/srv\"]\n",
    )
    .unwrap();
    let shown = env.run(&["config", "show"]).ok().stdout;
    let row = shown
        .lines()
        .find(|l| l.starts_with("allowed_volume_roots"));
    assert!(
        row.is_some_and(|l| l.contains(r#"["~/data", "/srv"]"#)),
        "{shown}"
    );
    std::fs::write(&cfg, "").unwrap();
    let shown = env.run(&["config", "show"]).ok().stdout;
    assert!(
        shown.contains("(none: a run mounts no volume but its repository)"),
        "{shown}"
    );
}
