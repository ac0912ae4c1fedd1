//! What `list` adds from the daemon's side: requests held for approval
//! (`waiting-approval`), the proxy's recent denials and failures
//! (`blocked`, `offline`), a daemon that lacks the agent's credential
//! (`no-credential`), and statuses that are only as last seen because the
//! daemon is not running.

use crate::commands::Ctx;
use crate::commands::list::Row;
use crate::session::{self, BackendKind, SessionSpec};

/// `rows` are `specs`' rows, in order (then the rows without a record).
pub fn annotate(ctx: &Ctx, specs: &[SessionSpec], rows: &mut [Row], warnings: &mut Vec<String>) {
    let now_ms = session::now() * 1000;
    let mut trouble = crate::proxy::health::recent(&ctx.home, now_ms);
    let daemon = crate::daemon::running(&ctx.home);
    let in_daemon = daemon
        .as_ref()
        .filter(|info| info.proxy_port.is_some())
        .map(|info| crate::daemon::credentials(info.port));
    for (row, spec) in rows.iter_mut().zip(specs) {
        row.proxy = trouble.remove(&row.name).map(|t| t.summary());
        let held = crate::proxy::approvals::held(&ctx.home, &row.name, now_ms);
        if !held.is_empty() && row.state == "running" {
            let hosts: Vec<&str> = held.iter().map(|h| h.host.as_str()).collect();
            row.agent_status = Some("waiting-approval".into());
            row.proxy = Some(format!(
                "held: {} (clauderon approve {} HOST, or deny)",
                hosts.join(", "),
                row.name
            ));
        }
        if let Some(have) = &in_daemon
            && row.proxy.is_none()
            && spec.backend != BackendKind::Kubernetes
        {
            row.proxy = crate::proxy::credentials::missing_for(spec.agent, have, &spec.env);
        }
    }
    let local = specs.iter().any(|s| s.backend != BackendKind::Kubernetes);
    if daemon.is_none() && local && rows.iter().any(|r| r.agent_status.is_some()) {
        let last = rows.iter().filter_map(|r| r.agent_status_since).max();
        let at = last.map(|t| format!(", at {}", session::rfc3339(t)));
        warnings.push(format!(
            "the clauderon daemon is not running, so no hook event arrives: the agent statuses are as last seen{}; `clauderon daemon start` brings it back",
            at.unwrap_or_default()
        ));
    }
}
