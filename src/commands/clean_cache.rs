//! `clauderon clean-cache`: the shared build-cache volumes of each engine,
//! shown (with sizes) or removed.

use serde::Deserialize;

use crate::backend::oci::{CACHE_VOLUMES, ENGINES, Engine};
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};
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

pub fn run(_ctx: &Ctx, backend: Option<BackendKind>, force: bool, dry_run: bool) -> Result<()> {
    let engines: Vec<Engine> = match backend {
        Some(kind) => vec![Engine::for_kind(kind)?],
        None => ENGINES.to_vec(),
    };
    let mut plan = Plan::default();
    let mut found: Vec<(Engine, Vec<Volume>)> = Vec::new();
    for engine in engines {
        match probe_engine(&engine) {
            Ok(_) => found.push((engine, cache_volumes(&engine)?)),
            // Asked for this engine: its failure is the answer.
            Err(err) if backend.is_some() && !(dry_run && force) => return Err(err),
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
    let total: usize = found.iter().map(|(_, v)| v.len()).sum();
    if !force {
        if total == 0 {
            println!("No cache volumes.");
            return Ok(());
        }
        println!("{:<8}{:<28}{:>10}  USED BY", "ENGINE", "VOLUME", "SIZE");
        for (engine, volumes) in &found {
            for v in volumes {
                println!(
                    "{:<8}{:<28}{:>10}  {} container(s)",
                    engine.program, v.name, v.size, v.links
                );
            }
        }
        println!("\nNothing removed. `clauderon clean-cache --force` removes these volumes.");
        return Ok(());
    }
    if total == 0 {
        println!("No cache volumes to remove.");
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
        removed.extend(names.iter().map(|n| format!("{n} ({})", engine.program)));
    }
    print_or_execute("clean-cache --force", &plan, dry_run)?;
    if !dry_run {
        println!("Removed {}.", removed.join(", "));
    }
    Ok(())
}
