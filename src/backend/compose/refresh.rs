//! The plan of a compose session's refresh: new session files and
//! override (the daemon's wiring may have changed), then the agent's
//! service recreated alone; the other services keep running, with their
//! data.

use super::ComposeSpec;
use crate::agent;
use crate::backend::Wiring;
use crate::backend::oci::Engine;
use crate::plan::{Plan, Step};
use crate::session::SessionSpec;
use crate::store::Home;

pub fn refresh_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
    c: &ComposeSpec,
) -> Plan {
    let mut plan = Plan::default();
    for step in agent::write_session_files(spec, home) {
        plan.push(step);
    }
    let secrets = super::create::write_override(&mut plan, spec, c, home, engine, wiring);
    plan.push(Step::RemoveBelow {
        root: spec.worktree.clone(),
        relative: crate::backend::engine::READY_MARKER.into(),
    });
    if let Some(hosts) = c.hosts_file() {
        let lines = super::host_lines(spec, engine, wiring);
        plan.push(Step::WriteFile {
            path: hosts.with_extension("base"),
            contents: super::podman::hosts_base(&lines),
            mode: 0o644,
            secret: false,
        });
    }
    for step in c.recreate_steps(spec, engine, &secrets) {
        plan.push(step);
    }
    plan.push(engine.verify_started(&spec.container_name(), &spec.worktree));
    plan
}
