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

/// The host's address on Docker's default bridge, where the daemon
/// listens: the `bridge` network's IPAM gateway, or (Docker 20.10 leaves it
/// empty on a fresh install) its interface's address, as `src` reads it.
pub fn bridge_gateway() -> String {
    let format = "{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options \"com.docker.network.bridge.name\"}}";
    let inspected = docker_ok(&["network", "inspect", "bridge", "--format", format]);
    let interface = inspected.split_once('|').map_or("", |(_, i)| i.trim());
    let addresses = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", interface])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    gateway_from(&inspected, &addresses)
        .unwrap_or_else(|| panic!("no address for docker's bridge: {inspected:?} {addresses:?}"))
}

/// The first IPAM gateway of `inspected` (`GW ... |INTERFACE`), else the
/// first `inet` address of `ip -4 -o addr show` output.
pub fn gateway_from(inspected: &str, ip_addr_output: &str) -> Option<String> {
    let gateways = inspected.split_once('|').map_or(inspected, |(g, _)| g);
    if let Some(gw) = gateways.split_whitespace().next() {
        return Some(gw.to_string());
    }
    ip_addr_output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        Some(words.next()?.split('/').next()?.to_string())
    })
}
