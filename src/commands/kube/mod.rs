//! The commands on kubernetes sessions: the same plans as on Docker, made
//! of kubectl calls (apply, poll, exec, delete) and git over `kubectl exec`.

pub mod context;
pub mod create;
pub mod events;
pub mod lifecycle;
pub mod pull;
pub mod setup;

use std::time::Duration;

use crate::backend::kubernetes::manifests::{KubeWiring, ProxyCa};
use crate::backend::kubernetes::{self as kube, KubeSpec, Kubectl, classify, object_name};
use crate::cluster::keys;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::exec::Failure;
use crate::isolation::NetworkMode;
use crate::plan::{Plan, Poll, Step};
use crate::session::SessionSpec;

/// The kubectl of a recorded kubernetes session.
pub fn target(spec: &SessionSpec) -> Result<(&KubeSpec, Kubectl)> {
    let k = spec.kubernetes.as_ref().ok_or_else(|| {
        Error::failed(format!(
            "the record of session '{}' has no kubernetes context and namespace",
            spec.name
        ))
        .with_fix(format!(
            "remove it with `clauderon delete --discard {}` and create it again",
            spec.name
        ))
    })?;
    Ok((k, Kubectl::for_spec(k)))
}

/// The pod's wiring: in network mode proxy, the in-cluster daemon's proxy
/// (the `clauderon-daemon` Service) and the namespace's proxy CA (made on
/// the host, shipped in the daemon's Secret); in mode open, no proxy.
pub fn wiring(ctx: &Ctx, spec: &SessionSpec, dry_run: bool, plan: &mut Plan) -> Result<KubeWiring> {
    if !ctx.config.proxy.enabled || spec.network == NetworkMode::Open {
        return Ok(KubeWiring { proxy: None });
    }
    let (k, kubectl) = target(spec)?;
    let daemon_ip = if dry_run {
        "(the clauderon-daemon Service's ClusterIP, read when the pod is applied)".to_string()
    } else {
        daemon_ip(&kubectl)?
    };
    let found = if dry_run {
        keys::load(&ctx.home, &k.context, &k.namespace)
    } else {
        let upstream = ctx.config.proxy.upstream_ca_file.as_deref();
        Some(keys::load_or_create(
            &ctx.home,
            &k.context,
            &k.namespace,
            upstream,
        )?)
    };
    let (ca_pem, ca_bundle) = match found {
        Some(keys) => (keys.ca_pem, keys.ca_bundle),
        None => {
            plan.note("the namespace's proxy CA does not exist yet: create makes it first (the manifests below show where it goes)");
            let missing = "(the namespace's proxy CA certificate, made at create)\n".to_string();
            (missing.clone(), missing)
        }
    };
    Ok(KubeWiring {
        proxy: Some(ProxyCa {
            anthropic_api_key: std::env::var("ANTHROPIC_API_KEY")
                .is_ok_and(|v| !v.trim().is_empty()),
            ca_pem,
            ca_bundle,
            daemon_ip,
        }),
    })
}

/// The daemon Service's ClusterIP, asked when a pod is applied (create,
/// start, refresh), so a Service made again is followed.
fn daemon_ip(kubectl: &Kubectl) -> Result<String> {
    let setup_fix = format!(
        "`clauderon kube setup --context={} --namespace={}` applies it",
        kubectl.context, kubectl.namespace
    );
    let out = kubectl.daemon_service_ip().run().map_err(|f| {
        if kube::classify::is_not_found(&f) {
            Error::failed(format!(
                "namespace {} has no {} Service: session pods reach the proxy through it",
                kubectl.namespace,
                kube::DAEMON
            ))
            .with_fix(setup_fix.clone())
        } else {
            classify(f)
        }
    })?;
    let ip = out.stdout.trim();
    match ip.parse::<std::net::IpAddr>() {
        Ok(_) => Ok(ip.to_string()),
        Err(_) => Err(Error::failed(format!(
            "the {} Service has no ClusterIP ({ip:?}): session pods reach the proxy at that address",
            kube::DAEMON
        ))
        .with_fix(format!(
            "delete it (`kubectl --context={} --namespace={} delete service {}`), then {setup_fix}",
            kubectl.context,
            kubectl.namespace,
            kube::DAEMON
        ))),
    }
}

/// The namespace's keys (its proxy CA, its session key): made now if
/// needed, or in a dry run, which makes nothing, those that exist.
pub fn namespace_keys(
    ctx: &Ctx,
    context: &str,
    namespace: &str,
    dry_run: bool,
) -> Result<Option<keys::ClusterKeys>> {
    if dry_run {
        return Ok(keys::load(&ctx.home, context, namespace));
    }
    let upstream = ctx.config.proxy.upstream_ca_file.as_deref();
    keys::load_or_create(&ctx.home, context, namespace, upstream).map(Some)
}

/// The session's token, derived with the namespace's session key so the
/// in-cluster daemon can check it without a record (see `crate::cluster`).
/// A dry run before the first setup keeps the random one (it is redacted).
pub fn derive_token(ctx: &Ctx, spec: &mut SessionSpec, dry_run: bool) -> Result<()> {
    let (context, namespace) = {
        let (k, _) = target(spec)?;
        (k.context.clone(), k.namespace.clone())
    };
    let found = if dry_run {
        keys::load(&ctx.home, &context, &namespace)
    } else {
        let upstream = ctx.config.proxy.upstream_ca_file.as_deref();
        Some(keys::load_or_create(
            &ctx.home, &context, &namespace, upstream,
        )?)
    };
    if let Some(keys) = found {
        spec.hook_token = keys.key()?.token(&spec.name, &spec.id);
    }
    Ok(())
}

/// Waits for the agent container to run; fails fast on a pod reason that
/// waiting does not fix.
pub fn wait_running(spec: &SessionSpec, k: &KubeSpec, kubectl: &Kubectl) -> Step {
    Step::Poll {
        cmd: kubectl.get_pod(&object_name(&spec.name)),
        what: "the agent pod to run".into(),
        check: kube::status::check_pod,
        timeout: Duration::from_secs(k.create_timeout),
        interval: Duration::from_millis(500),
        timeout_fix: format!(
            "`kubectl --context={} --namespace={} describe pod {}` shows why; raise [kubernetes] create_timeout (seconds) if the image is just slow to pull",
            k.context,
            k.namespace,
            object_name(&spec.name)
        ),
    }
}

/// Prints `ready` once the entrypoint has written its marker in this pod
/// (start.sh wrote the pod's uid next to it first); a fixed script, run
/// with the container's own environment.
const READY_CHECK: &str = "cd /workspace/.clauderon 2>/dev/null && [ -e ready ] && [ \"$(cat pod-uid 2>/dev/null)\" = \"$CLAUDERON_POD_UID\" ] && echo ready";

/// The readiness marker the entrypoint writes in the pod when it hands
/// over to the agent (after on-create and post-start).
fn ready_cmd(spec: &SessionSpec, kubectl: &Kubectl) -> crate::exec::Cmd {
    kubectl.exec(&object_name(&spec.name), ["bash", "-c", READY_CHECK])
}

fn check_ready(answer: std::result::Result<&str, Failure>) -> Poll {
    match answer {
        Ok(text) if text.trim() == "ready" => Poll::Ready,
        Ok(_) => Poll::Waiting("the entrypoint has not handed over yet".into()),
        // The check's own "not yet": exit 1, nothing said.
        Err(f) if f.code == Some(1) && f.stderr.trim().is_empty() => {
            Poll::Waiting("the entrypoint has not handed over yet".into())
        }
        Err(f) if f.stderr.contains("container not found") || f.stderr.contains("not running") || f.stderr.contains("completed pod") => {
            Poll::Failed(Error::failed(format!(
                "the agent container stopped before it handed over to the agent: {}",
                f.stderr_tail()
            ))
            .with_fix("`clauderon logs <name>` shows why: a failing --on-create/--post-start command, or an image without bash, git or the agent CLI"))
        }
        Err(f) => Poll::Failed(classify(f)),
    }
}

/// Waits until the agent runs (the pushed branch checked out, on-create
/// and post-start done).
pub fn wait_ready(spec: &SessionSpec, k: &KubeSpec, kubectl: &Kubectl) -> Step {
    let seconds = if spec.lifecycle.on_create.is_empty() {
        k.create_timeout
    } else {
        spec.lifecycle
            .on_create_timeout
            .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT)
    };
    Step::Poll {
        cmd: ready_cmd(spec, kubectl),
        what: "the entrypoint to hand over to the agent".into(),
        check: check_ready,
        timeout: Duration::from_secs(seconds),
        interval: Duration::from_millis(500),
        timeout_fix: format!(
            "`clauderon logs {}` shows what it is doing (a command waiting for input?); raise [lifecycle] on_create_timeout or [kubernetes] create_timeout",
            spec.name
        ),
    }
}

/// Applies the pod (start: the volume, files and policy are there), and
/// with `files` the session's ConfigMap and Secret too (refresh: the token
/// and CA they hold follow keys made again since create).
pub fn apply_pod(
    spec: &SessionSpec,
    k: &KubeSpec,
    kubectl: &Kubectl,
    wiring: &KubeWiring,
    files: bool,
) -> Step {
    let kinds: &[&str] = if files {
        &["ConfigMap", "Secret", "Pod"]
    } else {
        &["Pod"]
    };
    let pod = kube::manifests::session_manifests(spec, k, wiring)
        .into_iter()
        .filter(|m| kinds.iter().any(|kind| m["kind"] == *kind))
        .collect::<Vec<_>>();
    Step::run_cmd(kubectl.apply(&pod), classify)
}
