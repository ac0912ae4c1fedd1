//! `clauderon clean-cache`: the shared build-cache volumes, shown or removed.

use serde::Deserialize;

use crate::backend::oci::{CACHE_VOLUMES, DOCKER, Engine};
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Volume {
    name: String,
    size: String,
    links: String,
}

fn cache_volumes(engine: &Engine) -> Result<Vec<Volume>> {
    let out = engine
        .cmd()
        .args(["system", "df", "--verbose", "--format", "{{json .Volumes}}"])
        .run()
        .map_err(|f| engine.classify(f))?;
    let all: Vec<Volume> = serde_json::from_str(out.stdout.trim()).map_err(|e| {
        Error::failed(format!(
            "could not read `{} system df` output: {e}",
            engine.program
        ))
    })?;
    Ok(all
        .into_iter()
        .filter(|v| CACHE_VOLUMES.iter().any(|(name, _)| *name == v.name))
        .collect())
}

pub fn run(_ctx: &Ctx, force: bool, dry_run: bool) -> Result<()> {
    let engine = DOCKER;
    let mut plan = Plan::default();
    let volumes = match probe_engine(&engine) {
        Ok(()) => cache_volumes(&engine)?,
        Err(err) if dry_run && force => {
            plan.note(format!(
                "{} is not reachable ({}): assuming every cache volume exists",
                engine.program, err.message
            ));
            CACHE_VOLUMES
                .iter()
                .map(|(n, _)| Volume {
                    name: n.to_string(),
                    size: "?".into(),
                    links: "0".into(),
                })
                .collect()
        }
        Err(err) => return Err(err),
    };
    if !force {
        if volumes.is_empty() {
            println!("No cache volumes.");
            return Ok(());
        }
        println!("{:<28}{:>10}  USED BY", "VOLUME", "SIZE");
        for v in &volumes {
            println!("{:<28}{:>10}  {} container(s)", v.name, v.size, v.links);
        }
        println!("\nNothing removed. `clauderon clean-cache --force` removes these volumes.");
        return Ok(());
    }
    if volumes.is_empty() {
        println!("No cache volumes to remove.");
        return Ok(());
    }
    let names: Vec<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
    plan.push(Step::run_cmd(
        engine.cmd().args(["volume", "rm"]).args(names.iter().copied()),
        |f| {
            if f.stderr.contains("volume is in use") {
                Error::failed(format!("a cache volume is in use by a container: {}", f.stderr_tail()))
                    .with_fix("stop or delete the sessions using it (`clauderon list`), then run clean-cache again")
            } else {
                DOCKER.classify(f)
            }
        },
    ));
    print_or_execute("clean-cache --force", &plan, dry_run)?;
    if !dry_run {
        println!("Removed {}.", names.join(", "));
    }
    Ok(())
}
