//! The HTTP API against real Podman: a run to completion, a job really
//! cancelled, and the sessions deleted with the CLI.

use crate::common::api::{Api, assert_mounted, wait_state};
use crate::common::{BASE_IMAGE, podman_ready};
use serde_json::{Value, json};

/// A run on Podman with a read-only and a writable volume from below `d`
/// completes and mounts them so; its session.
fn a_podman_run_mounts_its_volumes(api: &Api, d: &str) -> String {
    let volumes = [format!("{d}/ro:/data"), format!("{d}/rw:/out:rw")];
    let body = json!({"prompt": "on podman", "repo": api.repo,
        "podman": {"image": BASE_IMAGE, "volumes": volumes}});
    let (code, run) = api.post("/run", &body);
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
    assert_mounted(
        "podman",
        &name,
        &[
            (format!("{d}/ro"), "/data", false),
            (format!("{d}/rw"), "/out", true),
        ],
    );
    let listed: Value =
        serde_json::from_str(&api.env.run(&["list", "--json"]).ok().stdout).unwrap();
    assert_eq!(listed[0]["backend"], "podman", "{listed}");
    name
}

/// A slow async run on Podman, cancelled once its container runs, is
/// never left running; its session.
fn a_podman_job_is_really_cancelled(api: &Api) -> String {
    let slow = json!({"prompt": "x", "repo": api.repo, "podman": {"image": BASE_IMAGE,
        "lifecycle": {"post_start": ["sleep 60"]}}});
    let (code, started) = api.post("/run/async", &slow);
    assert_eq!(code, 202, "{started}");
    let (id, session) = (
        started["job_id"].as_str().unwrap(),
        started["session"].as_str().unwrap(),
    );
    wait_state("podman", session, &["running"]);
    let (code, cancelled) = api.delete(&format!("/jobs/{id}"));
    assert_eq!(code, 200, "{cancelled}");
    // Stopped, or (cancelled while its create still waited for the
    // container to be ready) rolled back with its session: never running.
    let state = wait_state("podman", session, &["exited", ""]);
    assert!(state == "exited" || state.is_empty(), "still {state}");
    let job = api.get(&format!("/jobs/{id}")).1;
    assert_eq!(job["status"], "cancelled", "{job}");
    session.to_string()
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
    let api = Api::new(&format!(
        "allowed_volume_roots = [\"{d}\"]\n[agent]\nmount_agent_cli = false\n"
    ));
    let env = &api.env;
    let name = a_podman_run_mounts_its_volumes(&api, &d);
    let session = a_podman_job_is_really_cancelled(&api);
    env.run(&["delete", "--force", &name]).ok();
    // The cancelled one's create may still be rolling back: deleted once
    // nothing changes it any more, unless the rollback removed it.
    for _ in 0..100 {
        let r = env.run(&["delete", "--force", &session]);
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
