//! `clauderon daemon start|stop|restart|status`: the background daemon's
//! life, as a plan like every other command's (so `--dry-run` and `--json`
//! show exactly what runs).

use crate::cli::DaemonAction;
use crate::commands::{Ctx, print_or_execute};
use crate::daemon::{self, DaemonInfo};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::{Mode, Plan, Step};
use crate::session;

pub fn run(ctx: &Ctx, http_port: Option<u16>, action: DaemonAction, mode: Mode) -> Result<()> {
    let home = &ctx.home;
    let name = match action {
        DaemonAction::Start => "start",
        DaemonAction::Stop => "stop",
        DaemonAction::Restart => "restart",
        // main runs these itself: they are queries, not plans.
        DaemonAction::Status | DaemonAction::Statuses { .. } => {
            return status(ctx, mode).map(|_| ());
        }
    };
    let running = daemon::running(home);
    let plan = plan(ctx, http_port, &action, running.as_ref());
    print_or_execute(&format!("daemon {name}"), &plan, mode)?;
    if mode.is_dry_run() {
        return Ok(());
    }
    if let (DaemonAction::Start, Some(info), Some(asked)) = (&action, &running, http_port)
        && asked != 0
        && asked != info.port
    {
        output::note(format!(
            "note: the daemon was already running on port {}, so --http-port {asked} was not applied; `clauderon daemon --http-port {asked} restart` would move it (running sessions then need `clauderon refresh`)",
            info.port
        ));
    }
    if matches!(action, DaemonAction::Restart) && http_port.is_some() {
        output::note(
            "note: sessions created before keep the old port until `clauderon refresh <name>`",
        );
    }
    report(home, &action, running.is_some())
}

/// Stop: SIGTERM to the running daemon. Start: spawn one unless it runs.
/// Restart keeps the port containers were given, unless told otherwise.
fn plan(
    ctx: &Ctx,
    http_port: Option<u16>,
    action: &DaemonAction,
    running: Option<&DaemonInfo>,
) -> Plan {
    let home = &ctx.home;
    let mut plan = Plan::default();
    let stop = |plan: &mut Plan| match running {
        Some(info) => {
            plan.push(Step::StopDaemon {
                home: home.clone(),
                pid: info.pid,
            });
        }
        None => plan.note("the daemon is not running: nothing to stop"),
    };
    let start = |plan: &mut Plan| {
        let port = http_port
            .or_else(|| running.map(|i| i.port))
            .unwrap_or(ctx.config.http_port.value);
        plan.push(Step::StartDaemon {
            home: home.clone(),
            port,
            exact_port: http_port.is_some(),
        });
    };
    match (action, running) {
        (DaemonAction::Start, Some(info)) => plan.note(format!(
            "the daemon runs already (pid {}, port {}): nothing to do",
            info.pid, info.port
        )),
        (DaemonAction::Start, None) => start(&mut plan),
        (DaemonAction::Stop, _) => stop(&mut plan),
        (DaemonAction::Restart, _) => {
            stop(&mut plan);
            start(&mut plan);
        }
        (DaemonAction::Status | DaemonAction::Statuses { .. }, _) => {}
    }
    plan
}

/// After the plan ran: what runs now (JSON with `--json`).
fn report(home: &crate::store::Home, action: &DaemonAction, was_running: bool) -> Result<()> {
    let now = daemon::running(home);
    if output::json() {
        output::print_json(&serde_json::json!({ "running": now.is_some(), "daemon": now }));
        return Ok(());
    }
    match (action, now) {
        (DaemonAction::Stop, _) if was_running => output::info("Stopped the clauderon daemon."),
        (DaemonAction::Stop, _) => output::info("The clauderon daemon was not running."),
        (DaemonAction::Restart, Some(info)) => output::info(format!(
            "clauderon daemon restarted (pid {}) on {}",
            info.pid,
            info.addresses.join(", ")
        )),
        (_, Some(info)) => output::info(format!(
            "clauderon daemon running (pid {}) on {}",
            info.pid,
            info.addresses.join(", ")
        )),
        (_, None) => {}
    }
    Ok(())
}

/// Whether the daemon runs, where it listens, and its log: exit code 0 when
/// it runs, 1 when it does not (the same with --json).
pub fn status(ctx: &Ctx, mode: Mode) -> Result<i32> {
    if mode.is_dry_run() {
        return Err(
            Error::input("`daemon status` changes nothing: --dry-run does not apply")
                .with_fix("clauderon daemon status"),
        );
    }
    let home = &ctx.home;
    let running = daemon::running(home);
    if output::json() {
        output::print_json(&serde_json::json!({
            "running": running.is_some(),
            "daemon": running,
            "log": daemon::log_path(home),
        }));
        return Ok(if running.is_some() { 0 } else { 1 });
    }
    let Some(info) = running else {
        return Err(Error::failed("the clauderon daemon is not running")
            .with_fix("`clauderon daemon start` starts it (create starts it too)"));
    };
    let api = info
        .api
        .as_deref()
        .unwrap_or("off ([api] listen is not set)");
    println!(
        "running: pid {}, up {}\nhooks: {}\nproxy: {}\napi: {api}\nlog: {}",
        info.pid,
        session::age(info.started_at, session::now()),
        info.addresses.join(", "),
        info.proxy_port
            .map(|p| format!("port {p} on the same addresses"))
            .unwrap_or_else(|| "off ([proxy] enabled = false)".into()),
        daemon::log_path(home).display()
    );
    Ok(0)
}
