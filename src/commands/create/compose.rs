//! create's compose part: the user's file read through the compose tool
//! (read-only), checked, and the session's container made one of its
//! services; then the plan's steps for the project.

use std::path::PathBuf;

use crate::backend::Wiring;
use crate::backend::compose::{self, ComposeSpec, OVERRIDE_NAME, Options, Tool};
use crate::backend::oci::Engine;
use crate::cli::CreateArgs;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::isolation::NetworkMode;
use crate::session::SessionSpec;
use crate::spec::compose::RepoBind;

/// The compose files of this create: every `--compose` (relative to the
/// current directory), else `[compose] file` (relative to the repository).
fn requested(ctx: &Ctx, args: &CreateArgs, repo_root: &std::path::Path) -> Result<Vec<PathBuf>> {
    if args.compose.is_empty() {
        let file = ctx.config.compose.file.as_ref();
        return Ok(file
            .map(|f| compose::absolute(f, repo_root))
            .into_iter()
            .collect());
    }
    (args.compose.iter())
        .map(|f| {
            std::path::absolute(f)
                .map_err(|e| Error::io(format!("compose file {}", f.display()), e))
        })
        .collect()
}

/// `--service` needs a compose file, and `--compose` the docker or podman
/// backend.
pub fn check_flags(ctx: &Ctx, args: &CreateArgs) -> Result<()> {
    if args.service.is_some() && args.compose.is_empty() && ctx.config.compose.file.is_none() {
        return Err(Error::input("--service names a service of a compose file")
            .with_fix("add --compose FILE, or drop --service"));
    }
    if !args.backend.runs_compose() && !args.compose.is_empty() {
        return Err(
            Error::input("--compose runs on the docker and podman backends")
                .with_fix("pass --backend docker (or podman), or drop --compose"),
        );
    }
    Ok(())
}

/// Rootless Podman maps the user into a session's container with
/// `--userns=keep-id`, which podman-compose 1.0.3 cannot pass: the agent
/// would not own its worktree. Refused before anything is made.
pub fn check_wiring(spec: &SessionSpec, wiring: &Wiring) -> Result<()> {
    let podman = spec
        .compose
        .as_ref()
        .is_some_and(|c| c.tool == Tool::PodmanCompose);
    if podman && wiring.host.rootless {
        return Err(Error::input(
            "compose sessions need rootful Podman: podman-compose 1.0.3 cannot map your user into the container (--userns=keep-id)",
        )
        .with_fix("run clauderon as root for Podman, or use --backend docker"));
    }
    Ok(())
}

/// With a compose file (`--compose`, `[compose] file`), makes `spec` a
/// compose session of it.
pub fn apply(ctx: &Ctx, args: &CreateArgs, engine: &Engine, spec: &mut SessionSpec) -> Result<()> {
    let files = requested(ctx, args, &spec.repo_root)?;
    if files.is_empty() {
        return Ok(());
    }
    prepare(ctx, args, engine, spec, files)
}

/// Makes `spec` a compose session of `files`: detects the tool, reads and
/// checks the merged config, and records the agent's service.
fn prepare(
    ctx: &Ctx,
    args: &CreateArgs,
    engine: &Engine,
    spec: &mut SessionSpec,
    files: Vec<PathBuf>,
) -> Result<()> {
    check_request(args, &files)?;
    let tool = Tool::detect(engine)?;
    let project = ComposeSpec::project(spec);
    let (order, config) = read_config(tool, &project, &files)?;
    if tool == Tool::PodmanCompose {
        podman_checks(ctx, spec, &config)?;
    }
    let settings = &ctx.config.compose;
    let opts = Options {
        service: args.service.clone().or_else(|| settings.service.clone()),
        repo_root: spec.repo_root.clone(),
        git_common_dir: spec.git_common_dir.clone(),
        podman_compose: tool == Tool::PodmanCompose,
        allow_ports: settings.allow_ports,
        allow_build: settings.allow_build,
        proxy: spec.network == NetworkMode::Proxy,
        project,
    };
    let checked = compose::inspect(&order, &config, &opts)?;
    binds_in_worktree(spec, &checked.service, &checked.repo_binds)?;
    check_images(ctx, &checked.images)?;
    let shell_form = match tool {
        Tool::PodmanCompose => {
            compose::podman::shell_forms(&checked.service, &config["services"][&checked.service])?
        }
        _ => Vec::new(),
    };
    spec.image = checked.image;
    spec.compose = Some(ComposeSpec {
        files,
        service: checked.service,
        tool,
        override_file: ctx.home.session_dir(&spec.name).join(OVERRIDE_NAME),
        networks: checked.networks,
        volumes: checked.volumes,
        services: order,
        shell_form,
        repo_binds: checked.repo_binds,
    });
    Ok(())
}

/// No `--image` beside a compose file, and every file there.
fn check_request(args: &CreateArgs, files: &[PathBuf]) -> Result<()> {
    if args.image.is_some() {
        return Err(Error::input(
            "--image and --compose do not go together: the agent's service has its own image",
        )
        .with_fix("drop --image (set the image in the compose file)"));
    }
    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
        // Not found, not bad input: the request is well formed, the file it
        // names is missing (the API answers 404, the CLI still exits 2).
        return Err(
            Error::not_found(format!("compose file {} does not exist", missing.display()))
                .with_fix(
                    "name a compose file that exists (--compose FILE is relative to the current directory, [compose] file to the repository)",
                ),
        );
    }
    Ok(())
}

/// The agent service's binds of the repository are mounted from its
/// worktree, which holds what the base commit holds: a path that is not
/// there (an ignored `.env`, a build output) would be an empty directory
/// (Docker) or a failed `up` (Podman). Refused first, with the ways out.
fn binds_in_worktree(spec: &SessionSpec, service: &str, binds: &[RepoBind]) -> Result<()> {
    // The override's entry is `WORKTREE:TARGET`, compose's short form.
    if !binds.is_empty() && spec.worktree.to_string_lossy().contains(':') {
        return Err(Error::input(format!(
            "service {service:?} mounts the repository, which comes from the worktree {}: compose cannot mount a path with a `:`",
            spec.worktree.display()
        ))
        .with_fix("use a CLAUDERON_HOME without `:` in its path"));
    }
    for bind in binds.iter().filter(|b| !b.path.as_os_str().is_empty()) {
        let object = format!("{}:{}", spec.base, bind.path.display());
        let exists = crate::git::git(&spec.repo_root)
            .args(["cat-file", "-e"])
            .arg(&object)
            .run()
            .is_ok();
        if !exists {
            return Err(Error::input(format!(
                "service {service:?} mounts {} of the repository, which is not in the session's worktree (not in {}): the agent's service sees only its worktree",
                bind.path.display(),
                spec.base
            ))
            .with_fix("commit it, mount it in another service, or give it with --mount (read-only)"));
        }
    }
    Ok(())
}

/// What podman-compose 1.0.3 cannot do: see `compose::check_podman` and
/// `podman::check_paths`.
fn podman_checks(ctx: &Ctx, spec: &SessionSpec, config: &serde_json::Value) -> Result<()> {
    compose::check_podman(config, spec.network == NetworkMode::Proxy)?;
    if spec.network == NetworkMode::Proxy {
        // Its networks are internal: can the services reach each other?
        compose::forward::check()?;
    }
    let paths = [
        &spec.repo_root,
        &spec.git_common_dir,
        &spec.worktree,
        &ctx.home.root,
    ];
    compose::podman::check_paths(&paths.map(|p| p.as_path()))
}

/// The allowlist, for every service's image (not only the agent's): a
/// refusal names the service.
fn check_images(ctx: &Ctx, images: &[(String, String)]) -> Result<()> {
    let allowed = &ctx.config.allowed_images;
    for (service, image) in images {
        crate::image::check_allowed(&allowed.value, image, &allowed.source.to_string()).map_err(
            |mut e| {
                e.message = format!("service {service:?}: {}", e.message);
                e
            },
        )?;
    }
    Ok(())
}

/// The services in the file's order, and the merged config as JSON.
fn read_config(
    tool: Tool,
    project: &str,
    files: &[PathBuf],
) -> Result<(Vec<String>, serde_json::Value)> {
    let invalid = |f: crate::exec::Failure| {
        Error::input(format!(
            "the compose file is not valid: {}",
            f.stderr_tail()
        ))
    };
    let unreadable = |f: crate::exec::Failure| {
        Error::failed(format!(
            "could not read compose's config output: {}",
            f.stderr_tail()
        ))
    };
    if tool == Tool::PodmanCompose {
        // No `config` to ask: read as podman-compose reads the files.
        let cmd = compose::podman::normalise(&tool.python(), project, files);
        let text = cmd.run().map_err(invalid)?.stdout;
        let mut read: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::failed(format!("could not read the compose files: {e}")))?;
        let order = (read["order"].as_array().into_iter().flatten())
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        return Ok((order, read["config"].take()));
    }
    let order: Vec<String> = tool
        .services(project, files)
        .run()
        .map_err(invalid)?
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let yaml = tool.config(project, files).run().map_err(invalid)?.stdout;
    let text = compose::yaml_to_json(&tool.python(), &yaml)
        .run()
        .map_err(unreadable)?
        .stdout;
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::failed(format!("could not read compose's config output: {e}")))?;
    Ok((order, config))
}
