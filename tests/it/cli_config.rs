//! config.toml without an engine: errors name the key and the file, `config
//! show` says where each value comes from and flags override it, and a
//! broken file does not stop `daemon stop` or `delete`.

use crate::common;

use crate::common::filters::{snapshot, transcript};
use crate::common::{Env, engine_down};

#[test]
fn config_errors_name_the_key_and_file() {
    let env = Env::new();
    let cfg = env.home().join("config.toml");
    std::fs::write(&cfg, "[docker]\ndefault_imag = \"x\"\n").unwrap();
    let mut shown = transcript(&["list"], &env.run(&["list"]).fails());
    std::fs::write(&cfg, "[docker.limits]\ncpu = \"many\"\n").unwrap();
    let args = ["config", "show"];
    shown.push_str(&transcript(&args, &env.run(&args).fails()));
    snapshot!(shown);
}

/// `create --dry-run` takes image, pull policy and limits from the config
/// file, and its flags override each.
fn assert_flags_override_the_config(env: &Env) {
    let repo = env.repo().to_string_lossy().to_string();
    let r = env
        .run(&["create", "--repo", &repo, "--prompt", "x", "--dry-run"])
        .ok();
    assert!(
        r.stdout
            .contains("--entrypoint /opt/clauderon/init example/agent:2"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("--pull always")
            && r.stdout.contains("--cpus 2")
            && r.stdout.contains("--memory 4g"),
        "{}",
        r.stdout
    );
    let r = env
        .run(&[
            "create",
            "--repo",
            &repo,
            "--prompt",
            "x",
            "--dry-run",
            "--image",
            "other:1",
            "--pull-policy",
            "never",
            "--cpu-limit",
            "500m",
            "--memory-limit",
            "2Gi",
        ])
        .ok();
    assert!(
        r.stdout
            .contains("--entrypoint /opt/clauderon/init other:1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("--pull never")
            && r.stdout.contains("--cpus 0.5")
            && r.stdout.contains("--memory 2g"),
        "{}",
        r.stdout
    );
}

#[test]
fn config_show_reports_sources_and_flags_override_config() {
    let mut env = Env::new();
    engine_down(&mut env);
    let r = env.run(&["config", "show"]).ok();
    assert!(
        r.stdout.contains("clauderon-agent:latest") && r.stdout.contains("built-in default"),
        "{}",
        r.stdout
    );
    std::fs::write(
        env.home().join("config.toml"),
        "[docker]\ndefault_image = \"example/agent:2\"\npull_policy = \"always\"\n[docker.limits]\ncpu = \"2\"\nmemory = \"4g\"\n",
    )
    .unwrap();
    let r = env.run(&["config", "show"]).ok();
    assert!(
        r.stdout.contains("\"example/agent:2\"") && r.stdout.contains("config.toml"),
        "{}",
        r.stdout
    );
    assert_flags_override_the_config(&env);
}

#[test]
fn a_broken_config_does_not_stop_stopping_or_deleting() {
    let mut env = Env::new();
    engine_down(&mut env);
    common::fake_session(&env, "brokencfg", "tok");
    std::fs::write(env.home().join("config.toml"), "[docker\n").unwrap();
    let r = env.run(&["list"]).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = env.run(&["daemon", "stop"]).ok();
    assert!(r.stderr.contains("built-in defaults"), "{}", r.stderr);
    let r = env.run(&["delete", "--force", "brokencfg"]).ok();
    assert!(r.stderr.contains("config.toml"), "{}", r.stderr);
    assert!(!env.home().join("sessions/brokencfg").exists());
}
