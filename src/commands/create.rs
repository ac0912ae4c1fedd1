//! `clauderon create`: flags + config -> SessionSpec -> Plan -> dry-run or run.

use std::path::PathBuf;

use crate::agent;
use crate::backend::oci::CACHE_VOLUMES;
use crate::backend::oci::Engine;
use crate::backend::{HostNetwork, ProxyWiring, Wiring};
use crate::cli::CreateArgs;
use crate::commands::{Ctx, probe_engine};
use crate::daemon;
use crate::error::{Error, Result};
use crate::git;
use crate::helper;
use crate::image;
use crate::isolation::{NetworkMode, Security};
use crate::limits::{Cpu, Limits, Memory};
use crate::plan::{Plan, Step};
use crate::proxy::credentials;
use crate::session::{self, BackendKind, Lifecycle, SessionSpec, looks_secret};
use crate::store::{Home, record_bytes};

pub fn run(ctx: &Ctx, args: CreateArgs) -> Result<()> {
    let spec = resolve(ctx, &args)?;
    let engine = Engine::for_kind(spec.backend);
    let mut plan = Plan::default();
    let version = match probe_engine(&engine) {
        Ok(version) => {
            check_engine_state(&engine, &spec)?;
            check_agent_cli(ctx, &engine, &spec, args.dry_run, &mut plan)?;
            Some(version)
        }
        Err(err) if args.dry_run => {
            plan.note(format!(
                "{} is not reachable ({}); engine checks were skipped",
                engine.program, err.message
            ));
            None
        }
        Err(err) => return Err(err),
    };
    for (key, _) in spec.env.iter().filter(|(k, _)| looks_secret(k)) {
        eprintln!(
            "clauderon: warning: --env {key} puts a credential inside the container, where the agent can read it; its value is kept out of the command line and dry-run output"
        );
    }
    let wiring = wiring(
        ctx,
        &engine,
        spec.network,
        version.as_deref(),
        args.dry_run,
        &mut plan,
    )?;
    if wiring.proxy.is_some()
        && let Some(info) = daemon::running(&ctx.home)
    {
        credentials::warn_if_agent_lacks(spec.agent, &daemon::credentials(info.port), &spec.env);
    }
    let exclude = git::exclude_addition(&spec.git_common_dir);
    plan.steps
        .extend(create_plan(&spec, &ctx.home, &engine, exclude, &wiring).steps);
    if args.dry_run {
        print!(
            "# clauderon create {} (dry run: nothing was changed)\n{}",
            spec.name,
            plan.render()
        );
        return Ok(());
    }
    plan.execute().map_err(|e| {
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
    })?;
    print_next_steps(&spec);
    Ok(())
}

/// Validates the flags against the config and the repository and resolves
/// them into a complete spec. Runs git (read-only), never the engine.
pub fn resolve(ctx: &Ctx, args: &CreateArgs) -> Result<SessionSpec> {
    if args.prompt.trim().is_empty() {
        return Err(
            Error::input("the prompt is empty").with_fix("pass the task with --prompt \"...\"")
        );
    }
    if args.prompt.contains('\0') {
        return Err(Error::input("the prompt contains a NUL byte"));
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => session::derive_name(&args.prompt),
    };
    session::validate_name(&name)?;
    let cfg = &ctx.config;
    let (image, image_source) = match (&args.image, args.backend) {
        (Some(i), _) => (i.clone(), "--image".to_string()),
        (None, BackendKind::Podman) if cfg.podman_default_image.is_some() => (
            cfg.podman_default_image.clone().unwrap_or_default(),
            format!("[podman] default_image in {}", cfg.path.display()),
        ),
        (None, _) => (
            cfg.default_image.value.clone(),
            format!("[docker] default_image ({})", cfg.default_image.source),
        ),
    };
    crate::validate::image_option(&image, &format!("from {image_source}"))?;
    if args.base.starts_with('-') {
        return Err(Error::input(format!(
            "--base {:?}: a git ref cannot start with `-`",
            args.base
        ))
        .with_fix("pass a branch, tag or commit, e.g. --base main"));
    }
    image::check_allowed(
        &cfg.allowed_images.value,
        &image,
        &cfg.allowed_images.source.to_string(),
    )?;
    let lifecycle = Lifecycle {
        on_create: cfg
            .lifecycle
            .on_create
            .iter()
            .chain(&args.on_create)
            .cloned()
            .collect(),
        post_start: cfg
            .lifecycle
            .post_start
            .iter()
            .chain(&args.post_start)
            .cloned()
            .collect(),
    };
    if let Some(c) = lifecycle
        .on_create
        .iter()
        .chain(&lifecycle.post_start)
        .find(|c| c.trim().is_empty() || c.contains('\0'))
    {
        return Err(Error::input(format!(
            "invalid lifecycle command {c:?}: it is empty or contains a NUL byte"
        )));
    }
    // The agent CLI comes from its own image only where the engine can mount images.
    let agent_cli_image = (Engine::for_kind(args.backend).image_mounts
        && cfg.agent.mount_agent_cli)
        .then(|| cfg.agent.reference());
    let limits = Limits {
        cpu: match &args.cpu_limit {
            Some(c) => Some(Cpu::parse(c).map_err(|m| Error::input(format!("--cpu-limit: {m}")))?),
            None => cfg.cpu.value,
        },
        memory: match &args.memory_limit {
            Some(m) => {
                Some(Memory::parse(m).map_err(|m| Error::input(format!("--memory-limit: {m}")))?)
            }
            None => cfg.memory.value,
        },
    };
    let env = args
        .env
        .iter()
        .map(|pair| session::parse_env(pair))
        .collect::<Result<Vec<_>>>()?;
    if let Some((key, _)) = env.iter().find(|(k, _)| session::reserved_env(k)) {
        return Err(Error::input(format!(
            "--env {key}: clauderon sets {key} itself; overriding it would break the session"
        ))
        .with_fix("use another variable name"));
    }
    let (network, security) = isolation(ctx, args)?;

    let home = &ctx.home;
    if home.session_dir(&name).exists() {
        return Err(
            Error::input(format!("a session named '{name}' already exists")).with_fix(format!(
                "pick another --name, or remove it with `clauderon delete {name}`"
            )),
        );
    }
    let repo_dir = std::path::absolute(&args.repo)
        .map_err(|e| Error::io(format!("--repo {}", args.repo.display()), e))?;
    let repo = git::resolve_repo(&repo_dir)?;
    git::check_config_is_safe(&repo.root)?;
    git::resolve_commit(&repo.root, &args.base)?;
    warn_about_the_starting_point(&repo, &args.base);
    let worktree = home.worktree_path(&name);
    if worktree.exists() {
        return Err(Error::input(format!(
            "{} already exists, so it cannot become the session's worktree",
            worktree.display()
        ))
        .with_fix(format!(
            "pick another --name, or move {} away",
            worktree.display()
        )));
    }
    if git::branch_exists(&repo.root, &name)? {
        return Err(Error::input(format!(
            "branch '{name}' already exists in {}",
            repo.root.display()
        ))
        .with_fix(format!(
            "pick another --name, or delete the branch: git -C {} branch -D {name}",
            shell_words::quote(&repo.root.to_string_lossy())
        )));
    }
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    Ok(SessionSpec {
        id: session::new_uuid(),
        backend: args.backend,
        agent: args.agent,
        image,
        pull_policy: args.pull_policy.unwrap_or(cfg.pull_policy.value),
        limits,
        env,
        prompt: args.prompt.clone(),
        git_common_dir: repo.common_dir,
        subdir: repo.prefix,
        base: args.base.clone(),
        branch: name.clone(),
        worktree,
        uid,
        gid,
        git_identity: git::identity(&repo.root),
        created_at: session::now(),
        hook_token: session::new_token(),
        lifecycle,
        agent_cli_image,
        repo_root: repo.root,
        name,
        network,
        security,
        env_from_host: args
            .env
            .iter()
            .filter(|pair| !pair.contains('='))
            .cloned()
            .collect(),
    })
}

/// The network mode and hardening: flags over config over defaults.
fn isolation(ctx: &Ctx, args: &CreateArgs) -> Result<(NetworkMode, Security)> {
    let mut security = ctx.config.security.clone();
    let added = crate::isolation::capabilities(&args.cap_add)
        .map_err(|m| Error::input(format!("--cap-add: {m}")))?;
    for cap in added {
        if !security.cap_add.contains(&cap) {
            security.cap_add.push(cap);
        }
    }
    let network = args.network.unwrap_or(ctx.config.network.value);
    if network == NetworkMode::Open {
        eprintln!(
            "clauderon: warning: --network open: programs in the container that ignore the proxy variables reach the internet and the host's services directly"
        );
    }
    for relaxed in security.relaxations() {
        eprintln!("clauderon: note: hardening relaxed for this session: {relaxed}");
    }
    Ok((network, security))
}

/// The session starts from a commit: say so when that surprises (a
/// directory that is not in it, changes that are not committed).
fn warn_about_the_starting_point(repo: &git::Repo, base: &str) {
    let prefix = repo.prefix.trim_end_matches('/');
    if !prefix.is_empty()
        && git::git(&repo.root)
            .args(["cat-file", "-e"])
            .arg(format!("{base}:{prefix}"))
            .run()
            .is_err()
    {
        eprintln!(
            "clauderon: warning: {prefix}/ is not in {base} (untracked?), so the agent starts in an empty directory there; commit it first, or pass --repo a directory that is in {base}"
        );
    }
    let dirty = git::git(&repo.root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .run()
        .map(|o| o.stdout.lines().count())
        .unwrap_or(0);
    if dirty > 0 && base == "HEAD" {
        eprintln!(
            "clauderon: note: {dirty} uncommitted change(s) in {} are not in the session: it starts from the last commit",
            repo.root.display()
        );
    }
}

/// How the session's container reaches the daemon and the proxy. The
/// daemon is shared by all sessions and outlives them, so it is started here
/// (not as a step a rollback would undo), and so is the helper written into
/// the home; a dry run only says it would. `version` is the engine's
/// `version` output when the caller has it.
pub fn wiring(
    ctx: &Ctx,
    engine: &Engine,
    network: NetworkMode,
    version: Option<&str>,
    dry_run: bool,
    plan: &mut Plan,
) -> Result<Wiring> {
    let host = match engine.host_network() {
        Ok(n) => n,
        Err(e) if dry_run => {
            plan.note(format!(
                "{} did not say how containers reach the host ({}): assuming rootful defaults",
                engine.program, e.message
            ));
            let gateway = match engine.kind {
                BackendKind::Docker => "host-gateway",
                BackendKind::Podman => "10.88.0.1",
            };
            HostNetwork {
                gateway: gateway.into(),
                rootless: false,
                remote: false,
            }
        }
        Err(e) => return Err(e),
    };
    if network == NetworkMode::Proxy {
        check_proxy_mode_works(engine, &host, version, dry_run)?;
    }
    let init_helper = helper::available();
    if init_helper && !dry_run {
        helper::install(&ctx.home)?;
    } else if init_helper && !helper::installed(&ctx.home) {
        plan.note(format!(
            "clauderon first writes its static helper (the container's init and forwarder) to {}",
            helper::host_path(&ctx.home).display()
        ));
    }
    let proxy = &ctx.config.proxy;
    let info = match daemon::running(&ctx.home) {
        Some(info) => info,
        None if dry_run => {
            plan.note("the clauderon daemon is not running: create starts it first (clauderon daemon, in the background)");
            let from_env = credentials::available_here();
            return Ok(Wiring {
                host,
                init_helper,
                http_port: ctx.config.http_port.value,
                proxy: proxy.enabled.then(|| ProxyWiring {
                    port: proxy.port,
                    anthropic_api_key: from_env.iter().any(|v| v == "ANTHROPIC_API_KEY"),
                }),
            });
        }
        None => daemon::ensure_running(&ctx.home, ctx.config.http_port.value, false)?,
    };
    let in_daemon = daemon::credentials(info.port);
    credentials::warn_if_daemon_lacks(&in_daemon);
    Ok(Wiring {
        host,
        init_helper,
        http_port: info.port,
        proxy: info.proxy_port.map(|port| ProxyWiring {
            port,
            anthropic_api_key: in_daemon.iter().any(|v| v == "ANTHROPIC_API_KEY"),
        }),
    })
}

/// Network mode proxy mounts the daemon's Unix sockets into the container:
/// that needs the engine on this machine's kernel (sockets do not cross
/// Docker Desktop's or a Podman machine's VM) and the static helper. Never
/// falls back to an open network silently.
fn check_proxy_mode_works(
    engine: &Engine,
    host: &HostNetwork,
    version: Option<&str>,
    dry_run: bool,
) -> Result<()> {
    let fix = "pass --network open (or set [network] mode = \"open\" in config.toml) to run with the engine's network: programs that ignore the proxy variables then reach the internet directly";
    if !helper::available() {
        return Err(Error::input(
            "network mode proxy needs clauderon's static helper, which is only built on Linux",
        )
        .with_fix(fix));
    }
    let version = match version {
        Some(v) => v.to_string(),
        None => match engine.version().run() {
            Ok(out) => out.stdout,
            Err(_) if dry_run => return Ok(()),
            Err(f) => return Err(engine.classify(f)),
        },
    };
    if host.remote || engine.runs_in_a_vm(&version) {
        return Err(Error::input(format!(
            "network mode proxy needs {} to run on this machine's kernel, but it runs in a VM or remotely (Unix sockets from this host do not reach its containers)",
            engine.program
        ))
        .with_fix(fix));
    }
    Ok(())
}

/// Checks that need the engine: the container name is free, and the image
/// is local when the pull policy forbids pulling.
fn check_engine_state(engine: &Engine, spec: &SessionSpec) -> Result<()> {
    let container = spec.container_name();
    if engine.container_state(&container).run().is_ok() {
        return Err(
            Error::input(format!("a container named '{container}' already exists")).with_fix(
                format!(
                    "pick another --name, or remove that container: {} rm -f {container}",
                    engine.program
                ),
            ),
        );
    }
    if spec.pull_policy == session::PullPolicy::Never
        && let Err(f) = engine.image_exists(&spec.image).run()
    {
        if f.stderr.contains("No such image") || f.stderr.contains("no such image") {
            return Err(Error::input(format!(
                "image '{}' is not present locally, and --pull-policy never forbids pulling it",
                spec.image
            ))
            .with_fix(format!(
                "build or load the image first (`{} images` lists local ones), or use --pull-policy if-not-present",
                engine.program
            )));
        }
        return Err(engine.classify(f));
    }
    Ok(())
}

/// With the agent CLI mounted from its image: that image must be there (or
/// be pulled first), and the session image must be glibc-based, which the
/// cheap part of `image check` tells (one probe per image, cached by ID).
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
            return Err(Error::input(format!("the agent CLI image {cli} is not present locally (and [agent] auto_pull_cli is off)"))
                .with_fix("build it: clauderon agent-image build   (or set [agent] cli_image to a published one)"));
        }
        plan.push(Step::run_cmd(engine.pull(cli), |f| {
            Error::failed(format!("could not pull the agent CLI image: {}", f.stderr_tail()))
                .with_fix("build it locally: clauderon agent-image build   (or point [agent] cli_image at a published image)")
        }));
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
    let mut plan = Plan::default();
    let session_dir = home.session_dir(&spec.name);
    // Taking the session directory is what reserves the name: a concurrent
    // create of the same name fails here, before touching anything.
    plan.push_undoable(
        Step::Mkdir {
            path: session_dir.clone(),
            mode: 0o700,
            exclusive: true,
        },
        vec![Step::RemoveDir { path: session_dir }],
    );
    let files_dir = home.container_files_dir(&spec.name);
    plan.push(Step::Mkdir {
        path: files_dir.clone(),
        mode: 0o755,
        exclusive: true,
    });
    for step in agent::write_session_files(spec, home) {
        plan.push(step);
    }
    if let Some((path, contents)) = exclude {
        // Appended: the user's own patterns in that file stay as they are.
        plan.push(Step::AppendFile { path, contents });
    }
    let repo = &spec.repo_root;
    let wt = spec.worktree.to_string_lossy().to_string();
    plan.push_undoable(
        Step::run_cmd(
            git::git(repo).args([
                "worktree",
                "add",
                "--lock",
                "-b",
                &spec.branch,
                &wt,
                &spec.base,
            ]),
            git::classify,
        ),
        // Without git but for the branch: by now the agent may have run.
        crate::worktree::removal(Some(&spec.git_common_dir), &spec.worktree)
            .into_iter()
            .chain([Step::run_cmd(
                git::git(repo).args(["branch", "-D", &spec.branch]),
                git::classify,
            )])
            .collect(),
    );
    // Cache mount points made by us, not by the engine as root, so the
    // agent (running as you) can write `.cargo/` and `.cache/`.
    for (_, target) in CACHE_VOLUMES {
        let relative = target.trim_start_matches("/workspace/");
        plan.push(Step::Mkdir {
            path: spec.worktree.join(relative),
            mode: 0o755,
            exclusive: false,
        });
    }
    let classify = engine.classifier();
    let container = spec.container_name();
    plan.push_undoable(
        Step::run_cmd(engine.create(spec, home, wiring), classify),
        vec![Step::run_cmd(engine.remove(&container), classify)],
    );
    if spec.uid != 0 {
        // New named volumes belong to root; hand them to the user. Not fatal:
        // an image without chown only loses the build caches.
        plan.push(Step::Run {
            cmd: engine.own_cache_volumes(&spec.image, spec.uid, spec.gid),
            classify,
            tolerate: Some(|f| {
                eprintln!("clauderon: warning: could not give the cache volumes to your user ({}); Rust build caches may not be writable", f.stderr_tail());
                true
            }),
        });
    }
    plan.push(Step::WriteFile {
        path: home.record_path(&spec.name),
        contents: record_bytes(spec),
        mode: 0o600,
        secret: true,
    });
    plan.push(Step::run_cmd(engine.start(&container), classify));
    if !spec.lifecycle.on_create.is_empty() {
        plan.push(engine.wait_on_create(
            &container,
            &spec.worktree.join(".clauderon/on-create.status"),
        ));
    }
    plan.push(engine.verify_started(&container));
    plan
}

fn print_next_steps(spec: &SessionSpec) {
    let n = &spec.name;
    println!(
        "Created session {n} ({}, {}, image {})\n  worktree: {} (branch {})\n\nNext:\n  clauderon attach {n}      # talk to the agent (detach: Ctrl-P Ctrl-Q)\n  clauderon logs {n} -f     # follow its output\n  clauderon delete {n}      # remove the container and worktree",
        spec.backend,
        spec.agent,
        spec.image,
        spec.worktree.display(),
        spec.branch,
    );
}
