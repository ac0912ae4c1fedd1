//! doctor's checks of what sits around the engines: their init binaries
//! (`--init`, used when the static helper is not the container's init),
//! the network mode's requirements and the compose tool.

use std::path::{Path, PathBuf};

use super::{Check, check};
use crate::backend::compose::Tool;
use crate::backend::oci::{DOCKER, Engine, PODMAN};
use crate::commands::Ctx;
use crate::isolation::NetworkMode;

/// The engine's `--init` binary. Sessions use clauderon's static helper as
/// their init when this build has one, so a missing binary only matters
/// without it.
pub(super) fn init_check(engine: &Engine, helper: bool) -> Check {
    let name = format!("{} init", engine.program);
    let missing = if helper { "warn" } else { "fail" };
    let (found, wanted, fix) = if engine.is_docker() {
        let found =
            on_path("docker-init").or_else(|| existing(&["/usr/libexec/docker/docker-init"]));
        (
            found,
            "docker-init (tini)",
            "install tini (Debian: docker.io ships it as docker-init)",
        )
    } else {
        (
            podman_init(),
            "catatonit",
            "install catatonit, or point Podman at tini: [engine] init_path = \"/usr/bin/tini\" in /etc/containers/containers.conf",
        )
    };
    let used = if helper {
        "clauderon's static helper is the sessions' init"
    } else {
        "sessions run with --init"
    };
    match found {
        Some(path) => check(&name, "ok", format!("{} ({used})", path.display()), None),
        None => check(
            &name,
            missing,
            format!("no {wanted} for --init ({used})"),
            Some(fix.into()),
        ),
    }
}

/// Podman's init: `[engine] init_path` of the first containers.conf that
/// sets it, else its default places.
fn podman_init() -> Option<PathBuf> {
    let mut confs = vec![
        PathBuf::from("/etc/containers/containers.conf"),
        PathBuf::from("/usr/share/containers/containers.conf"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        confs.insert(
            0,
            PathBuf::from(home).join(".config/containers/containers.conf"),
        );
    }
    let configured = confs.iter().find_map(|c| {
        let text = std::fs::read_to_string(c).ok()?;
        let table: toml::Table = text.parse().ok()?;
        table
            .get("engine")?
            .get("init_path")?
            .as_str()
            .map(PathBuf::from)
    });
    match configured {
        Some(path) => path.is_file().then_some(path),
        None => existing(&[
            "/usr/libexec/podman/catatonit",
            "/usr/libexec/catatonit/catatonit",
        ])
        .or_else(|| on_path("catatonit")),
    }
}

fn existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// What the configured network mode needs: proxy mode the static helper
/// and the daemon's sockets (and a proxy, or nothing gets out at all);
/// open mode an engine that resolves `host-gateway`.
pub(super) fn network_check(ctx: &Ctx, helper: bool) -> Check {
    let name = "network mode";
    match ctx.config.network.value {
        NetworkMode::Proxy if !helper => check(
            name,
            "fail",
            "proxy: this build has no static helper".into(),
            Some("build on Linux, or create sessions with --network open".into()),
        ),
        NetworkMode::Proxy if !ctx.config.proxy.enabled => check(
            name,
            "warn",
            "proxy, with [proxy] enabled = false: sessions reach nothing outside".into(),
            Some("set [proxy] enabled = true, or [network] mode = \"open\"".into()),
        ),
        NetworkMode::Proxy => {
            let sockets = crate::helper::socket_dir(&ctx.home);
            check(
                name,
                "ok",
                format!(
                    "proxy: the static helper is built in; the daemon's sockets go in {}",
                    shown(&sockets)
                ),
                None,
            )
        }
        NetworkMode::Open => check(
            name,
            "warn",
            format!(
                "open: containers reach the host as {} and the internet directly",
                DOCKER.host_alias
            ),
            Some("[network] mode = \"proxy\" makes the proxy the only way out".into()),
        ),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// `--compose` needs a compose tool for the engine: Docker's plugin or
/// docker-compose, podman-compose for Podman.
pub(super) fn compose_check() -> Check {
    let name = |tool| match tool {
        Tool::DockerPlugin => "docker compose (plugin)",
        Tool::DockerCompose => "docker-compose",
        Tool::PodmanCompose => "podman-compose",
    };
    let (docker, podman) = (Tool::detect(&DOCKER), Tool::detect(&PODMAN));
    let found: Vec<&str> = [&docker, &podman]
        .into_iter()
        .filter_map(|t| t.as_ref().ok().map(|t| name(*t)))
        .collect();
    match (docker, podman) {
        (Ok(_), Ok(_)) => check("compose", "ok", found.join(", "), None),
        (Err(e), _) | (_, Err(e)) => check(
            "compose",
            "warn",
            match found.is_empty() {
                true => format!("{} (only --compose sessions need it)", e.message),
                false => format!(
                    "{}; {} (only --compose sessions need it)",
                    found.join(", "),
                    e.message
                ),
            },
            e.fix,
        ),
    }
}

/// The clauderon home must be a directory this user can write (or one it
/// can make): every session's record, worktree and sockets live there.
/// A directory made and removed in the nearest existing one is the test
/// (access(2) says yes to root even on /proc).
pub(super) fn home_check(home: &Path) -> Check {
    let existing = home.ancestors().find(|p| p.exists()).unwrap_or(home);
    let what = match existing == home {
        true => shown(home),
        false => format!(
            "{} (made on first use, in {})",
            shown(home),
            shown(existing)
        ),
    };
    let probe = tempfile::Builder::new()
        .prefix(".clauderon-doctor-")
        .tempdir_in(existing);
    match probe {
        Ok(_) => check("home", "ok", what, None),
        Err(e) => check(
            "home",
            "fail",
            format!("cannot write in {}: {e}", shown(existing)),
            Some("set CLAUDERON_HOME to a directory of yours (default ~/.clauderon)".into()),
        ),
    }
}

/// Podman under netavark behind Docker's FORWARD drop: a compose project's
/// services cannot reach each other (see `compose::forward`). Only when
/// Podman answers.
pub(super) fn podman_forward_check() -> Option<Check> {
    use crate::backend::compose::forward;
    let facts = forward::facts();
    if facts.backend.is_empty() {
        return None;
    }
    Some(match forward::blocked(&facts) {
        None => check(
            "podman compose network",
            "ok",
            format!(
                "{} backend; services of a project reach each other",
                facts.backend
            ),
            None,
        ),
        Some(why) => check(
            "podman compose network",
            "warn",
            format!("{why} (only --compose sessions on Podman need it)"),
            Some(forward::fix_command()),
        ),
    })
}

/// The Claude Code version in `image` (the engine's default), beside the
/// one clauderon is tested with; an older or newer one is a warning with
/// the command that rebuilds the image at the tested version.
pub(super) fn agent_version_check(engine: &Engine, image: &str) -> Check {
    let name = format!("{} claude version", engine.program);
    let container = format!("clauderon-doctor-version-{}", std::process::id());
    let tested = crate::commands::agent_image::claude_version();
    let rebuild = match engine.is_docker() {
        true => "sudo CLAUDE_VERSION=X scripts/build-agent-image.sh --rebuild (the tested X is the default)".to_string(),
        false => format!("clauderon agent-image build --backend {}", engine.kind),
    };
    match engine.agent_version(image, "claude", &container).run() {
        Ok(out) => {
            let found = out.stdout.lines().next().unwrap_or("").trim().to_string();
            match found.split_whitespace().next() == Some(tested) {
                true => check(&name, "ok", format!("{found} in {image}"), None),
                false => check(
                    &name,
                    "warn",
                    format!("{found:?} in {image}; clauderon is tested with {tested}"),
                    Some(rebuild),
                ),
            }
        }
        Err(f) => {
            // Killed at its time limit: its container may still run.
            let _ = engine.remove(&container).run();
            check(
                &name,
                "warn",
                format!(
                    "could not ask {image} for claude --version: {}",
                    f.stderr_tail()
                ),
                Some(rebuild),
            )
        }
    }
}
