//! `--json`: every command that takes `--dry-run` prints its plan as JSON
//! (argv arrays, files, undo steps; secrets redacted), results come as JSON
//! where scripts need them, and `--json` where there is none is refused.
//! No engine is needed: the engine is pointed at a socket that is not there.

use crate::common::filters::snapshot;
use crate::common::{Env, fake_session};
use serde_json::Value;

fn engine_down() -> Env {
    let mut env = Env::new();
    env.extra_env.push((
        "DOCKER_HOST".into(),
        "unix:///nonexistent/docker.sock".into(),
    ));
    env.extra_env.push((
        "CONTAINER_HOST".into(),
        "unix:///nonexistent/podman.sock".into(),
    ));
    env
}

/// The JSON a command printed, with this run's paths made stable.
fn json_of(env: &Env, args: &[&str]) -> String {
    let r = env.run(args).ok();
    let parsed: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", r.stdout));
    let text = serde_json::to_string_pretty(&parsed).unwrap();
    text.replace(&env.home().to_string_lossy().to_string(), "[HOME]")
        .replace(&env.repo().to_string_lossy().to_string(), "[REPO]")
        .replace(env!("CARGO_BIN_EXE_clauderon"), "[CLAUDERON]")
}

/// A session record and its worktree; its (random) id.
fn session(env: &Env, name: &str) -> String {
    let id = fake_session(env, name, "token-never-shown-0123456789");
    std::fs::create_dir_all(env.worktree(name)).unwrap();
    id
}

#[test]
fn session_commands_print_their_plans_as_json() {
    let env = engine_down();
    let id = session(&env, "web");
    for args in [
        ["attach", "web"],
        ["stop", "web"],
        ["start", "web"],
        ["refresh", "web"],
        ["delete", "web"],
    ] {
        let mut argv = args.to_vec();
        argv.extend(["--dry-run", "--json"]);
        let out = json_of(&env, &argv).replace(&id, "[ID]");
        assert!(!out.contains("token-never-shown"), "{out}");
        snapshot!(format!("{}_dry_run_json", args[0]), out);
    }
}

#[test]
fn home_commands_print_their_plans_as_json() {
    let env = engine_down();
    let agent = env.home().join("agent-binary");
    std::fs::write(&agent, b"\x7fELF stand-in").unwrap();
    let agent = agent.to_string_lossy().to_string();
    let cases: [(&str, Vec<&str>); 7] = [
        ("daemon_start", vec!["daemon", "start"]),
        ("daemon_stop", vec!["daemon", "stop"]),
        ("daemon_restart", vec!["daemon", "restart"]),
        ("proxy_ca_rotate", vec!["proxy", "ca", "--rotate"]),
        ("image_pull", vec!["image", "pull", "alpine:3"]),
        (
            "clean_cache_force",
            vec!["clean-cache", "--force", "--backend", "docker"],
        ),
        (
            "agent_image_build",
            vec!["agent-image", "build", "--from", &agent],
        ),
    ];
    for (snapshot, mut argv) in cases {
        argv.extend(["--dry-run", "--json"]);
        snapshot!(format!("{snapshot}_dry_run_json"), json_of(&env, &argv));
    }
}

#[test]
fn create_dry_run_json_has_every_step_and_no_secret() {
    let env = engine_down();
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "it's $(rm -rf /)",
            "--name",
            "j",
            "--env",
            "API_TOKEN=hunter2-secret",
            "--dry-run",
            "--json",
        ])
        .ok();
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["command"], "clauderon create j");
    assert!(!r.stdout.contains("hunter2-secret"), "{}", r.stdout);
    let steps = plan["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"write_file") && kinds.contains(&"verify_started"),
        "{kinds:?}"
    );
    // The engine call is an argv array, its undo too.
    let run = steps
        .iter()
        .find(|s| s["command"]["argv"][0] == "docker" && s["command"]["argv"][1] == "run")
        .expect("a docker run step");
    assert!(run["command"]["argv"].as_array().unwrap().len() > 10);
    assert!(!run["on_failure"].as_array().unwrap().is_empty(), "{run}");
    // The prompt is a file, byte for byte, never an argument.
    let prompt = steps
        .iter()
        .find(|s| s["contents"] == "it's $(rm -rf /)")
        .expect("the prompt file");
    assert_eq!(prompt["kind"], "write_file");
    // A secret file is never shown.
    assert!(
        steps
            .iter()
            .any(|s| s["secret"] == true && s["contents"].is_null())
    );
}

#[test]
fn results_come_as_json_where_scripts_need_them() {
    let env = engine_down();
    let config: Value =
        serde_json::from_str(&env.run(&["config", "show", "--json"]).ok().stdout).unwrap();
    let port = config["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "daemon" && s["key"] == "http_port")
        .unwrap();
    assert_eq!(port["value"], 0);
    assert!(port["source"].as_str().unwrap().ends_with("config.toml"));
    // A value written in the file is from the file, even when it is the default.
    let cfg = env.home().join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}[security]\npids_limit = 4096\n")).unwrap();
    let config: Value =
        serde_json::from_str(&env.run(&["config", "show", "--json"]).ok().stdout).unwrap();
    let pids = config["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "pids_limit")
        .unwrap();
    assert!(
        pids["source"].as_str().unwrap().ends_with("config.toml"),
        "{pids}"
    );
    let status: Value =
        serde_json::from_str(&env.run(&["daemon", "status", "--json"]).fails().stdout).unwrap();
    assert_eq!(status["running"], false);
    let volumes: Value =
        serde_json::from_str(&env.run(&["clean-cache", "--json"]).ok().stdout).unwrap();
    assert_eq!(volumes["volumes"], serde_json::json!([]));
    let ca: Value = serde_json::from_str(&env.run(&["proxy", "ca", "--json"]).ok().stdout).unwrap();
    assert_eq!(ca["sha256"].as_str().unwrap().len(), 95, "{ca}");
}

#[test]
fn json_where_there_is_none_is_refused() {
    let env = engine_down();
    session(&env, "web");
    for args in [
        vec!["stop", "web", "--json"],
        vec!["logs", "web", "--json"],
        vec!["daemon", "--json"],
        vec!["man", "--json"],
    ] {
        let r = env.run(&args).fails();
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("--json"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
    }
}

#[test]
fn quiet_leaves_out_the_chatter_but_not_results() {
    let env = engine_down();
    let r = env.run(&["-q", "proxy", "ca", "--rotate"]).ok();
    assert!(!r.stdout.contains("Rotated"), "{}", r.stdout);
    assert!(r.stdout.contains("sha256:"), "{}", r.stdout);
    let r = env.run(&["proxy", "ca", "--rotate"]).ok();
    assert!(r.stdout.contains("Rotated"), "{}", r.stdout);
}
