//! Command-line flags (clap only: no side effects here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::isolation::NetworkMode;
use crate::session::{Agent, BackendKind, PullPolicy};

mod land;
mod subcommands;
pub use land::*;
pub use subcommands::*;

#[derive(Debug, Parser)]
#[command(
    name = "clauderon",
    version = env!("CLAUDERON_VERSION"),
    about = "Run AI coding agents (Claude Code, Codex) in isolated containers, one git worktree per session",
    after_help = "State lives in ~/.clauderon (set CLAUDERON_HOME to use another directory).\nStart with: clauderon create --repo . --prompt \"Fix the bug\"\n\nExit codes: 0 success; 1 a failure (engine, git, daemon; the message says what and how to fix it); 2 bad input (flags, names, config); 130 interrupted (what was done is rolled back); `attach` and `logs` exit with the engine's code."
)]
pub struct Cli {
    /// Print each command clauderon runs (docker, podman, git), shell-quoted, as it runs
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print JSON for scripts: one document, the command's result, or with --dry-run its plan (argv arrays, files, notes; secrets redacted); with --follow, JSON Lines (one object per line), with list --watch one array per line. Shapes: docs/json.md
    #[arg(long, global = true)]
    pub json: bool,
    /// Leave out progress and next-step lines (results, warnings and errors still show)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
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
        /// Keep the table on screen, redrawn when a session's status or container changes (q or Ctrl-C quits); with --json, one line of JSON per change
        #[arg(long)]
        watch: bool,
    },
    /// Hand a session's agent files (screenshots, logs): they appear in its container at /workspace/.clauderon/uploads/<id>/NAME (docker and podman; running or stopped)
    Upload {
        /// Session name (see `clauderon list`)
        name: String,
        /// Regular files (a link is followed); names must be new in the session, all uploads together at most [uploads] max_bytes
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print the copies instead of making them
        #[arg(long)]
        dry_run: bool,
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
    /// Kubernetes: set up a namespace for sessions (Pod Security `restricted`, the in-cluster daemon and its credentials)
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
        #[arg(required_unless_present = "deleted", conflicts_with = "deleted")]
        name: Option<String>,
        /// List the branches of deleted sessions kept under recovery refs, with the command that restores each
        #[arg(long)]
        deleted: bool,
    },
    /// Print a session's agent events (from its agent's hooks: Claude Code's or Codex's); --json: one array, with -f JSON Lines
    Events {
        /// Session name (see `clauderon list`); or --all
        #[arg(conflicts_with = "all")]
        name: Option<String>,
        /// Every session's events, each line prefixed with its session's name
        #[arg(long)]
        all: bool,
        /// Keep printing new events
        #[arg(short, long)]
        follow: bool,
    },
    /// Run the daemon (hook listener + credential proxy) in the foreground, or manage it
    Daemon {
        /// Port of the hook listener (default: [daemon] http_port, else 3030; 0 picks a free one)
        #[arg(long, value_name = "PORT")]
        http_port: Option<u16>,
        /// If the port is taken, listen on a free one instead (used when create starts the daemon)
        #[arg(long, hide = true)]
        any_port_if_busy: bool,
        /// Run as a namespace's in-cluster daemon (what `kube setup` deploys): DIR holds its Secret's files (session key, proxy CA, credentials)
        #[arg(long, value_name = "DIR")]
        cluster_dir: Option<PathBuf>,
        /// With --cluster-dir: the address to listen on (default 0.0.0.0: in a pod, its own IP and loopback)
        #[arg(long, value_name = "IP", requires = "cluster_dir")]
        listen: Option<std::net::IpAddr>,
        /// With --cluster-dir: the proxy's port (default 3031)
        #[arg(long, value_name = "PORT", requires = "cluster_dir")]
        proxy_port: Option<u16>,
        /// With start, stop or restart: print what it would do instead of doing it
        #[arg(long, global = true)]
        dry_run: bool,
        #[command(subcommand)]
        action: Option<DaemonAction>,
    },
    /// A session's own proxy policy, changed live (no restart): `policy NAME` shows it, `allow HOST`, `deny HOST`, `reset`; `--suggest` prints config lines for the hosts it used
    Policy {
        /// Session name (see `clauderon list`)
        name: String,
        #[arg(value_enum)]
        action: Option<PolicyAction>,
        /// An exact host or *.suffix (with allow or deny)
        host: Option<String>,
        /// Print the smallest allowlist for the hosts the session used (from the proxy's audit log), as config.toml lines
        #[arg(long)]
        suggest: bool,
    },
    /// Let a request that waits for approval (ask mode) through: --once (the default) the waiting ones, --session every request of the session to HOST, --always every session's (adds HOST to [proxy] allow_hosts in config.toml)
    Approve {
        /// Session name (see `clauderon list`)
        name: String,
        /// The host the request waits for (as `list` shows it)
        host: String,
        #[arg(long, conflicts_with_all = ["session", "always"])]
        once: bool,
        #[arg(long, conflicts_with = "always")]
        session: bool,
        #[arg(long)]
        always: bool,
    },
    /// Refuse HOST to a session: a request waiting for it gets a 403 at once, and so do later ones (`clauderon policy NAME allow HOST` undoes it)
    Deny {
        /// Session name (see `clauderon list`)
        name: String,
        /// An exact host or *.suffix
        host: String,
    },
    /// The credential proxy: its CA and its audit log
    Proxy {
        #[command(subcommand)]
        command: ProxyCommand,
    },
    /// Check, list, search and pull session images
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Build the agent CLI image that Podman sessions mount (no registry needed)
    AgentImage {
        #[command(subcommand)]
        command: AgentImageCommand,
    },
    /// Build the in-cluster daemon's image from this clauderon binary (no registry needed)
    DaemonImage {
        #[command(subcommand)]
        command: DaemonImageCommand,
    },
    /// Print a shell completion script, e.g. `clauderon completions bash > ~/.local/share/bash-completion/completions/clauderon`
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The session names, one a line (what completions offer)
    #[command(name = "__sessions", hide = true)]
    Sessions,
    /// Print the man page (roff), or with --out-dir write it and every subcommand's page (clauderon-create.1, ...)
    Man {
        /// Write clauderon.1 and a page per subcommand into DIR (e.g. ~/.local/share/man/man1)
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// The HTTP API's bearer token (`[api] listen` in config.toml turns the API on)
    Api {
        #[command(subcommand)]
        command: ApiCommand,
    },
    /// Check what sessions need (engines, images, daemon, credentials, CA, kubectl), each with its fix
    Doctor,
    /// Show the effective configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Show a session's budget, or change it live: the proxy refuses its model calls once they cost this much
    Budget {
        /// Session name (see `clauderon list`)
        name: String,
        /// Make the budget this many USD
        #[arg(long, value_name = "USD", value_parser = parse_usd, conflicts_with = "add")]
        set: Option<crate::usd::Usd>,
        /// Raise the budget by this many USD
        #[arg(long, value_name = "USD", value_parser = parse_usd)]
        add: Option<crate::usd::Usd>,
    },
    /// What the sessions' model calls used and cost, from the proxy's ledgers
    Usage {
        /// Only calls since then: 7d, 12h, 30m, or a UTC day like 2026-12-01
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Sum by session, model or UTC day
        #[arg(long, value_enum, default_value = "session")]
        by: UsageBy,
    },
    /// Show the agent's work: the commits on its branch, then its uncommitted and untracked files
    Diff(DiffArgs),
    /// Show the agent's conversation: prompts, answers, tool calls and results
    Transcript(TranscriptArgs),
    /// Give the agent a follow-up message (a waiting, stopped or finished session resumes its conversation with it)
    Send(SendArgs),
    /// Merge the session's branch into your branch (refuses, changing nothing, on a conflict)
    Merge(MergeArgs),
    /// Push the session's branch to the remote recorded at create and open a pull request with gh
    Pr(PrArgs),
}

/// What `clauderon policy NAME` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyAction {
    /// Let the session reach HOST
    Allow,
    /// Refuse HOST to the session
    Deny,
    /// Drop the session's own policy: config.toml's applies
    Reset,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A directory in the git repository to work on (a subdirectory becomes the agent's working directory)
    #[arg(long, visible_alias = "repository", default_value = ".")]
    pub repo: PathBuf,
    /// The task for the agent (given to it byte for byte; it may start with `-`); without it the agent starts and waits for you (`clauderon attach`)
    #[arg(long, short, allow_hyphen_values = true)]
    pub prompt: Option<String>,
    /// Read the task from FILE (`-`: standard input) instead of --prompt: for a long one, or to keep it out of the process list (at most 1 MiB of UTF-8 text)
    #[arg(long, value_name = "FILE", conflicts_with = "prompt")]
    pub prompt_file: Option<PathBuf>,
    /// Session name (default: a slug of the prompt, or of the repository's directory, plus a random suffix)
    #[arg(long)]
    pub name: Option<String>,
    /// Hand the agent a file (a screenshot, a log): copied before it starts to /workspace/.clauderon/uploads/<id>/NAME; the paths are added at the end of --prompt, and printed (repeatable; all together at most [uploads] max_bytes; docker and podman)
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// Mount a host path, read-only unless `:rw` (default container path: the host path); only below [mounts] allowed_roots, never a secret store such as ~/.ssh unless [mounts] allow_secret_stores names it (repeatable; docker and podman)
    #[arg(long, value_name = "HOST[:CONTAINER][:rw]")]
    pub mount: Vec<String>,
    /// Run the agent in a service of this compose file, its other services beside it (docker or podman backend); repeat it to merge files as compose -f does
    #[arg(long, value_name = "FILE")]
    pub compose: Vec<PathBuf>,
    /// With --compose: the agent's service (default: the first without `ports:`)
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
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
    /// Relative CPU weight against other containers (2 to 262144; the engine's default is 1024; Docker, Podman, compose)
    #[arg(long, value_name = "SHARES", value_parser = clap::value_parser!(u32).range(2..=262144))]
    pub cpu_shares: Option<u32>,
    /// Memory limit: `512m`, `8g`, `2Gi`, ...
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Git ref the session's branch starts from
    #[arg(long, default_value = "HEAD")]
    pub base: String,
    /// Environment variable for the container, `KEY=VALUE`, or `KEY` to take it from your environment: use that for secrets, which are then never printed (repeatable)
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
    /// This session's proxy policy on top of config.toml's: open, balanced, locked, learn (balanced; `clauderon policy NAME --suggest` then prints the hosts it used) or ask (balanced; other hosts wait for `clauderon approve`)
    #[arg(long, value_name = "MODE", value_parser = clap::builder::PossibleValuesParser::new(crate::spec::host_policy::MODES))]
    pub policy: Option<String>,
    /// Let this session reach a host its policy refuses: exact or *.suffix (repeatable)
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Refuse a host to this session: exact or *.suffix (repeatable)
    #[arg(long, value_name = "HOST")]
    pub deny_host: Vec<String>,
    /// Give the container back one Linux capability, e.g. CHOWN or SETUID (repeatable; adds to [security] cap_add; all are dropped by default)
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Run the agent once, non-interactively, to completion (claude -p, codex exec): the container exits when it is done, its output is in `clauderon logs`
    #[arg(long)]
    pub print: bool,
    /// The agent's model, e.g. `sonnet` or `gpt-5-codex`
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// With --print: stop after this many agent turns (Claude Code)
    #[arg(long, value_name = "N")]
    pub max_turns: Option<u32>,
    /// A tool the agent may use without asking, e.g. `Bash(git:*)` (repeatable; Claude Code)
    #[arg(long, value_name = "TOOL")]
    pub allowed_tools: Vec<String>,
    /// A tool the agent must not use (repeatable; Claude Code)
    #[arg(long, value_name = "TOOL")]
    pub disallowed_tools: Vec<String>,
    /// Text added to the agent's system prompt (Claude Code)
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub append_system_prompt: Option<String>,
    /// With --print: text, json or stream-json
    #[arg(long, value_name = "FORMAT")]
    pub output_format: Option<String>,
    /// Stop the session's model calls once they have cost this many USD (the proxy refuses the next one; default: [budget] session_usd; raise it live with `clauderon budget NAME --add USD`)
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub budget: Option<crate::usd::Usd>,
    /// One more Claude Code flag, `--flag` or `--flag=value`, e.g. `--agent-arg=--fallback-model=haiku` (repeatable; only flags that stay inside the container, see docs/api.md)
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub agent_arg: Vec<String>,
    /// Print the commands and files instead of running them
    #[arg(long)]
    pub dry_run: bool,
    /// Use .devcontainer/NAME/devcontainer.json (default: .devcontainer/devcontainer.json or .devcontainer.json when there is one)
    #[arg(long, value_name = "NAME", conflicts_with = "no_devcontainer")]
    pub devcontainer: Option<String>,
    /// Do not use the repository's devcontainer.json
    #[arg(long)]
    pub no_devcontainer: bool,
    /// Do not copy your own agent configuration (~/.claude, ~/.codex) into the session
    #[arg(long)]
    pub no_user_config: bool,
    /// Where `image` came from when not from --image (devcontainer.json).
    #[arg(skip)]
    pub image_origin: Option<ImageOrigin>,
}

/// An image that did not come from `--image`: named so in errors; a
/// built one's base images were checked against the allowlist instead.
#[derive(Clone, Debug)]
pub struct ImageOrigin {
    pub source: String,
    pub built: bool,
}

/// `--budget`, `--set` and `--add`: USD, checked by clap (exit 2 when bad).
pub fn parse_usd(text: &str) -> Result<crate::usd::Usd, String> {
    crate::usd::Usd::parse(text)
}

impl Cli {
    /// `--json` where the command has no JSON to give: an error, never a
    /// flag accepted and ignored.
    pub fn json_refused(&self) -> Option<crate::error::Error> {
        if !self.json {
            return None;
        }
        let needs_dry_run = match &self.command {
            Command::Attach { dry_run, .. }
            | Command::Stop { dry_run, .. }
            | Command::Start { dry_run, .. }
            | Command::Refresh { dry_run, .. }
            | Command::Delete { dry_run, .. }
            | Command::Send(SendArgs { dry_run, .. })
            | Command::Image {
                command: ImageCommand::Pull { dry_run, .. },
            }
            | Command::AgentImage {
                command: AgentImageCommand::Build { dry_run, .. },
            }
            | Command::DaemonImage {
                command: DaemonImageCommand::Build { dry_run, .. },
            } => !dry_run,
            Command::Daemon { action: None, .. } => {
                return Some(crate::error::Error::input(
                    "--json goes with daemon start, stop, restart or status",
                ));
            }
            Command::Logs { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Sessions => {
                return Some(crate::error::Error::input(
                    "this command prints no JSON (--json applies to results and plans)",
                ));
            }
            _ => false,
        };
        needs_dry_run.then(|| {
            crate::error::Error::input(
                "--json goes with --dry-run for this command (it prints the plan as JSON)",
            )
            .with_fix("add --dry-run, or leave out --json")
        })
    }
}
