//! docs/json.md is the reference of every `--json` shape: each field its
//! tables name must be in the real output (issue 20, item 12).

use crate::common;

use crate::common::{Env, docker_ready, unique};
use serde_json::Value;

/// (the section's command, the fields of its table), from docs/json.md.
fn documented() -> Vec<(String, Vec<String>)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            sections.push((title.trim_matches('`').to_string(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("| `")
            && let Some((field, _)) = rest.split_once('`')
            && let Some(last) = sections.last_mut()
        {
            last.1.push(field.to_string());
        }
    }
    sections
}

fn json(run: common::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// The first object of an array (the shape of each element).
fn first(v: Value) -> Value {
    match v {
        Value::Array(items) => items.into_iter().next().expect("a non-empty array"),
        other => other,
    }
}

/// A session with one hook event and one audit entry, without an engine.
fn offline_env() -> Env {
    let env = Env::new();
    common::fake_session(&env, "documented", "token");
    let event = r#"{"event":"SessionStart","agent_session_id":"a","received_at":1}"#;
    std::fs::write(
        env.home().join("sessions/documented/events.jsonl"),
        format!("{event}\n"),
    )
    .unwrap();
    let entry = r#"{"time_ms":1,"session":"documented","method":"GET","host":"api.github.com","path":"/","status":200,"credential":"injected","duration_ms":3}"#;
    std::fs::write(env.home().join("audit.jsonl"), format!("{entry}\n")).unwrap();
    env
}

/// The real output of `section`'s command, or None where it needs Docker
/// and there is none (skipped outside CI; common::docker_ready panics in CI).
fn output(section: &str, env: &Env, session: Option<&str>) -> Option<Value> {
    Some(match section {
        "clauderon events NAME --json" => {
            first(json(env.run(&["events", "documented", "--json"]).ok()))
        }
        "clauderon proxy log --json" => first(json(env.run(&["proxy", "log", "--json"]).ok())),
        "clauderon doctor --json" => first(json(env.run(&["doctor", "--json"]))),
        "--dry-run --json" => json(super::newuser_everyday::kube_dry_run_json(env).ok()),
        "clauderon list --json" => {
            let rows = json(env.run(&["list", "--json"]).ok());
            let name = session?;
            rows.as_array()?.iter().find(|r| r["name"] == name)?.clone()
        }
        "clauderon status NAME --json" => json(env.run(&["status", session?, "--json"]).ok()),
        "clauderon image list --json" if session.is_some() => {
            first(json(env.run(&["image", "list", "--json"]).ok()))
        }
        "clauderon image list --json" => return None,
        other => panic!("docs/json.md documents {other:?}: add its check here"),
    })
}

#[test]
fn every_documented_field_is_in_the_real_output() {
    let sections = documented();
    assert!(sections.len() >= 7, "{sections:?}");
    let env = offline_env();
    // A real session on Docker for list, status and image list.
    let session = docker_ready().then(|| unique("nudoc"));
    if let Some(name) = &session {
        env.create(name, "work", &[]).ok();
    }
    for (section, fields) in &sections {
        if fields.is_empty() {
            continue;
        }
        let Some(value) = output(section, &env, session.as_deref()) else {
            eprintln!("SKIPPED {section}: needs Docker");
            continue;
        };
        for field in fields {
            assert!(
                value.get(field).is_some(),
                "{section}: no {field:?} in {value}"
            );
        }
    }
    if let Some(name) = &session {
        env.run(&["delete", name, "--force"]).ok();
    }
}
