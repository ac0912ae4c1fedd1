//! What the Docker tests read back from the engine and the session list.

use std::collections::HashMap;

use serde_json::Value;

use super::{Env, docker, docker_ok, git};

pub fn inspect(container: &str) -> Value {
    let out = docker_ok(&["container", "inspect", container]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

pub fn env_map(inspected: &Value) -> HashMap<String, String> {
    inspected["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e.as_str()?
                .split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn list_json(env: &Env) -> Vec<Value> {
    let r = env.run(&["list", "--json"]).ok();
    serde_json::from_str(&r.stdout).unwrap()
}

pub fn state_of(env: &Env, name: &str) -> String {
    list_json(env)
        .into_iter()
        .find(|row| row["name"] == name)
        .map(|row| row["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

pub fn container_exists(name: &str) -> bool {
    docker(&["container", "inspect", &format!("clauderon-{name}")])
        .status
        .success()
}

pub fn assert_no_trace(env: &Env, name: &str) {
    assert!(!container_exists(name), "container of {name} left behind");
    assert!(
        !env.home().join("sessions").join(name).exists(),
        "session dir of {name} left behind"
    );
    assert!(
        !env.worktree(name).exists(),
        "worktree of {name} left behind"
    );
    let branches = git(env.repo(), &["branch", "--list", name]);
    assert!(branches.trim().is_empty(), "branch {name} left behind");
    let worktrees = git(env.repo(), &["worktree", "list"]);
    assert!(
        !worktrees.contains(name),
        "worktree registration of {name} left behind: {worktrees}"
    );
}
