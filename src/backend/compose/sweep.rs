//! The daemon's start-up sweep: compose projects of this home whose session
//! is gone (no session directory: no record, no override to take them down
//! with) are removed by compose's project label, with their networks and
//! volumes. A session being created already has its directory (it is the
//! first thing create makes), so it is never swept.

use crate::backend::engine::{ENGINES, Engine, label};
use crate::session::container_name;
use crate::store::Home;

const PROJECT: &str = "com.docker.compose.project";

/// Removes the leftover projects of both engines; returns the projects it
/// removed. Errors (no engine, a container already gone) are skipped: the
/// sweep is a best effort that runs again at the next start.
pub fn sweep(home: &Home) -> Vec<String> {
    let mut swept = Vec::new();
    for engine in ENGINES {
        for (session, project) in listed(&engine, home) {
            // Only clauderon's own projects, named after a session that is gone.
            let ours = crate::session::validate_name(&session).is_ok()
                && project == container_name(&session);
            if ours && !home.session_dir(&session).exists() && !swept.contains(&project) {
                remove_project(&engine, &project);
                swept.push(project);
            }
        }
    }
    swept
}

/// (session, project) of every container of this home in a compose
/// project, in one call (Podman's labels from its JSON).
fn listed(engine: &Engine, home: &Home) -> Vec<(String, String)> {
    let cmd = (engine.cmd().args(["ps", "--all", "--filter"]))
        .arg(format!("label={}={}", label::HOME, home.root.display()))
        .args(["--filter", &format!("label={PROJECT}"), "--format"]);
    let cmd = match engine.is_docker() {
        true => cmd.arg(format!(
            "{{{{.Label \"{}\"}}}}\t{{{{.Label \"{PROJECT}\"}}}}",
            label::SESSION
        )),
        false => cmd.arg("json"),
    };
    let Ok(out) = cmd.run() else {
        return Vec::new();
    };
    if engine.is_docker() {
        return (out.stdout.lines())
            .filter_map(|l| l.split_once('\t'))
            .map(|(s, p)| (s.to_string(), p.to_string()))
            .collect();
    }
    let all: Vec<serde_json::Value> = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    (all.iter())
        .map(|c| {
            (
                text(&c["Labels"][label::SESSION]),
                text(&c["Labels"][PROJECT]),
            )
        })
        .collect()
}

/// The project's containers, then its networks and volumes, by label (and
/// on Podman the session's agent CLI volume).
fn remove_project(engine: &Engine, project: &str) {
    let filter = format!("label={PROJECT}={project}");
    for (list, remove) in [
        (&["ps", "--all", "--quiet"][..], &["rm", "--force"][..]),
        (&["network", "ls", "--quiet"][..], &["network", "rm"][..]),
        (&["volume", "ls", "--quiet"][..], &["volume", "rm"][..]),
    ] {
        let ids = (engine.cmd().args(list.iter().copied()))
            .args(["--filter", &filter])
            .run();
        let ids: Vec<String> = ids
            .map(|o| o.stdout.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        if !ids.is_empty() {
            let _ = engine.cmd().args(remove.iter().copied()).args(&ids).run();
        }
    }
    if !engine.is_docker() {
        let cli = super::podman::cli_volume(project);
        let _ = engine.cmd().args(["volume", "rm", "--force", &cli]).run();
    }
    eprintln!("clauderon daemon: removed compose project {project} (its session is gone)");
}
