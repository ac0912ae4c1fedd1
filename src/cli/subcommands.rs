//! The subcommands' own flags: kube, daemon, proxy, image, agent-image,
//! daemon-image, api and config.

use std::path::PathBuf;

use clap::Subcommand;

use crate::session::{Agent, BackendKind};

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Apply the namespace (Pod Security `restricted`), the in-cluster daemon (Deployment, Service, NetworkPolicy) and its credentials Secret (sent on kubectl's stdin)
    Setup {
        /// kubectl context (default: [kubernetes] context, else kubectl's current context)
        #[arg(long)]
        context: Option<String>,
        /// Namespace (default: [kubernetes] namespace, else clauderon)
        #[arg(long)]
        namespace: Option<String>,
        /// Print the commands and manifests (credentials redacted) instead of applying them
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Start it in the background unless it is running
    Start,
    /// Stop the running daemon
    Stop,
    /// Stop it and start it again (it picks up your current environment)
    Restart,
    /// Say whether it runs, where it listens, and its pid
    Status,
    /// Print the hook events the in-cluster daemon received, as JSON (what `list` runs in the daemon's pod)
    Statuses {
        /// Only this session, with all its recent events (default: every session, the events that set its status)
        #[arg(long)]
        session: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Print the CA certificate's path and SHA-256 fingerprint (made on first use)
    Ca {
        /// Replace the CA with a new one (restart sessions afterwards: `clauderon refresh`)
        #[arg(long)]
        rotate: bool,
        /// With --rotate: print what it would replace instead of replacing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the audit log: one line per proxied request; --json: one array, with -f JSON Lines
    Log {
        /// Only this session's requests
        #[arg(long, value_name = "NAME")]
        session: Option<String>,
        /// Keep printing new entries
        #[arg(short, long, conflicts_with = "verify")]
        follow: bool,
        /// Check the log's hash chain and name the first entry changed, removed or reordered (exit 1 if one was)
        #[arg(long, conflicts_with = "session")]
        verify: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Run a throwaway container and check each requirement of the compatibility contract
    Check {
        /// The image reference, e.g. `python:3.12`
        image: String,
        /// The engine to use
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// The agent the image is checked for (Claude Code needs glibc)
        #[arg(long, value_enum, default_value = "claude")]
        agent: Agent,
    },
    /// List local images with a compatibility verdict, compatible first
    List {
        /// The engine to use
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// The agent the verdict is for (default: any; each agent's is in --json's `agents`)
        #[arg(long, value_enum)]
        agent: Option<Agent>,
    },
    /// Search the engine's registries for images (the engine's own `search`)
    Search {
        /// What to search for, e.g. `python`
        term: String,
        /// The engine to use
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// At most this many results
        #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
    },
    /// Pull an image through the chosen engine (the image allowlist applies)
    Pull {
        /// The image reference, e.g. `python:3.12` (it must match [images] allowed_patterns when set)
        reference: String,
        /// The engine to use
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// Print the command instead of running it
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentImageCommand {
    /// Build the agent's CLI image FROM scratch with just its binaries ([agent] cli_image:cli_image_tag for Claude Code, codex_cli_image:codex_cli_image_tag for Codex)
    Build {
        /// The agent's native binary (default: fetched with `npm pack`, @anthropic-ai/claude-code-linux-x64 for Claude Code, @openai/codex@0.169.0-linux-x64 for Codex, whose codex-code-mode-host must sit next to a --from codex)
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "claude")]
        agent: Agent,
        #[arg(long, value_enum, default_value = "podman")]
        backend: BackendKind,
        /// The agent's version to fetch from npm (default: the one clauderon is tested with)
        #[arg(long, value_name = "X", conflicts_with = "update")]
        version: Option<String>,
        /// Fetch the latest version published on npm (`npm view PACKAGE version`)
        #[arg(long)]
        update: bool,
        /// Print the commands and files instead of running them
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DaemonImageCommand {
    /// Build clauderon-daemon:<version> (or [kubernetes] daemon_image) FROM scratch: this binary, its libraries and CA certificates
    Build {
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// Print the commands and files instead of running them
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// Print the token (made on first use, in $CLAUDERON_HOME/api-token, mode 0600)
    Token {
        /// Replace it with a new one: the old one stops working at once
        #[arg(long)]
        rotate: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its value, and where the value came from
    Show,
}

/// How `clauderon usage` groups the calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageBy {
    Session,
    Model,
    Day,
}
