//! Ask mode with real curl in a real Docker container: a connection to a
//! host outside the policy is held (`waiting-approval` in list and
//! status), `approve --once` lets it through, `deny` refuses it, a timeout
//! refuses it, the cap holds, and `approve --always` writes config.toml.
//! The hosts do not resolve, so a request that got past the policy ends in
//! a 502 (cannot resolve), one refused by it in a 403.

use std::time::{Duration, Instant};

use crate::common::{Env, docker, docker_ready, unique};
use serde_json::Value;

fn exec(container: &str, script: &str) -> String {
    let out = docker(&["exec", container, "bash", "-c", script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Starts `curl https://HOST/` in the container in the background; its
/// CONNECT status and body land in /tmp/HOST.code and /tmp/HOST.body.
fn curl_in_background(container: &str, host: &str, tag: &str) {
    let script = format!(
        "(curl -s -o /tmp/{tag}.body -w '%{{http_connect}}' https://{host}/ > /tmp/{tag}.code.tmp; mv /tmp/{tag}.code.tmp /tmp/{tag}.code) >/dev/null 2>&1 &"
    );
    exec(container, &script);
}

fn result(container: &str, tag: &str, within: Duration) -> String {
    let started = Instant::now();
    while started.elapsed() < within {
        let code = exec(container, &format!("cat /tmp/{tag}.code 2>/dev/null"));
        if !code.is_empty() {
            return code;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("curl {tag} did not finish within {within:?}");
}

fn held(env: &Env, name: &str) -> Vec<String> {
    let path = env
        .home()
        .join(format!("sessions/{name}/approvals/held.json"));
    let list: Vec<Value> = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    list.iter()
        .map(|h| h["host"].as_str().unwrap().to_string())
        .collect()
}

fn wait_held(env: &Env, name: &str, n: usize) {
    for _ in 0..100 {
        if held(env, name).len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{n} requests never waited: {:?}", held(env, name));
}

#[test]
fn ask_mode_holds_until_approved_denied_or_timed_out() {
    if !docker_ready() {
        return;
    }
    let env = Env::new();
    let config = env.home().join("config.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{base}approval_timeout = 4\n")).unwrap();
    let name = unique("ask");
    env.create(&name, "x", &["--policy", "ask"]).ok();
    env.wait_for_runs(&name, 1);
    let c = format!("clauderon-{name}");

    // Held: listed and shown, then approved once: past the policy.
    curl_in_background(&c, "first.invalid", "first");
    wait_held(&env, &name, 1);
    let list: Vec<Value> = serde_json::from_str(&env.run(&["--json", "list"]).ok().stdout).unwrap();
    let row = list.iter().find(|r| r["name"] == name.as_str()).unwrap();
    assert_eq!(row["agent_status"], "waiting-approval", "{row}");
    assert!(
        row["proxy"].as_str().unwrap().contains("first.invalid"),
        "{row}"
    );
    let status = env.run(&["status", &name]).ok().stdout;
    assert!(status.contains("held: first.invalid"), "{status}");
    env.run(&["approve", &name, "first.invalid"]).ok();
    assert_eq!(result(&c, "first", Duration::from_secs(5)), "502");

    // deny: refused at once.
    curl_in_background(&c, "second.invalid", "second");
    wait_held(&env, &name, 1);
    let started = Instant::now();
    env.run(&["deny", &name, "second.invalid"]).ok();
    assert_eq!(result(&c, "second", Duration::from_secs(3)), "403");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Nobody answers: refused when approval_timeout ends.
    let started = Instant::now();
    curl_in_background(&c, "third.invalid", "third");
    assert_eq!(result(&c, "third", Duration::from_secs(10)), "403");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "held for the timeout"
    );
    assert!(held(&env, &name).is_empty());

    // The cap: eight wait, the ninth is refused at once.
    for i in 0..8 {
        curl_in_background(&c, "cap.invalid", &format!("cap{i}"));
    }
    wait_held(&env, &name, 8);
    curl_in_background(&c, "cap.invalid", "cap8");
    assert_eq!(result(&c, "cap8", Duration::from_secs(2)), "403");

    // approve with nothing waiting: bad input; --always writes config.toml.
    let r = env.run(&["approve", &name, "nothing.invalid"]).fails();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = env
        .run(&["approve", &name, "always.invalid", "--always"])
        .ok();
    assert!(
        r.stdout.contains("config.toml (line ") || r.stderr.contains("config.toml (line "),
        "{}{}",
        r.stdout,
        r.stderr
    );
    std::thread::sleep(Duration::from_millis(1500)); // the daemon re-reads within a second
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("allow_hosts = [\"always.invalid\"]"),
        "{written}"
    );
    assert_eq!(
        exec(
            &c,
            "curl -s -o /dev/null -w '%{http_connect}' https://always.invalid/"
        ),
        "502"
    );
    // Plain HTTP to it fails the same way: unreachable (502), not denied.
    assert_eq!(
        exec(
            &c,
            "curl -s -o /dev/null -w '%{http_code}' http://always.invalid/"
        ),
        "502"
    );
    // Twice: already there, and the file is left as it was.
    let again = env
        .run(&["approve", &name, "always.invalid", "--always"])
        .ok();
    assert!(
        again.stdout.contains("already in [proxy] allow_hosts"),
        "{}",
        again.stdout
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
}

/// A connection the proxy holds in ask mode is news too: `[notify]` runs
/// with `waiting-approval`, as it does for the agent's own permission prompt.
#[test]
fn a_connection_held_for_approval_notifies() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("records");
    std::fs::create_dir(&rec).unwrap();
    let env = crate::attention::notify_env(&rec, 0);
    let name = unique("asknotify");
    env.create(&name, "x", &["--policy", "ask"]).ok();
    env.wait_for_runs(&name, 1);
    let container = format!("clauderon-{name}");
    let held = crate::common::docker(&[
        "exec",
        "-d",
        &container,
        "curl",
        "-s",
        "https://held.invalid/",
    ]);
    assert!(held.status.success());
    crate::attention::wait_until(
        "a waiting-approval notification",
        Duration::from_secs(15),
        || {
            crate::attention::records(&rec)
                .iter()
                .any(|r| r[0] == name && r[1] == "waiting-approval")
        },
    );
    env.run(&["deny", &name, "held.invalid"]).ok();
    env.run(&["delete", "--force", &name]).ok();
}
