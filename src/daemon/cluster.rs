//! `clauderon daemon --cluster-dir DIR`: the daemon as it runs in a
//! namespace's `clauderon-daemon` pod. It serves the same hook listener
//! and proxy, but there are no session records there: tokens are derived
//! with the session key (see `crate::cluster`), the proxy's CA and the
//! credentials are the files of the daemon's Secret (mounted at DIR), and
//! hook events are kept per session name and id for `daemon statuses`.
//! It listens on the pod's addresses (`--listen`, by default every one
//! the pod has: its own network namespace holds only loopback and the pod
//! IP), at fixed ports, which its Service forwards.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use super::{DaemonInfo, Listening, ProxyParts, serve, take_lock, write_info};
use crate::cluster::{Auth, SessionKey};
use crate::error::{Error, Result};
use crate::store::Home;

/// Where the Secret's files are, and where to listen.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub dir: PathBuf,
    pub listen: IpAddr,
    pub hook_port: u16,
    pub proxy_port: u16,
}

impl ClusterOptions {
    /// The Deployment's defaults: every address of the pod, the Service's ports.
    pub fn new(
        dir: PathBuf,
        listen: Option<IpAddr>,
        hook_port: Option<u16>,
        proxy_port: Option<u16>,
    ) -> ClusterOptions {
        use crate::backend::kubernetes::manifests::{DAEMON_HOOK_PORT, DAEMON_PROXY_PORT};
        ClusterOptions {
            dir,
            listen: listen.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            hook_port: hook_port.unwrap_or(DAEMON_HOOK_PORT),
            proxy_port: proxy_port.unwrap_or(DAEMON_PROXY_PORT),
        }
    }
}

/// The Secret's files: `session-key`, `proxy-ca.pem`, `proxy-ca-key.pem`
/// and one file per credential variable (`ANTHROPIC_API_KEY`, ...).
fn read_key(dir: &std::path::Path) -> Result<SessionKey> {
    let path = dir.join("session-key");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::io(format!("could not read {}", path.display()), e)
            .with_fix("mount the clauderon-daemon Secret there (`clauderon kube setup` makes it)")
    })?;
    SessionKey::from_hex(&text)
}

fn bind(addr: SocketAddr, what: &str) -> Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr).map_err(|e| {
        Error::failed(format!("the {what} could not listen on {addr}: {e}"))
            .with_fix("pick other ports with --http-port and --proxy-port")
    })
}

fn proxy_parts(
    home: &Home,
    o: &ClusterOptions,
    settings: crate::proxy::settings::ProxySettings,
    key: Arc<SessionKey>,
) -> Result<ProxyParts> {
    let secret = Home {
        root: o.dir.clone(),
    };
    for file in [
        crate::proxy::ca::cert_path(&secret),
        crate::proxy::ca::key_path(&secret),
    ] {
        if !file.is_file() {
            return Err(Error::failed(format!("{} is missing", file.display()))
                .with_fix("`clauderon kube setup` writes the daemon's Secret with its CA"));
        }
    }
    let ca = crate::proxy::ca::Ca::load_or_create(&secret)?;
    let socket = bind(SocketAddr::new(o.listen, o.proxy_port), "proxy")?;
    let addr = socket
        .local_addr()
        .map_err(|e| Error::io("the proxy's address", e))?;
    let proxy = crate::proxy::server::Proxy::new(home, settings, ca, vec![addr])?
        .in_cluster(key, o.dir.clone());
    Ok(ProxyParts {
        proxy: Arc::new(proxy),
        sockets: vec![Listening::Tcp(socket)],
        port: addr.port(),
    })
}

/// Runs the in-cluster daemon in the foreground until it is killed.
pub fn run_in_cluster(home: &Home, o: ClusterOptions) -> Result<()> {
    let lock = take_lock(home)?;
    super::survive_broken_pipes();
    let key = Arc::new(read_key(&o.dir)?);
    let hooks = bind(SocketAddr::new(o.listen, o.hook_port), "hook listener")?;
    let hook_addr = hooks
        .local_addr()
        .map_err(|e| Error::io("the hook listener's address", e))?;
    // Its home has no config.toml unless one is put there: the defaults.
    let config = crate::config::Config::load(&home.root)?;
    let policy = config.proxy.policy.preset.as_str().to_string();
    let proxy = proxy_parts(home, &o, config.proxy, Arc::clone(&key))?;
    let info = DaemonInfo {
        pid: std::process::id(),
        port: hook_addr.port(),
        proxy_port: Some(proxy.port),
        addresses: vec![hook_addr.to_string()],
        started_at: crate::clock::now(),
        policy: Some(policy),
        api: None,
    };
    write_info(home, &info)?;
    eprintln!(
        "clauderon daemon {} (in-cluster) listening on {hook_addr} (hooks), port {} (proxy)",
        info.pid, proxy.port
    );
    let hooks = vec![Listening::Tcp(hooks)];
    serve(home, Auth::Derived(key), hooks, Some(proxy), None)?;
    drop(lock);
    Ok(())
}
