//! `clauderon agent-image build`: an agent's CLI alone, FROM scratch, as
//! the image sessions mount at /opt/clauderon-agent (Podman). Each agent
//! has its own image (`[agent] cli_image` for Claude Code,
//! `codex_cli_image` for Codex), so both can be built side by side.

use std::path::{Path, PathBuf};

use crate::backend::oci::Engine;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Mode, Plan, Step};
use crate::session::{Agent, BackendKind};

const CONTAINERFILE: &str = include_str!("../../templates/agent-cli.Containerfile");

/// The Codex version whose package `agent-image build --agent codex`
/// fetches (the one clauderon's tests run).
pub const CODEX_VERSION: &str = "0.169.0";

/// The Claude Code version clauderon is tested with: one file, read here
/// and by scripts/build-agent-image.sh.
pub fn claude_version() -> &'static str {
    include_str!("../../templates/claude-code.version").trim()
}

const CLAUDE_PACKAGE: &str = "@anthropic-ai/claude-code-linux-x64";

/// The version to fetch: `--version`, the latest on npm (`--update`), else
/// the pinned one.
fn pick_version(agent: Agent, version: Option<&str>, update: bool) -> Result<String> {
    let chosen = match (version, update) {
        (Some(v), _) => v.to_string(),
        (None, true) => latest_on_npm(agent)?,
        (None, false) => match agent {
            Agent::Claude => claude_version().into(),
            Agent::Codex => CODEX_VERSION.into(),
        },
    };
    let ok = !chosen.is_empty()
        && chosen.len() <= 64
        && chosen.starts_with(|c: char| c.is_ascii_digit())
        && chosen
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    match ok {
        true => Ok(chosen),
        false => Err(
            Error::input(format!("--version {chosen:?} is not a version"))
                .with_fix(format!("give one like {}", claude_version())),
        ),
    }
}

/// `npm view PACKAGE version`: the latest published version.
fn latest_on_npm(agent: Agent) -> Result<String> {
    let package = match agent {
        Agent::Claude => CLAUDE_PACKAGE.to_string(),
        Agent::Codex => "@openai/codex".to_string(),
    };
    let out = Cmd::new(["npm", "view", &package, "version"])
        .time_limit(std::time::Duration::from_secs(60))
        .run()
        .map_err(|f| {
            f.into_error()
                .context("could not ask npm for the latest version")
                .with_fix("install npm and check the registry is reachable, or pass --version X")
        })?;
    Ok(out.stdout.trim().to_string())
}

/// Where an agent's CLI comes from: its npm package at `version`, and the
/// binaries the image needs, as (path in the package's tarball, name in the image).
fn npm_source(agent: Agent, version: &str) -> (String, Vec<(&'static str, &'static str)>) {
    match agent {
        Agent::Claude => (
            format!("{CLAUDE_PACKAGE}@{version}"),
            vec![("package/claude", "claude")],
        ),
        // Static musl binaries; codex needs codex-code-mode-host next to
        // it, or it offers the model no tools.
        Agent::Codex => (
            format!("@openai/codex@{version}-linux-x64"),
            vec![
                (
                    "package/vendor/x86_64-unknown-linux-musl/bin/codex",
                    "codex",
                ),
                (
                    "package/vendor/x86_64-unknown-linux-musl/bin/codex-code-mode-host",
                    "codex-code-mode-host",
                ),
            ],
        ),
    }
}

/// The binaries the image gets, as (where they are, name in the image),
/// and the steps that fetch them first (none with --from).
type Binaries = (Vec<Step>, Vec<(PathBuf, &'static str)>);

/// `--from PATH`: the agent's binary, and for Codex the
/// codex-code-mode-host beside it.
fn given_binaries(path: &Path, agent: Agent) -> Result<Binaries> {
    if !path.is_file() {
        return Err(Error::input(format!(
            "--from {}: no such file",
            path.display()
        )));
    }
    let mut binaries = vec![(path.to_path_buf(), agent.as_str())];
    if agent == Agent::Codex {
        let host = path.with_file_name("codex-code-mode-host");
        if !host.is_file() {
            return Err(Error::input(format!(
                "--from {}: there is no codex-code-mode-host next to it ({} is missing), and Codex offers no tools without it",
                path.display(),
                host.display()
            ))
            .with_fix("put codex-code-mode-host (from the same npm package) beside codex, or leave out --from to fetch both"));
        }
        binaries.push((host, "codex-code-mode-host"));
    }
    Ok((vec![], binaries))
}

/// Steps that fetch the agent's npm package into `context` and unpack
/// its binaries there.
fn npm_binaries(agent: Agent, version: &str, context: &Path) -> Binaries {
    let (package, files) = npm_source(agent, version);
    let dir = context.to_string_lossy().to_string();
    let npm = Cmd::new([
        "npm",
        "pack",
        "--silent",
        "--pack-destination",
        &dir,
        &package,
    ]);
    // The tarball's name has the version in it: a glob finds it. The
    // directory and paths come in as arguments, never spliced into the script.
    let mut untar = Cmd::new([
        "sh",
        "-c",
        "d=\"$1\"; shift; tar -xzf \"$d\"/*.tgz -C \"$d\" \"$@\"",
        "sh",
        &dir,
    ]);
    for (inside, _) in &files {
        untar = untar.arg(*inside);
    }
    let fetch_failed = move |f: crate::exec::Failure| {
        f.into_error()
            .with_fix("install npm, or pass the agent's binary with --from PATH")
    };
    let binaries = files
        .into_iter()
        .map(|(inside, name)| (context.join(inside), name))
        .collect();
    let steps = vec![
        Step::run_cmd(npm.live(), fetch_failed),
        Step::run_cmd(untar, |f| f.into_error()),
    ];
    (steps, binaries)
}

/// The Containerfile: the agent's label, and one COPY per binary.
fn containerfile(agent: Agent, binaries: &[(PathBuf, &str)], context: &Path) -> Step {
    let copies: String = binaries
        .iter()
        .map(|(_, name)| format!("COPY {name} /{name}\n"))
        .collect();
    Step::WriteFile {
        path: context.join("Containerfile"),
        contents: CONTAINERFILE
            .replace("{agent}", agent.as_str())
            .replace("{copies}\n", &copies)
            .into_bytes(),
        mode: 0o644,
        secret: false,
    }
}

/// What `agent-image build` was asked for, beyond the agent and engine.
pub struct Source<'a> {
    pub from: Option<&'a Path>,
    pub version: Option<&'a str>,
    pub update: bool,
}

pub fn build(
    ctx: &Ctx,
    source: Source,
    agent: Agent,
    backend: BackendKind,
    mode: Mode,
) -> Result<()> {
    let engine = Engine::for_kind(backend)?;
    let reference = ctx.config.agent.reference(agent);
    let context = ctx.home.root.join("cache").join("agent-cli");
    let mut plan = Plan::default();
    let (fetch, binaries) = match source.from {
        Some(_) if source.version.is_some() || source.update => {
            return Err(Error::input(
                "--from takes the binary as it is: it goes without --version and --update",
            )
            .with_fix("leave out --from to fetch a version from npm"));
        }
        Some(path) => given_binaries(path, agent)?,
        None => {
            let version = pick_version(agent, source.version, source.update)?;
            plan.note(format!("{agent} {version}"));
            npm_binaries(agent, &version, &context)
        }
    };
    plan.push(Step::RemoveDir {
        path: context.clone(),
    });
    plan.push(Step::Mkdir {
        path: context.clone(),
        mode: 0o700,
        exclusive: false,
    });
    for step in fetch {
        plan.push(step);
    }
    for (binary, name) in &binaries {
        plan.push(Step::Run {
            cmd: Cmd::new(["install", "-m", "0755"])
                .arg(binary.to_string_lossy())
                .arg(context.join(name).to_string_lossy()),
            classify: |f| f.into_error(),
            tolerate: None,
        });
    }
    plan.push(containerfile(agent, &binaries, &context));
    let build = engine.build(&reference, &context.join("Containerfile"), &context);
    plan.push(Step::run_cmd(build, engine.classifier()));
    if !mode.is_dry_run() {
        probe_engine(&engine)?;
    }
    print_or_execute("agent-image build", &plan, mode)?;
    if !mode.is_dry_run() {
        crate::output::info(format!(
            "Built {reference} with {agent} for {}. Sessions on {} mount it at /opt/clauderon-agent.",
            engine.program, engine.program
        ));
    }
    Ok(())
}
