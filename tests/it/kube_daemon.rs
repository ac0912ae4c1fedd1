//! The in-cluster daemon without a cluster: a session created against the
//! recording stand-in kubectl, then the daemon COMMAND the Deployment
//! runs, really run here with the files of the Secret setup applied: a
//! request through its proxy gets the credential injected, a hook event
//! from the session's own hook script sets the status that `list` reads
//! back through the stand-in's `kubectl exec` (which runs the real
//! `clauderon daemon statuses`). `kube setup` itself: tests/it/kube_setup.rs.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::kube::{Kube, REAL_KEY, kube_with_credentials, object};
use crate::common::upstream::{Upstream, test_pki};
use serde_json::Value;

/// The daemon as the Deployment runs it, here: the Secret's files in
/// `dir`, its home in the stand-in's `daemon-home` (what `exec` reads).
struct Daemon {
    child: Child,
    hook_port: u16,
    proxy_port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(secret: &Value, dir: &Path, home: &Path, config: &str) -> Daemon {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        for (key, value) in secret["stringData"].as_object().unwrap() {
            let file = dir.join(key);
            std::fs::write(&file, value.as_str().unwrap()).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        std::fs::create_dir_all(home).unwrap();
        std::fs::write(home.join("config.toml"), config).unwrap();
        let args = [
            "daemon",
            "--cluster-dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1",
            "--http-port",
            "0",
            "--proxy-port",
            "0",
        ];
        // Nothing from this environment: the credentials are the files.
        let mut child = Command::new(env!("CARGO_BIN_EXE_clauderon"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("CLAUDERON_HOME", home)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let info = home.join("daemon.json");
        for _ in 0..100 {
            if let Ok(bytes) = std::fs::read(&info) {
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                return Daemon {
                    child,
                    hook_port: v["port"].as_u64().unwrap() as u16,
                    proxy_port: v["proxy_port"].as_u64().unwrap() as u16,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the in-cluster daemon did not start");
    }
}

fn env_value(pod: &Value, name: &str) -> Value {
    pod["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// curl through the daemon's proxy as the agent would: the session's
/// proxy URL (host replaced by where the daemon listens here), the
/// namespace CA from the session's ConfigMap, the placeholder key.
fn curl_through(proxy_url: &str, port: u16, ca: &Path, key: &str) -> (bool, String) {
    let proxy = proxy_url.replace("clauderon-daemon:3031", &format!("127.0.0.1:{port}"));
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(["--write-out", "\nHTTP %{http_code}"])
        .args(["--proxy", &proxy, "--cacert", ca.to_str().unwrap()])
        .args(["--header", &format!("x-api-key: {key}")])
        .arg("https://api.anthropic.com/v1/messages")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success() && text.contains("HTTP 200"), text)
}

/// A host the policy does not allow is refused (403), and the reason (the
/// daemon's audit log) does not send the user to a config.toml and a
/// `daemon restart` that the in-cluster daemon never reads.
fn refusal_names_the_in_cluster_policy(k: &Kube, proxy_url: &str, port: u16, ca: &Path) {
    let proxy = proxy_url.replace("clauderon-daemon:3031", &format!("127.0.0.1:{port}"));
    let out = Command::new("curl")
        .args(["--silent", "--max-time", "10", "--proxy", &proxy])
        .args([
            "--cacert",
            ca.to_str().unwrap(),
            "https://blocked.example.invalid/",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let audit = k.dir.path().join("daemon-home/audit.jsonl");
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.contains("blocked.example.invalid") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(text.contains("in-cluster daemon's proxy policy"), "{text}");
    assert!(!text.contains("daemon restart"), "{text}");
}

/// The session's files as the pod sees them (ConfigMap + Secret).
fn session_files(k: &Kube, name: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let map = object(k, "ConfigMap", &format!("clauderon-{name}-files"));
    let secret = object(k, "Secret", &format!("clauderon-{name}"));
    for data in [&map["data"], &secret["stringData"]] {
        for (key, value) in data.as_object().unwrap() {
            std::fs::write(dir.join(key), value.as_str().unwrap()).unwrap();
        }
    }
    dir.to_path_buf()
}

fn agent_status(k: &Kube, name: &str) -> (Value, String) {
    let out = k.env.run(&["list", "--json"]).ok();
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()
        .clone();
    (row["agent_status"].clone(), out.stderr)
}

/// A proxy-mode session created against the stand-in: its pod is wired
/// as on Docker, to the daemon's Service. Returns (record, placeholder).
fn proxy_mode_session(k: &Kube, name: &str) -> (Value, String) {
    let out = k.create(name, "work", &[]).ok();
    assert!(!out.stderr.contains("reaches nothing"), "{}", out.stderr);
    let pod = object(k, "Pod", &format!("clauderon-{name}"));
    let proxy = env_value(&pod, "HTTPS_PROXY");
    assert_eq!(proxy["valueFrom"]["secretKeyRef"]["key"], "proxy-url");
    let placeholder = env_value(&pod, "ANTHROPIC_API_KEY")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(placeholder.contains("clauderon-proxy-placeholder"));
    assert_eq!(
        env_value(&pod, "CLAUDERON_HOST")["value"],
        "clauderon-daemon"
    );
    let path = k.env.home().join(format!("sessions/{name}/session.json"));
    let record: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let token = record["hook_token"].as_str().unwrap();
    for (argv, _) in k.calls() {
        let line = argv.join(" ");
        assert!(!line.contains(token) && !line.contains(REAL_KEY), "{line}");
    }
    (record, placeholder)
}

/// The upstream (playing api.anthropic.com), and the daemon run with the
/// Secret setup applied, its home where the stand-in's `exec` reads.
fn daemon_and_upstream(k: &Kube, scratch: &Path) -> (Daemon, Upstream) {
    let (upstream_ca, cert, key) = test_pki(scratch);
    let git_root = scratch.join("git");
    std::fs::create_dir_all(&git_root).unwrap();
    let upstream = Upstream::start(scratch, &cert, &key, &git_root, "unused");
    let config = format!(
        "[proxy]\nupstream_ca_file = {:?}\n[proxy.resolve]\n\"api.anthropic.com\" = \"127.0.0.1:{}\"\n",
        upstream_ca.to_str().unwrap(),
        upstream.port
    );
    let secret = object(k, "Secret", "clauderon-daemon");
    let home = k.dir.path().join("daemon-home");
    let daemon = Daemon::start(&secret, &scratch.join("daemon-secret"), &home, &config);
    (daemon, upstream)
}

#[test]
fn a_proxy_mode_session_reaches_the_in_cluster_daemon_which_injects_and_reports() {
    let k = kube_with_credentials();
    let (record, placeholder) = proxy_mode_session(&k, "kp");
    let scratch = tempfile::tempdir().unwrap();
    let (daemon, upstream) = daemon_and_upstream(&k, scratch.path());
    let files = session_files(&k, "kp", &scratch.path().join("session"));
    let proxy_url = std::fs::read_to_string(files.join("proxy-url")).unwrap();

    // Through the proxy: the placeholder is swapped for the Secret's key.
    let ca = files.join("proxy-ca.pem");
    let (ok, text) = curl_through(&proxy_url, daemon.proxy_port, &ca, &placeholder);
    assert!(ok, "{text}");
    let seen = upstream.requests();
    assert_eq!(seen.last().unwrap()["headers"]["x-api-key"], REAL_KEY);
    // Another session's name with this token is refused (407).
    let forged = proxy_url.replacen("//kp:", "//other:", 1);
    let (ok, text) = curl_through(&forged, daemon.proxy_port, &ca, &placeholder);
    assert!(!ok && text.contains("407"), "{text}");
    refusal_names_the_in_cluster_policy(&k, &proxy_url, daemon.proxy_port, &ca);

    // A hook event sets the status list reads back, in one call: the
    // session's own hook script (from its ConfigMap), as Claude Code runs it.
    assert_eq!(agent_status(&k, "kp").0, "starting");
    let event = r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","session_id":"c1"}"#;
    let id = record["id"].as_str().unwrap();
    let (code, _, _) = common::run_hook_script(&files, "kp", id, daemon.hook_port, event);
    assert_eq!(code, 0);
    let before = k.calls().len();
    let (status, stderr) = agent_status(&k, "kp");
    assert_eq!(status, "working", "{stderr}");
    let asked = k.calls()[before..]
        .iter()
        .filter(|(a, _)| a.contains(&"statuses".to_string()))
        .count();
    assert_eq!(asked, 1, "one call to the daemon per list");
    let out = k.env.run(&["events", "kp"]).ok();
    let shown = &out.stdout;
    assert!(
        shown.contains("PreToolUse") && shown.contains("Bash"),
        "{shown}"
    );
    let out = k.env.run(&["status", "kp"]).ok();
    assert!(out.stdout.contains("working"), "{}", out.stdout);
}

/// A daemon call whose stream opened and then stalls ends at the time
/// limit: `list` still answers, with the warning.
#[test]
fn a_stalled_daemon_call_is_cut_off_and_list_still_answers() {
    let k = kube_with_credentials();
    k.create("kh1", "work", &[]).ok();
    k.set("daemon-hangs", "");
    let started = std::time::Instant::now();
    let out = k.env.run(&["list", "--json"]).ok();
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(20),
        "list took {took:?}"
    );
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
}

#[test]
fn an_unreachable_daemon_warns_once_and_the_sessions_are_still_listed() {
    let k = kube_with_credentials();
    k.create("ku1", "work", &[]).ok();
    k.create("ku2", "work", &[]).ok();
    common::fake_session(&k.env, "dock-u", "tok");
    k.set("daemon-unreachable", "");
    let before = k.calls().len();
    let out = k.env.run(&["list", "--json"]).ok();
    // One warning for the cluster (the local daemon, not running here, has
    // its own about the Docker session's status).
    assert_eq!(
        out.stderr.matches("in-cluster daemon").count(),
        1,
        "{}",
        out.stderr
    );
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows.iter().filter(|r| r["backend"] == "kubernetes") {
        assert_eq!(r["state"], "running", "{r}");
        assert!(r["agent_status"].is_null(), "unknown, not made up: {r}");
    }
    let calls = &k.calls()[before..];
    assert_eq!(calls.len(), 2, "one get pods, one exec: {calls:?}");
}
