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

    /// An image neither local nor pullable: bad input, with the ways out.
    fn image_missing(&self, f: &Failure) -> Error {
        // A pull shown as it ran has said why already: once is enough.
        let why = match f.live {
            true => " (the engine said why above)".to_string(),
            false => format!(": {}", f.stderr_tail()),
        };
        // clauderon's own default is built here, never pulled.
        let (repository, _) = crate::image::DEFAULT_IMAGE
            .split_once(':')
            .unwrap_or_default();
        let default = match f.stderr.contains(repository) {
            true => "; clauderon's default image is built by `sudo scripts/build-agent-image.sh`",
            false => "",
        };
        Error::input(format!("image not available{why}")).with_fix(format!(
            "check the image name; build or load it locally, or log in to its registry (`{0} login`); with --pull-policy never it must already be local (`{0} images`){default}",
            self.program
        ))
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
            return self.image_missing(&f);
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

#[cfg(test)]
mod tests {
    use crate::backend::engine::{DOCKER, PODMAN};
    use crate::exec::Failure;

    #[test]
    fn engine_errors_name_the_fix() {
        let f = |stderr: &str| Failure {
            shown: "docker x".into(),
            short: "docker x".into(),
            code: Some(1),
            stderr: stderr.into(),
            not_found: false,
            live: false,
        };
        let e = DOCKER.classify(f("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"));
        assert!(e.fix.unwrap().contains("docker info"));
        let e = DOCKER.classify(f("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"));
        assert!(e.fix.unwrap().contains("usermod"));
        // docker-compose 1.29's last line, engine down and socket refused.
        let py = "docker.errors.DockerException: Error while fetching server API version: ('Connection aborted.', ";
        let e = DOCKER.classify(f(&format!(
            "{py}FileNotFoundError(2, 'No such file or directory'))"
        )));
        assert!(e.message.contains("not running"), "{}", e.message);
        let e = DOCKER.classify(f(&format!("{py}PermissionError(13, 'Permission denied'))")));
        assert!(e.fix.unwrap().contains("usermod"));
        let e = DOCKER.classify(f("Error: No such image: nope:1"));
        assert!(e.message.contains("nope:1"));
        assert!(!e.fix.unwrap().contains("build-agent-image"));
        // Podman's pull, its registry unreachable: the same error as Docker's.
        let e = PODMAN.classify(f("Error: initializing source docker://localhost:1/x:1: pinging container registry localhost:1: connection refused"));
        assert!(
            e.message.starts_with("image not available"),
            "{}",
            e.message
        );
        // clauderon's own default image is built, never pulled: say how.
        let e = DOCKER.classify(f("Unable to find image 'clauderon-agent:latest' locally"));
        let fix = e.fix.unwrap();
        assert!(
            fix.ends_with(
                "; clauderon's default image is built by `sudo scripts/build-agent-image.sh`"
            ),
            "{fix}"
        );
    }
}
