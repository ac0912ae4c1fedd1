//! `clauderon clean-cache`: the shared build-cache volumes of each engine,
//! shown (with sizes) or removed.

use serde::Deserialize;

use crate::backend::oci::{CACHE_VOLUMES, ENGINES, Engine};
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::{Mode, Plan, Step};
use crate::session::BackendKind;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Volume {
    name: String,
    size: String,
    links: String,
}

fn is_cache(name: &str) -> bool {
    CACHE_VOLUMES.iter().any(|(v, _)| *v == name)
}

fn cache_volumes(engine: &Engine) -> Result<Vec<Volume>> {
    let volumes = match engine.is_docker() {
        true => {
            let out = engine.disk_usage().run().map_err(|f| engine.classify(f))?;
            serde_json::from_str::<Vec<Volume>>(out.stdout.trim()).map_err(|e| {
                Error::failed(format!(
                    "could not read `{} system df` output: {e}",
                    engine.program
                ))
            })?
        }
        // Podman's verbose df has no JSON: read its volume table.
        false => {
            let out = engine.disk_usage().run().map_err(|f| engine.classify(f))?;
            out.stdout
                .lines()
                .skip_while(|l| !l.starts_with("Local Volumes"))
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (name, links, size) = (f.next()?, f.next()?, f.next()?);
                    Some(Volume {
                        name: name.into(),
                        links: links.into(),
                        size: size.into(),
                    })
                })
                .collect()
        }
    };
    Ok(volumes.into_iter().filter(|v| is_cache(&v.name)).collect())
}

fn remove_classifier(engine: &Engine) -> fn(crate::exec::Failure) -> Error {
    fn in_use(f: &crate::exec::Failure) -> bool {
        f.stderr.contains("volume is in use") || f.stderr.contains("is being used")
    }
    fn fix(f: crate::exec::Failure) -> Error {
        Error::failed(format!(
            "a cache volume is in use by a container: {}",
            f.stderr_tail()
        ))
        .with_fix(
            "stop or delete the sessions using it (`clauderon list`), then run clean-cache again",
        )
    }
    match engine.is_docker() {
        true => |f| {
            if in_use(&f) {
                fix(f)
            } else {
                crate::backend::oci::DOCKER.classify(f)
            }
        },
        false => |f| {
            if in_use(&f) {
                fix(f)
            } else {
                crate::backend::oci::PODMAN.classify(f)
            }
        },
    }
}

pub fn run(_ctx: &Ctx, backend: Option<BackendKind>, force: bool, mode: Mode) -> Result<()> {
    if mode.is_dry_run() && !force {
        return Err(Error::input(
            "--dry-run goes with --force (listing the volumes changes nothing)",
        )
        .with_fix("clauderon clean-cache --force --dry-run"));
    }
    let mut plan = Plan::default();
    let found = find_volumes(backend, force && mode.is_dry_run(), &mut plan)?;
    if !force {
        show_volumes(&found);
        return Ok(());
    }
    let mut removed = Vec::new();
    for (engine, volumes) in &found {
        if volumes.is_empty() {
            continue;
        }
        let names: Vec<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
        plan.push(Step::run_cmd(
            engine.remove_volumes(names.iter().copied()),
            remove_classifier(engine),
        ));
        removed.extend(names.iter().map(|n| (engine.program, n.to_string())));
    }
    if removed.is_empty() {
        plan.note("no cache volumes to remove");
    }
    print_or_execute("clean-cache --force", &plan, mode)?;
    if mode.is_dry_run() {
        return Ok(());
    }
    if output::json() {
        let removed: Vec<_> = removed
            .iter()
            .map(|(e, n)| serde_json::json!({"engine": e, "name": n}))
            .collect();
        output::print_json(&serde_json::json!({ "removed": removed }));
    } else if removed.is_empty() {
        output::info("No cache volumes to remove.");
    } else {
        let shown: Vec<String> = removed.iter().map(|(e, n)| format!("{n} ({e})")).collect();
        output::info(format!("Removed {}.", shown.join(", ")));
    }
    Ok(())
}

/// The cache volumes of each engine that answers (or the one asked for).
/// In a `--force` dry run an unreachable engine asked for is assumed to
/// have all of them, and the plan says so.
fn find_volumes(
    backend: Option<BackendKind>,
    assume: bool,
    plan: &mut Plan,
) -> Result<Vec<(Engine, Vec<Volume>)>> {
    let engines: Vec<Engine> = match backend {
        Some(kind) => vec![Engine::for_kind(kind)?],
        None => ENGINES.to_vec(),
    };
    let mut found = Vec::new();
    for engine in engines {
        match probe_engine(&engine) {
            Ok(_) => found.push((engine, cache_volumes(&engine)?)),
            // Asked for this engine: its failure is the answer.
            Err(err) if backend.is_some() && !assume => return Err(err),
            Err(err) if backend.is_some() => {
                plan.note(format!(
                    "{} is not reachable ({}): assuming every cache volume exists",
                    engine.program, err.message
                ));
                let all = CACHE_VOLUMES
                    .iter()
                    .map(|(n, _)| Volume {
                        name: n.to_string(),
                        size: "?".into(),
                        links: "0".into(),
                    })
                    .collect();
                found.push((engine, all));
            }
            Err(_) => {} // not installed or not running: nothing of it to clean
        }
    }
    Ok(found)
}

fn show_volumes(found: &[(Engine, Vec<Volume>)]) {
    if output::json() {
        let volumes: Vec<_> = found
            .iter()
            .flat_map(|(e, vs)| {
                vs.iter().map(|v| {
                    serde_json::json!({"engine": e.program, "name": v.name, "size": v.size, "containers": v.links.parse::<u64>().ok()})
                })
            })
            .collect();
        output::print_json(&serde_json::json!({ "volumes": volumes }));
        return;
    }
    if found.iter().all(|(_, v)| v.is_empty()) {
        println!("No cache volumes.");
        return;
    }
    println!("{:<8}{:<28}{:>10}  USED BY", "ENGINE", "VOLUME", "SIZE");
    for (engine, volumes) in found {
        for v in volumes {
            println!(
                "{:<8}{:<28}{:>10}  {} container(s)",
                engine.program, v.name, v.size, v.links
            );
        }
    }
    output::info("\nNothing removed. `clauderon clean-cache --force` removes these volumes.");
}
