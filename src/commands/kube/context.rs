//! The context and namespace of a new kubernetes session: flags over
//! `[kubernetes]` over kubectl's current context, resolved once at create.

use crate::backend::kubernetes::{self as kube, classify};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::plan::Mode;
use crate::validate;

/// `--context`, else `[kubernetes] context`, else kubectl's current
/// context. A dry run never runs kubectl: it reads `current-context` from
/// the kubeconfig file itself.
pub fn context(ctx: &Ctx, flag: Option<&str>, mode: Mode) -> Result<String> {
    let chosen = flag
        .map(String::from)
        .or_else(|| ctx.config.kubernetes.context.clone());
    if let Some(c) = chosen {
        validate::kube_context(&c).map_err(|m| {
            Error::input(format!("invalid --context {c:?}: {m}"))
                .with_fix("`kubectl config get-contexts` lists the contexts")
        })?;
        if !mode.is_dry_run() {
            check_exists(&c)?;
        }
        return Ok(c);
    }
    let current = if mode.is_dry_run() {
        kubeconfig_current_context()
    } else {
        match kube::current_context().run() {
            Ok(o) => Some(o.stdout.trim().to_string()),
            // No kubectl at all is its own error, with its own fix.
            Err(f) if f.not_found => return Err(classify(f)),
            Err(_) => None,
        }
    };
    current.filter(|c| !c.is_empty()).ok_or_else(|| {
        Error::input("kubectl has no current context").with_fix(
            "pass --context C, set [kubernetes] context in config.toml, or `kubectl config use-context C`",
        )
    })
}

/// The namespace: `--namespace`, else `[kubernetes] namespace` (default `clauderon`).
pub fn namespace(ctx: &Ctx, flag: Option<&str>) -> Result<String> {
    let ns = flag
        .map(String::from)
        .unwrap_or_else(|| ctx.config.kubernetes.namespace.clone());
    validate::dns_label(&ns).map_err(|m| {
        Error::input(format!("invalid --namespace {ns:?}: {m}"))
            .with_fix("name a namespace like `clauderon` or `team-agents`")
    })?;
    Ok(ns)
}

/// A context the kubeconfig does not have fails here, before anything is made.
fn check_exists(context: &str) -> Result<()> {
    let out = kube::context_names().run().map_err(classify)?;
    if out.stdout.lines().any(|l| l.trim() == context) {
        return Ok(());
    }
    let known: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    Err(
        Error::input(format!("no such kubectl context: {context:?}")).with_fix(format!(
            "pass one of the kubeconfig's contexts with --context ({}), or add it with `kubectl config set-context`",
            if known.is_empty() { "it has none".to_string() } else { known.join(", ") }
        )),
    )
}

/// `current-context:` of the first kubeconfig file (`$KUBECONFIG`, else
/// `~/.kube/config`) that sets one; a top-level YAML scalar.
fn kubeconfig_current_context() -> Option<String> {
    let files: Vec<std::path::PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list).collect(),
        _ => vec![std::path::PathBuf::from(std::env::var_os("HOME")?).join(".kube/config")],
    };
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        text.lines().find_map(|l| {
            let v = l.strip_prefix("current-context:")?.trim();
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            (!v.is_empty()).then(|| v.to_string())
        })
    })
}
