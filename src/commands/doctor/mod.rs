//! `clauderon doctor`: what a session needs, checked one by one, each with
//! its fix. Exits non-zero when something a default session needs is
//! missing (the engine, its image, the static helper, a writable home).

use serde::Serialize;

use crate::backend::oci::{DOCKER, Engine, PODMAN};
use crate::commands::{Ctx, probe_engine};
use crate::error::{Error, Result};
use crate::session::Agent;
use crate::{daemon, helper, image, output};

mod setup;

#[derive(Serialize)]
struct Check {
    name: String,
    /// ok, warn (optional or later) or fail (a default session cannot run).
    verdict: &'static str,
    detail: String,
    fix: Option<String>,
}

fn check(name: &str, verdict: &'static str, detail: String, fix: Option<String>) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail,
        fix,
    }
}

fn engine_checks(ctx: &Ctx, engine: &Engine, required: bool) -> Vec<Check> {
    let missing = if required { "fail" } else { "warn" };
    let version = match probe_engine(engine) {
        Ok(v) => v.trim().to_string(),
        Err(e) => return vec![check(engine.program, missing, e.message, e.fix)],
    };
    let mut out = vec![
        check(engine.program, "ok", version, None),
        setup::init_check(engine, helper::available()),
    ];
    let default = match engine.is_docker() {
        true => ctx.config.default_image.value.clone(),
        false => ctx
            .config
            .podman_default_image
            .clone()
            .unwrap_or(ctx.config.default_image.value.clone()),
    };
    let name = format!("{} default image", engine.program);
    let mut sccache = None;
    out.push(match image::image_id(engine, &default) {
        Ok(Some(id)) => {
            sccache = Some([
                sccache_check(ctx, engine, &default, &id),
                setup::agent_version_check(engine, &default),
            ]);
            check(&name, "ok", default, None)
        }
        Ok(None) => check(
            &name,
            missing,
            format!("{default} is not present locally"),
            Some(build_default_image_fix(engine)),
        ),
        Err(e) => check(&name, missing, e.message, e.fix),
    });
    out.extend(sccache.into_iter().flatten());
    if engine.image_mounts && ctx.config.agent.mount_agent_cli {
        // Each agent has its own CLI image.
        for agent in [Agent::Claude, Agent::Codex] {
            out.push(cli_image_check(ctx, engine, agent));
        }
    }
    out
}

/// The command that builds the default image for this engine (the script
/// builds for Docker unless ENGINE says otherwise), pastable as printed.
fn build_default_image_fix(engine: &Engine) -> String {
    let key = if engine.is_docker() {
        "[docker] default_image"
    } else {
        "[podman] default_image"
    };
    format!(
        "sudo ENGINE={} scripts/build-agent-image.sh (in clauderon's source tree) builds clauderon-agent:latest, or set {key}",
        engine.program
    )
}

/// Sessions export RUSTC_WRAPPER only when the image has sccache; without
/// it Rust builds still work, uncached. Said here (and by `image check`),
/// not in every session's log. The probe is cached by image ID.
fn sccache_check(ctx: &Ctx, engine: &Engine, image: &str, id: &str) -> Check {
    let name = format!("{} sccache", engine.program);
    match image::probe(engine, &ctx.home, image, id) {
        Ok(p) if p.has("sccache") => check(&name, "ok", format!("in {image}"), None),
        Ok(_) => check(
            &name,
            "warn",
            format!("sccache missing in {image} -> Rust builds run without a compile cache"),
            Some("install sccache in the image (optional)".into()),
        ),
        Err(e) => check(&name, "warn", e.message, e.fix),
    }
}

fn cli_image_check(ctx: &Ctx, engine: &Engine, agent: Agent) -> Check {
    let cli = ctx.config.agent.reference(agent);
    let name = format!("{agent} CLI image");
    match image::image_id(engine, &cli) {
        Ok(Some(_)) => check(&name, "ok", cli, None),
        _ => check(
            &name,
            "warn",
            format!("{cli} is not present (it is pulled or built on first use)"),
            Some(format!(
                "clauderon agent-image build --agent {agent} --backend {}",
                engine.kind
            )),
        ),
    }
}

fn daemon_checks(ctx: &Ctx) -> Vec<Check> {
    let home = &ctx.home;
    let mut out = Vec::new();
    match daemon::running(home) {
        Some(info) => {
            out.push(check(
                "daemon",
                "ok",
                format!("pid {}, on {}", info.pid, info.addresses.join(", ")),
                None,
            ));
            let names = daemon::credentials(info.port);
            let claude = names
                .iter()
                .any(|n| n == "ANTHROPIC_API_KEY" || n == "CLAUDE_CODE_OAUTH_TOKEN");
            out.push(match claude {
                true => check("credentials", "ok", names.join(", "), None),
                false => check("credentials", "warn", format!("the daemon has no Claude credential ({})", if names.is_empty() { "none at all".into() } else { names.join(", ") }),
                    Some("export ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN), then clauderon daemon restart".into())),
            });
        }
        None => {
            out.push(check(
                "daemon",
                "warn",
                "not running (create starts it)".into(),
                Some("clauderon daemon start".into()),
            ));
            out.push(shell_credentials_check());
        }
    }
    let ca = crate::proxy::ca::cert_path(home);
    out.push(match crate::proxy::ca::fingerprint(home) {
        Ok(fp) => check(
            "proxy CA",
            "ok",
            format!("{} (sha256 {fp})", ca.display()),
            None,
        ),
        Err(_) => check(
            "proxy CA",
            "warn",
            "not made yet (made on first use)".into(),
            Some("clauderon proxy ca".into()),
        ),
    });
    out.push(setup::network_check(ctx, helper::available()));
    out
}

/// With no daemon yet, the credentials are the ones it will inherit from
/// this shell when `create` starts it.
fn shell_credentials_check() -> Check {
    let names = crate::proxy::credentials::available_here();
    let claude = ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"];
    match names.iter().any(|n| claude.contains(&n.as_str())) {
        true => check(
            "credentials",
            "ok",
            format!(
                "{} (in this shell; the daemon takes them when it starts)",
                names.join(", ")
            ),
            None,
        ),
        false => check(
            "credentials",
            "warn",
            format!(
                "no Claude credential in this shell ({}); the daemon that create starts would have none to inject",
                if names.is_empty() {
                    "none at all".into()
                } else {
                    names.join(", ")
                }
            ),
            Some(
                "export ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) before the first create"
                    .into(),
            ),
        ),
    }
}

/// kubectl and the context kubernetes sessions use: `[kubernetes]
/// context` when set (it must be in the kubeconfig), else the current one.
fn kubectl_check(ctx: &Ctx) -> Check {
    use crate::backend::kubernetes::{context_names, current_context};
    let configured = ctx.config.kubernetes.context.clone();
    let asked = match &configured {
        Some(_) => context_names().run(),
        None => current_context().run(),
    };
    let namespace = &ctx.config.kubernetes.namespace;
    match (asked, configured) {
        (Ok(out), Some(c)) if out.stdout.lines().any(|l| l.trim() == c) => check(
            "kubectl",
            "ok",
            format!("context {c} ([kubernetes] context), namespace {namespace}"),
            None,
        ),
        (Ok(_), Some(c)) => check(
            "kubectl",
            "warn",
            format!("[kubernetes] context {c:?} is not in your kubeconfig"),
            Some("kubectl config get-contexts lists them; fix [kubernetes] context".into()),
        ),
        (Ok(out), None) => check(
            "kubectl",
            "ok",
            format!("context {}, namespace {namespace}", out.stdout.trim()),
            None,
        ),
        (Err(f), _) if f.not_found => check(
            "kubectl",
            "warn",
            "not installed (only kubernetes sessions need it)".into(),
            None,
        ),
        (Err(f), _) => check(
            "kubectl",
            "warn",
            f.stderr_tail(),
            Some("kubectl config use-context NAME, or set [kubernetes] context".into()),
        ),
    }
}

pub fn run(ctx: &Ctx, json: bool) -> Result<i32> {
    let mut checks = vec![setup::home_check(&ctx.home.root)];
    checks.extend(engine_checks(ctx, &DOCKER, true));
    checks.extend(engine_checks(ctx, &PODMAN, false));
    checks.extend(daemon_checks(ctx));
    checks.push(setup::compose_check());
    checks.extend(setup::podman_forward_check());
    checks.push(kubectl_check(ctx));
    let failed = checks.iter().filter(|c| c.verdict == "fail").count();
    if json {
        output::print_json(
            &serde_json::to_value(&checks).map_err(|e| Error::failed(e.to_string()))?,
        );
    } else {
        for c in &checks {
            println!("{:<5} {:<22} {}", c.verdict, c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("      {:<22} fix: {fix}", "");
            }
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_fix_builds_for_the_engine_it_is_printed_for() {
        assert!(
            build_default_image_fix(&PODMAN)
                .contains("sudo ENGINE=podman scripts/build-agent-image.sh")
        );
        assert!(
            build_default_image_fix(&DOCKER)
                .contains("sudo ENGINE=docker scripts/build-agent-image.sh")
        );
    }
}
