//! How a session's container is wired to the host: the daemon (started
//! here if needed), the proxy, the engine's host network, the static helper,
//! and whether network mode proxy can work on this engine. Shared by
//! create and refresh.

use crate::backend::oci::Engine;
use crate::backend::{HostNetwork, ProxyWiring, Wiring};
use crate::commands::Ctx;
use crate::daemon;
use crate::error::{Error, Result};
use crate::helper;
use crate::isolation::NetworkMode;
use crate::plan::{Mode, Plan};
use crate::proxy::credentials;

/// How the session's container reaches the daemon and the proxy. The
/// daemon is shared by all sessions and outlives them, so it is started here
/// (not as a step a rollback would undo), and so is the helper written into
/// the home; a dry run only says it would. `version` is the engine's
/// `version` output when the caller has it.
pub fn wiring(
    ctx: &Ctx,
    engine: &Engine,
    network: NetworkMode,
    version: Option<&str>,
    mode: Mode,
    plan: &mut Plan,
) -> Result<Wiring> {
    let host = host_network(engine, network, mode, plan)?;
    if network == NetworkMode::Proxy {
        check_proxy_mode_works(engine, &host, version, mode)?;
    }
    let init_helper = helper::available();
    if init_helper && !mode.is_dry_run() {
        helper::install(&ctx.home)?;
    } else if init_helper && !helper::installed(&ctx.home) {
        plan.note(format!(
            "clauderon first writes its static helper (the container's init and forwarder) to {}",
            helper::host_path(&ctx.home).display()
        ));
    }
    let proxy = &ctx.config.proxy;
    let info = match daemon::running(&ctx.home) {
        Some(info) => info,
        None if mode.is_dry_run() => {
            // Run, it starts before the plan is made (the plan needs its
            // ports); shown, it is the first step, so a pasted plan works.
            plan.push(crate::plan::Step::StartDaemon {
                home: ctx.home.clone(),
                port: ctx.config.http_port.value,
                exact_port: false,
            });
            let from_env = credentials::available_here();
            return Ok(Wiring {
                host,
                init_helper,
                http_port: ctx.config.http_port.value,
                proxy: proxy.enabled.then(|| ProxyWiring {
                    port: proxy.port,
                    anthropic_api_key: from_env.iter().any(|v| v == "ANTHROPIC_API_KEY"),
                }),
            });
        }
        None => daemon::ensure_running(&ctx.home, ctx.config.http_port.value, false)?,
    };
    if network == NetworkMode::Proxy && !mode.is_dry_run() {
        check_daemon_sockets(ctx, info.proxy_port.is_some())?;
    }
    let in_daemon = daemon::credentials(info.port);
    credentials::warn_if_daemon_lacks(&in_daemon);
    Ok(Wiring {
        host,
        init_helper,
        http_port: info.port,
        proxy: info.proxy_port.map(|port| ProxyWiring {
            port,
            anthropic_api_key: in_daemon.iter().any(|v| v == "ANTHROPIC_API_KEY"),
        }),
    })
}

/// A container in network mode proxy reaches the daemon only through its
/// Unix sockets: a daemon started by an older clauderon has none.
fn check_daemon_sockets(ctx: &Ctx, proxy: bool) -> Result<()> {
    let dir = helper::socket_dir(&ctx.home);
    let mut wanted = vec![helper::HOOK_SOCKET];
    if proxy {
        wanted.push(helper::PROXY_SOCKET);
    }
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|s| !dir.join(s).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "the running clauderon daemon does not listen on {} in {}, which sessions in network mode proxy need (it was started by an older clauderon?)",
        missing.join(" and "),
        dir.display()
    ))
    .with_fix("restart it: clauderon daemon restart (running sessions reconnect)"))
}

/// The engine's host network; a dry run without an engine assumes the
/// rootful defaults and says so.
fn host_network(
    engine: &Engine,
    network: NetworkMode,
    mode: Mode,
    plan: &mut Plan,
) -> Result<HostNetwork> {
    match engine.host_network(network) {
        Ok(n) => Ok(n),
        Err(e) if mode.is_dry_run() => {
            plan.note(format!(
                "{} did not say how containers reach the host ({}): assuming rootful defaults",
                engine.program, e.message
            ));
            Ok(HostNetwork {
                gateway: engine.assumed_gateway.into(),
                rootless: false,
                remote: false,
            })
        }
        Err(e) => Err(e),
    }
}

/// Network mode proxy mounts the daemon's Unix sockets into the container:
/// that needs the engine on this machine's kernel (sockets do not cross
/// Docker Desktop's or a Podman machine's VM) and the static helper. Never
/// falls back to an open network silently.
fn check_proxy_mode_works(
    engine: &Engine,
    host: &HostNetwork,
    version: Option<&str>,
    mode: Mode,
) -> Result<()> {
    let fix = "pass --network open (or set [network] mode = \"open\" in config.toml) to run with the engine's network: programs that ignore the proxy variables then reach the internet directly";
    if !helper::available() {
        return Err(Error::input(
            "network mode proxy needs clauderon's static helper, which is only built on Linux",
        )
        .with_fix(fix));
    }
    let version = match version {
        Some(v) => v.to_string(),
        None => match engine.version().run() {
            Ok(out) => out.stdout,
            Err(_) if mode.is_dry_run() => return Ok(()),
            Err(f) => return Err(engine.classify(f)),
        },
    };
    if host.remote || engine.runs_in_a_vm(&version) {
        return Err(Error::input(format!(
            "network mode proxy needs {} to run on this machine's kernel, but it runs in a VM or remotely (Unix sockets from this host do not reach its containers)",
            engine.program
        ))
        .with_fix(fix));
    }
    Ok(())
}

/// Says so when the proxy lacks the session's agent credential (at start,
/// attach and refresh; create says it itself): the running daemon's
/// variables, or, when none runs yet, this shell's (which the daemon a
/// plan starts will take).
pub fn warn_agent_credential(ctx: &Ctx, spec: &crate::session::SessionSpec) {
    if spec.kubernetes.is_some() || !ctx.config.proxy.enabled {
        return;
    }
    let in_daemon = daemon::running(&ctx.home)
        .map(|info| daemon::credentials(info.port))
        .unwrap_or_default();
    credentials::warn_if_agent_lacks(spec.agent, &in_daemon, &spec.env);
}
