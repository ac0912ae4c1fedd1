//! `clauderon proxy ca|log`.

use std::io::Write;
use std::time::Duration;

use crate::commands::{Ctx, print_or_execute};
use crate::daemon;
use crate::error::Result;
use crate::output;
use crate::plan::{Mode, Plan, Step};
use crate::proxy::{audit, ca};

pub fn ca(ctx: &Ctx, rotate: bool, mode: Mode) -> Result<()> {
    let home = &ctx.home;
    let extra_ca = ctx.config.proxy.upstream_ca_file.clone();
    if mode.is_dry_run() && !rotate {
        return Err(crate::error::Error::input(
            "--dry-run goes with --rotate (showing the CA changes nothing)",
        )
        .with_fix("clauderon proxy ca --rotate --dry-run"));
    }
    if rotate {
        let mut plan = Plan::default();
        plan.push(Step::RotateCa {
            home: home.clone(),
            extra_ca,
        });
        plan.note("then: `clauderon daemon restart`, and restart each session so its agent trusts the new CA");
        print_or_execute("proxy ca --rotate", &plan, mode)?;
        if mode.is_dry_run() {
            return Ok(());
        }
        output::info("Rotated the proxy CA.");
        // The running daemon signs with the CA it loaded; restarting it here
        // would give it this command's environment (and its credentials).
        if daemon::running(home).is_some() {
            output::info(
                "Next: `clauderon daemon restart` from a shell that has your credentials, then restart each session (`clauderon stop` and `start`, or `refresh`) so its agent trusts the new CA.",
            );
        }
    } else if !ca::cert_path(home).exists() {
        ca::Ca::load_or_create(home)?;
        ca::write_bundle(home, extra_ca.as_deref())?;
    }
    print_ca(home)
}

fn print_ca(home: &crate::store::Home) -> Result<()> {
    let sha256 = ca::fingerprint(home)?;
    if output::json() {
        output::print_json(&serde_json::json!({
            "certificate": ca::cert_path(home),
            "key": ca::key_path(home),
            "bundle": ca::bundle_path(home),
            "sha256": sha256,
        }));
        return Ok(());
    }
    println!("certificate: {}", ca::cert_path(home).display());
    println!(
        "key:         {} (readable by you only)",
        ca::key_path(home).display()
    );
    println!(
        "bundle:      {} (system roots + this CA, for containers)",
        ca::bundle_path(home).display()
    );
    println!("sha256:      {sha256}");
    Ok(())
}

pub fn log(ctx: &Ctx, session: Option<&str>, follow: bool, json: bool) -> Result<()> {
    if let Some(name) = session {
        // A deleted session's entries stay in the log: only check the name.
        crate::session::validate_name(name)?;
    }
    let path = audit::path(&ctx.home);
    // One-shot --json is one document (an array); --follow prints JSON Lines.
    if json && !follow {
        let all: Vec<_> = audit::read(&path)
            .into_iter()
            .filter(|e| session.is_none_or(|s| e.session == s))
            .collect();
        crate::output::print_json(&serde_json::to_value(all).unwrap_or_default());
        return Ok(());
    }
    let mut seen = 0;
    loop {
        let all = audit::read(&path);
        if all.len() < seen {
            seen = 0; // rotated
        }
        let mut out = std::io::stdout().lock();
        for e in all[seen..]
            .iter()
            .filter(|e| session.is_none_or(|s| e.session == s))
        {
            let line = if json {
                serde_json::to_string(e).expect("json")
            } else {
                audit::describe(e)
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // closed pipe
            }
        }
        let _ = out.flush();
        seen = all.len();
        if !follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `proxy log --verify`: the audit log's chain, checked end to end.
pub fn verify(ctx: &Ctx, json: bool) -> Result<()> {
    let path = audit::path(&ctx.home);
    match crate::proxy::audit_chain::verify(&path) {
        Ok(entries) => {
            if json {
                output::print_json(&serde_json::json!({"intact": true, "entries": entries}));
            } else {
                println!(
                    "The audit log is intact: {entries} entries, each linked to the one before."
                );
            }
            Ok(())
        }
        Err(b) => Err(crate::error::Error::failed(format!(
            "the audit log was tampered with: line {} of {} {}",
            b.line,
            b.file.display(),
            b.why
        ))
        .with_fix("the log is evidence: keep a copy before anything else writes to it")),
    }
}
