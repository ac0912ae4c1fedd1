//! Reading the normalised compose config: which service the agent gets,
//! and the constructs refused because they would undo a session's
//! isolation (each refusal says why, and the option that allows it).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// What `create` was asked for, and what it allows.
pub struct Options {
    /// `--service` / `[compose] service`; else the first without `ports:`.
    pub service: Option<String>,
    pub repo_root: PathBuf,
    /// The repository's git directory, which clauderon mounts at its own
    /// path.
    pub git_common_dir: PathBuf,
    /// podman-compose reads the files (it replaces only a mount written
    /// as a string).
    pub podman_compose: bool,
    /// `[compose] allow_ports`: services may publish host ports.
    pub allow_ports: bool,
    /// `[compose] allow_build`: services may be built from `build:`.
    pub allow_build: bool,
    /// Network mode proxy: every project network becomes internal.
    pub proxy: bool,
    /// The compose project (`clauderon-<name>`).
    pub project: String,
}

/// The checked project: the agent's service and the networks the override
/// makes internal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub service: String,
    /// The agent service's image (or the name compose builds it as).
    pub image: String,
    pub networks: Vec<String>,
    /// The named volumes the file declares.
    pub volumes: Vec<String>,
    /// Every service's image, (service, image), for the allowlist; a
    /// service built from `build:` is not in it (see `pulled_images`).
    pub images: Vec<(String, String)>,
    /// The agent service's bind mounts of the repository.
    pub repo_binds: Vec<crate::spec::compose::RepoBind>,
}

/// Checks every service, then picks the agent's. `order` is the services
/// in the file's order (`config --services`).
pub fn inspect(order: &[String], config: &Value, opts: &Options) -> Result<Project> {
    let services = config
        .get("services")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::input("the compose file has no services"))?;
    for (name, service) in services {
        check_name(name)?;
        check_service(name, service, services, opts)?;
    }
    let networks = networks(config, opts)?;
    let service = match &opts.service {
        Some(wanted) if services.contains_key(wanted) => wanted.clone(),
        Some(wanted) => {
            let known: Vec<&str> = order.iter().map(String::as_str).collect();
            return Err(Error::input(format!(
                "the compose file has no service {wanted:?} (it has: {})",
                known.join(", ")
            ))
            .with_fix("name one of them with --service (or [compose] service)"));
        }
        None => order
            .iter()
            .find(|s| services.get(*s).is_some_and(|v| v.get("ports").is_none()))
            .cloned()
            .ok_or_else(|| {
                Error::input("every service of the compose file publishes ports: none is the obvious one for the agent")
                    .with_fix("name the agent's service with --service (or [compose] service)")
            })?,
    };
    let image = match services[&service].get("image").and_then(Value::as_str) {
        Some(image) => image.to_string(),
        // What compose v1 names an image it builds.
        None => format!("{}_{service}", opts.project),
    };
    let volumes = config
        .get("volumes")
        .and_then(Value::as_object)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    Ok(Project {
        repo_binds: super::repo_binds::of_service(&service, &services[&service], opts)?,
        service,
        image,
        networks,
        volumes,
        images: pulled_images(services),
    })
}

/// (service, image) of every service that runs an image from a registry or
/// the engine's store. A service with `build:` (allowed only by `[compose]
/// allow_build`) is left out: its `image:` is the tag compose gives what it
/// builds, not something pulled, so the allowlist has nothing to say about it.
fn pulled_images(services: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    services
        .iter()
        .filter(|(_, s)| !s.get("build").is_some_and(set))
        .filter_map(|(name, s)| {
            let image = s.get("image").and_then(Value::as_str)?;
            Some((name.clone(), image.to_string()))
        })
        .collect()
}

/// Compose itself checks names; this keeps any other from reaching an argv
/// or a container name.
fn check_name(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    Err(Error::input(format!(
        "service name {name:?} is not one clauderon accepts (letters, digits, '_', '.', '-', starting with a letter or digit)"
    ))
    .with_fix("rename the service in the compose file"))
}

pub(super) fn refuse(service: &str, what: &str, why: &str, fix: &str) -> Error {
    Error::input(format!("service {service:?} uses {what}: {why}")).with_fix(fix.to_string())
}

const NO_OPTION: &str =
    "remove it from the compose file; clauderon has no option that allows it in a session";

/// Keys refused wherever they are set: (key, why, fix).
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "privileged",
        "a privileged container is root on the host",
        NO_OPTION,
    ),
    (
        "cap_add",
        "services run with the engine's default capabilities at most",
        "remove cap_add from the compose file (the agent's service gets capabilities back through [security] cap_add)",
    ),
    ("devices", "host devices reach into the host", NO_OPTION),
    (
        "security_opt",
        "it can lift the engine's confinement (seccomp, AppArmor, SELinux)",
        NO_OPTION,
    ),
    (
        "container_name",
        "names must stay per session (two sessions of one file would collide)",
        "remove container_name; clauderon names containers after the session",
    ),
];

/// A value that sets something: not false, null or empty.
fn set(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::String(t) => !t.is_empty(),
        _ => true,
    }
}

fn check_service(
    name: &str,
    s: &Value,
    all: &serde_json::Map<String, Value>,
    opts: &Options,
) -> Result<()> {
    for (key, why, fix) in REFUSED {
        if s.get(*key).is_some_and(set) {
            return Err(refuse(name, key, why, fix));
        }
    }
    for key in ["pid", "ipc", "userns_mode"] {
        if s.get(key).and_then(Value::as_str) == Some("host") {
            let what = format!("{key}: host");
            return Err(refuse(
                name,
                &what,
                "it shares the host's namespace",
                NO_OPTION,
            ));
        }
    }
    check_network_mode(name, s, all)?;
    if s.get("ports").is_some_and(set) && !opts.allow_ports {
        return Err(refuse(
            name,
            "ports",
            "a published port opens the service to the host's network",
            "remove ports:, or set [compose] allow_ports = true",
        ));
    }
    if s.get("build").is_some_and(set) && !opts.allow_build {
        return Err(refuse(
            name,
            "build",
            "building runs the Dockerfile's commands on the engine",
            "use an image, or set [compose] allow_build = true",
        ));
    }
    check_volumes(name, s, &opts.repo_root)
}

/// Bind mounts only of paths inside the repository.
fn check_volumes(name: &str, s: &Value, repo_root: &Path) -> Result<()> {
    let volumes = s.get("volumes").and_then(Value::as_array);
    for volume in volumes.into_iter().flatten() {
        if let Some(source) = bind_source(volume)
            && !inside(&source, repo_root)
        {
            return Err(refuse(
                name,
                &format!("a bind mount of {}", source.display()),
                "only paths inside the repository may be mounted",
                "mount a path inside the repository, or use a named volume",
            ));
        }
    }
    Ok(())
}

/// `network_mode`: host and other containers are refused; `service:X`
/// only for a service of the same file.
fn check_network_mode(name: &str, s: &Value, all: &serde_json::Map<String, Value>) -> Result<()> {
    let Some(mode) = s.get("network_mode").and_then(Value::as_str) else {
        return Ok(());
    };
    let inside_project = mode
        .strip_prefix("service:")
        .is_some_and(|other| all.contains_key(other));
    if inside_project || mode == "none" {
        return Ok(());
    }
    Err(refuse(
        name,
        &format!("network_mode: {mode}"),
        "a session's services stay on the project's own network",
        "remove network_mode (or point it at a service of the same file with service:NAME)",
    ))
}

/// The host path of a bind mount, in either of the forms `config` prints.
pub(super) fn bind_source(volume: &Value) -> Option<PathBuf> {
    if let Some(text) = volume.as_str() {
        let source = text.split(':').next()?;
        return source.starts_with('/').then(|| PathBuf::from(source));
    }
    (volume.get("type").and_then(Value::as_str) == Some("bind"))
        .then(|| {
            volume
                .get("source")
                .and_then(Value::as_str)
                .map(PathBuf::from)
        })
        .flatten()
}

/// Whether `path` (links resolved where it exists) is inside `root`.
fn inside(path: &Path, root: &Path) -> bool {
    super::repo_binds::relative_to(path, root).is_some()
}

/// The networks to make internal in network mode proxy (with the default
/// one); an external network is refused there, since it has a way out.
fn networks(config: &Value, opts: &Options) -> Result<Vec<String>> {
    let mut names = vec!["default".to_string()];
    for (name, net) in config
        .get("networks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let external = net
            .get("external")
            .is_some_and(|e| e.as_bool() != Some(false));
        if external && opts.proxy {
            return Err(Error::input(format!("network {name:?} is external: in network mode proxy a session's networks are its own and internal"))
                .with_fix("drop external: from the network, or set [network] mode = \"open\""));
        }
        let driver = net.get("driver").and_then(Value::as_str);
        if opts.proxy && driver.is_some_and(|d| d != "bridge") {
            return Err(Error::input(format!("network {name:?} uses driver {:?}: in network mode proxy a session's networks are internal bridges", driver.unwrap_or("")))
                .with_fix("drop driver: from the network, or set [network] mode = \"open\""));
        }
        if name != "default" {
            names.push(name.clone());
        }
    }
    Ok(names)
}
