//! A session's own proxy policy, changed live, with real curl in a real
//! Docker container through the daemon's proxy: `policy NAME allow|deny|
//! reset`, config.toml edits applied without a restart (an invalid edit
//! keeps the old policy), and `--policy learn` then `--suggest`.

use crate::common::upstream::{Upstream, test_pki_for};
use crate::common::{Env, docker, docker_ready, unique};

struct Setup {
    env: Env,
    _upstream: Upstream,
    _dir: tempfile::TempDir,
    config: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki_for(dir.path(), &["tunnel.test", "other.test"]);
    let upstream = Upstream::start(dir.path(), &cert, &key, dir.path(), "");
    let env = Env::new();
    let at = format!("127.0.0.1:{}", upstream.port);
    let config = format!(
        "[daemon]\nhttp_port = 0\n[proxy]\nport = 0\nupstream_ca_file = {ca:?}\n#POLICY\n[proxy.resolve]\n\"tunnel.test\" = \"{at}\"\n\"other.test\" = \"{at}\"\n"
    );
    std::fs::write(env.home().join("config.toml"), &config).unwrap();
    Setup {
        env,
        _upstream: upstream,
        _dir: dir,
        config,
    }
}

/// The CONNECT status curl gets for `https://HOST/` (403: refused).
fn connect_code(container: &str, host: &str) -> String {
    let script = format!("curl -s -o /dev/null -w '%{{http_connect}}' https://{host}/");
    let out = docker(&["exec", container, "bash", "-c", &script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Polls until `host` answers `want` (the proxy re-reads within a second).
fn wait_for(container: &str, host: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..40 {
        last = connect_code(container, host);
        if last == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("{host}: CONNECT answered {last}, not {want}");
}

#[test]
fn policy_commands_and_config_edits_apply_live() {
    if !docker_ready() {
        return;
    }
    let s = setup();
    let name = unique("pol");
    s.env
        .create(
            &name,
            "x",
            &[
                "--deny-host",
                "other.test",
                "--allow-host",
                "nowhere.invalid",
            ],
        )
        .ok();
    s.env.wait_for_runs(&name, 1);
    let c = format!("clauderon-{name}");
    assert_eq!(connect_code(&c, "tunnel.test"), "200");
    assert_eq!(connect_code(&c, "other.test"), "403");
    // allowed by --allow-host: past the policy, it fails only to resolve.
    assert_eq!(connect_code(&c, "nowhere.invalid"), "502");
    let status = s.env.run(&["status", &name]).ok().stdout;
    assert!(
        status.contains("allow nowhere.invalid (session)")
            && status.contains("deny other.test (session)"),
        "{status}"
    );

    s.env.run(&["policy", &name, "deny", "tunnel.test"]).ok();
    wait_for(&c, "tunnel.test", "403");
    s.env.run(&["policy", &name, "allow", "other.test"]).ok();
    wait_for(&c, "other.test", "200");
    s.env.run(&["policy", &name, "reset"]).ok();
    wait_for(&c, "tunnel.test", "200");
    assert_eq!(connect_code(&c, "nowhere.invalid"), "403");
    let shown = s.env.run(&["--json", "policy", &name]).ok().stdout;
    assert!(shown.contains("\"allow_hosts\": []"), "{shown}");

    // config.toml edits apply live; an invalid one keeps the old policy.
    let with = |line: &str| s.config.replace("#POLICY", line);
    let config = s.env.home().join("config.toml");
    std::fs::write(&config, with("deny_hosts = [\"tunnel.test\"]")).unwrap();
    wait_for(&c, "tunnel.test", "403");
    std::fs::write(&config, with("deny_hosts = [\"not a host\"]")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        connect_code(&c, "tunnel.test"),
        "403",
        "the old policy is kept"
    );
    let log = std::fs::read_to_string(s.env.home().join("daemon.log")).unwrap_or_default();
    assert!(log.contains("keeps its previous policy"), "{log}");
    std::fs::write(&config, with("")).unwrap();
    wait_for(&c, "tunnel.test", "200");

    // Bad input: a clear error, exit 2, nothing changed.
    for args in [
        vec!["policy", &name, "allow", "$(id)"],
        vec!["policy", &name, "allow"],
        vec!["policy", &name, "reset", "x.test"],
    ] {
        let r = s.env.run(&args).fails();
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = s
        .env
        .run(&["policy", "no-such-session", "allow", "a.test"])
        .fails();
    assert!(r.stderr.contains("no session"), "{}", r.stderr);
}

#[test]
fn learn_then_suggest_prints_the_hosts_used() {
    if !docker_ready() {
        return;
    }
    let s = setup();
    let name = unique("learn");
    s.env.create(&name, "x", &["--policy", "learn"]).ok();
    s.env.wait_for_runs(&name, 1);
    let c = format!("clauderon-{name}");
    assert_eq!(connect_code(&c, "tunnel.test"), "200");
    assert_eq!(connect_code(&c, "other.test"), "200");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = s.env.run(&["policy", &name, "--suggest"]).ok().stdout;
    assert!(
        out.contains("policy = \"locked\"\nallow_hosts = [\"other.test\", \"tunnel.test\"]\n"),
        "{out}"
    );
    let status = s.env.run(&["status", &name]).ok().stdout;
    assert!(status.contains("learn (session)"), "{status}");
}
