//! `clauderon policy NAME [allow HOST | deny HOST | reset] [--suggest]`:
//! a session's own proxy policy. It is kept in the session's record, which
//! the daemon's proxy reads again when it changes: the next connection of
//! the session gets the new policy, with no restart.

use crate::cli::{CreateArgs, PolicyAction};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::output;
use crate::proxy::session_policy::{SessionPolicy, parse_host};
use crate::session::SessionSpec;

/// The session policy `create --policy/--allow-host/--deny-host` asks for.
pub fn from_create(args: &CreateArgs) -> Result<SessionPolicy> {
    let mut policy = SessionPolicy {
        mode: args.policy.clone(),
        ..SessionPolicy::default()
    };
    for host in &args.allow_host {
        policy.allow(host_arg("--allow-host", host)?);
    }
    for host in &args.deny_host {
        policy.deny(host_arg("--deny-host", host)?);
    }
    Ok(policy)
}

/// A kubernetes session's proxy is the in-cluster daemon's, which reads no
/// session policy: refused rather than ignored.
pub fn check_backend(spec: &SessionSpec) -> Result<()> {
    if spec.kubernetes.is_some() && !spec.policy.is_default() {
        return Err(kubernetes_refusal());
    }
    Ok(())
}

fn host_arg(flag: &str, host: &str) -> Result<String> {
    parse_host(host).map_err(|why| {
        Error::input(format!("{flag}: {why}")).with_fix(format!("{flag} api.example.com"))
    })
}

fn kubernetes_refusal() -> Error {
    Error::input(
        "a kubernetes session's proxy is the in-cluster daemon's, which reads no session policy",
    )
    .with_fix("use --backend docker or podman for a session policy")
}

pub fn run(
    ctx: &Ctx,
    name: &str,
    action: Option<PolicyAction>,
    host: Option<&str>,
    suggest: bool,
    json: bool,
) -> Result<()> {
    if suggest {
        if json {
            return Err(Error::input("--suggest prints config.toml lines, not JSON")
                .with_fix(format!("clauderon policy {name} --suggest")));
        }
        if action.is_some() {
            return Err(Error::input(
                "--suggest only prints; it goes with no allow, deny or reset",
            )
            .with_fix(format!("clauderon policy {name} --suggest")));
        }
        ctx.home.load(name)?;
        let entries = crate::proxy::audit::read(&crate::proxy::audit::path(&ctx.home));
        print!("{}", crate::proxy::session_policy::suggest(name, &entries));
        return Ok(());
    }
    let Some(action) = action else {
        return show(ctx, &ctx.home.load(name)?, json);
    };
    let host = match (action, host) {
        (PolicyAction::Reset, None) => None,
        (PolicyAction::Reset, Some(_)) => {
            return Err(Error::input("reset takes no host")
                .with_fix(format!("clauderon policy {name} reset")));
        }
        (_, Some(h)) => Some(host_arg("HOST", h)?),
        (_, None) => {
            return Err(Error::input("allow and deny need a HOST")
                .with_fix(format!("clauderon policy {name} allow api.example.com")));
        }
    };
    let (spec, said) = change(ctx, name, action, host)?;
    if json {
        return show(ctx, &spec, true);
    }
    output::info(format!("{said} (from its next connection; no restart)."));
    Ok(())
}

/// Changes the session's policy in its record (under the session's lock):
/// the record as written, and what was done.
fn change(
    ctx: &Ctx,
    name: &str,
    action: PolicyAction,
    host: Option<String>,
) -> Result<(SessionSpec, String)> {
    let _lock = ctx.home.lock_session(name)?;
    let mut spec = ctx.home.load(name)?;
    if spec.kubernetes.is_some() {
        return Err(kubernetes_refusal());
    }
    let said = match (action, host) {
        (PolicyAction::Allow, Some(h)) => {
            spec.policy.allow(h.clone());
            format!("Session {name} may now reach {h}")
        }
        (PolicyAction::Deny, Some(h)) => {
            spec.policy.deny(h.clone());
            format!("Session {name} is now refused {h}")
        }
        _ => {
            spec.policy = SessionPolicy::default();
            format!("Session {name} now has config.toml's policy")
        }
    };
    let path = ctx.home.record_path(name);
    crate::plan::write_atomic(&path, &crate::store::record_bytes(&spec), 0o600)?;
    Ok((spec, said))
}

fn show(ctx: &Ctx, spec: &SessionSpec, json: bool) -> Result<()> {
    let home = crate::proxy::live::read(&ctx.home.root.join("config.toml"))
        .map(|a| a.policy)
        .unwrap_or_else(|_| ctx.config.proxy.policy.clone());
    let effective = spec.policy.describe(&home);
    if json {
        output::print_json(&serde_json::json!({
            "session": spec.name,
            "mode": spec.policy.mode,
            "allow_hosts": spec.policy.allow_hosts,
            "deny_hosts": spec.policy.deny_hosts,
            "effective": effective,
        }));
    } else {
        println!("{effective}");
    }
    Ok(())
}

/// `clauderon approve NAME HOST [--once|--session|--always]`.
pub fn approve(ctx: &Ctx, name: &str, host: &str, session: bool, always: bool) -> Result<()> {
    let host = host_arg("HOST", host)?;
    let json = output::json();
    if session {
        return run(
            ctx,
            name,
            Some(PolicyAction::Allow),
            Some(&host),
            false,
            json,
        );
    }
    ctx.home.load(name)?;
    if !always {
        return approve_once(ctx, name, &host);
    }
    let path = ctx.home.root.join("config.toml");
    if ctx.config.proxy.policy.allow_hosts.contains(&host) {
        let file = path.display().to_string();
        report(
            serde_json::json!({"session": name, "host": host, "scope": "always", "file": file, "changed": false}),
            format!("\"{host}\" is already in [proxy] allow_hosts in {file}: nothing changed."),
        );
        return Ok(());
    }
    let line = crate::proxy::approvals::add_to_allow_hosts(&path, &host).map_err(|why| {
        Error::input(format!(
            "could not add {host} to [proxy] allow_hosts: {why}"
        ))
        .with_fix(format!(
            "add \"{host}\" to [proxy] allow_hosts in {} by hand",
            path.display()
        ))
    })?;
    let file = path.display().to_string();
    report(
        serde_json::json!({"session": name, "host": host, "scope": "always", "file": file, "line": line}),
        format!(
            "Added \"{host}\" to [proxy] allow_hosts in {file} (line {line}): every session may reach it; the daemon applies it within a second."
        ),
    );
    Ok(())
}

/// Lets the requests waiting now for `host` through; refused when none
/// waits, so no approval lies around for a later request.
fn approve_once(ctx: &Ctx, name: &str, host: &str) -> Result<()> {
    let now_ms = crate::session::now() * 1000;
    let held = crate::proxy::approvals::held(&ctx.home, name, now_ms);
    if !held.iter().any(|h| h.host == host) {
        let waiting: Vec<&str> = held.iter().map(|h| h.host.as_str()).collect();
        let waiting = if waiting.is_empty() {
            "none".to_string()
        } else {
            waiting.join(", ")
        };
        return Err(Error::input(format!(
            "no request of session {name} waits for {host} (waiting: {waiting})"
        ))
        .with_fix(format!(
            "clauderon approve {name} {host} --session allows it from now on"
        )));
    }
    let path = crate::proxy::approvals::once_file(&ctx.home, name, host);
    crate::plan::write_atomic(&path, b"", 0o600)?;
    report(
        serde_json::json!({"session": name, "host": host, "scope": "once"}),
        format!("Approved one request of session {name} to {host}."),
    );
    Ok(())
}

fn report(value: serde_json::Value, text: String) {
    if output::json() {
        output::print_json(&value);
    } else {
        output::info(text);
    }
}
