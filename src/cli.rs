//! Command-line flags (clap only: no side effects here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::isolation::NetworkMode;
use crate::session::{Agent, BackendKind, PullPolicy};

#[derive(Debug, Parser)]
#[command(
    name = "clauderon",
    version = env!("CLAUDERON_VERSION"),
    about = "Run AI coding agents (Claude Code, Codex) in isolated containers, one git worktree per session",
    after_help = "State lives in ~/.clauderon (set CLAUDERON_HOME to use another directory).\nStart with: clauderon create --repo . --prompt \"Fix the bug\""
)]
pub struct Cli {
    /// Print each command clauderon runs (docker, podman, git), shell-quoted, as it runs
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a session: a git worktree, a container, and the agent started on your prompt
    Create(Box<CreateArgs>),
    /// List sessions with their container state
    #[command(alias = "ls")]
    List {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Attach your terminal to a session's agent (starts the container if stopped)
    Attach {
        /// Session name (see `clauderon list`)
        name: String,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Show a session's container output
    Logs {
        /// Session name (see `clauderon list`)
        name: String,
        /// Keep printing new output
        #[arg(short, long)]
        follow: bool,
        /// Show only the last N lines
        #[arg(long, value_name = "N")]
        tail: Option<u64>,
    },
    /// Stop a session's container (the worktree and conversation are kept)
    Stop {
        /// Session name (see `clauderon list`)
        name: String,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Start a stopped session; the agent resumes its conversation
    Start {
        /// Session name (see `clauderon list`)
        name: String,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Pull the session's image and recreate its container with the same settings
    Refresh {
        /// Session name (see `clauderon list`)
        name: String,
        /// Recreate from the local image without pulling
        #[arg(long)]
        no_pull: bool,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a session: its container and worktree (the branch is kept unless asked)
    #[command(alias = "rm")]
    Delete {
        /// Session name (see `clauderon list`)
        name: String,
        /// Do not ask for confirmation
        #[arg(short, long)]
        force: bool,
        /// Also delete the session's git branch
        #[arg(long)]
        delete_branch: bool,
        /// Kubernetes: delete without first fetching the agent's commits onto the host branch
        #[arg(long)]
        discard: bool,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Kubernetes: fetch the agent's commits onto the host branch <name> (no checkout, no hooks)
    Pull {
        /// Session name (see `clauderon list`)
        name: String,
        /// Print the command it would run instead of running it
        #[arg(long)]
        dry_run: bool,
    },
    /// Kubernetes: set up a namespace for sessions (namespace, in-cluster daemon, its credentials)
    Kube {
        #[command(subcommand)]
        command: KubeCommand,
    },
    /// Show the shared cache volumes and their size; remove them with --force
    CleanCache {
        /// Remove the cache volumes
        #[arg(short, long)]
        force: bool,
        /// Only this engine's volumes (default: every engine that answers)
        #[arg(long, value_enum)]
        backend: Option<BackendKind>,
        /// Print the commands it would run instead of running them
        #[arg(long)]
        dry_run: bool,
    },
    /// Show one session in detail: container, agent status, last events
    Status {
        /// Session name (see `clauderon list`)
        name: String,
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Print a session's agent events (from its Claude Code hooks)
    Events {
        /// Session name (see `clauderon list`)
        name: String,
        /// Keep printing new events
        #[arg(short, long)]
        follow: bool,
        /// Print the raw JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon (hook listener + credential proxy) in the foreground, or manage it
    Daemon {
        /// Port of the hook listener (default: [daemon] http_port, else 3030; 0 picks a free one)
        #[arg(long, value_name = "PORT")]
        http_port: Option<u16>,
        /// If the port is taken, listen on a free one instead (used when create starts the daemon)
        #[arg(long, hide = true)]
        any_port_if_busy: bool,
        /// With start, stop or restart: print what it would do instead of doing it
        #[arg(long, global = true)]
        dry_run: bool,
        #[command(subcommand)]
        action: Option<DaemonAction>,
    },
    /// The credential proxy: its CA and its audit log
    Proxy {
        #[command(subcommand)]
        command: ProxyCommand,
    },
    /// Check, list and pull session images
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Build the agent CLI image that Podman sessions mount (no registry needed)
    AgentImage {
        #[command(subcommand)]
        command: AgentImageCommand,
    },
    /// Print a shell completion script, e.g. `clauderon completions bash > ~/.local/share/bash-completion/completions/clauderon`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `clauderon man > ~/.local/share/man/man1/clauderon.1`
    Man,
    /// Show the effective configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Apply the namespace (Pod Security `restricted`), the in-cluster daemon and its credentials Secret
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
    /// Print the audit log: one line per proxied request
    Log {
        /// Only this session's requests
        #[arg(long, value_name = "NAME")]
        session: Option<String>,
        /// Keep printing new entries
        #[arg(short, long)]
        follow: bool,
        /// Print the raw JSON lines
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Run a throwaway container and check each requirement of the compatibility contract
    Check {
        image: String,
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        #[arg(long, value_enum, default_value = "claude")]
        agent: Agent,
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// List local images with a compatibility verdict, compatible first
    List {
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        #[arg(long, value_enum, default_value = "claude")]
        agent: Agent,
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Pull an image through the chosen engine (the image allowlist applies)
    Pull {
        reference: String,
        #[arg(long, value_enum, default_value = "docker")]
        backend: BackendKind,
        /// Print the command instead of running it
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentImageCommand {
    /// Build [agent] cli_image:cli_image_tag FROM scratch with just the agent binary
    Build {
        /// The agent's native binary (default: Claude Code's, fetched with `npm pack @anthropic-ai/claude-code-linux-x64`)
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "claude")]
        agent: Agent,
        #[arg(long, value_enum, default_value = "podman")]
        backend: BackendKind,
        /// Print the commands and files instead of running them
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its value, and where the value came from
    Show,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A directory in the git repository to work on (a subdirectory becomes the agent's working directory)
    #[arg(long, visible_alias = "repository", default_value = ".")]
    pub repo: PathBuf,
    /// The task for the agent (given to it byte for byte; it may start with `-`)
    #[arg(long, short, allow_hyphen_values = true)]
    pub prompt: String,
    /// Session name (default: a slug of the prompt plus a random suffix)
    #[arg(long)]
    pub name: Option<String>,
    /// Container engine that runs the session
    #[arg(long, value_enum, default_value = "docker")]
    pub backend: BackendKind,
    /// Kubernetes: the kubectl context (default: [kubernetes] context, else kubectl's current context)
    #[arg(long)]
    pub context: Option<String>,
    /// Kubernetes: the namespace (default: [kubernetes] namespace, else clauderon)
    #[arg(long)]
    pub namespace: Option<String>,
    /// The coding agent to run
    #[arg(long, value_enum, default_value = "claude")]
    pub agent: Agent,
    /// Container image (default: [docker] default_image, or [podman] default_image, from config.toml)
    #[arg(long)]
    pub image: Option<String>,
    /// When to pull the image (default: [docker] pull_policy, else if-not-present)
    #[arg(long, value_enum)]
    pub pull_policy: Option<PullPolicy>,
    /// CPU limit: cores (`4`, `1.5`) or millicores (`500m`)
    #[arg(long, value_name = "CPUS")]
    pub cpu_limit: Option<String>,
    /// Memory limit: `512m`, `8g`, `2Gi`, ...
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Git ref the session's branch starts from
    #[arg(long, default_value = "HEAD")]
    pub base: String,
    /// Environment variable for the container, `KEY=VALUE` or `KEY` to take it from your environment (repeatable)
    #[arg(long = "env", short = 'e', value_name = "KEY[=VALUE]")]
    pub env: Vec<String>,
    /// Command run once inside the container before the agent first starts, e.g. `pip install -r requirements.txt` (repeatable; adds to [lifecycle] on_create)
    #[arg(long, value_name = "CMD")]
    pub on_create: Vec<String>,
    /// Command run inside the container at every start (repeatable; adds to [lifecycle] post_start)
    #[arg(long, value_name = "CMD")]
    pub post_start: Vec<String>,
    /// proxy: the credential proxy is the container's only way out (default: [network] mode, else proxy); open: the engine's network, reachable by anything that ignores the proxy
    #[arg(long, value_enum, value_name = "MODE")]
    pub network: Option<NetworkMode>,
    /// Give the container back one Linux capability, e.g. CHOWN or SETUID (repeatable; adds to [security] cap_add; all are dropped by default)
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Print the commands and files instead of running them
    #[arg(long)]
    pub dry_run: bool,
}
