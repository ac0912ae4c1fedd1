//! The audit log is a hash chain: editing, deleting or reordering one line
//! makes `proxy log --verify` fail naming the line; `GET /metrics` needs
//! the API token and parses as the Prometheus text format.

use crate::common::api::{call, start_api, token};
use crate::common::books::{Models, messages_call};
use crate::common::fake_session;

const TOKEN: &str = "audit-token";

/// A home with a few audited requests, its daemon stopped (all written).
fn audited(models: &Models) -> crate::common::Env {
    let env = models.env("");
    fake_session(&env, "aud", TOKEN);
    for model in ["claude-sonnet-4-5", "claude-haiku-4-5", "x", "y"] {
        assert_eq!(messages_call(&env, "aud", TOKEN, model, false).0, 0);
    }
    env.run(&["daemon", "stop"]).ok();
    env
}

fn verify(env: &crate::common::Env) -> crate::common::Run {
    env.run(&["proxy", "log", "--verify"])
}

fn tamper(env: &crate::common::Env, change: impl Fn(&mut Vec<String>)) -> String {
    let path = env.home().join("audit.jsonl");
    let kept = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = kept.lines().map(String::from).collect();
    change(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = verify(env).fails().stderr;
    std::fs::write(&path, kept).unwrap();
    verify(env).ok();
    err
}

#[test]
fn editing_deleting_or_reordering_an_audit_line_is_named() {
    let models = Models::start();
    let env = audited(&models);
    let ok = verify(&env).ok().stdout;
    assert!(ok.contains("intact: 4 entries"), "{ok}");
    let edited = tamper(&env, |l| {
        l[1] = l[1].replace("\"status\":200", "\"status\":201")
    });
    assert!(
        edited.contains("line 2 of audit.jsonl (entry 2) was changed"),
        "{edited}"
    );
    let deleted = tamper(&env, |l| {
        l.remove(1);
    });
    assert!(
        deleted.contains("line 2 of") && deleted.contains("removed"),
        "{deleted}"
    );
    let reordered = tamper(&env, |l| l.swap(1, 2));
    assert!(
        reordered.contains("line 2 of") && reordered.contains("removed or moved"),
        "{reordered}"
    );
    let last = tamper(&env, |l| l[3] = l[3].replace("POST", "GET"));
    assert!(
        last.contains("line 4 of") && last.contains("newest"),
        "{last}"
    );
    let cut = tamper(&env, |l| {
        l.pop();
    });
    assert!(cut.contains("newest entries were removed"), "{cut}");
    // Rotation keeps the chain: the old file and the new one verify as one.
    let path = env.home().join("audit.jsonl");
    std::fs::rename(&path, env.home().join("audit.jsonl.1")).unwrap();
    fake_session(&env, "aud2", TOKEN);
    assert_eq!(messages_call(&env, "aud2", TOKEN, "z", false).0, 0);
    env.run(&["daemon", "stop"]).ok();
    let ok = verify(&env).ok().stdout;
    assert!(ok.contains("intact: 5 entries"), "{ok}");
}

#[test]
fn metrics_need_the_token_and_parse_as_prometheus_text() {
    let models = Models::start();
    let port = crate::common::api::free_port();
    let env = models.env(&format!("[api]\nlisten = \"127.0.0.1:{port}\"\n"));
    start_api(&env, port);
    let s = "metered";
    fake_session(&env, s, TOKEN);
    assert_eq!(
        messages_call(&env, s, TOKEN, "claude-sonnet-4-5", true).0,
        0
    );
    assert_eq!(messages_call(&env, s, TOKEN, "odd\"model\\", false).0, 0);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(call(port, "GET", "/metrics", None, "").0, 401);
    assert_eq!(call(port, "GET", "/metrics", Some("wrong"), "").0, 401);
    let (code, page) = call(port, "GET", "/metrics", Some(&token(&env)), "");
    assert_eq!(code, 200);
    let page = page.as_str().unwrap().to_string();
    let parsed = parse_prometheus(&page);
    let sample = |name: &str, labels: &[(&str, &str)]| -> f64 {
        parsed
            .iter()
            .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
            .unwrap_or_else(|| panic!("no {name} {labels:?} in {page}"))
            .2
    };
    assert_eq!(
        sample("clauderon_proxy_requests_total", &[("session", s)]),
        2.0
    );
    let tokens = [
        ("session", s),
        ("model", "claude-sonnet-4-5"),
        ("kind", "input"),
    ];
    assert_eq!(sample("clauderon_model_tokens_total", &tokens), 25.0);
    assert_eq!(
        sample(
            "clauderon_model_requests_total",
            &[("session", s), ("model", "odd\"model\\")]
        ),
        1.0
    );
    assert!(
        sample(
            "clauderon_model_cost_usd_total",
            &[("session", s), ("model", "claude-sonnet-4-5")]
        ) > 0.0
    );
    assert_eq!(sample("clauderon_session_status", &[("session", s)]), 1.0);
}

/// (name, labels, value) of every sample, as prometheus_client's parser reads them.
fn parse_prometheus(page: &str) -> Vec<(String, serde_json::Value, f64)> {
    use std::io::Write;
    let script = "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\nout = []\nfor f in text_string_to_metric_families(sys.stdin.read()):\n    for s in f.samples:\n        out.append([s.name, s.labels, s.value])\nprint(json.dumps(out))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse:\n{page}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, serde_json::Value, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    rows
}
