//! `clauderon agent-image build`: an agent's CLI alone, FROM scratch, as
//! the image sessions mount at /opt/clauderon-agent (Podman). Each agent
//! has its own image (`[agent] cli_image` for Claude Code,
//! `codex_cli_image` for Codex), so both can be built side by side.

use std::path::{Path, PathBuf};

use crate::backend::oci::Engine;
use crate::commands::{Ctx, print_or_execute, probe_engine};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Plan, Step};
use crate::session::{Agent, BackendKind};

const CONTAINERFILE: &str = include_str!("../../templates/agent-cli.Containerfile");

/// The Codex version whose package `agent-image build --agent codex`
/// fetches (the one clauderon's tests run).
pub const CODEX_VERSION: &str = "0.169.0";

/// Where an agent's CLI comes from: its npm package, and the binaries the
/// image needs, as (path in the package's tarball, name in the image).
fn npm_source(agent: Agent) -> (String, Vec<(&'static str, &'static str)>) {
    match agent {
        Agent::Claude => (
            "@anthropic-ai/claude-code-linux-x64".into(),
            vec![("package/claude", "claude")],
        ),
        // Static musl binaries; codex needs codex-code-mode-host next to
        // it, or it offers the model no tools.
        Agent::Codex => (
            format!("@openai/codex@{CODEX_VERSION}-linux-x64"),
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
fn npm_binaries(agent: Agent, context: &Path) -> Binaries {
    let (package, files) = npm_source(agent);
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

pub fn build(
    ctx: &Ctx,
    from: Option<&Path>,
    agent: Agent,
    backend: BackendKind,
    dry_run: bool,
) -> Result<()> {
    let engine = Engine::for_kind(backend)?;
    let reference = ctx.config.agent.reference(agent);
    let context = ctx.home.root.join("cache").join("agent-cli");
    let (fetch, binaries) = match from {
        Some(path) => given_binaries(path, agent)?,
        None => npm_binaries(agent, &context),
    };
    let mut plan = Plan::default();
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
    if !dry_run {
        probe_engine(&engine)?;
    }
    print_or_execute("agent-image build", &plan, dry_run)?;
    if !dry_run {
        crate::output::info(format!(
            "Built {reference} with {agent} for {}. Sessions on {} mount it at /opt/clauderon-agent.",
            engine.program, engine.program
        ));
    }
    Ok(())
}
