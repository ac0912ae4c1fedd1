//! `clauderon create --backend kubernetes`: the branch on the host, the
//! session's manifests applied, the pod waited for, the branch pushed in.
//! Any failure rolls back everything applied, the branch and the record.

use std::path::PathBuf;

use crate::backend::Backend;
use crate::backend::kubernetes::manifests::KubeWiring;
use crate::backend::kubernetes::{self as kube, KubeSpec, classify, setup};
use crate::backend::verbs::{CreateFacts, Wired};
use crate::cli::CreateArgs;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::plan::{Mode, Plan, Step};
use crate::session::SessionSpec;

/// The kubernetes parts of a new session's spec: a name kubernetes
/// accepts, a non-root user, the hardening the restricted profile allows,
/// and the context and namespace, resolved now and kept in the record.
pub fn finish_spec(ctx: &Ctx, args: &CreateArgs, spec: &mut SessionSpec) -> Result<()> {
    crate::validate::dns_subdomain(&spec.name).map_err(|m| {
        Error::input(format!(
            "session name {:?} cannot name kubernetes objects: {m}",
            spec.name
        ))
        .with_fix("use lowercase letters, digits, `-` and `.`, ending in a letter or digit")
    })?;
    if let Some(cap) = spec
        .security
        .cap_add
        .iter()
        .find(|c| *c != "NET_BIND_SERVICE")
    {
        return Err(Error::input(format!(
            "capability {cap} cannot be added on kubernetes: the restricted Pod Security profile allows only NET_BIND_SERVICE"
        ))
        .with_fix("drop --cap-add (and [security] cap_add), or use --backend docker"));
    }
    if spec.uid == 0 {
        spec.uid = kube::pod_uid();
        spec.gid = kube::pod_uid();
    }
    spec.worktree = PathBuf::from(kube::WORKSPACE);
    let cfg = &ctx.config.kubernetes;
    spec.kubernetes = Some(KubeSpec {
        context: super::context::context(
            ctx,
            args.context.as_deref(),
            Mode::from_dry_run(args.dry_run),
        )?,
        namespace: super::context::namespace(ctx, args.namespace.as_deref())?,
        storage_class: cfg.storage_class.clone(),
        storage_size: cfg.storage_size.clone(),
        image_pull_secrets: cfg.image_pull_secrets.clone(),
        runtime_class: cfg.runtime_class.clone(),
        create_timeout: cfg.create_timeout,
        home_label: kube::home_label(&ctx.home),
    });
    super::derive_token(ctx, spec, Mode::from_dry_run(args.dry_run))
}

pub fn run(ctx: &Ctx, spec: SessionSpec, mode: Mode) -> Result<()> {
    let _lock = if mode.is_dry_run() {
        None
    } else {
        Some(ctx.home.lock_session(&spec.name)?)
    };
    let mut plan = Plan::default();
    let setup = setup_plan(ctx, &spec, mode, &mut plan)?;
    if mode.is_dry_run() {
        let wiring = super::wiring(ctx, &spec, mode, &mut plan)?;
        plan.steps
            .extend(create_plan(ctx, &spec, &wiring, setup)?.steps);
        // --json: the JSON plan, as on every backend (kubectl's absence is
        // one of its notes).
        if crate::output::json() {
            plan.note("kubectl was not called".to_string());
            crate::output::print_json(&plan.to_json(&format!("create {}", spec.name)));
            return Ok(());
        }
        print!(
            "# clauderon create {} (dry run: nothing was changed; kubectl was not called)\n{}",
            spec.name,
            plan.render()
        );
        return Ok(());
    }
    let context = || format!("could not create session '{}'", spec.name);
    // The daemon first: the pod's manifest names its Service's ClusterIP.
    setup.execute().map_err(|e| e.context(context()))?;
    let created = super::wiring(ctx, &spec, mode, &mut plan)
        .and_then(|wiring| create_plan(ctx, &spec, &wiring, Plan::default()))
        .and_then(|p| {
            plan.steps.extend(p.steps);
            plan.execute()
        });
    if let Err(e) = created {
        return Err(setup.undo_after(e).context(context()));
    }
    // --json and --quiet: the same result as on every backend.
    if crate::output::json() || crate::output::quiet() {
        crate::commands::create::print_created(&spec, &[]);
        return Ok(());
    }
    let (k, _) = super::target(&spec)?;
    let n = &spec.name;
    println!(
        "Created session {n} (kubernetes {}/{}, {}, image {})\n  branch {} (pushed into the pod; `clauderon pull {n}` fetches the agent's commits back)\n\nNext:\n  clauderon attach {n}      # talk to the agent (detach: Ctrl-P Ctrl-Q)\n  clauderon logs {n} -f     # follow its output\n  clauderon delete {n}      # pull, then remove the pod, volume and files",
        k.context, k.namespace, spec.agent, spec.image, spec.branch,
    );
    Ok(())
}

/// The first create in a namespace runs `kube setup`: when the daemon's
/// Deployment is missing, its steps (and the namespace's, when that is
/// missing too), each undone if the create rolls back. A dry run does not
/// ask the cluster: it says so.
fn setup_plan(ctx: &Ctx, spec: &SessionSpec, mode: Mode, plan: &mut Plan) -> Result<Plan> {
    let (k, kubectl) = super::target(spec)?;
    let mut steps = Plan::default();
    if mode.is_dry_run() {
        plan.note(format!(
            "if namespace {} has no clauderon daemon yet, create first applies it (and the namespace) as `clauderon kube setup` does",
            k.namespace
        ));
        return Ok(steps);
    }
    if let Some(daemon) = super::setup::daemon_state(ctx, &kubectl)? {
        super::setup::same_keys(ctx, &kubectl, &daemon)?;
        steps.push(super::setup::wait_daemon_pod(ctx, &kubectl));
        return Ok(steps);
    }
    match setup::get_namespace(&kubectl).run() {
        Ok(_) => {}
        Err(f) if f.stderr.contains("(NotFound)") => {
            steps.push_undoable(
                Step::run_cmd(setup::apply_namespace(&kubectl), classify),
                vec![Step::run_cmd(setup::delete_namespace(&kubectl), classify)],
            );
        }
        // Users without cluster-wide read of namespaces: the apply says more.
        Err(f) if f.stderr.contains("(Forbidden)") => {}
        Err(f) => return Err(classify(f)),
    }
    super::setup::add_daemon_steps(ctx, &kubectl, Mode::Execute, &mut steps, true)?;
    Ok(steps)
}

/// The backend's plan of this create (see `backend::kubernetes::create`).
fn create_plan(ctx: &Ctx, spec: &SessionSpec, wiring: &KubeWiring, setup: Plan) -> Result<Plan> {
    let facts = CreateFacts {
        wired: Wired::Cluster(wiring),
        exclude: None,
        extras: Default::default(),
        setup,
    };
    Backend::of(spec)?.create(spec, &ctx.home, facts)
}
