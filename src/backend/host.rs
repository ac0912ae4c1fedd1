//! How an engine's containers reach the host (network mode open), and
//! whether the engine runs on this machine's kernel (network mode proxy
//! mounts Unix sockets, which do not cross a VM).

use crate::backend::engine::Engine;
use crate::error::Error;
use crate::isolation::NetworkMode;
use crate::session::BackendKind;

/// How an engine's containers reach the host (in network mode open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNetwork {
    /// What the host's names resolve to: `host-gateway` (Docker resolves
    /// it) or an address (Podman's bridge gateway, slirp4netns' host).
    pub gateway: String,
    /// Rootless Podman: user namespace with keep-id.
    pub rootless: bool,
    /// A remote engine (Podman machine, a remote connection).
    pub remote: bool,
}

impl Engine {
    /// How containers of this engine reach the host. Docker needs no call
    /// (it resolves `host-gateway` itself). Podman runs rootless exactly
    /// when it runs as a user other than root on this machine, and is
    /// remote when `CONTAINER_HOST` points elsewhere: no `podman info`
    /// (over 100 ms). Its bridge gateway is asked only when a container
    /// will be on that bridge (network mode open).
    pub fn host_network(&self, network: NetworkMode) -> Result<HostNetwork, Error> {
        if self.kind == BackendKind::Docker {
            return Ok(HostNetwork {
                gateway: "host-gateway".into(),
                rootless: false,
                remote: false,
            });
        }
        let (rootless, remote) = self.podman_mode()?;
        let gateway = if rootless {
            // slirp4netns maps this address to the host's loopback.
            "10.0.2.2".to_string()
        } else if network == NetworkMode::Open {
            self.bridge_gateway()?
        } else {
            // Unused: the container has no network.
            "10.88.0.1".to_string()
        };
        Ok(HostNetwork {
            gateway,
            rootless,
            remote,
        })
    }

    /// (rootless, remote) for Podman. Local Podman is rootless exactly when
    /// it runs as a user other than root; with a connection configured
    /// (`CONTAINER_HOST`, `CONTAINER_CONNECTION`) only Podman itself knows.
    fn podman_mode(&self) -> Result<(bool, bool), Error> {
        let set = |v: &str| std::env::var_os(v).is_some_and(|h| !h.is_empty());
        if !set("CONTAINER_HOST") && !set("CONTAINER_CONNECTION") {
            return Ok((!rustix::process::geteuid().is_root(), false));
        }
        let format = "{{.Host.Security.Rootless}} {{.Host.ServiceIsRemote}}";
        let info = self
            .cmd()
            .args(["info", "--format", format])
            .run()
            .map_err(|f| self.classify(f))?
            .stdout;
        let mut words = info.split_whitespace();
        Ok((words.next() == Some("true"), words.next() == Some("true")))
    }

    /// Rootful Podman's bridge gateway.
    fn bridge_gateway(&self) -> Result<String, Error> {
        Ok(self
            .cmd()
            .args([
                "network",
                "inspect",
                "podman",
                "--format",
                "{{range .Subnets}}{{.Gateway}} {{end}}",
            ])
            .run()
            .map_err(|f| self.classify(f))?
            .stdout
            .split_whitespace()
            .next()
            .unwrap_or("10.88.0.1")
            .to_string())
    }

    /// Does the engine's `version` output (see `version`) say it runs in a
    /// VM (Docker Desktop), where Unix sockets from this host do not reach?
    /// A remote endpoint (`DOCKER_HOST`/`CONTAINER_HOST` over tcp or ssh)
    /// counts too.
    pub fn runs_in_a_vm(&self, version: &str) -> bool {
        let endpoint = if self.is_docker() {
            std::env::var("DOCKER_HOST")
        } else {
            std::env::var("CONTAINER_HOST")
        }
        .unwrap_or_default();
        !cfg!(target_os = "linux")
            || version.contains("Docker Desktop")
            || endpoint.starts_with("tcp://")
            || endpoint.starts_with("ssh://")
    }
}
