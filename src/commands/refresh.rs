//! `clauderon refresh`: pull the session's own image and recreate its
//! container from the recorded spec. The old container is kept aside until
//! the new one has started, so a failed refresh puts it back.

use crate::backend::Backend;
use crate::backend::compose::ComposeSpec;
use crate::backend::oci::Engine;
use crate::backend::verbs::{RefreshFacts, Wired};
use crate::commands::flow;
use crate::commands::{ContainerState, Ctx, observe_container, print_or_execute};
use crate::error::Result;
use crate::plan::{Mode, Plan, Step};
use crate::session::{PullPolicy, SessionSpec};

/// The allowlist may have changed since the session was made.
pub(crate) fn image_allowed(ctx: &Ctx, spec: &crate::session::SessionSpec) -> Result<()> {
    let allowed = &ctx.config.allowed_images;
    crate::image::check_allowed(&allowed.value, &spec.image, &allowed.source.to_string())
}

pub fn run(ctx: &Ctx, name: &str, no_pull: bool, mode: Mode) -> Result<()> {
    let spec = ctx.home.load(name)?;
    let _lock = (!mode.is_dry_run())
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    flow::of(spec.backend).refresh(ctx, spec, no_pull, mode)
}

/// Whether refresh pulls the image first: not with `--no-pull`, a pull
/// policy of never (said in the plan), or an image only this host has.
fn wants_pull(
    engine: &Engine,
    spec: &SessionSpec,
    no_pull: bool,
    mode: Mode,
    plan: &mut Plan,
) -> bool {
    if !no_pull && spec.pull_policy == PullPolicy::Never {
        plan.note(format!(
            "not pulling {}: the session's pull policy is never",
            spec.image
        ));
    }
    !no_pull
        && spec.pull_policy != PullPolicy::Never
        && !keeps_local_image(engine, spec, mode, plan)
}

/// `refresh` on this host: a new container, or the agent's compose
/// service recreated.
pub(crate) fn on_host(ctx: &Ctx, mut spec: SessionSpec, no_pull: bool, mode: Mode) -> Result<()> {
    let name = &spec.name.clone();
    crate::mounts::require_host_paths(&spec)?;
    if let Some(c) = spec.compose.clone() {
        return refresh_compose(ctx, &spec, &c, mode);
    }
    // A session from before isolation is recreated with it, and so recorded.
    let upgrade = !spec.isolation_recorded;
    spec.isolation_recorded = true;
    crate::commands::lifecycle::require_worktree(&spec)?;
    image_allowed(ctx, &spec)?;
    let engine = Engine::for_kind(spec.backend)?;
    let mut plan = Plan::default();
    let state = observe_container(&engine, &spec.container_name(), mode, &mut plan)?;
    let pull = wants_pull(&engine, &spec, no_pull, mode, &mut plan);
    let wiring =
        crate::commands::wiring::wiring(ctx, &engine, spec.network, None, mode, &mut plan)?;
    let facts = RefreshFacts {
        wired: Wired::Host(&wiring),
        state,
        pull,
        renewed: None,
    };
    let refresh = Backend::of(&spec)?.refresh(&spec, &ctx.home, facts)?;
    plan.steps.extend(refresh.steps);
    if !mode.is_dry_run() {
        crate::commands::wiring::warn_agent_credential(ctx, &spec);
    }
    if upgrade {
        plan.push(Step::WriteFile {
            path: ctx.home.record_path(name),
            contents: crate::store::record_bytes(&spec),
            mode: 0o600,
            secret: true,
        });
    }
    print_or_execute(&format!("refresh {name}"), &plan, mode).map_err(|e| {
        let e = e.context(format!("could not refresh session '{name}'"));
        if pull && spec.pull_policy == PullPolicy::Always {
            e.with_fix(format!(
                "if the image only exists locally, recreate without pulling: clauderon refresh --no-pull {name}"
            ))
        } else {
            e
        }
    })?;
    if !mode.is_dry_run() {
        crate::hooks::events::note_restart(&ctx.home, name, "refresh");
        crate::output::info(format!(
            "Refreshed {name}: new container from {}; the agent resumes its conversation.",
            spec.image
        ));
    }
    Ok(())
}

/// A compose session: new session files and override (the daemon's
/// wiring may have changed), then the agent's service recreated alone;
/// the other services keep running, with their data. Compose pulls only a
/// missing image.
fn refresh_compose(ctx: &Ctx, spec: &SessionSpec, c: &ComposeSpec, mode: Mode) -> Result<()> {
    let name = &spec.name;
    crate::commands::lifecycle::require_worktree(spec)?;
    let allowed = &ctx.config.allowed_images;
    crate::image::check_allowed(&allowed.value, &spec.image, &allowed.source.to_string())?;
    let engine = Engine::for_kind(spec.backend)?;
    let mut plan = Plan::default();
    let wiring =
        crate::commands::wiring::wiring(ctx, &engine, spec.network, None, mode, &mut plan)?;
    let facts = RefreshFacts {
        wired: Wired::Host(&wiring),
        state: ContainerState::Unknown,
        pull: false,
        renewed: None,
    };
    let refresh = Backend::of(spec)?.refresh(spec, &ctx.home, facts)?;
    plan.steps.extend(refresh.steps);
    print_or_execute(&format!("refresh {name}"), &plan, mode)
        .map_err(|e| e.context(format!("could not refresh session '{name}'")))?;
    if !mode.is_dry_run() {
        crate::hooks::events::note_restart(&ctx.home, name, "refresh");
        crate::output::info(format!(
            "Refreshed {name}: its service {} was recreated, the others kept; the agent resumes its conversation.",
            c.service
        ));
    }
    Ok(())
}

/// An image that exists only here (built or loaded, never pulled) is not
/// pulled: a registry would only answer "not found". One line says so,
/// instead of the engine's pull error and a warning repeating it. With
/// pull policy always the pull is still tried (and fails with the fix).
fn keeps_local_image(engine: &Engine, spec: &SessionSpec, mode: Mode, plan: &mut Plan) -> bool {
    if spec.pull_policy == PullPolicy::Always {
        return false;
    }
    let Ok(out) = engine.image_repo_digests(&spec.image).run() else {
        return false; // not here (or the engine cannot say): pull as usual
    };
    if !out
        .stdout
        .split_whitespace()
        .all(|d| d.starts_with("localhost/"))
    {
        return false;
    }
    let kept = format!(
        "kept the local image {} (it is not in a registry)",
        spec.image
    );
    if !mode.is_dry_run() {
        crate::output::note(&kept);
    }
    plan.note(kept);
    true
}
