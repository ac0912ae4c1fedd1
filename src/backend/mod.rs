//! Backends render engine commands from a session spec; they never run them.
//! Docker (and Podman next) share the OCI renderer.

pub mod oci;

/// What a session's container is wired to on the host: the daemon's ports
/// and how it reaches the credential proxy. Not part of the spec, since it
/// changes when the daemon restarts; `refresh` picks up the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wiring {
    /// The hook listener's port.
    pub http_port: u16,
    pub proxy: Option<ProxyWiring>,
    /// What the host's names resolve to in the container: `host-gateway`
    /// (Docker resolves it), or an address (Podman's bridge gateway).
    pub host_gateway: String,
    /// Rootless Podman: user namespace with keep-id, slirp4netns networking.
    pub rootless: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyWiring {
    pub port: u16,
    /// The Anthropic credential is an API key (the container then gets an
    /// `ANTHROPIC_API_KEY` placeholder), else an OAuth token.
    pub anthropic_api_key: bool,
}
