//! Backends render engine commands from a session spec; they never run them.
//! Docker and Podman share the OCI recipe; `engine` holds what differs.

pub mod compose;
pub mod engine;
mod engine_failure;
mod env;
pub mod events;
mod host;
mod image_build;
mod kind;
pub mod kubernetes;
pub mod observe;
pub mod oci;
mod queries;
pub mod record;
mod said;
pub mod session;
mod state;
pub mod verbs;

pub use host::HostNetwork;
pub use session::Backend;
pub use state::{ContainerState, observe_container};

/// What a session's container is wired to on the host: the daemon's ports
/// and how it reaches the credential proxy. Not part of the spec, since it
/// changes when the daemon restarts; `refresh` picks up the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wiring {
    /// The hook listener's port (network mode open).
    pub http_port: u16,
    pub proxy: Option<ProxyWiring>,
    /// How containers reach the host (network mode open).
    pub host: HostNetwork,
    /// The container runs clauderon's static helper as PID 1 (an init, and
    /// the forwarder to the daemon's sockets); false only where no helper
    /// was built (non-Linux), which then uses the engine's `--init`.
    pub init_helper: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyWiring {
    /// The proxy's port (network mode open).
    pub port: u16,
    /// The Anthropic credential is an API key (the container then gets an
    /// `ANTHROPIC_API_KEY` placeholder), else an OAuth token.
    pub anthropic_api_key: bool,
}

#[cfg(test)]
mod tests {
    /// Every docker/podman/kubectl argv is built in `src/backend/` (`Engine::cmd`
    /// is private to it; this catches the other ways to start one).
    #[test]
    fn no_engine_argv_is_built_outside_the_backends() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src.clone()];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    if path != src.join("backend") {
                        stack.push(path);
                    }
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for engine in ["docker", "podman", "kubectl"] {
                    for pattern in [
                        format!("Cmd::new([\"{engine}\""),
                        format!("Command::new(\"{engine}\")"),
                    ] {
                        if text.contains(&pattern) {
                            offenders.push(format!("{}: {pattern}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "engine argv built outside src/backend/: {offenders:?}"
        );
    }
}
