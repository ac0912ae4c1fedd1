//! attach, start, refresh and status of kubernetes sessions.
//! The pod is the container: stop deletes it (the volume, files and secret
//! stay), start applies it again and the agent resumes its conversation.

use std::io::IsTerminal;

use crate::backend::Backend;
use crate::backend::ContainerState;
use crate::backend::kubernetes::{observe, status};
use crate::backend::verbs::{RefreshFacts, Wired};
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::plan::{Mode, Plan, Step};
use crate::session::{PullPolicy, SessionSpec};

pub fn attach(spec: &SessionSpec, mode: Mode) -> Result<i32> {
    let backend = Backend::of(spec)?;
    let attach = backend.attach_cmd(spec);
    if mode.is_dry_run() && crate::output::json() {
        // --json: the JSON plan, as every other dry run prints it.
        let mut plan = Plan::default();
        plan.push(Step::Interactive {
            cmd: attach,
            fix: None,
        });
        return print_or_execute(&format!("attach {}", spec.name), &plan, Mode::DryRun);
    }
    if mode.is_dry_run() {
        println!(
            "# clauderon attach {} (dry run: nothing was changed)\n{}",
            spec.name,
            attach.shown()
        );
        return Ok(0);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            Error::input("attach needs a terminal (stdin is not one)").with_fix(format!(
                "`clauderon logs -f {}` follows the agent's output without one",
                spec.name
            )),
        );
    }
    let state = backend.observe_session(spec, mode, &mut Plan::default())?;
    if state == ContainerState::Missing || state == ContainerState::Present("exited".into()) {
        return Err(backend.missing(spec));
    }
    eprintln!(
        "clauderon: attached to {}; detach with Ctrl-P Ctrl-Q (the agent keeps running)",
        spec.name
    );
    attach.run_interactive()
}

pub fn start(ctx: &Ctx, spec: &SessionSpec, mode: Mode) -> Result<()> {
    let (_, kubectl) = super::target(spec)?;
    let mut plan = Plan::default();
    let mut replace = false;
    if !mode.is_dry_run()
        && let Some(pod) = observe::pod(spec, &kubectl)?
    {
        let (state, status) = status::summary(&pod);
        if state != "exited" {
            crate::output::info(format!(
                "Session {} already has a pod ({state}: {status}).",
                spec.name
            ));
            return Ok(());
        }
        // The agent ended (restartPolicy Never): a new pod resumes it.
        replace = true;
    }
    let wiring = super::wiring(ctx, spec, mode, &mut plan)?;
    let start = Backend::of(spec)?.start(spec, Some(&wiring), replace)?;
    plan.steps.extend(start.steps);
    print_or_execute("start", &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Started {0}. `clauderon attach {0}` to talk to the agent.",
            spec.name
        ));
    }
    Ok(())
}

/// Recreates the pod with the same spec; the volume keeps the work. The
/// new pod pulls its image (`Always`) unless `--no-pull` or the session's
/// policy is `never`, as `refresh` pulls on Docker.
pub fn refresh(ctx: &Ctx, spec: &SessionSpec, no_pull: bool, mode: Mode) -> Result<()> {
    // The token of the namespace's keys as they are now: new ones if they
    // were made again (rotation) since create; kept in the record.
    let mut renewed = spec.clone();
    super::derive_token(ctx, &mut renewed, mode)?;
    let mut fresh = renewed.clone();
    if !no_pull && spec.pull_policy != PullPolicy::Never {
        fresh.pull_policy = PullPolicy::Always;
    }
    let mut plan = Plan::default();
    let token_changed = renewed.hook_token != spec.hook_token;
    if token_changed {
        plan.note("the namespace's keys changed since create: the session gets a new token");
    }
    let wiring = super::wiring(ctx, &fresh, mode, &mut plan)?;
    let facts = RefreshFacts {
        wired: Wired::Cluster(&wiring),
        state: crate::backend::ContainerState::Unknown,
        pull: false,
        renewed: token_changed.then_some(renewed),
    };
    let refresh = Backend::of(&fresh)?.refresh(&fresh, &ctx.home, facts)?;
    plan.steps.extend(refresh.steps);
    print_or_execute("refresh", &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Refreshed {0}: a new pod runs with the same settings.",
            spec.name
        ));
    }
    Ok(())
}

/// (state, status text) of the session's pod for `status` and `list`.
pub fn pod_summary(pod: Option<&serde_json::Value>) -> (String, String) {
    match pod {
        Some(p) => status::summary(p),
        None => (
            "stopped".into(),
            "no pod (volume kept): clauderon start recreates it".into(),
        ),
    }
}
