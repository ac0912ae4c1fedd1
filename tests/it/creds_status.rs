//! A status that tells the truth, with a real daemon and a real container:
//! the proxy's recent denials (`blocked`) and failures (`offline`) in
//! `list` and `status`, a daemon without the agent's credential
//! (`no-credential`, said at start too), and a daemon that is down.

use crate::common::{Env, docker, docker_ready, unique};

fn curl(container: &str, url: &str) {
    let script = format!("curl -s -o /dev/null {url}");
    docker(&["exec", container, "bash", "-c", &script]);
}

#[test]
fn list_and_status_say_blocked_offline_no_credential_and_daemon_down() {
    if !docker_ready() {
        return;
    }
    let mut env = Env::new();
    // No agent credential anywhere, whatever this shell has.
    for var in ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"] {
        env.extra_env.push((var.into(), String::new()));
    }
    let config = env.home().join("config.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    // down.test points at a closed port: its connections fail.
    std::fs::write(
        &config,
        format!("{base}deny_hosts = [\"denied.test\"]\n[proxy.resolve]\n\"down.test\" = \"127.0.0.1:9\"\n"),
    )
    .unwrap();
    let name = unique("truth");
    let created = env.create(&name, "x", &[]).ok();
    assert!(
        created.stderr.contains("ANTHROPIC_API_KEY"),
        "{}",
        created.stderr
    );
    env.wait_for_runs(&name, 1);
    let c = format!("clauderon-{name}");
    let list = env.run(&["list"]).ok().stdout;
    assert!(list.contains("no-credential"), "{list}");
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("no-credential: export ANTHROPIC_API_KEY")
            && status.contains("daemon restart"),
        "{status}"
    );

    curl(&c, "https://denied.test/");
    curl(&c, "https://denied.test/");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let list = env.run(&["list"]).ok().stdout;
    assert!(list.contains("blocked: 2 denied (denied.test)"), "{list}");
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("Proxy      blocked: 2 denied (denied.test) in the last minute; last: denied.test is refused by [proxy] deny_hosts"),
        "{status}"
    );

    let other = unique("truth2");
    env.create(&other, "x", &[]).ok();
    env.wait_for_runs(&other, 1);
    curl(&format!("clauderon-{other}"), "https://down.test/");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let list = env.run(&["--json", "list"]).ok().stdout;
    assert!(list.contains("offline: down.test unreachable"), "{list}");

    // An agent that ended, then start: never `ended` while it runs again;
    // and start says the credential is missing too.
    env.stub_control(&other, "SessionEnd");
    let agent_status = |env: &Env| {
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&env.run(&["--json", "list"]).ok().stdout).unwrap();
        let row = rows
            .iter()
            .find(|r| r["name"] == other.as_str())
            .unwrap()
            .clone();
        (
            row["state"].as_str().unwrap_or("").to_string(),
            row["agent_status"].as_str().unwrap_or("").to_string(),
        )
    };
    for _ in 0..50 {
        if agent_status(&env).1 == "ended" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(agent_status(&env).1, "ended");
    env.run(&["stop", &other]).ok();
    let started = env.run(&["start", &other]).ok();
    let (state, agent) = agent_status(&env);
    assert!(state != "running" || agent != "ended", "{state} {agent}");
    assert!(
        started.stderr.contains("ANTHROPIC_API_KEY") && started.stderr.contains("daemon restart"),
        "{}",
        started.stderr
    );

    // The daemon down: statuses are as last seen, and list says when.
    env.run(&["daemon", "stop"]).ok();
    let list = env.run(&["list"]).ok();
    assert!(
        list.stderr.contains("the clauderon daemon is not running")
            && list.stderr.contains("as last seen"),
        "{}",
        list.stderr
    );
}
