//! The HTTP API over real HTTP, against the real daemon and real Docker:
//! the token, sessions made over HTTP and seen by the CLI, the error codes,
//! the allowlist, and secrets kept out of argv and `docker inspect`.

use std::io::{Read, Write};
use std::process::Command;

use crate::common::api::{Api, api_env, call, token};
use crate::common::{BASE_IMAGE, Env, docker_ok, docker_ready};
use serde_json::{Value, json};

#[test]
fn the_token_guards_every_route_but_health() {
    let (env, port) = api_env("");
    assert_eq!(call(port, "GET", "/health", None, "").0, 200);
    assert_eq!(call(port, "GET", "/v1/sessions", None, "").0, 401);
    assert_eq!(call(port, "GET", "/v1/sessions", Some("wrong"), "").0, 401);
    let t = token(&env);
    let mode = std::fs::metadata(env.home().join("api-token")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    assert_eq!(call(port, "GET", "/v1/sessions", Some(&t), "").1, json!([]));
    let (code, doc) = call(port, "GET", "/openapi.json", Some(&t), "");
    assert_eq!(code, 200);
    // Every route the daemon answers is in openapi.json, and every route
    // there is answered (not "no such route").
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| *m != "parameters")
        {
            documented += 1;
            let concrete = path
                .replace("{name}", "nope")
                .replace("{image}", "nope")
                .replace("{id}", "nope")
                .replace("{message_id}", "nope");
            let (code, answer) = call(port, &method.to_uppercase(), &concrete, Some(&t), "{}");
            assert!(
                !answer.to_string().contains("no such route"),
                "{method} {path} is documented but not served: {code} {answer}"
            );
        }
    }
    assert_eq!(documented, 36, "{doc}");
    // Rotated: the old token stops working at once.
    let new = env
        .run(&["api", "token", "--rotate"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_ne!(new, t);
    assert_eq!(call(port, "GET", "/v1/sessions", Some(&t), "").0, 401);
    assert_eq!(call(port, "GET", "/v1/sessions", Some(&new), "").0, 200);
    assert_eq!(call(port, "GET", "/nowhere", Some(&new), "").0, 404);
    assert_eq!(call(port, "PUT", "/v1/sessions", Some(&new), "").0, 405);
}

/// The session `over-http`, with an adversarial prompt and a secret in its
/// env, made over HTTP: the dry run hides the secret, the create makes an
/// ordinary running session, and a second create is a 409.
fn create_over_http(api: &Api) {
    let body = json!({
        "prompt": "it's $(rm -rf /) -- \"quoted\"\nünïcode", "repo": api.repo, "name": "over-http",
        "image": BASE_IMAGE, "pull_policy": "never",
        // GIT_DIR reaches the container only: on the host it would break git.
        "env": {"API_TOKEN": "s3cret-value-here", "GIT_DIR": "/nonexistent"},
    });
    let (code, plan) = api.post("/v1/sessions?dry_run=1", &body);
    assert_eq!(code, 200, "{plan}");
    assert_eq!(plan["command"], "clauderon create over-http");
    assert!(!plan.to_string().contains("s3cret-value-here"));
    let (code, session) = api.post("/v1/sessions", &body);
    assert_eq!(code, 201, "{session}");
    assert_eq!(session["branch"], "over-http");
    assert_eq!(session["container"], "clauderon-over-http");
    let inspect = docker_ok(&["inspect", "clauderon-over-http"]);
    assert!(
        inspect.contains("API_TOKEN=s3cret-value-here"),
        "the value reaches the container"
    );
    let list = api.env.run(&["list", "--json"]).ok().stdout;
    assert!(list.contains("over-http"), "{list}");
    let (code, again) = api.post("/v1/sessions", &body);
    assert_eq!(code, 409, "{again}");
    let (code, status) = api.get("/v1/sessions/over-http");
    assert_eq!(
        (code, status["session"]["state"].as_str()),
        (200, Some("running")),
        "{status}"
    );
}

/// The agent's conversation, from its transcript (a link planted there is
/// not followed), and Stromboli's paths for the same routes (the id is the
/// session's name).
fn assert_messages_and_stromboli_routes(api: &Api) {
    let projects = api.env.worktree("over-http").join(".claude/projects");
    std::fs::create_dir_all(projects.join("planted")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", projects.join("planted/zzz.jsonl")).unwrap();
    let (code, messages) = api.get("/v1/sessions/over-http/messages?limit=5");
    assert_eq!(code, 200, "{messages}");
    assert!(messages["total"].as_u64().unwrap() >= 1, "{messages}");
    assert!(!messages.to_string().contains("root:"), "{messages}");
    assert_eq!(api.get("/v1/sessions/nope/messages").0, 404);
    let (code, via_stromboli) = api.get("/sessions");
    assert_eq!(code, 200, "{via_stromboli}");
    assert_eq!(via_stromboli, json!({"sessions": ["over-http"]}));
    // Stromboli's items: the stub's transcript lines are no messages.
    let (code, paged) = api.get("/sessions/over-http/messages?limit=5");
    assert_eq!(code, 200, "{paged}");
    assert_eq!(
        (paged["limit"].as_u64(), paged["has_more"].as_bool()),
        (Some(5), Some(false))
    );
    assert_eq!(api.delete("/sessions/nope").0, 404);
    assert_eq!(api.call("POST", "/sessions", "{}").0, 405);
}

#[test]
fn sessions_made_over_http_are_ordinary_sessions() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    create_over_http(&api);
    assert_messages_and_stromboli_routes(&api);
    let (code, _) = api.call("POST", "/v1/sessions/over-http/stop", "");
    assert_eq!(code, 200);
    let (_, status) = api.get("/v1/sessions/over-http");
    assert_eq!(status["session"]["state"], "exited", "{status}");
    // A query that does not decode is a 400, never a delete without its
    // dry_run.
    let (code, answer) = api.delete("/v1/sessions/over-http?dry_run=%ZZ");
    assert_eq!(code, 400, "{answer}");
    assert_eq!(api.get("/v1/sessions/over-http").0, 200);
    let (code, plan) = api.delete("/v1/sessions/over-http?dry_run=1");
    assert_eq!(code, 200, "{plan}");
    assert_eq!(plan["command"], "clauderon delete over-http");
    // The CLI deletes what HTTP made.
    api.env.run(&["delete", "--force", "over-http"]).ok();
    assert_eq!(api.get("/v1/sessions").1, json!([]));
}

#[test]
fn the_api_listens_on_a_unix_socket_when_told() {
    let env = Env::new();
    let sock = env.home().join("api.sock");
    let cfg = env.home().join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!("[api]\nlisten = \"unix:{}\"\n", sock.display()));
    std::fs::write(&cfg, text).unwrap();
    env.run(&["daemon", "start"]).ok();
    let mode = std::fs::metadata(&sock).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    write!(
        s,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    // Another home's daemon does not take over a socket that is served.
    let other = Env::new();
    let cfg2 = other.home().join("config.toml");
    let mut text2 = std::fs::read_to_string(&cfg2).unwrap();
    text2.push_str(&format!("[api]\nlisten = \"unix:{}\"\n", sock.display()));
    std::fs::write(&cfg2, text2).unwrap();
    let r = other.run(&["daemon", "start"]).fails();
    assert!(r.stderr.contains("another process serves"), "{}", r.stderr);
    // A bad listen value is an error naming the key.
    std::fs::write(&cfg, "[api]\nlisten = \"8080\"\n").unwrap();
    let r = env.run(&["config", "show"]).fails();
    assert!(r.stderr.contains("api.listen"), "{}", r.stderr);
}

/// A run with Docker and Claude options answers with the agent's output
/// and usage; the agent ran in print mode with the options, the prompt
/// one argument; an ordinary session, which the CLI lists and deletes.
fn assert_a_run_with_options(api: &Api) {
    let body = json!({
        "prompt": "Run the tests -- $(id) 'quoted'", "repo": api.repo,
        "docker": {"image": BASE_IMAGE, "lifecycle": {"on_create_command": ["echo installing"]}},
        "claude": {"model": "sonnet", "max_turns": 2, "allowed_tools": ["Bash(git:*)"], "output_format": "json"},
    });
    let (code, run) = api.post("/run", &body);
    assert_eq!(code, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["usage"]["output_tokens"], 5, "{run}");
    // session_id is the session's name; the agent's own id is beside it.
    assert!(run["agent_session_id"].is_string(), "{run}");
    let name = run["session"].as_str().unwrap().to_string();
    assert_eq!(run["session_id"], name.as_str(), "{run}");
    let (code, found) = api.get(&format!("/sessions/{name}"));
    assert_eq!(
        (code, &found["session"]["name"]),
        (200, &json!(name)),
        "{found}"
    );
    assert_eq!(run["branch"], name.as_str());
    let argv = api.env.stub_argv(&name);
    let tail: Vec<&str> = argv.iter().rev().take(3).map(String::as_str).collect();
    assert_eq!(
        tail,
        ["Run the tests -- $(id) 'quoted'", "--", "-p"],
        "{argv:?}"
    );
    assert!(
        argv.windows(2).any(|w| w == ["--max-turns", "2"]),
        "{argv:?}"
    );
    assert!(api.env.run(&["list"]).ok().stdout.contains(&name));
    api.env.run(&["delete", "--force", &name]).ok();
}

/// A compose environment: the agent in its service, the project taken
/// down with the session. Needs docker-compose (under CI=true, fails
/// without it).
fn assert_a_compose_run_is_taken_down(api: &Api) {
    if !Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true: docker-compose is missing");
        }
        return;
    }
    let (env, repo) = (&api.env, &api.repo);
    let file = format!(
        "services:\n  db:\n    image: {BASE_IMAGE}\n    command: [sleep, infinity]\n    init: true\n  dev:\n    image: {BASE_IMAGE}\n"
    );
    std::fs::write(env.repo().join("compose.yml"), file).unwrap();
    let body = json!({"prompt": "x", "repo": repo, "docker": {"environment": {"type": "compose", "path": "compose.yml", "service": "dev"}}});
    let (code, run) = api.post("/run", &body);
    assert_eq!(
        (code, run["status"].as_str()),
        (200, Some("completed")),
        "{run}"
    );
    let name = run["session"].as_str().unwrap().to_string();
    let filter = format!("label=com.docker.compose.project=clauderon-{name}");
    let count = || {
        docker_ok(&["ps", "-aq", "--filter", &filter])
            .lines()
            .count()
    };
    assert_eq!(count(), 2);
    env.run(&["delete", "--force", &name]).ok();
    assert_eq!(count(), 0);
    std::fs::remove_file(env.repo().join("compose.yml")).unwrap();
}

/// Run bodies refused (a 400) before anything is made, and what the error
/// says of each.
fn refused_run_bodies(repo: &str) -> [(Value, u16, &'static str); 7] {
    [
        (
            json!({"prompt": "x", "docker": {}, "podman": {}}),
            400,
            "not both",
        ),
        (
            json!({"prompt": "x", "podman": {"volumes": ["/etc:/etc"]}}),
            403,
            "outside [api] allowed_volume_roots (none are set)",
        ),
        (
            json!({"prompt": "x", "docker": {"timeout": "soon"}}),
            400,
            "timeout",
        ),
        (
            json!({"prompt": "x", "docker": {"environment": {"type": "compose", "path": "../x.yml"}}}),
            400,
            "compose path",
        ),
        (
            json!({"prompt": "x", "podman": {"environment": {"type": "compose", "path": "/etc/c.yml"}}}),
            400,
            "compose path",
        ),
        (
            json!({"prompt": "x", "claude": {"model": "--evil"}}),
            400,
            "model",
        ),
        (
            json!({"prompt": "x", "repo": repo, "docker": {"image": "$(id)"}}),
            400,
            "image reference",
        ),
    ]
}

#[test]
fn a_run_answers_with_the_agents_output_and_leaves_its_branch() {
    if !docker_ready() {
        return;
    }
    let api = Api::new("");
    assert_a_run_with_options(&api);
    assert_a_compose_run_is_taken_down(&api);
    // A failing agent is a crash with its exit code and output.
    let crash = json!({"prompt": "x", "repo": api.repo, "docker": {"image": BASE_IMAGE, "env": {"STUB_BEHAVIOR": "exit:3"}}});
    let (code, run) = api.post("/run", &crash);
    assert_eq!(
        (
            code,
            run["status"].as_str(),
            run["clauderon_status"].as_str()
        ),
        (200, Some("failed"), Some("crashed")),
        "{run}"
    );
    assert_eq!(run["crash_info"]["exit_code"], 3, "{run}");
    // Bad runs are refused before anything is made.
    for (bad, status, says) in refused_run_bodies(&api.repo) {
        let (code, answer) = api.post("/run", &bad);
        assert_eq!(code, status, "{bad}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{bad}: {answer}"
        );
    }
    let sessions = api.env.run(&["list", "--json"]).ok().stdout;
    let sessions: Value = serde_json::from_str(&sessions).unwrap();
    assert_eq!(
        sessions.as_array().unwrap().len(),
        1,
        "only the crashed run: {sessions}"
    );
}

#[test]
fn runs_past_the_limit_get_429_and_a_slow_one_times_out() {
    if !docker_ready() {
        return;
    }
    let (env, port) = api_env("max_concurrent_runs = 1\n");
    let t = token(&env);
    let repo = env.repo().to_string_lossy().to_string();
    // post_start holds the agent back: the run outlives its 10 s timeout
    // (long enough for the create to finish on two loaded cores, so that the
    // timeout ends the agent's wait, not the create: that case is the test
    // below).
    let slow = json!({"prompt": "x", "repo": repo, "docker": {
        "image": BASE_IMAGE, "timeout": "10s", "lifecycle": {"post_start": ["sleep 60"]}}})
    .to_string();
    let first = {
        let (slow, t) = (slow.clone(), t.clone());
        std::thread::spawn(move || call(port, "POST", "/run", Some(&t), &slow))
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, answer) = call(port, "POST", "/run", Some(&t), &slow);
    assert_eq!(code, 429, "{answer}");
    let (code, run) = first.join().unwrap();
    assert_eq!(
        (
            code,
            run["status"].as_str(),
            run["clauderon_status"].as_str()
        ),
        (200, Some("failed"), Some("timed_out")),
        "{run}"
    );
    assert!(
        run["crash_info"]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{run}"
    );
    let name = run["session"].as_str().unwrap();
    let state = env.run(&["status", "--json", name]).ok().stdout;
    assert!(
        state.contains("\"exited\""),
        "stopped after the timeout: {state}"
    );
}

#[test]
fn a_run_whose_timeout_ends_during_its_create_is_rolled_back_entirely() {
    if !docker_ready() {
        return;
    }
    let (env, port) = api_env("");
    let t = token(&env);
    let body = json!({"prompt": "x", "docker": {"image": BASE_IMAGE, "timeout": "2s",
        "lifecycle": {"on_create_command": ["sleep 20"]}}});
    let started = std::time::Instant::now();
    let (code, run) = call(port, "POST", "/run", Some(&t), &body.to_string());
    assert_eq!(
        (
            code,
            run["status"].as_str(),
            run["clauderon_status"].as_str()
        ),
        (200, Some("failed"), Some("timed_out")),
        "{run}"
    );
    assert!(
        run["error"].as_str().unwrap().contains("timed out"),
        "{run}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // Nothing of it is left: no session, no container, no scratch repository.
    assert_eq!(env.run(&["list", "--json"]).ok().stdout.trim(), "[]");
    crate::common::api::assert_no_scratch_left(&env);
}
