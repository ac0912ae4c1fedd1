//! What `list` and `status` add from the daemon's side (the rows below
//! have the proxy's own notes): a daemon that lacks the agent's credential
//! (`no-credential`), and statuses that are only as last seen because the
//! daemon is not running.

use crate::commands::Ctx;
use crate::commands::list::Row;
use crate::session;

pub fn daemon_notes(ctx: &Ctx, rows: &mut [Row], warnings: &mut Vec<String>) {
    let daemon = crate::daemon::running(&ctx.home);
    let in_daemon = daemon
        .as_ref()
        .filter(|info| info.proxy_port.is_some())
        .map(|info| crate::daemon::credentials(info.port));
    // The in-cluster daemon has credentials of its own.
    let local = |r: &Row| {
        ctx.home
            .load(&r.name)
            .ok()
            .filter(|s| s.kubernetes.is_none())
    };
    if let Some(have) = &in_daemon {
        for row in rows.iter_mut().filter(|r| r.proxy.is_none()) {
            if let Some(spec) = local(row) {
                row.proxy = crate::proxy::credentials::missing_for(spec.agent, have, &spec.env);
            }
        }
    }
    let any_local = rows
        .iter()
        .any(|r| r.agent_status.is_some() && local(r).is_some());
    if daemon.is_none() && any_local {
        let last = rows.iter().filter_map(|r| r.agent_status_since).max();
        let at = last.map(|t| format!(", at {}", session::rfc3339(t)));
        warnings.push(format!(
            "the clauderon daemon is not running, so no hook event arrives: the agent statuses are as last seen{}; `clauderon daemon start` brings it back",
            at.unwrap_or_default()
        ));
    }
}
