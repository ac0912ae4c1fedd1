//! `clauderon image check|list|pull`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::oci::Engine;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::image::{self, Check};
use crate::plan::{Mode, Plan, Step};
use crate::session::{Agent, BackendKind};

/// Whether the agent CLI would be mounted rather than needed in the image.
fn mountable(ctx: &Ctx, engine: &Engine) -> bool {
    engine.image_mounts && ctx.config.agent.mount_agent_cli
}

fn probe_checks(ctx: &Ctx, engine: &Engine, image_ref: &str, agent: Agent) -> Result<Vec<Check>> {
    let id = image::image_id(engine, image_ref)?.ok_or_else(|| {
        Error::not_found(format!(
            "image {image_ref} is not present locally in {}",
            engine.program
        ))
        .with_fix(format!(
            "pull or build it first: clauderon image pull {image_ref} --backend {}",
            engine.kind
        ))
    })?;
    let probe = image::probe(engine, &ctx.home, image_ref, &id)?;
    let mut checks = image::checks(&probe, agent, mountable(ctx, engine));
    // A mounted agent needs its CLI image to be there.
    if mountable(ctx, engine) && !probe.has(agent.as_str()) {
        let cli = ctx.config.agent.reference(agent);
        let present = image::image_id(engine, &cli)?.is_some();
        checks.insert(
            1,
            Check {
                name: "agent CLI image".into(),
                required: true,
                passed: present,
                detail: if present {
                    format!("{cli} is present")
                } else {
                    format!("{cli} is not present")
                },
                fix: format!(
                    "clauderon agent-image build --agent {agent} --backend {} (or set [agent] {} to a published image)",
                    engine.kind,
                    cli_image_key(agent)
                ),
            },
        );
    }
    Ok(checks)
}

/// The config key naming the agent's CLI image.
pub fn cli_image_key(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => "cli_image",
        Agent::Codex => "codex_cli_image",
    }
}

pub fn check(
    ctx: &Ctx,
    image_ref: &str,
    backend: BackendKind,
    agent: Agent,
    json: bool,
) -> Result<i32> {
    crate::validate::image_option(image_ref, "image check")?;
    let engine = Engine::for_kind(backend)?;
    probe_engine(&engine)?;
    let checks = probe_checks(ctx, &engine, image_ref, agent)?;
    let ok = image::all_required_pass(&checks);
    if json {
        let v = serde_json::json!({ "image": image_ref, "backend": backend, "agent": agent, "compatible": ok, "checks": checks });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        println!("{image_ref} ({backend}, {agent}):");
        for c in &checks {
            let mark = match (c.passed, c.required) {
                (true, _) => "ok  ",
                (false, true) => "FAIL",
                (false, false) => "warn",
            };
            println!("  {mark}  {:<22} {}", c.name, c.detail);
            if !c.passed {
                println!("        fix: {}", c.fix);
            }
        }
        println!(
            "\n{}",
            if ok {
                "Compatible: sessions can use this image."
            } else {
                "Not compatible: fix the failed checks above."
            }
        );
    }
    Ok(if ok { 0 } else { 1 })
}

/// One local image: its verdict for the agent asked about (or for any
/// agent), per agent, on this engine (Podman mounts the agent CLI from its
/// own image, so there a glibc image with bash, curl and CA certificates
/// is compatible without any agent in it).
#[derive(Serialize)]
struct Listed {
    image: String,
    /// The engine the verdict is for.
    engine: String,
    /// The agent assumed: `claude`, `codex`, or `any` (no --agent).
    agent: String,
    compatible: Option<bool>,
    problems: Vec<String>,
    /// Each agent's verdict (empty for agent CLI images and unprobed ones).
    agents: BTreeMap<String, AgentVerdict>,
}

#[derive(Serialize)]
struct AgentVerdict {
    compatible: bool,
    problems: Vec<String>,
}

const AGENTS: [Agent; 2] = [Agent::Claude, Agent::Codex];

pub fn list(ctx: &Ctx, backend: BackendKind, agent: Option<Agent>, json: bool) -> Result<()> {
    let engine = Engine::for_kind(backend)?;
    probe_engine(&engine)?;
    let out = engine.list_images().run().map_err(|f| engine.classify(f))?;
    let mut listed: Vec<Listed> = Vec::new();
    for reference in out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|r| !r.is_empty() && !r.contains("<none>"))
    {
        if !listed.iter().any(|l| l.image == reference) {
            listed.push(list_one(ctx, &engine, reference, agent));
        }
    }
    listed.sort_by_key(|l| (l.compatible != Some(true), l.image.clone()));
    if json {
        crate::output::print_json(&serde_json::to_value(&listed).unwrap_or_default());
    } else {
        print_listed(&engine, &listed);
    }
    Ok(())
}

/// One local image's verdict: an agent CLI image, or the contract's checks
/// for each agent (one probe, cached by image ID).
fn list_one(ctx: &Ctx, engine: &Engine, reference: &str, agent: Option<Agent>) -> Listed {
    let mut l = Listed {
        image: reference.to_string(),
        engine: engine.kind.to_string(),
        agent: agent.map_or("any", Agent::as_str).to_string(),
        compatible: None,
        problems: Vec::new(),
        agents: BTreeMap::new(),
    };
    // Agent CLI images (FROM scratch) are mounted into sessions, not run.
    let cli_label = engine
        .image_label(reference, "org.clauderon.agent-cli")
        .run()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default();
    if !cli_label.is_empty() && cli_label != "<no value>" {
        l.problems = vec![format!(
            "agent CLI image ({cli_label}), mounted into sessions"
        )];
        return l;
    }
    for a in AGENTS {
        match probe_checks(ctx, engine, reference, a) {
            Ok(checks) => {
                let verdict = AgentVerdict {
                    compatible: image::all_required_pass(&checks),
                    problems: checks
                        .iter()
                        .filter(|c| !c.passed && c.required)
                        .map(|c| c.name.clone())
                        .collect(),
                };
                l.agents.insert(a.as_str().to_string(), verdict);
            }
            Err(e) => {
                l.problems = vec![e.message];
                return l;
            }
        }
    }
    let asked: Vec<&AgentVerdict> = match agent {
        Some(a) => vec![&l.agents[a.as_str()]],
        None => l.agents.values().collect(),
    };
    l.compatible = Some(asked.iter().any(|v| v.compatible));
    if l.compatible == Some(false) {
        l.problems = l
            .agents
            .iter()
            .filter(|(a, _)| agent.is_none_or(|x| x.as_str() == a.as_str()))
            .flat_map(|(a, v)| v.problems.iter().map(move |p| format!("{a}: {p}")))
            .collect();
    }
    l
}

/// `compatible (claude, codex)`, `not compatible: ...`, or why unchecked.
fn verdict_text(l: &Listed) -> String {
    let fits: Vec<&str> = l
        .agents
        .iter()
        .filter(|(_, v)| v.compatible)
        .map(|(a, _)| a.as_str())
        .collect();
    match l.compatible {
        Some(true) => format!("compatible ({})", fits.join(", ")),
        Some(false) => format!("not compatible: {}", l.problems.join("; ")),
        None if l.problems.iter().any(|p| p.starts_with("agent CLI image")) => {
            l.problems.join(", ")
        }
        None => format!("not checked: {}", l.problems.join(", ")),
    }
}

fn print_listed(engine: &Engine, listed: &[Listed]) {
    if listed.is_empty() {
        println!("No local images in {}.", engine.program);
        return;
    }
    let width = listed
        .iter()
        .map(|l| l.image.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  VERDICT", "IMAGE");
    for l in listed {
        println!("{:<width$}  {}", l.image, verdict_text(l));
    }
}

/// `image search`: the engine's registry search, each result marked with
/// whether the allowlist would let it be pulled.
pub fn search(ctx: &Ctx, term: &str, backend: BackendKind, limit: u32, json: bool) -> Result<()> {
    if term.trim().is_empty() || term.starts_with('-') || term.chars().any(char::is_control) {
        return Err(Error::input(format!("{term:?} is not a search term"))
            .with_fix("clauderon image search python"));
    }
    let engine = Engine::for_kind(backend)?;
    let out = engine.search(term, limit).run().map_err(|f| {
        engine.classify(f).with_fix(format!(
            "the engine could not search its registries: check its network and registry settings (`{} info`)",
            engine.program
        ))
    })?;
    let patterns = &ctx.config.allowed_images.value;
    let results: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            let name = f.next().filter(|n| !n.is_empty())?;
            let (description, stars, official) = (f.next()?, f.next()?, f.next()?);
            Some(serde_json::json!({
                "name": name,
                "description": description,
                "stars": stars.trim().parse::<u64>().unwrap_or(0),
                "official": matches!(official.trim(), "true" | "[OK]" | "OK"),
                "allowed": patterns.is_empty() || patterns.iter().any(|p| image::allowed_by(p, name)),
            }))
        })
        .collect();
    if json {
        crate::output::print_json(&serde_json::Value::Array(results));
        return Ok(());
    }
    for r in &results {
        let mark = if r["allowed"] == true {
            ""
        } else {
            "  (not allowed here)"
        };
        println!(
            "{:<40} {:>6}  {}{mark}",
            r["name"].as_str().unwrap_or(""),
            r["stars"],
            r["description"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

pub fn pull(ctx: &Ctx, reference: &str, backend: BackendKind, mode: Mode) -> Result<()> {
    crate::validate::image_option(reference, "image pull")?;
    let cfg = &ctx.config;
    image::check_allowed(
        &cfg.allowed_images.value,
        reference,
        &cfg.allowed_images.source.to_string(),
    )?;
    let engine = Engine::for_kind(backend)?;
    if !mode.is_dry_run() {
        probe_engine(&engine)?;
    }
    let mut plan = Plan::default();
    // Attached to the terminal, so the engine's progress shows as it goes.
    plan.push(Step::Interactive {
        cmd: engine.pull(reference),
        fix: Some(format!(
            "check the name and your access to the registry (`{} login`)",
            engine.program
        )),
    });
    print_or_execute(&format!("image pull {reference}"), &plan, mode).map(|_| ())
}
