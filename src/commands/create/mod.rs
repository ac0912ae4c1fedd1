//! `clauderon create`: flags + config -> SessionSpec -> Plan -> dry-run or run.

use crate::backend::Backend;
use crate::backend::oci::Engine;
use crate::backend::oci::create::Extras;
use crate::backend::verbs::{CreateFacts, Wired};
use crate::cli::CreateArgs;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::daemon;
use crate::error::{Error, Result};
use crate::git;
use crate::image;
use crate::plan::{Mode, Plan, Step};
use crate::proxy::credentials;

pub mod compose;
pub(crate) mod resolve;
mod setup;
use crate::commands::flow::{self, CreateJob};
use crate::session::{SessionSpec, looks_secret};
pub use resolve::resolve;
pub(crate) use setup::note_kubernetes;

pub fn run(ctx: &Ctx, mut args: CreateArgs) -> Result<()> {
    let mode = Mode::from_dry_run(args.dry_run);
    if let Some(file) = args.prompt_file.take() {
        args.prompt = Some(crate::commands::text_input::read(&file, "the prompt")?);
    }
    let devcontainer = crate::devcontainer::apply(ctx, &mut args)?;
    let flags = resolve::flags(ctx, &args)?;
    compose::check_flags(ctx, &args)?;
    let job = CreateJob {
        args,
        flags,
        devcontainer,
    };
    flow::of(job.args.backend).create(ctx, job, mode)
}

/// A session whose container runs on this host (Docker, Podman, compose).
pub(crate) fn on_host(ctx: &Ctx, job: CreateJob, mode: Mode) -> Result<()> {
    let CreateJob {
        args,
        flags,
        devcontainer,
    } = job;
    let engine = Engine::for_kind(args.backend)?;
    // The engine's `version` (a read-only query with no user value in it,
    // and the slowest one) runs while git reads the repository.
    let probe = std::thread::spawn(move || probe_engine(&engine));
    let mut spec = resolve(ctx, &args, flags)?;
    spec.devcontainer = devcontainer.as_ref().map(|d| d.record.clone());
    let user_config = setup::user_config(ctx, &args, &spec)?;
    spec.user_config = user_config.as_ref().map(|g| g.record.clone());
    let stdio = setup::mcp_servers(ctx, &args, &mut spec);
    compose::apply(ctx, &args, &engine, &mut spec)?;
    let (attach, shown) = attachments(ctx, &args, &mut spec)?;
    let _lock = if mode.is_dry_run() {
        None
    } else {
        Some(ctx.home.lock_session(&spec.name)?)
    };
    let mut plan = Plan::default();
    let probed = probe
        .join()
        .unwrap_or_else(|_| Err(Error::failed("the engine probe failed unexpectedly")));
    if let Some((build, tag)) = devcontainer.as_ref().and_then(|d| d.build.as_ref()) {
        crate::devcontainer::build::add(&mut plan, &engine, build, tag);
    }
    setup::note_devcontainer(&mut plan, devcontainer.as_ref());
    let version = engine_version(ctx, &engine, &spec, probed, mode, &mut plan)?;
    setup::warn_missing_commands(&engine, &spec, &stdio);
    warn_of_credentials(&spec);
    let wiring = host_wiring(ctx, &engine, &spec, version.as_deref(), (mode, &mut plan))?;
    let facts = CreateFacts {
        wired: Wired::Host(&wiring),
        exclude: git::exclude_addition(&spec.git_common_dir),
        extras: Extras {
            attach,
            uploads_max_bytes: ctx.config.uploads_max_bytes,
            user_config,
        },
        setup: Plan::default(),
    };
    plan.steps
        .extend(Backend::of(&spec)?.create(&spec, &ctx.home, facts)?.steps);
    let what = format!("create {}", spec.name);
    print_or_execute(&what, &plan, mode).map_err(|e| failed_create(e, &spec))?;
    if !mode.is_dry_run() {
        print_created(&spec, &shown);
    }
    Ok(())
}

/// The session's way to this host's daemon and proxy (their start planned
/// when they are not running), checked against its compose services.
fn host_wiring(
    ctx: &Ctx,
    engine: &Engine,
    spec: &SessionSpec,
    version: Option<&str>,
    (mode, plan): (Mode, &mut Plan),
) -> Result<crate::backend::Wiring> {
    let wiring = crate::commands::wiring::wiring(ctx, engine, spec.network, version, mode, plan)?;
    compose::check_wiring(spec, &wiring)?;
    if wiring.proxy.is_some()
        && let Some(info) = daemon::running(&ctx.home)
    {
        credentials::warn_if_agent_lacks(spec.agent, &daemon::credentials(info.port), &spec.env);
    }
    Ok(wiring)
}

/// The engine's version, and the agent CLI checked, when it answered; a dry
/// run goes on without it, saying so.
fn engine_version(
    ctx: &Ctx,
    engine: &Engine,
    spec: &SessionSpec,
    probed: Result<String>,
    mode: Mode,
    plan: &mut Plan,
) -> Result<Option<String>> {
    match probed {
        Ok(version) => {
            check_agent_cli(ctx, engine, spec, mode, plan)?;
            Ok(Some(version))
        }
        Err(err) if mode.is_dry_run() => {
            plan.note(format!(
                "{} is not reachable ({}); engine checks were skipped",
                engine.program, err.message
            ));
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// `--attach`'s files, checked before anything is made, and their paths in
/// the container, which end the prompt (without one the agent waits for
/// you, and the printed paths are for you).
fn attachments(
    ctx: &Ctx,
    args: &CreateArgs,
    spec: &mut SessionSpec,
) -> Result<(Vec<crate::uploads::Source>, Vec<String>)> {
    let secrets =
        crate::mounts::Policy::new(&ctx.config.mounts, &ctx.home.root, &spec.git_common_dir);
    let files = crate::uploads::check(&args.attach, &[], ctx.config.uploads_max_bytes, &secrets)?;
    let paths = crate::uploads::describe(&spec.id, &files);
    if !paths.is_empty() && !spec.prompt.is_empty() {
        spec.prompt.push_str(&crate::uploads::prompt_note(&paths));
    }
    Ok((files, paths))
}

fn cli_pull_failed(f: crate::exec::Failure, agent: &str, key: &str) -> Error {
    Error::failed(format!("could not pull the agent CLI image: {}", f.stderr_tail())).with_fix(format!(
        "build it locally: clauderon agent-image build --agent {agent} --backend podman   (or point [agent] {key} at a published image)"
    ))
}

/// With the agent CLI mounted from its image: that image must be there (or
/// be pulled first), and for an agent whose CLI needs glibc (Claude Code)
/// the session image must be glibc-based, which the cheap part of `image
/// check` tells (one probe per image, cached by ID).
fn check_agent_cli(
    ctx: &Ctx,
    engine: &Engine,
    spec: &SessionSpec,
    mode: Mode,
    plan: &mut Plan,
) -> Result<()> {
    let Some(cli) = &spec.agent_cli_image else {
        return Ok(());
    };
    if image::image_id(engine, cli)?.is_none() {
        if !ctx.config.agent.auto_pull_cli {
            let key = crate::commands::image::cli_image_key(spec.agent);
            return Err(Error::input(format!("the agent CLI image {cli} is not present locally (and [agent] auto_pull_cli is off)"))
                .with_fix(format!("build it: clauderon agent-image build --agent {} --backend {}   (or set [agent] {key} to a published one)", spec.agent, engine.kind)));
        }
        // Only Podman mounts an image: the fix names the agent.
        let failed: fn(crate::exec::Failure) -> Error = match spec.agent {
            crate::session::Agent::Claude => |f| cli_pull_failed(f, "claude", "cli_image"),
            crate::session::Agent::Codex => |f| cli_pull_failed(f, "codex", "codex_cli_image"),
        };
        plan.push(Step::run_cmd(engine.pull(cli), failed));
    }
    if !crate::agent::cli_needs_glibc(spec.agent) {
        return Ok(());
    }
    if let Some(id) = image::image_id(engine, &spec.image)? {
        // A dry run starts no container: it uses an earlier probe if there is one.
        let probe = if mode.is_dry_run() {
            match image::cached_probe(&ctx.home, &id) {
                Some(p) => p,
                None => {
                    plan.note(format!(
                        "{} has not been checked yet: create checks that it is glibc-based first",
                        spec.image
                    ));
                    return Ok(());
                }
            }
        } else {
            image::probe(engine, &ctx.home, &spec.image, &id)?
        };
        if probe.libc == "musl" {
            return Err(Error::input(format!(
                "image {} is musl-based (e.g. Alpine), but the mounted {} CLI needs glibc",
                spec.image, spec.agent
            ))
            .with_fix("use the Debian-based variant of the image (python:3.12 instead of python:3.12-alpine), or set [agent] mount_agent_cli = false and install the agent in the image"));
        }
    }
    Ok(())
}

/// A failed create's error; an on-create command that failed the way
/// missing privileges fail gets a hint naming the capability flags.
fn failed_create(e: Error, spec: &SessionSpec) -> Error {
    let hint = e
        .message
        .contains("an on-create command failed")
        .then(|| crate::isolation::privilege_hint(&e.message, &spec.security))
        .flatten();
    let e = e.context(format!("could not create session '{}'", spec.name));
    match hint {
        Some(h) => {
            let fix = e.fix.clone().unwrap_or_default();
            e.with_fix(format!("{h}\n  or: {fix}"))
        }
        None => e,
    }
}

/// A credential given with --env is inside the container: say so.
fn warn_of_credentials(spec: &SessionSpec) {
    for (key, _) in spec.env.iter().filter(|(k, _)| looks_secret(k)) {
        eprintln!(
            "clauderon: warning: {key} (set by --env or devcontainer.json) puts a credential inside the container, where the agent can read it; its value is kept out of the command line and dry-run output"
        );
    }
}

/// What a script needs (`--json`), or what a person does next.
pub(crate) fn print_created(spec: &SessionSpec, uploads: &[String]) {
    if crate::output::json() {
        crate::output::print_json(&serde_json::json!({
            "uploads": uploads,
            "name": spec.name,
            "id": spec.id,
            "backend": spec.backend.to_string(),
            "agent": spec.agent.to_string(),
            "image": spec.image,
            "branch": spec.branch,
            "worktree": spec.worktree,
            "container": spec.container_name(),
        }));
        return;
    }
    let n = &spec.name;
    // Quiet: the result only, the session's name (which may be generated).
    if crate::output::quiet() {
        println!("{n}");
        return;
    }
    for path in uploads {
        crate::output::info(format_args!("Uploaded: {path}"));
    }
    if spec.agent_options.print {
        crate::output::info(format_args!(
            "Created session {n} ({}, {}, image {}): the agent runs once, to completion\n  worktree: {} (branch {})\n\nNext:\n  clauderon logs {n} -f     # its answer (also in .clauderon/output in the worktree)\n  clauderon delete {n}      # remove the container and worktree",
            spec.backend,
            spec.agent,
            spec.image,
            spec.worktree.display(),
            spec.branch,
        ));
        return;
    }
    crate::output::info(format_args!(
        "Created session {n} ({}, {}, image {})\n  worktree: {} (branch {})\n\nNext:\n  clauderon attach {n}      # talk to the agent (detach: Ctrl-P Ctrl-Q)\n  clauderon logs {n} -f     # follow its output\n  clauderon delete {n}      # remove the container and worktree",
        spec.backend,
        spec.agent,
        spec.image,
        spec.worktree.display(),
        spec.branch,
    ));
}
