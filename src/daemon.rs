//! `clauderon daemon`: one process per clauderon home that receives the
//! sessions' hook events. It binds loopback and the engines' bridge gateway
//! addresses (what `host.docker.internal` resolves to on native Linux), never
//! 0.0.0.0. A lock file held for its lifetime makes it one per home; the
//! kernel drops the lock when the process dies, so a killed daemon never
//! blocks the next one.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::oci::DOCKER;
use crate::error::{Error, Result};
use crate::hooks::listener::Listener;
use crate::store::Home;

/// What a running daemon tells the rest of clauderon (`daemon.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    /// The hook listener's port.
    pub port: u16,
    /// The credential proxy's port, when the proxy is enabled.
    #[serde(default)]
    pub proxy_port: Option<u16>,
    pub addresses: Vec<String>,
    pub started_at: u64,
}

fn lock_path(home: &Home) -> PathBuf {
    home.root.join("daemon.lock")
}

fn info_path(home: &Home) -> PathBuf {
    home.root.join("daemon.json")
}

pub fn log_path(home: &Home) -> PathBuf {
    home.root.join("daemon.log")
}

/// The bridge gateways of the engines that are reachable: containers reach
/// the host there.
fn bridge_gateways() -> Vec<IpAddr> {
    let mut found = docker_gateways();
    // Rootful Podman's bridge gateway (rootless Podman reaches the host's
    // loopback through slirp4netns instead).
    if let Ok((gateway, false)) = crate::backend::oci::PODMAN.host_network()
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
    let format = "{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options \"com.docker.network.bridge.name\"}}";
    let Ok(out) = DOCKER
        .cmd()
        .args(["network", "inspect", "bridge", "--format", format])
        .run()
    else {
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
fn bind_all(
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
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else {
        return std::net::TcpListener::bind(addr);
    };
    let one: libc::c_int = 1;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: plain socket syscalls on a descriptor we own (wrapped at once,
    // so every path closes it); each pointer points to a live local of the
    // size given.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let listener = std::net::TcpListener::from_raw_fd(fd);
        for (level, name) in [
            (libc::SOL_IP, libc::IP_FREEBIND),
            (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        ] {
            if libc::setsockopt(
                fd,
                level,
                name,
                &one as *const _ as *const libc::c_void,
                size,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len) != 0
            || libc::listen(fd, 128) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(listener)
    }
}

#[cfg(not(target_os = "linux"))]
fn bind_even_before_the_address_exists(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr)
}

fn socket_addresses(sockets: &[std::net::TcpListener]) -> Vec<SocketAddr> {
    sockets.iter().filter_map(|s| s.local_addr().ok()).collect()
}

/// The proxy, ready to serve: the CA and the containers' trust bundle
/// exist, and its sockets are bound.
struct ProxyParts {
    proxy: Arc<crate::proxy::server::Proxy>,
    sockets: Vec<std::net::TcpListener>,
    port: u16,
}

fn prepare_proxy(
    home: &Home,
    settings: crate::proxy::settings::ProxySettings,
    previous_port: Option<u16>,
    any_if_busy: bool,
) -> Result<ProxyParts> {
    let ca = crate::proxy::ca::Ca::load_or_create(home)?;
    crate::proxy::ca::write_bundle(home, settings.upstream_ca_file.as_deref())?;
    let (port, sockets) = bind_all(previous_port, settings.port, any_if_busy).map_err(|e| {
        Error::failed(format!(
            "the proxy could not listen on 127.0.0.1:{}: {e}",
            settings.port
        ))
        .with_fix("set another [proxy] port in config.toml")
    })?;
    let proxy = crate::proxy::server::Proxy::new(home, settings, ca, socket_addresses(&sockets))?;
    Ok(ProxyParts {
        proxy: Arc::new(proxy),
        sockets,
        port,
    })
}

/// Open connections at most, per service.
const HOOK_CONNECTIONS: usize = 256;
const PROXY_CONNECTIONS: usize = 512;

/// Runs the daemon in the foreground until it is killed.
pub fn run(home: &Home, port: u16, any_port_if_busy: bool) -> Result<()> {
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let lock = File::create(lock_path(home))
        .map_err(|e| Error::io("could not open the daemon lock", e))?;
    if lock.try_lock().is_err() {
        let running = read_info(home)
            .map(|i| format!(" (pid {}, port {})", i.pid, i.port))
            .unwrap_or_default();
        return Err(Error::failed(format!(
            "a clauderon daemon is already running for {}{running}",
            home.root.display()
        ))
        .with_fix("`clauderon daemon stop` stops it; `clauderon daemon status` shows it"));
    }
    // Sessions were given the last daemon's ports: keep them when we can.
    let last = read_info(home);
    let (port, hook_sockets) = bind_all(
        last.as_ref().map(|i| i.port).filter(|_| any_port_if_busy),
        port,
        any_port_if_busy,
    )
    .map_err(|e| {
        Error::failed(format!("could not listen on 127.0.0.1:{port}: {e}")).with_fix(
            "pick another port with --http-port, or set [daemon] http_port in config.toml",
        )
    })?;
    let addresses = socket_addresses(&hook_sockets);

    let config = crate::config::Config::load(&home.root)?;
    let proxy = if config.proxy.enabled {
        Some(prepare_proxy(
            home,
            config.proxy,
            last.as_ref().and_then(|i| i.proxy_port),
            any_port_if_busy,
        )?)
    } else {
        None
    };
    let proxy_port = proxy.as_ref().map(|p| p.port);

    let info = DaemonInfo {
        pid: std::process::id(),
        port,
        proxy_port,
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
        started_at: crate::session::now(),
    };
    let json = serde_json::to_vec_pretty(&info).expect("info serializes");
    crate::plan::write_atomic(&info_path(home), &json, 0o644)?;
    eprintln!(
        "clauderon daemon {} listening on {} (hooks){} (home {})",
        info.pid,
        info.addresses.join(", "),
        proxy_port
            .map(|p| format!(", port {p} (proxy)"))
            .unwrap_or_default(),
        home.root.display()
    );

    // Hooks and proxy share one small runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("could not start the daemon's runtime", e))?;
    let listener = Arc::new(Listener::new(home.clone()));
    runtime.block_on(async move {
        let limit = Arc::new(tokio::sync::Semaphore::new(HOOK_CONNECTIONS));
        for socket in hook_sockets {
            let _ = socket.set_nonblocking(true);
            let Ok(socket) = tokio::net::TcpListener::from_std(socket) else {
                continue;
            };
            let listener = Arc::clone(&listener);
            let handle = move |req, conn| Arc::clone(&listener).handle(req, conn);
            tokio::spawn(crate::serve::accept_loop(
                socket,
                Arc::clone(&limit),
                handle,
            ));
        }
        if let Some(p) = proxy {
            tokio::spawn(p.proxy.run(
                p.sockets,
                Arc::new(tokio::sync::Semaphore::new(PROXY_CONNECTIONS)),
            ));
        }
        std::future::pending::<()>().await;
    });
    drop(lock);
    Ok(())
}

fn read_info(home: &Home) -> Option<DaemonInfo> {
    serde_json::from_slice(&std::fs::read(info_path(home)).ok()?).ok()
}

/// The running daemon of this home, if there is one: it answers its health
/// check on the recorded port with the recorded pid. (The lock is not
/// touched here, so checking never gets in the way of a starting daemon.)
pub fn running(home: &Home) -> Option<DaemonInfo> {
    let info = read_info(home)?;
    let body = health(info.port)?;
    body.contains(&format!("daemon {} is running", info.pid))
        .then_some(info)
}

fn health(port: u16) -> Option<String> {
    http_get(port, "/health")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut buf = Vec::new();
    let _ = s.take(4096).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.starts_with("HTTP/1.1 200").then_some(text)
}

/// Starts the daemon in the background unless it runs already, and waits
/// until it answers. It inherits our environment (where credential rules
/// may read their secrets from).
/// With `exact_port` (the user asked for that port) the daemon takes that
/// port or fails; else it prefers its previous ports, then `port`, then any.
pub fn ensure_running(home: &Home, port: u16, exact_port: bool) -> Result<DaemonInfo> {
    if let Some(info) = running(home) {
        return Ok(info);
    }
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(home))
        .map_err(|e| Error::io("could not open the daemon log", e))?;
    let exe =
        std::env::current_exe().map_err(|e| Error::io("could not find the clauderon binary", e))?;
    let mut child = {
        use std::os::unix::process::CommandExt;
        let mut args = vec!["daemon".to_string(), "--http-port".into(), port.to_string()];
        if !exact_port {
            args.push("--any-port-if-busy".into());
        }
        std::process::Command::new(exe)
            .args(args)
            .env("CLAUDERON_HOME", &home.root)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(|e| Error::io("daemon log", e))?)
            .stderr(log)
            // Its own process group: Ctrl-C on this command does not stop it.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("could not start the clauderon daemon", e))?
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        // Ours, or one that another clauderon started at the same moment.
        if let Some(info) = running(home) {
            return Ok(info);
        }
        if let Ok(Some(status)) = child.try_wait()
            && !lock_is_held(home)
        {
            return Err(Error::failed(format!(
                "the clauderon daemon exited at start ({status}): {}",
                tail(&log_path(home))
            ))
            .with_fix(format!(
                "see {}; `clauderon daemon` runs it in the foreground",
                log_path(home).display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(
        Error::failed("the clauderon daemon did not answer within 10 s")
            .with_fix(format!("see {}", log_path(home).display())),
    )
}

/// Does some daemon hold this home's lock (running or still starting)?
fn lock_is_held(home: &Home) -> bool {
    File::open(lock_path(home)).is_ok_and(|f| f.try_lock_shared().is_err())
}

fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The credential variables the running daemon has (names only).
pub fn credentials(port: u16) -> Vec<String> {
    http_get(port, "/api/credentials")
        .and_then(|body| {
            let start = body.find("\r\n\r\n")? + 4;
            let v: serde_json::Value = serde_json::from_str(&body[start..]).ok()?;
            Some(
                v["message"]
                    .as_array()?
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// Stops the daemon of this home; true if one was running.
pub fn stop(home: &Home) -> Result<bool> {
    let Some(info) = running(home) else {
        return Ok(false);
    };
    // SAFETY: kill(2) with a pid and a signal number touches no memory.
    unsafe { libc::kill(info.pid as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(info.pid as libc::pid_t, 0) } != 0 {
            // daemon.json stays: the next daemon reuses its ports.
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(Error::failed(format!(
        "the clauderon daemon (pid {}) did not stop",
        info.pid
    ))
    .with_fix(format!("kill {}", info.pid)))
}
