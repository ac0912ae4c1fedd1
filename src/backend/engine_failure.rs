//! What an engine's failure means: its own words (it has no error codes
//! that say this) turned into an error of a kind, with its fix.

use super::engine::Engine;
use crate::error::Error;
use crate::exec::Failure;

/// What Docker and Podman print when their engine cannot be reached.
const ENGINE_DOWN: &[&str] = &[
    "Cannot connect to the Docker daemon",
    "Is the docker daemon running",
    "error during connect",
    "Cannot connect to Podman",
    "unable to connect to Podman",
    // docker-compose 1.29 (docker-py), whatever the socket said.
    "Error while fetching server API version",
];

/// What they print when an image is neither local nor pullable.
const IMAGE_MISSING: &[&str] = &[
    "No such image",
    "Unable to find image",
    "pull access denied",
    "repository does not exist",
    "manifest unknown",
    "not found: manifest",
    "image not known",
    "short-name",
    "unqualified-search",
    // Podman's pull: the registry was not reached, or refused the image.
    "initializing source",
    "pinging container registry",
];

impl Engine {
    /// What to do about an engine that does not answer: the endpoint the
    /// environment points it at, when one is set, comes first.
    fn engine_down_fix(&self) -> String {
        let var = if self.is_docker() {
            "DOCKER_HOST"
        } else {
            "CONTAINER_HOST"
        };
        match std::env::var(var) {
            Ok(host) if !host.is_empty() => format!(
                "{var} is set to {host:?}: check that an engine listens there, or unset it to use the local one; then {}",
                self.daemon_fix
            ),
            _ => self.daemon_fix.to_string(),
        }
    }

    /// Turns an engine failure into an error that names the fix.
    pub fn classify(&self, f: Failure) -> Error {
        let err = &f.stderr;
        let has = |m: &str| err.contains(m);
        if f.not_found {
            return Error::unavailable(format!(
                "`{}` is not installed or not in PATH",
                self.program
            ))
            .with_fix(self.install_fix);
        }
        // Before ENGINE_DOWN: docker-py says "Error while fetching server
        // API version" for a socket it may not open too.
        let refused = has("permission denied") && (has(".sock") || has("daemon socket"));
        if refused || has("PermissionError(13") {
            return Error::unavailable(format!(
                "permission denied talking to the {} engine",
                self.program
            ))
            .with_fix(self.permission_fix);
        }
        if ENGINE_DOWN.iter().any(|m| has(m)) {
            return Error::unavailable(format!("the {} engine is not running", self.program))
                .with_fix(self.engine_down_fix());
        }
        if IMAGE_MISSING.iter().any(|m| has(m)) {
            // A pull shown as it ran has said why already: once is enough.
            let why = match f.live {
                true => " (the engine said why above)".to_string(),
                false => format!(": {}", f.stderr_tail()),
            };
            // clauderon's own default is built here, never pulled.
            let default = match has("clauderon-agent") {
                true => {
                    "; clauderon's default image is built by `sudo scripts/build-agent-image.sh`"
                }
                false => "",
            };
            return Error::input(format!("image not available{why}")).with_fix(format!(
                "check the image name; build or load it locally, or log in to its registry (`{0} login`); with --pull-policy never it must already be local (`{0} images`){default}",
                self.program
            ));
        }
        if has("is already in use by container")
            || (has("is already in use") && has("container name"))
        {
            // Docker: `The container name "/clauderon-x" is already in use`.
            let name = err
                .split('"')
                .nth(1)
                .map(|n| n.trim_start_matches('/'))
                .unwrap_or("<name>");
            return Error::conflict(format!(
                "container name already in use: {}",
                f.stderr_tail()
            ))
            .with_fix(format!(
                "pick another --name, or remove the old container with `{} rm -f {name}`",
                self.program
            ));
        }
        f.into_error()
    }
}
