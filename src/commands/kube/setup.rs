//! `clauderon kube setup`: prepares a namespace for sessions, once (the
//! first kubernetes `create` runs it when the daemon is not there): the
//! namespace, enforcing the restricted Pod Security profile, and the
//! in-cluster daemon with its credentials Secret, sent on kubectl's stdin
//! and redacted in the dry run. Applying again changes nothing unless the
//! credentials did, so it is safe to run again after changing them.

use crate::backend::kubernetes::daemon::{
    DaemonParts, daemon_home, daemon_keys, daemon_manifests, keys_fingerprint,
};
use crate::backend::kubernetes::{self as kube, Kubectl, classify, setup};
use crate::cluster::keys::ClusterKeys;
use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::plan::{Mode, Plan, Step};

pub fn run(
    ctx: &Ctx,
    context: Option<String>,
    namespace: Option<String>,
    mode: Mode,
) -> Result<()> {
    // The same resolution as create's: flags, then [kubernetes], then kubectl.
    let context = super::context::context(ctx, context.as_deref(), mode)?;
    let namespace = super::context::namespace(ctx, namespace.as_deref())?;
    let kubectl = Kubectl::new(&context, &namespace);
    if !mode.is_dry_run()
        && let Some(daemon) = daemon_state(ctx, &kubectl)?
        && let Err(e) = same_keys(ctx, &kubectl, &daemon)
    {
        eprintln!(
            "clauderon: warning: {}\n  setup gives the daemon this home's keys: sessions made with the old ones (`clauderon refresh` makes them new tokens) are refused until then",
            e.message
        );
    }
    let mut plan = Plan::default();
    let enforced = add_namespace_step(&kubectl, mode, &mut plan)?;
    add_daemon_steps(ctx, &kubectl, mode, &mut plan, false)?;
    print_or_execute("kube setup", &plan, mode)?;
    if !mode.is_dry_run() {
        let security = if enforced {
            "Pod Security `restricted` is enforced there"
        } else {
            "its Pod Security labels are as they were"
        };
        crate::output::info(format!(
            "Namespace {namespace} (context {context}) is ready: {security}, and the in-cluster daemon `{}` runs ({}).",
            kube::DAEMON,
            ctx.config.kubernetes.daemon_image()
        ));
    }
    Ok(())
}

/// The namespace, applied when it is missing or clauderon made it. One
/// someone else made is left as it is: relabelling it would enforce the
/// restricted profile on every pod of theirs there. Says whether clauderon
/// enforces the profile.
fn add_namespace_step(kubectl: &Kubectl, mode: Mode, plan: &mut Plan) -> Result<bool> {
    let apply = Step::run_cmd(setup::apply_namespace(kubectl), classify);
    if mode.is_dry_run() {
        plan.note(format!(
            "namespace {} is applied only when it is missing or clauderon made it ({}=clauderon); one made otherwise is left as it is",
            kubectl.namespace,
            kube::label::MANAGED_BY
        ));
        plan.push(apply);
        return Ok(true);
    }
    match setup::get_namespace(kubectl).run() {
        Ok(out) => {
            let ns: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
            if ns["metadata"]["labels"][kube::label::MANAGED_BY] != "clauderon" {
                eprintln!(
                    "clauderon: note: namespace {n} was not made by clauderon, so setup leaves its labels alone and does not enforce Pod Security there (session pods meet the restricted profile anyway)\n  to enforce it: kubectl --context={c} label namespace {n} pod-security.kubernetes.io/enforce=restricted",
                    n = kubectl.namespace,
                    c = kubectl.context
                );
                return Ok(false);
            }
        }
        Err(f) if f.stderr.contains("(NotFound)") => {}
        // A user with a Role in the namespace only may not read (or apply)
        // namespaces at all: set up the daemon in it, as create does.
        Err(f) if f.stderr.contains("(Forbidden)") => {
            eprintln!(
                "clauderon: note: you may not read namespace {n}, so setup assumes it exists and leaves it as it is (an administrator creates it and labels it pod-security.kubernetes.io/enforce=restricted)",
                n = kubectl.namespace
            );
            return Ok(false);
        }
        Err(f) => return Err(classify(f)),
    }
    plan.push(apply);
    Ok(true)
}

/// Is the namespace's daemon there (its Deployment), and is it this
/// home's? Another home's daemon has another session key: replacing its
/// Secret would cut that home's sessions off, so that is refused.
pub fn daemon_state(ctx: &Ctx, kubectl: &Kubectl) -> Result<Option<serde_json::Value>> {
    let ours = kube::home_label(&ctx.home);
    match kubectl.get_daemon().run() {
        Ok(out) => {
            let daemon: serde_json::Value = serde_json::from_str(&out.stdout).map_err(|e| {
                Error::failed(format!("kubectl get deployment printed no JSON: {e}"))
            })?;
            match daemon_home(&daemon) {
            Some(theirs) if theirs != ours => Err(Error::failed(format!(
                "the clauderon daemon in namespace {} belongs to another clauderon home (label {}={theirs}; this one is {ours})",
                kubectl.namespace,
                kube::label::HOME
            ))
            .with_fix("use another namespace (--namespace, or [kubernetes] namespace) for this home, or CLAUDERON_HOME of the one that set it up")),
                _ => Ok(Some(daemon)),
            }
        }
        Err(f) if f.stderr.contains("(NotFound)") => Ok(None),
        Err(f) => Err(classify(f)),
    }
}

/// Does the daemon run with this home's keys? The home label is a hash of
/// the home's path, which another machine can share (`/root/.clauderon`);
/// and the host's copy of the keys may have been made again. Either way
/// the daemon would refuse every token this home derives.
pub fn same_keys(ctx: &Ctx, kubectl: &Kubectl, daemon: &serde_json::Value) -> Result<()> {
    let (c, n) = (&kubectl.context, &kubectl.namespace);
    let Some(theirs) = daemon_keys(daemon) else {
        return Ok(()); // set up before daemons carried the fingerprint
    };
    let ours = super::namespace_keys(ctx, c, n, Mode::Execute)?.map(|k| keys_fingerprint(&k));
    if ours.as_deref() == Some(theirs.as_str()) {
        return Ok(());
    }
    Err(Error::failed(format!(
        "the clauderon daemon in namespace {n} (context {c}) runs with other keys than this home's (its {}={theirs}): it would refuse this home's sessions",
        crate::backend::kubernetes::daemon::KEYS_ANNOTATION
    ))
    .with_fix(format!(
        "if that daemon is this home's and its keys were made again here, `clauderon kube setup --context={c} --namespace={n}` gives it the new ones (refresh older sessions); if it belongs to another machine whose home has the same path, use another namespace (--namespace)"
    )))
}

/// The credential variables of this environment that the proxy's rules
/// read, with their values (they go into the Secret, never into argv).
fn credentials() -> Vec<(String, String)> {
    crate::proxy::credentials::available_here()
        .into_iter()
        .filter_map(|name| std::env::var(&name).ok().map(|v| (name, v)))
        .collect()
}

/// The keys for the namespace: made now, or (dry run) those there are.
fn cluster_keys(ctx: &Ctx, kubectl: &Kubectl, mode: Mode) -> Result<ClusterKeys> {
    let (c, n) = (&kubectl.context, &kubectl.namespace);
    let found = super::namespace_keys(ctx, c, n, mode)?;
    let missing = || "(made by setup)".to_string();
    Ok(found.unwrap_or_else(|| ClusterKeys {
        session_key: missing(),
        ca_pem: missing(),
        ca_key_pem: missing(),
        ca_bundle: missing(),
    }))
}

/// Applies the daemon (undone by removing it, with `undo`) and waits for it.
pub fn add_daemon_steps(
    ctx: &Ctx,
    kubectl: &Kubectl,
    mode: Mode,
    plan: &mut Plan,
    undo: bool,
) -> Result<()> {
    let keys = cluster_keys(ctx, kubectl, mode)?;
    let credentials = credentials();
    let names: Vec<&str> = credentials.iter().map(|(k, _)| k.as_str()).collect();
    if names.is_empty() {
        eprintln!(
            "clauderon: warning: no credential variable is set here ({}), so the in-cluster proxy has none to inject\n  fix: export ANTHROPIC_API_KEY=... (or CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY, GH_TOKEN) and run `clauderon kube setup` again",
            crate::proxy::credentials::rule_env_vars().join(", ")
        );
    } else {
        plan.note(format!(
            "the daemon's Secret holds {} from this environment (values redacted), the session key and the namespace's proxy CA",
            names.join(", ")
        ));
    }
    let image = ctx.config.kubernetes.daemon_image();
    let home_label = kube::home_label(&ctx.home);
    let parts = DaemonParts {
        image: &image,
        home_label: &home_label,
        keys: &keys,
        credentials: &credentials,
    };
    let apply = Step::run_cmd(kubectl.apply(&daemon_manifests(&parts)), classify);
    let remove = vec![Step::run_cmd(kubectl.delete_daemon(), classify)];
    if undo {
        plan.push_with_cleanup(apply, remove.clone(), remove);
    } else {
        plan.push(apply);
    }
    let seconds = ctx.config.kubernetes.create_timeout;
    plan.push(wait_daemon_pod(ctx, kubectl));
    plan.push(Step::run_cmd(
        kubectl.daemon_rollout(seconds),
        daemon_not_ready,
    ));
    Ok(())
}

/// Waits for a ready daemon pod, failing at once on a reason waiting will
/// not cure; also what create runs when the daemon is already there (a
/// setup that failed leaves a Deployment whose pod never runs).
pub fn wait_daemon_pod(ctx: &Ctx, kubectl: &Kubectl) -> Step {
    Step::Poll {
        cmd: kubectl.get_daemon_pods(),
        what: "the in-cluster daemon's pod to be ready".into(),
        check: crate::backend::kubernetes::daemon::check_daemon_pods,
        timeout: std::time::Duration::from_secs(ctx.config.kubernetes.create_timeout),
        interval: std::time::Duration::from_millis(500),
        timeout_fix: not_ready_fix(),
    }
}

fn daemon_not_ready(f: crate::exec::Failure) -> Error {
    let e = classify(f);
    if e.fix.is_some() {
        return e;
    }
    e.with_fix(not_ready_fix())
}

fn not_ready_fix() -> String {
    format!(
        "the daemon's pod is not ready: `kubectl describe pod --selector={}={}` says why. Its image ([kubernetes] daemon_image, default clauderon-daemon:<version>) must be in the cluster: `clauderon daemon-image build`, then `kind load docker-image IMAGE` or `k3d image import IMAGE`",
        kube::label::NAME,
        kube::DAEMON
    )
}
