//! create's part of the user's setup: the devcontainer.json's note in the
//! plan, the user's agent configuration to copy, and the MCP servers
//! configured for Claude Code (the user's, unless `--no-user-config`, and
//! the repository's `.mcp.json`), with a warning for each stdio server
//! whose command the image lacks.

use crate::backend::oci::Engine;
use crate::cli::CreateArgs;
use crate::commands::Ctx;
use crate::error::Result;
use crate::plan::Plan;
use crate::session::{Agent, SessionSpec};

/// Says in the plan where its image and commands came from.
pub fn note_devcontainer(plan: &mut Plan, devcontainer: Option<&crate::devcontainer::Applied>) {
    if let Some(d) = devcontainer {
        plan.note(format!(
            "the image, lifecycle commands, environment and mounts come from {} (see the notes above for what it leaves out)",
            d.record.file.display()
        ));
    }
}

/// The user's agent configuration to copy (unless `--no-user-config`,
/// `[agent] user_config = false`, or a kubernetes session, whose pod
/// cannot see this machine's files).
pub fn user_config(
    ctx: &Ctx,
    args: &CreateArgs,
    spec: &SessionSpec,
) -> Result<Option<crate::user_config::Gathered>> {
    if args.no_user_config || !ctx.config.agent.user_config {
        return Ok(None);
    }
    let Some(from) = crate::user_config::source_dir(spec.agent) else {
        return Ok(None);
    };
    let dest = crate::user_config::host_dir(&ctx.home, &spec.name, spec.agent);
    let max = ctx.config.agent.user_config_max_bytes;
    crate::user_config::gather(spec.agent, &from, &dest, max).map(Some)
}

/// Records the servers; returns the stdio ones' (server, command).
pub fn mcp_servers(ctx: &Ctx, args: &CreateArgs, spec: &mut SessionSpec) -> Vec<(String, String)> {
    // (kubernetes sessions never get here: their create returns first)
    if spec.agent != Agent::Claude {
        return Vec::new();
    }
    // Your servers are part of your configuration: left out with it.
    let yours = !args.no_user_config && ctx.config.agent.user_config;
    let user = yours.then(crate::mcp::user_file).flatten();
    let found = crate::mcp::gather(user.as_deref(), &spec.repo_root);
    for warning in &found.warnings {
        eprintln!("clauderon: warning: {warning}");
    }
    spec.mcp_servers = found.servers;
    found.stdio_commands
}

/// One throwaway container per stdio server's command (only when there
/// are some, and the image is here): the agent would fail to start them.
pub fn warn_missing_commands(engine: &Engine, spec: &SessionSpec, stdio: &[(String, String)]) {
    if stdio.is_empty() || !matches!(crate::image::image_id(engine, &spec.image), Ok(Some(_))) {
        return;
    }
    for (server, command) in stdio {
        let found =
            !command.is_empty() && engine.command_exists(&spec.image, command).run().is_ok();
        if !found {
            eprintln!(
                "clauderon: warning: MCP server {server:?} runs `{command}`, which is not in the image {}: the agent will not reach it (install it in the image, or with --on-create)",
                spec.image
            );
        }
    }
}

/// A kubernetes pod cannot see this machine's files: said, not skipped silently.
pub fn note_kubernetes(ctx: &Ctx, args: &CreateArgs, agent: Agent) {
    let has = crate::user_config::source_dir(agent).is_some_and(|d| d.is_dir());
    if has && !args.no_user_config && ctx.config.agent.user_config {
        eprintln!(
            "clauderon: note: your agent configuration and MCP servers are not copied into kubernetes sessions (a pod cannot see this machine's files)"
        );
    }
}
