//! The static helper every session container runs as PID 1
//! (`helper/clauderon-init.rs`, built by build.rs and embedded here): it
//! reaps orphans and passes signals on, so no engine `--init` (Podman's
//! catatonit) is needed; and in network mode `proxy` it forwards loopback
//! ports inside the container to the daemon's Unix sockets.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::Home;

const INIT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/clauderon-init"));

/// Where the helper is mounted in containers.
pub const CONTAINER_INIT: &str = "/opt/clauderon/init";
/// Where the daemon's socket directory is mounted in containers.
pub const CONTAINER_SOCKETS: &str = "/run/clauderon";
/// Loopback ports the helper listens on inside a container (the container
/// has its own network namespace, so they collide with nothing on the host).
pub const CONTAINER_PROXY_PORT: u16 = 39128;
pub const CONTAINER_HOOK_PORT: u16 = 39130;

/// Was a helper built for this platform? (Only Linux builds embed one.)
pub fn available() -> bool {
    !INIT_BINARY.is_empty()
}

pub fn host_path(home: &Home) -> PathBuf {
    home.root.join("bin").join("clauderon-init")
}

/// Is this build's helper in the home already?
pub fn installed(home: &Home) -> bool {
    std::fs::read(host_path(home)).is_ok_and(|b| b == INIT_BINARY)
}

/// Writes the helper into the home unless the same bytes are there; a
/// running container keeps the file it started with (rename, not rewrite).
pub fn install(home: &Home) -> Result<PathBuf> {
    let path = host_path(home);
    if installed(home) {
        return Ok(path);
    }
    let dir = home.root.join("bin");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("could not create {}", dir.display()), e))?;
    crate::plan::write_atomic(&path, INIT_BINARY, 0o755)?;
    Ok(path)
}

/// The daemon's Unix sockets, mounted into containers in network mode proxy.
pub fn socket_dir(home: &Home) -> PathBuf {
    home.root.join("run")
}

pub const PROXY_SOCKET: &str = "proxy.sock";
pub const HOOK_SOCKET: &str = "hooks.sock";
