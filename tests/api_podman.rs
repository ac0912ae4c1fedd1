//! The HTTP API against real Podman: a run to completion, a job really
//! cancelled, and the sessions deleted with the CLI.

mod common;

use common::api::{api_env, call, token};
use common::{BASE_IMAGE, podman_ready};
use serde_json::{Value, json};

fn podman_state(session: &str) -> String {
    let out = std::process::Command::new("podman")
        .args(["inspect", "--format", "{{.State.Status}}"])
        .arg(format!("clauderon-{session}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn runs_and_jobs_go_to_podman_when_the_body_says_podman() {
    if !podman_ready() {
        return;
    }
    // Volumes from below [api] allowed_volume_roots.
    let data = tempfile::tempdir().unwrap();
    let d = data.path().canonicalize().unwrap().display().to_string();
    std::fs::create_dir_all(format!("{d}/ro")).unwrap();
    std::fs::create_dir_all(format!("{d}/rw")).unwrap();
    // The test image carries the stub agent: no agent CLI image is mounted.
    let (env, port) = api_env(&format!(
        "allowed_volume_roots = [\"{d}\"]\n[agent]\nmount_agent_cli = false\n"
    ));
    let t = token(&env);
    let repo = env.repo().to_string_lossy().to_string();
    let volumes = [format!("{d}/ro:/data"), format!("{d}/rw:/out:rw")];
    let body = json!({"prompt": "on podman", "repo": repo,
        "podman": {"image": BASE_IMAGE, "volumes": volumes}});
    let (code, run) = call(port, "POST", "/run", Some(&t), &body.to_string());
    assert_eq!(
        (code, run["status"].as_str()),
        (200, Some("completed")),
        "{run}"
    );
    assert!(
        run["output"]
            .as_str()
            .unwrap()
            .contains("stub answer to: on podman"),
        "{run}"
    );
    let name = run["session_id"].as_str().unwrap().to_string();
    let mounts = std::process::Command::new("podman")
        .args(["inspect", "--format", "{{json .Mounts}}"])
        .arg(format!("clauderon-{name}"))
        .output()
        .unwrap();
    let mounts: Value = serde_json::from_slice(&mounts.stdout).unwrap();
    for (source, dest, rw) in [
        (format!("{d}/ro"), "/data", false),
        (format!("{d}/rw"), "/out", true),
    ] {
        let found = mounts
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["Destination"] == dest);
        let m = found.unwrap_or_else(|| panic!("no mount at {dest}: {mounts}"));
        assert_eq!(
            (&m["Source"], &m["RW"]),
            (&json!(source), &json!(rw)),
            "{m}"
        );
    }
    let listed: Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(listed[0]["backend"], "podman", "{listed}");

    let slow = json!({"prompt": "x", "repo": repo, "podman": {"image": BASE_IMAGE,
        "lifecycle": {"post_start": ["sleep 60"]}}});
    let (code, started) = call(port, "POST", "/run/async", Some(&t), &slow.to_string());
    assert_eq!(code, 202, "{started}");
    let (id, session) = (
        started["job_id"].as_str().unwrap(),
        started["session"].as_str().unwrap(),
    );
    for _ in 0..150 {
        if podman_state(session) == "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (code, cancelled) = call(port, "DELETE", &format!("/jobs/{id}"), Some(&t), "");
    assert_eq!(code, 200, "{cancelled}");
    // Stopped, or (cancelled while its create still waited for the
    // container to be ready) rolled back with its session: never running.
    let mut state = podman_state(session);
    for _ in 0..100 {
        if state == "exited" || state.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        state = podman_state(session);
    }
    assert!(state == "exited" || state.is_empty(), "still {state}");
    let job = call(port, "GET", &format!("/jobs/{id}"), Some(&t), "").1;
    assert_eq!(job["status"], "cancelled", "{job}");
    env.run(&["delete", "--force", &name]).ok();
    // The cancelled one's create may still be rolling back: deleted once
    // nothing changes it any more, unless the rollback removed it.
    for _ in 0..100 {
        let r = env.run(&["delete", "--force", session]);
        if r.code == 0 || r.stderr.contains("no session named") {
            break;
        }
        assert!(r.stderr.contains("changing session"), "{}", r.stderr);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(env.run(&["list", "--json"]).ok().stdout.trim(), "[]");
    let filter = format!("label=clauderon.home={}", env.home().display());
    let left = std::process::Command::new("podman")
        .args(["ps", "-aq", "--filter", &filter])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "containers left behind");
}
