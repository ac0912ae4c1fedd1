//! The generated override file: everything a session's container gets,
//! added to the agent's service. JSON (a YAML subset compose reads), every
//! string with `$` escaped as `$$` so compose interpolates none of it.

use serde_json::{Map, Value, json};

use crate::backend::Wiring;
use crate::backend::compose::{ComposeSpec, podman};
use crate::backend::engine::{CACHE_VOLUMES, DOCKER, Engine};
use crate::backend::env;
use crate::backend::oci::{Mount, forward_args};
use crate::helper;
use crate::isolation::NetworkMode;
use crate::session::SessionSpec;
use crate::store::{CONTAINER_SESSION_DIR, Home};

/// The override's bytes, and the secret variables `up` must carry in its
/// environment (the file names them without their values).
pub fn override_file(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
    compose: &ComposeSpec,
) -> (Vec<u8>, Vec<(String, String)>) {
    let (environment, secrets) = environment(spec, engine, wiring);
    let mut service = agent_service(spec, home, engine, wiring);
    if let Some(Value::Array(volumes)) = service.get_mut("volumes") {
        let worktree = &spec.worktree;
        volumes.extend(super::repo_binds::override_entries(
            &compose.repo_binds,
            worktree,
        ));
    }
    service.insert("environment".into(), environment.into());
    service.insert("image".into(), spec.image.clone().into());
    for key in &compose.shell_form {
        if let Some(Value::Array(words)) = service.get(key) {
            let words: Vec<&str> = words.iter().filter_map(Value::as_str).collect();
            service.insert(key.clone(), shell_words::join(words).into());
        }
    }
    let mut file = json!({ "services": { compose.service.clone(): Value::Object(service) } });
    if let Some(hosts) = compose.hosts_file() {
        // Every service's names from the hosts file (podman: no DNS).
        let mount = podman::hosts_mount(&hosts);
        for name in &compose.services {
            let volumes = &mut file["services"][name]["volumes"];
            match volumes.as_array_mut() {
                Some(list) => list.push(mount.clone()),
                None => *volumes = json!([mount.clone()]),
            }
        }
    }
    let networks = networks(spec, engine, compose);
    if !networks.is_empty() {
        file["networks"] = Value::Object(networks);
    }
    file["volumes"] = Value::Object(volumes_declared(spec, engine, compose));
    let file = escape(file);
    let mut bytes = serde_json::to_vec_pretty(&file).expect("JSON values serialise");
    bytes.push(b'\n');
    (bytes, secrets)
}

/// The named volumes: the file's (Docker's tools: so the override alone
/// can take them down; podman-compose 1.0.3 finds them by label, and could
/// not merge ours with one the file declares empty, `data:`), and the
/// shared caches, external: never the project's, so `down --volumes`
/// leaves them (create makes them first); the explicit name keeps
/// podman-compose from prefixing it with the project. On Podman, the
/// agent CLI's image volume too.
fn volumes_declared(
    spec: &SessionSpec,
    engine: &Engine,
    compose: &ComposeSpec,
) -> Map<String, Value> {
    let mut volumes = Map::new();
    if engine.is_docker() {
        for v in &compose.volumes {
            volumes.insert(v.clone(), json!({}));
        }
    }
    for (volume, _) in CACHE_VOLUMES {
        volumes.insert(volume.into(), json!({ "external": true, "name": volume }));
    }
    if spec.agent_cli_image.is_some() {
        let cli = podman::cli_volume(&spec.container_name());
        volumes.insert(cli.clone(), json!({ "external": true, "name": cli }));
    }
    volumes
}

/// Every network of the project (so the override alone can take it down);
/// in network mode proxy each one internal. No way out but the daemon's
/// sockets, for the agent and the services beside it; they still reach
/// each other by name. An internal bridge still delivers packets for the
/// host's own addresses (docker0's gateway, anything on 0.0.0.0): with no
/// address on the bridge the containers have no next hop to them.
///
/// Podman's internal networks already have no host address (CNI's bridge
/// is no gateway for them), and podman-compose passes no driver options;
/// in mode open the file's networks are left to it (its down leaves them
/// anyway, and they are removed by label).
fn networks(spec: &SessionSpec, engine: &Engine, compose: &ComposeSpec) -> Map<String, Value> {
    let closed = match engine.is_docker() {
        true => json!({
            "internal": true,
            "driver_opts": { "com.docker.network.bridge.inhibit_ipv4": "true" },
        }),
        false => json!({ "internal": true }),
    };
    let proxy = spec.network == NetworkMode::Proxy;
    if !proxy && !engine.is_docker() {
        return Map::new();
    }
    compose
        .networks
        .iter()
        .map(|n| (n.clone(), if proxy { closed.clone() } else { json!({}) }))
        .collect()
}

/// The agent's service: what `Engine::create` gives a container, in
/// compose's keys.
fn agent_service(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
) -> Map<String, Value> {
    let labels: Map<String, Value> = engine
        .labels(spec, home)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    let sec = &spec.security;
    let mut s = json!({
        "container_name": spec.container_name(),
        "labels": labels,
        "user": format!("{}:{}", spec.uid, spec.gid),
        "tty": true,
        "stdin_open": true,
        "cap_drop": ["ALL"],
        "pids_limit": if sec.pids_limit == 0 { -1 } else { i64::from(sec.pids_limit) },
        "working_dir": spec.workdir(),
        "volumes": volumes(spec, home, engine, wiring),
    });
    hardening_and_limits(&mut s, spec);
    let entrypoint = format!("{CONTAINER_SESSION_DIR}/entrypoint.sh");
    if wiring.init_helper {
        s["entrypoint"] = json!([helper::CONTAINER_INIT]);
        let mut command = forward_args(spec, wiring);
        command.extend(["--".into(), "bash".into(), entrypoint]);
        s["command"] = json!(command);
    } else {
        s["init"] = json!(true);
        s["entrypoint"] = json!(["bash"]);
        s["command"] = json!([entrypoint]);
    }
    if spec.network == NetworkMode::Open {
        let hosts: Vec<String> = host_names(engine)
            .into_iter()
            .map(|name| format!("{name}:{}", wiring.host.gateway))
            .collect();
        s["extra_hosts"] = json!(hosts);
    }
    match s {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// The names the host has in a session's containers (network mode open).
fn host_names(engine: &Engine) -> Vec<&'static str> {
    let mut names = vec![DOCKER.host_alias];
    if engine.host_alias != DOCKER.host_alias {
        names.push(engine.host_alias);
    }
    names
}

/// The host's names as hosts-file lines (network mode open; none in mode
/// proxy): what `extra_hosts` gives where compose writes `/etc/hosts`.
pub fn host_lines(spec: &SessionSpec, engine: &Engine, wiring: &Wiring) -> Vec<String> {
    if spec.network != NetworkMode::Open {
        return Vec::new();
    }
    let names = host_names(engine).join(" ");
    vec![format!("{}\t{names}", wiring.host.gateway)]
}

/// Capabilities given back, no-new-privileges, cpu and memory.
fn hardening_and_limits(s: &mut Value, spec: &SessionSpec) {
    let sec = &spec.security;
    if !sec.cap_add.is_empty() {
        s["cap_add"] = json!(sec.cap_add);
    }
    if sec.no_new_privileges {
        s["security_opt"] = json!(["no-new-privileges:true"]);
    }
    if let Some(cpu) = spec.limits.cpu {
        s["cpus"] = json!(cpu.docker().parse::<f64>().unwrap_or(0.0));
    }
    if let Some(mem) = spec.limits.memory {
        s["mem_limit"] = json!(mem.docker());
    }
    if let Some(shares) = spec.limits.cpu_shares {
        s["cpu_shares"] = json!(shares);
    }
}

/// Bind mounts, the shared cache volumes and the agent CLI's image volume
/// (compose has no image mounts) in compose's long syntax.
fn volumes(spec: &SessionSpec, home: &Home, engine: &Engine, wiring: &Wiring) -> Vec<Value> {
    engine
        .mounts(spec, home, wiring)
        .into_iter()
        .map(|m| match m {
            Mount::Bind { src, dst, readonly } => json!({
                "type": "bind",
                "source": src.display().to_string(),
                "target": dst,
                "read_only": readonly,
            }),
            Mount::Volume { src, dst } => json!({
                "type": "volume",
                "source": src,
                "target": dst,
            }),
            // Podman: the agent CLI from an image volume of the session's.
            Mount::Image { dst, .. } => json!({
                "type": "volume",
                "source": podman::cli_volume(&spec.container_name()),
                "target": dst,
                "read_only": true,
            }),
        })
        .collect()
}

/// Plain variables as `NAME=value`; secret ones as a bare `NAME`, which
/// compose fills from its own environment.
fn environment(
    spec: &SessionSpec,
    engine: &Engine,
    wiring: &Wiring,
) -> (Vec<String>, Vec<(String, String)>) {
    let address = engine.daemon_address(spec, wiring);
    let mut list = Vec::new();
    let mut secrets = Vec::new();
    for var in env::container_env(engine, spec, wiring, address) {
        if var.secret {
            list.push(var.name.clone());
            secrets.push((var.name, var.value));
        } else {
            list.push(format!("{}={}", var.name, var.value));
        }
    }
    (list, secrets)
}

/// `$` as `$$` in every string, keys included.
fn escape(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace('$', "$$")),
        Value::Array(items) => Value::Array(items.into_iter().map(escape).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace('$', "$$"), escape(v)))
                .collect(),
        ),
        other => other,
    }
}
