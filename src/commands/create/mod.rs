//! `clauderon create`: flags + config -> SessionSpec -> Plan -> dry-run or run.

use std::path::PathBuf;

use crate::agent;
use crate::backend::Wiring;
use crate::backend::oci::CACHE_VOLUMES;
use crate::backend::oci::Engine;
use crate::cli::CreateArgs;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::daemon;
use crate::error::{Error, Result};
use crate::git;
use crate::image;
use crate::plan::{Plan, Step, Tolerate};
use crate::proxy::credentials;

pub mod compose;
mod setup;
pub use setup::Extras;
mod resolve;
use crate::session::{SessionSpec, looks_secret};
use crate::store::{Home, record_bytes};
pub use resolve::resolve;

pub fn run(ctx: &Ctx, mut args: CreateArgs) -> Result<()> {
    let devcontainer = crate::devcontainer::apply(ctx, &mut args)?;
    let flags = resolve::flags(ctx, &args)?;
    compose::check_flags(ctx, &args)?;
    if args.backend == crate::session::BackendKind::Kubernetes {
        let spec = resolve(ctx, &args, flags)?;
        setup::note_kubernetes(ctx, &args, spec.agent);
        return crate::commands::kube::create::run(ctx, spec, args.dry_run);
    }
    let engine = Engine::for_kind(args.backend)?;
    // The engine's `version` (a read-only query with no user value in it,
    // and the slowest one) runs while git reads the repository.
    let probe = std::thread::spawn(move || probe_engine(&engine));
    let mut spec = resolve(ctx, &args, flags)?;
    spec.devcontainer = devcontainer.as_ref().map(|d| d.record.clone());
    let user_config = setup::user_config(ctx, &args, &spec)?;
    spec.user_config = user_config.as_ref().map(|g| g.record.clone());
    let stdio = setup::mcp_servers(&args, &mut spec);
    compose::apply(ctx, &args, &engine, &mut spec)?;
    let (attach, shown) = attachments(ctx, &args, &mut spec)?;
    let _lock = if args.dry_run {
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
    let version = engine_version(ctx, &engine, &spec, probed, args.dry_run, &mut plan)?;
    setup::warn_missing_commands(&engine, &spec, &stdio);
    warn_of_credentials(&spec);
    let wiring = crate::commands::wiring::wiring(
        ctx,
        &engine,
        spec.network,
        version.as_deref(),
        args.dry_run,
        &mut plan,
    )?;
    compose::check_wiring(&spec, &wiring)?;
    if wiring.proxy.is_some()
        && let Some(info) = daemon::running(&ctx.home)
    {
        credentials::warn_if_agent_lacks(spec.agent, &daemon::credentials(info.port), &spec.env);
    }
    let exclude = git::exclude_addition(&spec.git_common_dir);
    plan.steps.extend(
        create_plan_with(
            &spec,
            &ctx.home,
            &engine,
            exclude,
            &wiring,
            Extras {
                attach,
                uploads_max_bytes: ctx.config.uploads_max_bytes,
                user_config,
            },
        )
        .steps,
    );
    let what = format!("create {}", spec.name);
    print_or_execute(&what, &plan, args.dry_run).map_err(|e| failed_create(e, &spec))?;
    if !args.dry_run {
        print_created(&spec, &shown);
    }
    Ok(())
}

/// The engine's version, and the agent CLI checked, when it answered; a dry
/// run goes on without it, saying so.
fn engine_version(
    ctx: &Ctx,
    engine: &Engine,
    spec: &SessionSpec,
    probed: Result<String>,
    dry_run: bool,
    plan: &mut Plan,
) -> Result<Option<String>> {
    match probed {
        Ok(version) => {
            check_agent_cli(ctx, engine, spec, dry_run, plan)?;
            Ok(Some(version))
        }
        Err(err) if dry_run => {
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
    dry_run: bool,
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
        let probe = if dry_run {
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

/// The steps of a create, in order, each with its undo. Pure: the same spec
/// gives the same plan, which is what the snapshot tests pin.
pub fn create_plan(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    exclude: Option<(PathBuf, Vec<u8>)>,
    wiring: &Wiring,
) -> Plan {
    create_plan_with(spec, home, engine, exclude, wiring, Extras::default())
}

/// `create_plan`, with the extras copied in before the agent starts.
pub fn create_plan_with(
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    exclude: Option<(PathBuf, Vec<u8>)>,
    wiring: &Wiring,
    extras: Extras,
) -> Plan {
    let mut plan = Plan::default();
    add_session_files(&mut plan, spec, home);
    if let Some(g) = &extras.user_config {
        let dir = crate::user_config::host_dir(home, &spec.name, spec.agent);
        for step in crate::user_config::steps(g, &dir) {
            plan.push(step);
        }
    }
    if spec.uploads {
        add_uploads(
            &mut plan,
            spec,
            home,
            extras.attach,
            extras.uploads_max_bytes,
        );
    }
    if let Some((path, contents)) = exclude {
        // Appended: the user's own patterns in that file stay as they are.
        plan.push(Step::AppendFile { path, contents });
    }
    add_worktree(&mut plan, spec);
    match &spec.compose {
        Some(c) => compose::add_project(&mut plan, spec, c, home, engine, wiring),
        None => add_container(&mut plan, spec, home, engine, wiring),
    }
    plan
}

/// The session directory (taking it is what reserves the name: a
/// concurrent create of the same name fails here, before touching
/// anything) and the files mounted into the container.
fn add_session_files(plan: &mut Plan, spec: &SessionSpec, home: &Home) {
    reserve_session_dir(plan, home, &spec.name);
    plan.push(Step::Mkdir {
        path: home.container_files_dir(&spec.name),
        mode: 0o755,
        exclusive: true,
    });
    for step in agent::write_session_files(spec, home) {
        plan.push(step);
    }
}

/// The session's uploads directory, and the files given with `--attach`.
fn add_uploads(
    plan: &mut Plan,
    spec: &SessionSpec,
    home: &Home,
    files: Vec<crate::uploads::Source>,
    max_bytes: u64,
) {
    let dir = crate::uploads::host_dir(home, &spec.id);
    plan.push_undoable(
        Step::Mkdir {
            path: dir.clone(),
            mode: 0o700,
            exclusive: true,
        },
        vec![Step::RemoveDir { path: dir.clone() }],
    );
    if !files.is_empty() {
        plan.push(Step::CopyUploads {
            files,
            dir,
            max_bytes,
        });
    }
}

/// The worktree on its new branch, and the cache mount points in it.
fn add_worktree(plan: &mut Plan, spec: &SessionSpec) {
    let repo = &spec.repo_root;
    let wt = spec.worktree.to_string_lossy().to_string();
    let add = [
        "worktree",
        "add",
        "--lock",
        "-b",
        &spec.branch,
        &wt,
        &spec.base,
    ];
    // Undone without git but for the branch: by then the agent may have run.
    let undo = crate::worktree::removal(Some(&spec.git_common_dir), &spec.worktree)
        .into_iter()
        .chain([Step::run_cmd(
            git::git(repo).args(["branch", "-D", &spec.branch]),
            git::classify,
        )])
        .collect();
    plan.push_undoable(Step::run_cmd(git::git(repo).args(add), git::classify), undo);
    // Cache mount points made by us, not by the engine as root, so the
    // agent (running as you) can write `.cargo/` and `.cache/`; below the
    // worktree, which holds whatever the repository committed (a `.cargo`
    // link, say), so made without following links.
    let uploads = spec
        .uploads
        .then(|| format!("{}/{}", crate::uploads::WORKTREE_DIR, spec.id));
    for target in CACHE_VOLUMES
        .iter()
        .map(|(_, t)| t.trim_start_matches("/workspace/").to_string())
        .chain(uploads)
    {
        plan.push(Step::MkdirBelow {
            root: spec.worktree.clone(),
            relative: PathBuf::from(target),
            mode: 0o755,
        });
    }
}

/// The container, the record, the start and the checks after it: one
/// `run --detach` where the engine allows it, else `create` then `start`.
fn add_container(
    plan: &mut Plan,
    spec: &SessionSpec,
    home: &Home,
    engine: &Engine,
    wiring: &Wiring,
) {
    let classify = engine.classifier();
    let container = spec.container_name();
    let undo = || vec![Step::run_cmd(engine.remove(&container), classify)];
    if engine.one_call_run {
        plan.push(record_step(spec, home));
        plan.push_with_cleanup(
            Step::run_cmd(engine.run_detached(spec, home, wiring), classify),
            undo(),
            vec![Step::Run {
                cmd: engine.remove_failed(&spec.id),
                classify,
                tolerate: Some(Tolerate::If(|_| true)),
            }],
        );
        // After the run, which pulls the image if it has to.
        add_own_cache_volumes(plan, spec, engine);
    } else {
        plan.push_undoable(
            Step::run_cmd(engine.create(spec, home, wiring), classify),
            undo(),
        );
        add_own_cache_volumes(plan, spec, engine);
        plan.push(record_step(spec, home));
        plan.push(Step::run_cmd(engine.start(&container), classify));
    }
    if !spec.lifecycle.on_create.is_empty() {
        plan.push(
            engine.wait_on_create(
                &container,
                &spec.worktree,
                std::path::Path::new(".clauderon/on-create.status"),
                std::time::Duration::from_secs(
                    spec.lifecycle
                        .on_create_timeout
                        .unwrap_or(crate::session::DEFAULT_ON_CREATE_TIMEOUT),
                ),
            ),
        );
    }
    plan.push(engine.verify_started(&container, &spec.worktree));
}

/// Makes the session's directory, which must not exist yet: that is what
/// reserves the name (undone by removing it).
pub fn reserve_session_dir(plan: &mut Plan, home: &Home, name: &str) {
    let session_dir = home.session_dir(name);
    plan.push_undoable(
        Step::Mkdir {
            path: session_dir.clone(),
            mode: 0o700,
            exclusive: true,
        },
        vec![Step::RemoveDir { path: session_dir }],
    );
}

pub fn record_step(spec: &SessionSpec, home: &Home) -> Step {
    Step::WriteFile {
        path: home.record_path(&spec.name),
        contents: record_bytes(spec),
        mode: 0o600,
        secret: true,
    }
}

/// New named volumes belong to root; hand them to the user. Not fatal: an
/// image without chown only loses the build caches.
fn add_own_cache_volumes(plan: &mut Plan, spec: &SessionSpec, engine: &Engine) {
    if spec.uid == 0 {
        return;
    }
    plan.push(Step::Run {
        cmd: engine.own_cache_volumes(&spec.image, spec.uid, spec.gid),
        classify: engine.classifier(),
        tolerate: Some(Tolerate::Warn(|f| {
            format!("could not give the cache volumes to your user ({}); Rust build caches may not be writable", f.stderr_tail())
        })),
    });
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
            "clauderon: warning: --env {key} puts a credential inside the container, where the agent can read it; its value is kept out of the command line and dry-run output"
        );
    }
}

/// What a script needs (`--json`), or what a person does next.
fn print_created(spec: &SessionSpec, uploads: &[String]) {
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
