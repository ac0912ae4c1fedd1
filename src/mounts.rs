//! Host paths mounted into a session beyond clauderon's own: `--mount
//! HOST[:CONTAINER][:rw]` (read-only unless `:rw`) and `[talos] config`.
//! A `--mount` is refused unless its host path, with links resolved, is
//! under `[mounts] allowed_roots` and neither is nor holds a secret store
//! (`~/.ssh`, ...) that `[mounts] allow_secret_stores` does not name.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
// The spec's part: one mount as a session records it.
pub use crate::spec::mounts::ExtraMount;

/// `[mounts]` in config.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountsSection {
    #[serde(default)]
    pub allowed_roots: Vec<String>,
    #[serde(default)]
    pub allow_secret_stores: Vec<String>,
}

impl MountsSection {
    /// The section, if its roots are paths (see `check_roots`).
    pub fn checked(self) -> Result<MountsSection, (String, String)> {
        check_roots("mounts.allowed_roots", &self.allowed_roots)?;
        // A relative store would be read from wherever clauderon runs.
        check_roots("mounts.allow_secret_stores", &self.allow_secret_stores)?;
        Ok(self)
    }
}

/// Each root is absolute or `~/PATH`: an empty one is a prefix of every
/// path, so it would allow them all.
pub fn check_roots(key: &str, roots: &[String]) -> Result<(), (String, String)> {
    let plain = |r: &&String| r.starts_with('/') || *r == "~" || r.starts_with("~/");
    match roots.iter().find(|r| !plain(r)) {
        Some(bad) => Err((
            key.into(),
            format!("{bad:?}: a root is an absolute path or ~/PATH"),
        )),
        None => Ok(()),
    }
}

/// `[talos]` in config.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosSection {
    pub config: Option<String>,
}

/// Where the Talos config is mounted, and the variable that names it.
pub const TALOS_CONTAINER_PATH: &str = "/etc/clauderon/talos/config";
pub const TALOS_ENV: &str = "TALOSCONFIG";

/// Secret stores under the user's home, refused unless allowed by name:
/// cloud and cluster keys, and the logins the proxy exists to keep out of
/// a session (the agents' own, `gh`'s and git's), which a repository's
/// devcontainer.json commonly mounts.
pub const SECRET_STORES: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.config/gcloud",
    "~/.kube",
    "~/.docker",
    "~/.gnupg",
    "~/.clauderon",
    "~/.claude",
    "~/.claude.json",
    "~/.codex",
    "~/.config/gh",
    "~/.git-credentials",
    "~/.netrc",
];

/// Container paths a mount may not be at or below: the system's, and
/// the ones clauderon mounts itself.
const RESERVED_BELOW: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/run",
    "/var/run",
    "/workspace",
    "/opt/clauderon-agent",
];

/// `~/x` as `$HOME/x`; other paths as they are.
pub fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if path == "~" => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default(),
        _ => PathBuf::from(path),
    }
}

/// A path with its links resolved, or as written when it does not exist.
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What `create` checks a `--mount` against.
pub struct Policy {
    pub allowed_roots: Vec<PathBuf>,
    /// The setting that lists them, as the refusal names it.
    pub roots_setting: &'static str,
    /// (as written, resolved) for every store, and whether it is allowed.
    pub stores: Vec<(String, PathBuf, bool)>,
    /// The clauderon home (tokens, the CA key), always a secret store.
    pub home: PathBuf,
    pub git_common_dir: PathBuf,
}

impl Policy {
    pub fn new(section: &MountsSection, home: &Path, git_common_dir: &Path) -> Policy {
        let allowed: Vec<PathBuf> = section
            .allow_secret_stores
            .iter()
            .map(|s| resolved(&expand_tilde(s)))
            .collect();
        let stores = SECRET_STORES
            .iter()
            .map(|s| {
                let p = resolved(&expand_tilde(s));
                let ok = allowed.contains(&p);
                (s.to_string(), p, ok)
            })
            .collect();
        Policy {
            allowed_roots: roots(&section.allowed_roots),
            roots_setting: "[mounts] allowed_roots",
            stores,
            home: resolved(home),
            git_common_dir: git_common_dir.to_path_buf(),
        }
    }
}

impl Policy {
    /// The policy of a session's `--mount`s. A command the HTTP API runs
    /// (its child always has `API_ENV` set) takes its roots from `[api]
    /// allowed_volume_roots` instead: over HTTP the API's own setting
    /// governs, so a daemon's callers get no more than it was given.
    /// Secret stores and the other checks stay as they are.
    pub fn for_create(
        section: &MountsSection,
        api_volume_roots: &[String],
        home: &Path,
        git_common_dir: &Path,
    ) -> Policy {
        let mut policy = Policy::new(section, home, git_common_dir);
        if std::env::var_os(crate::session::API_ENV).is_some() {
            policy.allowed_roots = roots(api_volume_roots);
            policy.roots_setting = "[api] allowed_volume_roots";
        }
        policy
    }
}

fn roots(written: &[String]) -> Vec<PathBuf> {
    written.iter().map(|r| resolved(&expand_tilde(r))).collect()
}

/// Parses and checks one `--mount`.
pub fn parse(arg: &str, policy: &Policy) -> Result<ExtraMount> {
    let bad = |why: String| {
        Error::input(format!("--mount {arg:?}: {why}"))
            .with_fix("use --mount HOST[:CONTAINER][:rw], e.g. --mount ~/data:/data or --mount /srv/docs:/docs:rw")
    };
    if arg.chars().any(|c| c.is_control() || c == ',' || c == '"') {
        return Err(bad(
            "paths with commas, quotes or control characters (newlines) cannot be mounted".into(),
        ));
    }
    let mut parts: Vec<&str> = arg.split(':').collect();
    let rw = match parts.last() {
        Some(&"rw") if parts.len() > 1 => true,
        Some(&"ro") if parts.len() > 1 => false,
        _ => {
            parts.push("ro");
            false
        }
    };
    parts.pop();
    let (host, container) = match parts[..] {
        [host] => (host, None),
        [host, container] => (host, Some(container)),
        [_, _, mode] if !mode.starts_with('/') => {
            return Err(bad(format!("{mode:?} is not a mode: `:ro` or `:rw`")));
        }
        _ => return Err(bad("too many `:` (paths with `:` cannot be mounted)".into())),
    };
    if host.is_empty() {
        return Err(bad("the host path is empty".into()));
    }
    let host = std::fs::canonicalize(expand_tilde(host)).map_err(|e| {
        let err = bad(format!("the host path {host:?} cannot be used: {e}"));
        match e.kind() {
            std::io::ErrorKind::NotFound => err.with_kind(crate::error::ErrorKind::NotFound),
            _ => err,
        }
    })?;
    check_host(&host, policy).map_err(|e| e.context(format!("--mount {arg:?}")))?;
    let container = match container {
        Some(c) => c.to_string(),
        None => host.to_string_lossy().into_owned(),
    };
    check_container(&container, policy).map_err(bad)?;
    Ok(ExtraMount {
        host,
        container,
        rw,
    })
}

/// Neither the clauderon home nor a secret store that is not allowed is
/// `host`, inside it or around it (`host` with its links resolved).
pub fn check_secret(host: &Path, policy: &Policy) -> Result<()> {
    if let Some(socket) = socket_in(host, engine_sockets()) {
        return Err(Error::refused(format!(
            "{} is or holds the socket {}: a socket reaches a service of this host (an engine's gives root on it), which sessions do not get",
            host.display(),
            socket.display()
        ))
        .with_fix("leave the socket out of the session (mount a directory that does not hold one)"));
    }
    let overlaps = |store: &Path| host.starts_with(store) || store.starts_with(host);
    if overlaps(&policy.home) {
        return Err(Error::refused(format!(
            "{} is, is in or holds clauderon's home ({}), with its tokens and CA key: it never reaches a session",
            host.display(),
            policy.home.display()
        ))
        .with_fix("use a path outside it"));
    }
    if let Some((name, _, _)) = policy.stores.iter().find(|(_, p, ok)| !ok && overlaps(p)) {
        return Err(Error::refused(format!(
            "{} is, is in or holds the secret store {name}, which sessions do not get",
            host.display()
        ))
        .with_fix(format!(
            "use something else; or, if the agent must have it, add it to config.toml: [mounts] allow_secret_stores = [\"{name}\"]"
        )));
    }
    Ok(())
}

/// The engines' sockets where they usually are; whoever holds one is root
/// on this host (rootless: the user).
const ENGINE_SOCKETS: &[&str] = &[
    "/run/docker.sock",
    "/run/podman/podman.sock",
    "/run/containerd/containerd.sock",
];

/// Where this host's engines' sockets may be.
fn engine_sockets() -> Vec<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    // What the engines' clients are pointed at (`unix://PATH`).
    let named = ["DOCKER_HOST", "CONTAINER_HOST"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .filter_map(|h| h.strip_prefix("unix://").map(PathBuf::from));
    ENGINE_SOCKETS
        .iter()
        .map(PathBuf::from)
        .chain([
            runtime.join("docker.sock"),
            runtime.join("podman/podman.sock"),
        ])
        .chain(home.map(|h| h.join(".docker/run/docker.sock")))
        .chain(named)
        .collect()
}

/// `host` itself when it is a socket, else one of `sockets` inside it.
fn socket_in(host: &Path, sockets: Vec<PathBuf>) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(host).is_ok_and(|m| m.file_type().is_socket()) {
        return Some(host.to_path_buf());
    }
    (sockets.into_iter())
        .filter_map(|s| s.canonicalize().ok())
        .find(|s| s.starts_with(host))
}

/// Inside an allowed root, and no secret store in it or around it.
fn check_host(host: &Path, policy: &Policy) -> Result<()> {
    check_secret(host, policy)?;
    if !policy.allowed_roots.iter().any(|r| host.starts_with(r)) {
        let roots = if policy.allowed_roots.is_empty() {
            "none are set".to_string()
        } else {
            let shown: Vec<String> = policy
                .allowed_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            shown.join(", ")
        };
        let setting = policy.roots_setting;
        return Err(
            Error::refused(format!("{} is outside {setting} ({roots})", host.display())).with_fix(
                format!(
                    "allow it in config.toml: {setting} = [\"{}\"]",
                    host.display()
                ),
            ),
        );
    }
    Ok(())
}

/// Absolute, normal, and clear of the system's and clauderon's own paths.
fn check_container(container: &str, policy: &Policy) -> std::result::Result<(), String> {
    let path = Path::new(container);
    if !path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        || container.ends_with('/')
        || container.contains("//")
    {
        return Err(format!(
            "the container path {container:?} must be absolute and plain (no `.`, `..` or trailing `/`)"
        ));
    }
    let reserved_above = [
        Path::new("/workspace"),
        Path::new("/etc/clauderon"),
        Path::new("/opt/clauderon-agent"),
        policy.git_common_dir.as_path(),
    ];
    let clash = RESERVED_BELOW
        .iter()
        .map(Path::new)
        .find(|r| path.starts_with(r))
        .or_else(|| reserved_above.into_iter().find(|r| r.starts_with(path)))
        .or_else(|| path.starts_with(&policy.git_common_dir).then_some(path));
    match clash {
        Some(r) => Err(format!(
            "the container path {container} would cover or sit in {} (the system's or clauderon's own): pick another, e.g. /mnt/NAME",
            r.display()
        )),
        None => Ok(()),
    }
}

/// Two mounts at one container path: the second is refused.
pub fn check_distinct(mounts: &[ExtraMount]) -> Result<()> {
    for (i, m) in mounts.iter().enumerate() {
        if mounts[..i].iter().any(|o| o.container == m.container) {
            return Err(
                Error::input(format!("two --mount options mount at {}", m.container))
                    .with_fix("give each a container path of its own: --mount HOST:CONTAINER"),
            );
        }
    }
    Ok(())
}

/// `[talos] config`, resolved and checked at create: a regular file.
pub fn talos_config(section: &TalosSection, config_file: &Path) -> Result<Option<PathBuf>> {
    let Some(written) = &section.config else {
        return Ok(None);
    };
    let path = expand_tilde(written);
    let fix = format!(
        "write it with `talosctl config ...`, or remove [talos] config from {}",
        config_file.display()
    );
    let meta = std::fs::metadata(&path).map_err(|e| {
        Error::input(format!(
            "[talos] config {written:?}: {}: {e}",
            path.display()
        ))
        .with_fix(fix.clone())
    })?;
    if !meta.is_file() {
        return Err(Error::input(format!(
            "[talos] config {written:?}: {} is not a regular file",
            path.display()
        ))
        .with_fix(fix));
    }
    let resolved = std::fs::canonicalize(&path).map_err(|e| Error::io(path.display(), e))?;
    if resolved.to_string_lossy().contains([',', '"', '\n']) {
        return Err(Error::input(format!(
            "[talos] config: {} has a comma, quote or newline in its path, which a mount cannot carry",
            resolved.display()
        ))
        .with_fix("move the file to a plain path"));
    }
    Ok(Some(resolved))
}

/// Before a container is made again (`refresh`): every host path it
/// mounts beyond clauderon's own is still there, or nothing is touched.
pub fn require_host_paths(spec: &crate::session::SessionSpec) -> Result<()> {
    let extra = spec
        .mounts
        .iter()
        .map(|m| (&m.host, format!("--mount {}", m.describe())));
    let talos = spec
        .talos_config
        .iter()
        .map(|t| (t, "[talos] config".to_string()));
    for (path, what) in extra.chain(talos) {
        if std::fs::metadata(path).is_err() {
            return Err(Error::input(format!(
                "{} is gone, and session '{}' mounts it ({what})",
                path.display(),
                spec.name
            ))
            .with_fix(
                "put it back, then refresh again; or delete the session and create it without it",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
