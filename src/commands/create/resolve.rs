//! create's flags + config -> a complete, validated `SessionSpec`: no
//! side effects but read-only git, and nothing that runs the engine.

use std::path::PathBuf;

use crate::backend::oci::Engine;
use crate::cli::CreateArgs;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::git;
use crate::image;
use crate::isolation::{NetworkMode, Security};
use crate::limits::{Cpu, Limits, Memory};
use crate::session::{self, Lifecycle, SessionSpec};

/// The flags, validated against the config with no I/O: everything that
/// can be checked without the repository (or any engine) is checked first.
pub struct Flags {
    name: String,
    image: String,
    lifecycle: crate::session::Lifecycle,
    agent_cli_image: Option<String>,
    limits: crate::limits::Limits,
    env: Vec<(String, String)>,
    network: crate::isolation::NetworkMode,
    security: crate::isolation::Security,
    agent_options: crate::agent_options::AgentOptions,
}

pub fn flags(ctx: &Ctx, args: &CreateArgs) -> Result<Flags> {
    if let Some(prompt) = &args.prompt {
        check_prompt(prompt)?;
    } else if args.print {
        return Err(Error::input("--print runs the agent on a prompt: pass one")
            .with_fix("clauderon create --print --prompt \"...\""));
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => session::derive_name(args.prompt.as_deref().unwrap_or(&repo_dir_name(args))),
    };
    session::validate_name(&name)?;
    if !args.backend.in_cluster() && (args.context.is_some() || args.namespace.is_some()) {
        return Err(
            Error::input("--context and --namespace are for --backend kubernetes")
                .with_fix("add --backend kubernetes, or drop --context/--namespace"),
        );
    }
    check_host_file_flags(ctx, args)?;
    let cfg = &ctx.config;
    let image = choose_image(ctx, args)?;
    check_base(&args.base)?;
    let lifecycle = lifecycle(ctx, args)?;
    // The agent CLI comes from its own image only where the engine can mount images.
    let agent_cli_image = (Engine::for_kind(args.backend).is_ok_and(|e| e.image_mounts)
        && cfg.agent.mount_agent_cli)
        .then(|| cfg.agent.reference(args.agent));
    let (network, security) = isolation(ctx, args)?;
    let mut agent_options = agent_options(args)?;
    if args.agent == crate::session::Agent::Codex {
        agent_options.codex_base_url = cfg.agent.codex_base_url.clone();
    }
    Ok(Flags {
        agent_options,
        name,
        image,
        lifecycle,
        agent_cli_image,
        limits: limits(ctx, args)?,
        env: env(args)?,
        network,
        security,
    })
}

/// Resolves the validated flags and the repository into a complete spec.
/// Runs git (read-only), never the engine.
pub fn resolve(ctx: &Ctx, args: &CreateArgs, flags: Flags) -> Result<SessionSpec> {
    let (repo, worktree) = repository(ctx, args, &flags.name)?;
    let landing = crate::commands::land::record_landing(
        &repo.root,
        git::resolve_commit(&repo.root, &args.base)?,
    );
    // One remote, recorded once: the one `pr` pushes to is the one the
    // GitHub credential opens.
    let remote_url = landing.remote.as_ref().map(|r| r.url.clone());
    let mut spec = SessionSpec {
        id: session::new_uuid(),
        backend: args.backend,
        agent: args.agent,
        image: flags.image,
        pull_policy: args.pull_policy.unwrap_or(ctx.config.pull_policy.value),
        limits: flags.limits,
        env: flags.env,
        prompt: args.prompt.clone().unwrap_or_default(),
        git_common_dir: repo.common_dir,
        subdir: repo.prefix,
        base: args.base.clone(),
        branch: flags.name.clone(),
        worktree,
        uid: rustix::process::getuid().as_raw(),
        gid: rustix::process::getgid().as_raw(),
        git_identity: git::identity(&repo.root),
        created_at: session::now(),
        hook_token: session::new_token(),
        lifecycle: flags.lifecycle,
        agent_cli_image: flags.agent_cli_image,
        repo_root: repo.root,
        name: flags.name,
        network: flags.network,
        security: flags.security,
        env_from_host: env_from_host(args),
        isolation_recorded: true,
        agent_options: flags.agent_options,
        kubernetes: None,
        compose: None,
        uploads: args.backend.sees_host_files(),
        mounts: Vec::new(),
        talos_config: None,
        budget_usd: args.budget.or(ctx.config.budget.session_usd),
        remote_url,
        policy: crate::commands::policy::from_create(args)?,
        landing,
        devcontainer: None,
        user_config: None,
        mcp_servers: Vec::new(),
    };
    if spec.agent_options.print && spec.agent == crate::session::Agent::Claude {
        spec.agent_options.max_budget_usd = spec.budget_usd;
    }
    backend_parts(ctx, args, &mut spec)?;
    Ok(spec)
}

/// Each part of the spec that a kind of backend has, asked of the kind;
/// then the session's policy, which a Kubernetes session cannot keep.
fn backend_parts(ctx: &Ctx, args: &CreateArgs, spec: &mut SessionSpec) -> Result<()> {
    if args.backend.sees_host_files() {
        host_files(ctx, args, spec)?;
    }
    if args.backend.in_cluster() {
        crate::commands::kube::create::finish_spec(ctx, args, spec)?;
    }
    crate::commands::policy::check_backend(spec)
}

/// The `--mount`s and the Talos config, checked and resolved (links
/// followed) now, so the record holds exactly what was checked.
fn host_files(ctx: &Ctx, args: &CreateArgs, spec: &mut SessionSpec) -> Result<()> {
    let policy = crate::mounts::Policy::for_create(
        &ctx.config.mounts,
        &ctx.config.api_volume_roots,
        &ctx.home.root,
        &spec.git_common_dir,
    );
    spec.mounts = args
        .mount
        .iter()
        .map(|m| crate::mounts::parse(m, &policy))
        .collect::<Result<_>>()?;
    crate::mounts::check_distinct(&spec.mounts)?;
    spec.talos_config = crate::mounts::talos_config(&ctx.config.talos, &ctx.config.path)?;
    let talos = crate::mounts::TALOS_ENV;
    if spec.talos_config.is_some() && spec.env.iter().any(|(k, _)| k == talos) {
        return Err(
            Error::input(format!("--env {talos}: [talos] config sets {talos} itself"))
                .with_fix(format!("drop --env {talos}, or remove [talos] config")),
        );
    }
    Ok(())
}

/// Host files cannot reach a pod: refused for kubernetes sessions.
fn check_host_file_flags(ctx: &Ctx, args: &CreateArgs) -> Result<()> {
    if args.backend.sees_host_files() {
        return Ok(());
    }
    if !args.attach.is_empty() || !args.mount.is_empty() {
        return Err(Error::input(
            "--attach and --mount are for docker and podman sessions: a kubernetes pod cannot see host files",
        )
        .with_fix("drop them, or use --backend docker or podman"));
    }
    if ctx.config.talos.config.is_some() {
        eprintln!(
            "clauderon: note: [talos] config is not mounted into kubernetes sessions (host files cannot reach a pod)"
        );
    }
    Ok(())
}

/// `--env NAME`s: their values came from clauderon's environment.
fn env_from_host(args: &CreateArgs) -> Vec<String> {
    args.env
        .iter()
        .filter(|pair| !pair.contains('='))
        .cloned()
        .collect()
}

fn agent_options(args: &CreateArgs) -> Result<crate::agent_options::AgentOptions> {
    let options = crate::agent_options::AgentOptions {
        print: args.print,
        model: args.model.clone(),
        max_turns: args.max_turns,
        allowed_tools: args.allowed_tools.clone(),
        disallowed_tools: args.disallowed_tools.clone(),
        append_system_prompt: args.append_system_prompt.clone(),
        output_format: args.output_format.clone(),
        codex_base_url: None,
        max_budget_usd: None,
        agent_args: args.agent_arg.clone(),
    };
    options
        .validate(args.agent)
        .map_err(|m| Error::input(m).with_fix("see `clauderon create --help`"))?;
    Ok(options)
}

fn check_base(base: &str) -> Result<()> {
    if base.starts_with('-') {
        return Err(
            Error::input(format!("--base {base:?}: a git ref cannot start with `-`"))
                .with_fix("pass a branch, tag or commit, e.g. --base main"),
        );
    }
    Ok(())
}

/// A session without a prompt is named after its repository's directory.
fn repo_dir_name(args: &CreateArgs) -> String {
    std::fs::canonicalize(&args.repo)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "session".into())
}

fn check_prompt(prompt: &str) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::input("the prompt is empty").with_fix(
            "pass the task with --prompt \"...\", or leave --prompt out to start the agent without one",
        ));
    }
    if prompt.contains('\0') {
        return Err(Error::input("the prompt contains a NUL byte"));
    }
    Ok(())
}

/// `--image`, else the backend's default image; a reference, and allowed.
fn choose_image(ctx: &Ctx, args: &CreateArgs) -> Result<String> {
    let cfg = &ctx.config;
    let (image, image_source) = match &args.image {
        Some(i) => match &args.image_origin {
            // Built from devcontainer.json: its base images were checked.
            Some(o) if o.built => return Ok(i.clone()),
            Some(o) => (i.clone(), o.source.clone()),
            None => (i.clone(), "--image".to_string()),
        },
        None => cfg.default_image_for(args.backend),
    };
    crate::validate::image_option(&image, &format!("from {image_source}"))?;
    // A compose session runs its services' images, each checked by the
    // compose part of create; the default image is not used.
    if !args.compose.is_empty() || cfg.compose.file.is_some() {
        return Ok(image);
    }
    image::check_allowed(
        &cfg.allowed_images.value,
        &image,
        &cfg.allowed_images.source.to_string(),
    )?;
    Ok(image)
}

/// The config's lifecycle commands, then the flags'.
fn lifecycle(ctx: &Ctx, args: &CreateArgs) -> Result<Lifecycle> {
    let cfg = &ctx.config.lifecycle;
    let join = |a: &[String], b: &[String]| a.iter().chain(b).cloned().collect::<Vec<_>>();
    let lifecycle = Lifecycle {
        on_create: join(&cfg.on_create, &args.on_create),
        post_start: join(&cfg.post_start, &args.post_start),
        on_create_timeout: cfg.on_create_timeout,
    };
    if lifecycle.on_create_timeout == Some(0) {
        return Err(
            Error::input("[lifecycle] on_create_timeout must be at least 1 second").with_fix(
                "set it to the seconds the commands may take, or remove it (default 1800)",
            ),
        );
    }
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
    Ok(lifecycle)
}

fn limits(ctx: &Ctx, args: &CreateArgs) -> Result<Limits> {
    let cfg = &ctx.config;
    if args.cpu_shares.is_some() && !args.backend.has_cpu_shares() {
        return Err(Error::input(
            "--cpu-shares: Kubernetes has no CPU shares (a pod's CPU request is its weight)",
        )
        .with_fix("use --cpu-limit, which sets the pod's CPU request and limit"));
    }
    Ok(Limits {
        cpu_shares: args.cpu_shares,
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
    })
}

fn env(args: &CreateArgs) -> Result<Vec<(String, String)>> {
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
    Ok(env)
}

/// The repository and the session's worktree path: the name must be free
/// as a session, a worktree and a branch, and git must be safe to run there.
fn repository(ctx: &Ctx, args: &CreateArgs, name: &str) -> Result<(git::Repo, PathBuf)> {
    let home = &ctx.home;
    if home.session_dir(name).exists() {
        return Err(
            Error::conflict(format!("a session named '{name}' already exists")).with_fix(format!(
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
    let worktree = home.worktree_path(name);
    if worktree.exists() {
        return Err(Error::conflict(format!(
            "{} already exists, so it cannot become the session's worktree",
            worktree.display()
        ))
        .with_fix(format!(
            "pick another --name, or move {} away",
            worktree.display()
        )));
    }
    if git::branch_exists(&repo.root, name)? {
        return Err(Error::conflict(format!(
            "branch '{name}' already exists in {}",
            repo.root.display()
        ))
        .with_fix(format!(
            "to carry on from its commits (a deleted session keeps its branch), start a new session from it: \
             --name {name}-2 --base {name}; or delete the branch: git -C {} branch -D {name} \
             (`clauderon delete NAME --delete-branch` removes it with its session); or pick another --name",
            shell_words::quote(&repo.root.to_string_lossy())
        )));
    }
    Ok((repo, worktree))
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
        .args([
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--ignore-submodules=all",
        ])
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
