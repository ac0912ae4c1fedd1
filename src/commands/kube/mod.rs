//! The commands on kubernetes sessions: the same plans as on Docker, made
//! of kubectl calls (apply, poll, exec, delete) and git over `kubectl exec`.

pub mod context;
pub mod create;
pub mod lifecycle;
pub mod pull;
pub mod setup;

use crate::backend::kubernetes::manifests::{KubeWiring, ProxyCa};
use crate::backend::kubernetes::{self as kube, KubeSpec, Kubectl, classify};
use crate::cluster::keys;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::isolation::NetworkMode;
use crate::plan::{Mode, Plan};
use crate::session::SessionSpec;

// The pod's steps are the backend's (see `backend::kubernetes::start`).
pub use crate::backend::kubernetes::start::{apply_pod, wait_ready, wait_running};

/// The kubectl of a recorded kubernetes session.
pub fn target(spec: &SessionSpec) -> Result<(&KubeSpec, Kubectl)> {
    let k = crate::backend::session::recorded_kube_spec(spec)?;
    Ok((k, Kubectl::for_spec(k)))
}

/// The pod's wiring: in network mode proxy, the in-cluster daemon's proxy
/// (the `clauderon-daemon` Service) and the namespace's proxy CA (made on
/// the host, shipped in the daemon's Secret); in mode open, no proxy.
pub fn wiring(ctx: &Ctx, spec: &SessionSpec, mode: Mode, plan: &mut Plan) -> Result<KubeWiring> {
    if !ctx.config.proxy.enabled || spec.network == NetworkMode::Open {
        return Ok(KubeWiring { proxy: None });
    }
    let (k, kubectl) = target(spec)?;
    let daemon_ip = if mode.is_dry_run() {
        "(the clauderon-daemon Service's ClusterIP, read when the pod is applied)".to_string()
    } else {
        daemon_ip(&kubectl)?
    };
    let found = if mode.is_dry_run() {
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
    mode: Mode,
) -> Result<Option<keys::ClusterKeys>> {
    if mode.is_dry_run() {
        return Ok(keys::load(&ctx.home, context, namespace));
    }
    let upstream = ctx.config.proxy.upstream_ca_file.as_deref();
    keys::load_or_create(&ctx.home, context, namespace, upstream).map(Some)
}

/// The session's token, derived with the namespace's session key so the
/// in-cluster daemon can check it without a record (see `crate::cluster`).
/// A dry run before the first setup keeps the random one (it is redacted).
pub fn derive_token(ctx: &Ctx, spec: &mut SessionSpec, mode: Mode) -> Result<()> {
    let (context, namespace) = {
        let (k, _) = target(spec)?;
        (k.context.clone(), k.namespace.clone())
    };
    let found = if mode.is_dry_run() {
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
