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

use crate::cluster::Auth;
use crate::error::{Error, Result};
use crate::helper;
use crate::hooks::listener::Listener;
use crate::serve::Listening;

mod cluster;
mod listen;
use crate::store::Home;
pub use cluster::{ClusterOptions, run_in_cluster};
use listen::{bind_all, bind_unix, socket_addresses};

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
    /// The proxy's policy preset, as the daemon read it at start.
    #[serde(default)]
    pub policy: Option<String>,
    /// Where the HTTP API listens (`[api] listen`), when it is on.
    #[serde(default)]
    pub api: Option<String>,
}

fn lock_path(home: &Home) -> PathBuf {
    home.root.join("daemon.lock")
}

fn write_info(home: &Home, info: &DaemonInfo) -> Result<()> {
    let json = serde_json::to_vec_pretty(info).expect("info serializes");
    crate::plan::write_atomic(&info_path(home), &json, 0o644)
}

fn info_path(home: &Home) -> PathBuf {
    home.root.join("daemon.json")
}

pub fn log_path(home: &Home) -> PathBuf {
    home.root.join("daemon.log")
}

/// The proxy, ready to serve: the CA and the containers' trust bundle
/// exist, and its sockets are bound.
struct ProxyParts {
    proxy: Arc<crate::proxy::server::Proxy>,
    sockets: Vec<Listening>,
    port: u16,
}

fn prepare_proxy(
    home: &Home,
    (settings, books): (
        crate::proxy::settings::ProxySettings,
        crate::proxy::server::Bookkeeping,
    ),
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
    let proxy = crate::proxy::server::Proxy::new(home, settings, ca, socket_addresses(&sockets))?
        .keeping_books(books);
    let mut sockets: Vec<Listening> = sockets.into_iter().map(Listening::Tcp).collect();
    sockets.push(Listening::Unix(unix_socket(home, helper::PROXY_SOCKET)?));
    Ok(ProxyParts {
        proxy: Arc::new(proxy),
        sockets,
        port,
    })
}

/// The Unix socket `name` in the home's socket directory.
fn unix_socket(home: &Home, name: &str) -> Result<std::os::unix::net::UnixListener> {
    let path = helper::socket_dir(home).join(name);
    bind_unix(&path).map_err(|e| {
        Error::failed(format!("could not listen on {}: {e}", path.display())).with_fix(
            "a Unix socket path must be shorter than 108 bytes: set CLAUDERON_HOME to a shorter directory",
        )
    })
}

/// Open connections at most, per service.
const HOOK_CONNECTIONS: usize = 256;
const PROXY_CONNECTIONS: usize = 512;
const API_CONNECTIONS: usize = 64;

/// Where the API really listens: a TCP port 0 is the one picked.
fn bound_address(socket: &Listening, listen: Option<&crate::api::settings::Listen>) -> String {
    match socket {
        Listening::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        Listening::Unix(_) => listen.map(|l| l.to_string()).unwrap_or_default(),
    }
}

/// The API's socket, when `[api] listen` turns it on (its token is made now).
fn bind_api(config: &crate::config::Config) -> Result<Option<Listening>> {
    let Some(listen) = &config.api_listen else {
        return Ok(None);
    };
    if let crate::api::settings::Listen::Tcp(addr) = listen
        && addr.ip().is_unspecified()
    {
        eprintln!(
            "clauderon daemon: warning: the API listens on {addr}, every network this machine is on; anyone who has the token can run agents here"
        );
    }
    listen.bind().map(Some).map_err(|e| {
        Error::failed(format!("could not serve the API on {listen}: {e}"))
            .with_fix("change [api] listen in config.toml (another port, or unix:/path)")
    })
}

/// The home's lock, held for the daemon's lifetime: one daemon per home.
fn take_lock(home: &Home) -> Result<File> {
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
    Ok(lock)
}

/// A client that hangs up before its answer is written (an agent's HTTP
/// client, a hook, an API caller) must cost the daemon that answer, not its
/// life: writev(2) on a socket whose peer is gone raises SIGPIPE, whose
/// default action (set at start for `clauderon list | head`) would end the
/// daemon silently, with every session's proxy. Here it is an EPIPE error.
pub(crate) fn survive_broken_pipes() {
    crate::output::end_on_broken_pipe(false);
}

/// The hook listener's sockets, TCP and the helper's Unix one, with the
/// port really bound and the TCP addresses.
fn bind_hooks(
    home: &Home,
    previous: Option<u16>,
    port: u16,
    any_port_if_busy: bool,
) -> Result<(u16, Vec<SocketAddr>, Vec<Listening>)> {
    let (port, sockets) = bind_all(previous, port, any_port_if_busy).map_err(|e| {
        Error::failed(format!("could not listen on 127.0.0.1:{port}: {e}")).with_fix(
            "pick another port with --http-port, or set [daemon] http_port in config.toml",
        )
    })?;
    let addresses = socket_addresses(&sockets);
    let mut sockets: Vec<Listening> = sockets.into_iter().map(Listening::Tcp).collect();
    sockets.push(Listening::Unix(unix_socket(home, helper::HOOK_SOCKET)?));
    Ok((port, addresses, sockets))
}

/// The proxy, when `[proxy] enabled`; when not, the socket an earlier
/// daemon left is removed.
fn proxy_if_enabled(
    home: &Home,
    config: crate::config::Config,
    previous_port: Option<u16>,
    any_port_if_busy: bool,
) -> Result<Option<ProxyParts>> {
    let books = crate::proxy::server::Bookkeeping {
        books: Arc::new(crate::proxy::usage::books::Books::new(
            home,
            config.prices.clone(),
        )),
        daily: config.budget.daily_usd.map(|u| u.0),
        config: config.path.clone(),
    };
    if !config.proxy.enabled {
        let _ = std::fs::remove_file(helper::socket_dir(home).join(helper::PROXY_SOCKET));
        return Ok(None);
    }
    let parts = prepare_proxy(home, (config.proxy, books), previous_port, any_port_if_busy)?;
    Ok(Some(parts))
}

/// Runs the daemon in the foreground until it is killed.
pub fn run(home: &Home, port: u16, any_port_if_busy: bool) -> Result<()> {
    let lock = take_lock(home)?;
    survive_broken_pipes();
    // Sessions were given the last daemon's ports: keep them when we can.
    let last = read_info(home);
    let previous = last.as_ref().map(|i| i.port).filter(|_| any_port_if_busy);
    let (port, addresses, hook_sockets) = bind_hooks(home, previous, port, any_port_if_busy)?;

    let config = crate::config::Config::load(&home.root)?;
    let watcher = config.clone();
    let api = bind_api(&config)?;
    let api_listen = config.api_listen.clone();
    let api_settings = (config.api_max_runs, config.api_webhooks.clone());
    let policy = config.proxy.policy.preset.as_str().to_string();
    let previous_proxy = last.as_ref().and_then(|i| i.proxy_port);
    let proxy = proxy_if_enabled(home, config, previous_proxy, any_port_if_busy)?;
    let info = DaemonInfo {
        api: api
            .as_ref()
            .map(|socket| bound_address(socket, api_listen.as_ref())),
        pid: std::process::id(),
        port,
        proxy_port: proxy.as_ref().map(|p| p.port),
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
        started_at: crate::clock::now(),
        policy: proxy.is_some().then_some(policy),
    };
    write_info(home, &info)?;
    eprintln!(
        "clauderon daemon {} listening on {} (hooks){} (home {})",
        info.pid,
        info.addresses.join(", "),
        info.proxy_port
            .map(|p| format!(", port {p} (proxy)"))
            .unwrap_or_default(),
        home.root.display()
    );
    in_background(home, watcher);
    let api = api.map(|s| (s, api_settings));
    serve(home, Auth::Records, hook_sockets, proxy, api)?;
    drop(lock);
    Ok(())
}

/// Beside the listeners (they ask the engine, which may be slow or down):
/// compose projects of sessions gone while no daemon ran are removed, and
/// `[notify] command` runs when a session starts needing its user.
fn in_background(home: &Home, config: crate::config::Config) {
    let ctx = crate::config::Ctx {
        home: home.clone(),
        config,
    };
    crate::attention::notify_in_background(ctx);
    let home = home.clone();
    std::thread::spawn(move || crate::backend::compose::sweep(&home));
}

/// Hooks and proxy on one small runtime, until the process is killed.
fn serve(
    home: &Home,
    auth: Auth,
    hook_sockets: Vec<Listening>,
    proxy: Option<ProxyParts>,
    api: Option<(Listening, (usize, crate::api::settings::Webhooks))>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("could not start the daemon's runtime", e))?;
    let listener = Arc::new(Listener::new(home.clone(), auth));
    let audited = proxy.as_ref().map(|p| Arc::clone(&p.proxy));
    runtime.block_on(async move {
        let limit = Arc::new(crate::serve::Slots::new(HOOK_CONNECTIONS));
        for socket in hook_sockets {
            let listener = Arc::clone(&listener);
            let handle = move |req, conn| Arc::clone(&listener).handle(req, conn);
            tokio::spawn(crate::serve::accept_loop(
                socket,
                Arc::clone(&limit),
                handle,
            ));
        }
        if let Some((socket, (max_runs, webhooks))) = api {
            let api = Arc::new(crate::api::Api::new(home.clone(), max_runs, webhooks));
            let handle = move |req, conn| Arc::clone(&api).handle(req, conn);
            let limit = Arc::new(crate::serve::Slots::new(API_CONNECTIONS));
            tokio::spawn(crate::serve::accept_loop(socket, limit, handle));
        }
        if let Some(p) = proxy {
            tokio::spawn(p.proxy.run(
                p.sockets,
                Arc::new(crate::serve::Slots::new(PROXY_CONNECTIONS)),
            ));
        }
        let why = until_told_to_stop().await;
        eprintln!("clauderon daemon {} stopping ({why})", std::process::id());
    });
    // Stop serving first (open connections end), then write every audit
    // entry queued, so no answered request goes unlogged; the sockets are
    // closed before the caller drops the daemon lock.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Some(proxy) = audited {
        proxy.close_audit();
        proxy.close_books();
    }
    Ok(())
}

/// Waits for SIGTERM (`clauderon daemon stop`) or SIGINT; says which.
async fn until_told_to_stop() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
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
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = response.parse(&buf).ok()? else {
        return None;
    };
    // The body of a 200 (the daemon answers with a Content-Length body and
    // closes, so the rest of the bytes are the body).
    (response.code == Some(200)).then(|| String::from_utf8_lossy(&buf[head..]).into_owned())
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
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
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
    let Some(pid) = rustix::process::Pid::from_raw(info.pid as i32) else {
        return Ok(false);
    };
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // Gone, or exited (a zombie its reaper has not collected yet still
        // answers signal 0, but its lock is released at exit).
        if rustix::process::test_kill_process(pid).is_err() || !lock_is_held(home) {
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
