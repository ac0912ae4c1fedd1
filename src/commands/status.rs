//! `status`, `events` and `daemon`: what the agents report through hooks.

use std::io::Write;
use std::time::Duration;

use crate::commands::Ctx;
use crate::commands::list;
use crate::daemon;
use crate::error::{Error, Result};
use crate::hooks::events;
use crate::session;

/// How many events `status` shows.
const RECENT_EVENTS: usize = 10;

pub fn status(ctx: &Ctx, name: &str, json: bool) -> Result<()> {
    let spec = ctx.home.load(name)?;
    let (rows, warnings) = list::rows(ctx)?;
    for w in &warnings {
        eprintln!("clauderon: warning: {w}");
    }
    let row = rows
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Error::failed(format!("session '{name}' vanished while being read")))?;
    let log = crate::backend::Backend::of(&spec)
        .and_then(|backend| backend.hook_events(&spec, &ctx.home))
        .unwrap_or_else(|e| {
            eprintln!("clauderon: warning: cannot read the agent's hook events: {e}");
            Vec::new()
        });
    let recent = &log[log.len().saturating_sub(RECENT_EVENTS)..];
    let isolation = isolation_view(ctx, &spec);
    let compose = compose_view(&spec);
    let files = host_files_view(ctx, &spec);
    let usage = crate::commands::usage::session_view(ctx, &spec);
    let landing = crate::commands::land::pr_status::status_view(&ctx.home, &spec);
    let setup = crate::commands::status_setup::view(&spec);
    if json {
        let value = serde_json::json!({ "session": row, "isolation": isolation, "compose": compose, "files": files, "setup": setup, "usage": usage, "landing": landing, "recent_events": recent });
        println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        return Ok(());
    }
    print_status(&spec, &row, &isolation, recent);
    let now_ms = session::now() * 1000;
    match (
        crate::proxy::health::recent(&ctx.home, now_ms).remove(name),
        &row.proxy,
    ) {
        (_, Some(p)) if p.starts_with("held") => println!("Proxy      {p}"),
        (Some(t), _) => {
            let why = t.reason.as_deref().unwrap_or("");
            println!("Proxy      {} in the last minute; last: {why}", t.summary());
        }
        (None, Some(p)) => println!("Proxy      {p}"),
        (None, None) => {}
    }
    crate::commands::land::pr_status::print_status(&landing);
    print_host_files(&files);
    crate::commands::status_setup::print(&setup);
    if let Some(c) = compose {
        print_compose(&c);
    }
    crate::commands::usage::print_session(&usage);
    Ok(())
}

/// What the session gets from the host beyond its worktree: uploads,
/// `--mount`s and the Talos config.
fn host_files_view(ctx: &Ctx, spec: &session::SessionSpec) -> serde_json::Value {
    serde_json::json!({
        "uploads_dir": spec.uploads.then(|| crate::uploads::container_dir(&spec.id)),
        "uploads": crate::uploads::list(&ctx.home, spec),
        "mounts": spec.mounts,
        "talos_config": spec.talos_config,
    })
}

fn print_host_files(files: &serde_json::Value) {
    if let Some(dir) = files["uploads_dir"].as_str() {
        let uploads = files["uploads"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        println!("\nUploads    {dir}/ ({} file(s))", uploads.len());
        for u in uploads {
            println!(
                "  {} ({} bytes)",
                u["path"].as_str().unwrap_or_default(),
                u["bytes"]
            );
        }
    }
    for m in files["mounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let mode = if m["rw"] == true {
            "read-write"
        } else {
            "read-only"
        };
        let host = m["host"].as_str().unwrap_or_default();
        println!(
            "Mount      {host} at {} ({mode})",
            m["container"].as_str().unwrap_or_default()
        );
    }
    if let Some(t) = files["talos_config"].as_str() {
        println!(
            "Talos      {t} at {} (read-only, TALOSCONFIG)",
            crate::mounts::TALOS_CONTAINER_PATH
        );
    }
}

/// A compose session's project: its file, the agent's service, and every
/// service's state (one engine call, by compose's project label).
fn compose_view(spec: &session::SessionSpec) -> Option<serde_json::Value> {
    let c = spec.compose.as_ref()?;
    let engine = crate::backend::oci::Engine::for_kind(spec.backend).ok()?;
    let project = crate::backend::compose::ComposeSpec::project(spec);
    let listed = crate::backend::compose::service_states(&engine, &project)
        .run()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let services: Vec<serde_json::Value> =
        crate::backend::compose::parse_service_states(&engine, &listed)
            .into_iter()
            .map(|(name, state)| serde_json::json!({ "name": name, "state": state }))
            .collect();
    Some(serde_json::json!({
        "project": project,
        "files": c.files,
        "service": c.service,
        "services": services,
    }))
}

fn print_compose(c: &serde_json::Value) {
    let files: Vec<&str> = c["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .collect();
    println!(
        "\nCompose    project {} ({}); the agent runs in service {}",
        c["project"].as_str().unwrap_or(""),
        files.join(", "),
        c["service"].as_str().unwrap_or("")
    );
    for s in c["services"].as_array().into_iter().flatten() {
        println!(
            "  {:<12} {}",
            s["name"].as_str().unwrap_or(""),
            s["state"].as_str().unwrap_or("")
        );
    }
}

/// The agent's status as a phrase: what, since when, and whether it is stale.
fn agent_status_text(row: &list::Row, now: u64) -> String {
    match (&row.agent_status, row.agent_status_since) {
        (Some(s), Some(t)) => format!(
            "{} (since {} ago){}",
            s,
            session::age(t, now),
            if row.agent_status_stale {
                ", no event for a long while: the agent may have died"
            } else {
                ""
            }
        ),
        (Some(s), None) => s.to_string(),
        (None, _) => "- (this agent reports no hook events)".into(),
    }
}

fn print_isolation(spec: &session::SessionSpec, isolation: &serde_json::Value) {
    let name = &spec.name;
    if spec.isolation_recorded {
        let network = isolation["network_text"].as_str().unwrap_or("");
        println!("Network    {network}");
        println!("Security   {}", spec.security.summary());
        let creds = isolation["github_credential"].as_str().unwrap_or("");
        println!("Creds      {creds}");
    } else {
        println!(
            "Network    open, with the engine's default capabilities: made by an older clauderon; `clauderon refresh {name}` recreates it isolated"
        );
    }
}

fn print_status(
    spec: &session::SessionSpec,
    row: &list::Row,
    isolation: &serde_json::Value,
    recent: &[crate::hooks::HookEvent],
) {
    let now = session::now();
    let name = &spec.name;
    let status = if row.status.is_empty() {
        String::new()
    } else {
        format!(", {}", row.status)
    };
    println!("Session    {name}");
    println!("Id         {}", spec.id);
    println!(
        "Container  {} ({}{status})",
        spec.container_name(),
        row.state
    );
    println!(
        "Agent      {} — {}",
        spec.agent,
        agent_status_text(row, now)
    );
    if let Some(k) = &spec.kubernetes {
        println!(
            "Cluster    context {}, namespace {} (pod, volume claim and secret {}; files {})",
            k.context,
            k.namespace,
            spec.container_name(),
            crate::backend::kubernetes::files_name(&spec.name)
        );
    }
    println!("Image      {}", spec.image);
    println!(
        "Repo       {} (branch {}, from {})",
        spec.repo_root.display(),
        spec.branch,
        spec.base
    );
    println!("Worktree   {}", spec.worktree.display());
    println!("Created    {} ago", session::age(spec.created_at, now));
    print_isolation(spec, isolation);
    if recent.is_empty() {
        println!("\nNo events yet.");
    } else {
        println!("\nLast events:");
        for e in recent {
            println!("  {}", events::describe(e));
        }
    }
}

/// The proxy policy the session's daemon applies.
fn policy_text(ctx: &Ctx, spec: &session::SessionSpec) -> String {
    if let Some(policy) = spec.backend.own_daemon_policy() {
        return policy;
    }
    if daemon::running(&ctx.home).is_some_and(|i| i.policy.is_some()) {
        // The daemon applies config.toml's policy as the file is now.
        return spec.policy.describe(&ctx.config.proxy.policy);
    }
    daemon::running(&ctx.home)
        .map(|i| i.policy.unwrap_or_else(|| "none (the proxy is off)".into()))
        .unwrap_or_else(|| {
            format!(
                "{} (from config.toml; the daemon is not running)",
                ctx.config.proxy.policy.preset.as_str()
            )
        })
}

/// The session's network mode, the proxy policy its daemon applies, and
/// its hardening.
fn isolation_view(ctx: &Ctx, spec: &session::SessionSpec) -> serde_json::Value {
    let policy = policy_text(ctx, spec);
    let text = match spec.network {
        crate::isolation::NetworkMode::Proxy => format!(
            "proxy: only the clauderon proxy and hook listener are reachable; proxy policy {policy}"
        ),
        crate::isolation::NetworkMode::Open => format!(
            "open (--network open): programs that ignore the proxy reach the internet and the host directly; proxy policy {policy}"
        ),
    };
    if !spec.isolation_recorded {
        return serde_json::json!({ "network": "open", "legacy": true, "proxy_policy": policy });
    }
    serde_json::json!({
        "network": spec.network,
        "network_text": text,
        "proxy_policy": policy,
        "github_credential": crate::proxy::github::describe(&ctx.config.proxy.github, spec.remote_url.as_deref(), &spec.branch),
        "security": spec.security,
        "relaxed": spec.security.relaxations(),
    })
}

pub fn events(ctx: &Ctx, name: &str, follow: bool, json: bool) -> Result<()> {
    let spec = ctx.home.load(name)?;
    let backend = crate::backend::Backend::of(&spec)?;
    // One-shot --json is one document (an array); --follow prints JSON Lines.
    if json && !follow {
        let all = serde_json::to_value(backend.hook_events(&spec, &ctx.home)?);
        crate::output::print_json(&all.unwrap_or_default());
        return Ok(());
    }
    let how = backend.events_follow();
    let mut seen = crate::backend::events::EventsSeen::default();
    loop {
        let new = backend.new_hook_events(&spec, &ctx.home, &mut seen)?;
        let mut out = std::io::stdout().lock();
        for e in &new {
            let line = if json {
                serde_json::to_string(e).expect("json")
            } else {
                events::describe(e)
            };
            // A closed pipe (`| head`) just ends the output.
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return Ok(());
            }
        }
        if !follow {
            return Ok(());
        }
        drop(out);
        if how.ends_with_the_session && !ctx.home.session_dir(name).is_dir() {
            return Err(Error::failed(format!("session '{name}' was deleted")));
        }
        std::thread::sleep(how.every);
    }
}

/// `events --all`: every session's events, oldest first, each line with
/// its session's name (in JSON, a `session` field); `-f` follows them all,
/// sessions created meanwhile included.
pub fn all_events(ctx: &Ctx, follow: bool, json: bool) -> Result<()> {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    // Names are padded to the longest one seen (at least 16).
    let mut width = 16;
    loop {
        let (specs, _) = ctx.home.load_all()?;
        width = specs.iter().map(|s| s.name.len()).fold(width, usize::max);
        let mut new: Vec<(String, crate::hooks::HookEvent)> = Vec::new();
        for spec in specs {
            let all = events::read(&events::log_path(&ctx.home, &spec.name));
            let from = seen
                .get(&spec.name)
                .copied()
                .filter(|n| *n <= all.len())
                .unwrap_or(0);
            seen.insert(spec.name.clone(), all.len());
            new.extend(all.into_iter().skip(from).map(|e| (spec.name.clone(), e)));
        }
        new.sort_by_key(|(_, e)| e.received_at);
        if json && !follow {
            let all: Vec<serde_json::Value> = new.iter().map(|(n, e)| with_session(n, e)).collect();
            crate::output::print_json(&serde_json::Value::Array(all));
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        for (name, e) in &new {
            let line = if json {
                with_session(name, e).to_string()
            } else {
                format!("{name:<width$} {}", events::describe(e))
            };
            // A closed pipe (`| head`) just ends the output.
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return Ok(());
            }
        }
        if !follow {
            return Ok(());
        }
        drop(out);
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An event as JSON with its session's name.
fn with_session(name: &str, e: &crate::hooks::HookEvent) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["session"] = serde_json::Value::String(name.to_string());
    v
}
