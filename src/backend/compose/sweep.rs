//! The daemon's start-up sweep: compose projects of this home whose session
//! is gone (no session directory: no record, no override to take them down
//! with) are removed by compose's project label, with their networks and
//! volumes. A session being created already has its directory (it is the
//! first thing create makes), so it is never swept.

use crate::backend::engine::{DOCKER, label};
use crate::session::container_name;
use crate::store::Home;

const PROJECT: &str = "com.docker.compose.project";

/// Removes the leftover projects; returns the projects it removed. Errors
/// (no engine, a container already gone) are skipped: the sweep is a
/// best effort that runs again at the next start.
pub fn sweep(home: &Home) -> Vec<String> {
    let engine = DOCKER;
    let listed = engine
        .cmd()
        .args(["ps", "--all", "--filter"])
        .arg(format!("label={}={}", label::HOME, home.root.display()))
        .args(["--filter", &format!("label={PROJECT}"), "--format"])
        .arg(format!(
            "{{{{.Label \"{}\"}}}}\t{{{{.Label \"{PROJECT}\"}}}}",
            label::SESSION
        ))
        .run();
    let Ok(listed) = listed else {
        return Vec::new();
    };
    let mut swept = Vec::new();
    for line in listed.stdout.lines() {
        let Some((session, project)) = line.split_once('\t') else {
            continue;
        };
        // Only clauderon's own projects, named after a session that is gone.
        let ours =
            crate::session::validate_name(session).is_ok() && project == container_name(session);
        if ours && !home.session_dir(session).exists() && !swept.contains(&project.to_string()) {
            remove_project(project);
            swept.push(project.to_string());
        }
    }
    swept
}

/// The project's containers, then its networks and volumes, by label.
fn remove_project(project: &str) {
    let filter = format!("label={PROJECT}={project}");
    for (list, remove) in [
        (&["ps", "--all", "--quiet"][..], &["rm", "--force"][..]),
        (&["network", "ls", "--quiet"][..], &["network", "rm"][..]),
        (&["volume", "ls", "--quiet"][..], &["volume", "rm"][..]),
    ] {
        let ids = DOCKER
            .cmd()
            .args(list.iter().copied())
            .args(["--filter", &filter])
            .run();
        let ids: Vec<String> = ids
            .map(|o| o.stdout.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        if !ids.is_empty() {
            let _ = DOCKER.cmd().args(remove.iter().copied()).args(&ids).run();
        }
    }
    eprintln!("clauderon daemon: removed compose project {project} (its session is gone)");
}
