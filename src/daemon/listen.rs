//! Where the daemon listens: loopback and the engines' bridge gateways at
//! one port (for sessions in network mode open, and for clauderon itself),
//! and Unix sockets in the home (for sessions in network mode proxy, whose
//! containers have no network and get the socket directory mounted).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::net::UnixListener;
use std::path::Path;

use crate::backend::oci::DOCKER;

/// The bridge gateways of the engines that are reachable: containers reach
/// the host there.
fn bridge_gateways() -> Vec<IpAddr> {
    let mut found = docker_gateways();
    // Rootful Podman's bridge gateway (rootless Podman reaches the host's
    // loopback through slirp4netns instead).
    if let Ok(crate::backend::HostNetwork {
        gateway,
        rootless: false,
        ..
    }) = crate::backend::oci::PODMAN.host_network(crate::isolation::NetworkMode::Open)
        && let Ok(ip) = gateway.parse()
        && !found.contains(&ip)
    {
        found.push(ip);
    }
    found
}

fn docker_gateways() -> Vec<IpAddr> {
    // Docker 20.10 leaves the default bridge's IPAM gateway empty, so the
    // bridge interface's own address is the fallback (that is also what
    // `host-gateway` resolves to).
    let Ok(out) = DOCKER.bridge_network().run() else {
        return Vec::new();
    };
    let text = out.stdout.trim();
    let (gateways, interface) = text.split_once('|').unwrap_or((text, ""));
    let found: Vec<IpAddr> = gateways
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .collect();
    if found.is_empty() && !interface.is_empty() {
        return interface_addresses(interface);
    }
    found
}

/// IPv4 addresses of a network interface, from `ip -4 -o addr show dev NAME`.
fn interface_addresses(interface: &str) -> Vec<IpAddr> {
    let Ok(out) = crate::exec::Cmd::new(["ip", "-4", "-o", "addr", "show", "dev", interface]).run()
    else {
        return Vec::new();
    };
    out.stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}

/// Listens on loopback and the bridge gateways at one port: `previous` (the
/// port running sessions were given, so a restarted daemon keeps serving
/// them) if there is one and it is free, else `port`; with `any_if_busy`, a
/// free port when those are taken.
pub(super) fn bind_all(
    previous: Option<u16>,
    port: u16,
    any_if_busy: bool,
) -> std::io::Result<(u16, Vec<std::net::TcpListener>)> {
    let loopback =
        |port| std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    let first = previous
        .filter(|p| *p != 0)
        .and_then(|p| loopback(p).ok())
        .map(Ok)
        .unwrap_or_else(|| loopback(port))
        .or_else(|e| {
            if !any_if_busy {
                return Err(e);
            }
            eprintln!("clauderon daemon: port {port} is taken ({e}); using a free one");
            loopback(0)
        })?;
    let port = first.local_addr()?.port();
    let mut sockets = vec![first];
    for gw in bridge_gateways() {
        match bind_even_before_the_address_exists(SocketAddr::new(gw, port)) {
            Ok(s) => sockets.push(s),
            Err(e) => eprintln!(
                "clauderon daemon: warning: cannot listen on {gw}:{port}: {e}; containers may not reach it"
            ),
        }
    }
    Ok((port, sockets))
}

/// Podman creates its bridge only when its first container starts, so the
/// gateway address may not exist yet: IP_FREEBIND lets the listener bind it
/// now and accept once it appears. (Linux; elsewhere a plain bind.)
#[cfg(target_os = "linux")]
fn bind_even_before_the_address_exists(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    if !addr.is_ipv4() {
        return std::net::TcpListener::bind(addr);
    }
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_freebind_v4(true)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

#[cfg(not(target_os = "linux"))]
fn bind_even_before_the_address_exists(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr)
}

pub(super) fn socket_addresses(sockets: &[std::net::TcpListener]) -> Vec<SocketAddr> {
    sockets.iter().filter_map(|s| s.local_addr().ok()).collect()
}

/// Binds a Unix socket at `path`, replacing a stale one (the daemon lock
/// is held, so no other daemon serves it), readable only by this user.
pub(super) fn bind_unix(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}
