//! `clauderon upload NAME FILE...`: files for a session's agent, copied
//! into its uploads directory, which the container already mounts, so a
//! running agent sees them at once and a stopped one when it starts.

use std::path::PathBuf;

use crate::commands::{Ctx, print_or_execute};
use crate::error::{Error, Result};
use crate::plan::{Mode, Plan, Step};
use crate::uploads;

pub fn run(ctx: &Ctx, name: &str, files: &[PathBuf], mode: Mode) -> Result<()> {
    let spec = ctx.home.load(name)?;
    if !spec.backend.sees_host_files() {
        return Err(Error::input(format!(
            "session '{name}' runs on kubernetes, whose pods cannot see host files: uploads are for docker and podman sessions"
        ))
        .with_fix(format!(
            "copy the file in yourself: kubectl cp FILE {}:/workspace/... (with the session's --context and --namespace)",
            spec.container_name()
        )));
    }
    if !spec.uploads {
        return Err(Error::input(format!(
            "session '{name}' was created before uploads existed: its container has no uploads directory"
        ))
        .with_fix("create a new session (clauderon create --attach FILE ...)"));
    }
    let _lock = (!mode.is_dry_run())
        .then(|| ctx.home.lock_session(name))
        .transpose()?;
    let existing = uploads::list(&ctx.home, &spec);
    let max = ctx.config.uploads_max_bytes;
    let secrets =
        crate::mounts::Policy::new(&ctx.config.mounts, &ctx.home.root, &spec.git_common_dir);
    let sources = uploads::check(files, &existing, max, &secrets)?;
    let shown = uploads::describe(&spec.id, &sources);
    let mut plan = Plan::default();
    plan.push(Step::CopyUploads {
        files: sources,
        dir: uploads::host_dir(&ctx.home, &spec.id),
        max_bytes: max,
    });
    print_or_execute(&format!("upload {name}"), &plan, mode)?;
    if mode.is_dry_run() {
        return Ok(());
    }
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({"session": name, "uploads": shown}));
        return Ok(());
    }
    for path in &shown {
        println!("{path}");
    }
    crate::output::info(format_args!(
        "(the paths in the container: name them in what you tell the agent)"
    ));
    Ok(())
}
