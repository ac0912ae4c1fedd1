//! `config.toml` under the clauderon home: defaults that CLI flags override.
//! Every effective value remembers where it came from, for `config show`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::isolation::{NetworkMode, NetworkSection, Security, SecuritySection};
use crate::limits::{Cpu, Memory};
use crate::proxy::settings::{ProxySection, ProxySettings};
use crate::session::{Agent, Lifecycle, PullPolicy};

mod agent_checks;
mod ctx;
mod default_image;
pub mod kubernetes;
mod show;

pub use ctx::Ctx;

pub use kubernetes::KubernetesSettings;

// The image used when neither `--image` nor the config names one (the
// engines' errors name it too, so it lives below them).
pub use crate::image::DEFAULT_IMAGE;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    docker: DockerSection,
    #[serde(default)]
    daemon: DaemonSection,
    #[serde(default)]
    proxy: ProxySection,
    #[serde(default)]
    podman: PodmanSection,
    #[serde(default)]
    agent: AgentSection,
    #[serde(default)]
    images: ImagesSection,
    #[serde(default)]
    lifecycle: Lifecycle,
    #[serde(default)]
    network: NetworkSection,
    #[serde(default)]
    security: SecuritySection,
    #[serde(default)]
    api: crate::api::settings::ApiSection,
    #[serde(default)]
    kubernetes: kubernetes::KubernetesSection,
    #[serde(default)]
    compose: ComposeSettings,
    #[serde(default)]
    uploads: crate::uploads::UploadsSection,
    #[serde(default)]
    mounts: crate::mounts::MountsSection,
    #[serde(default)]
    talos: crate::mounts::TalosSection,
    #[serde(default)]
    notify: crate::notify::NotifySection,
    #[serde(default)]
    budget: BudgetSettings,
    #[serde(default)]
    pricing: std::collections::BTreeMap<String, crate::proxy::usage::pricing::Price>,
}

/// `[budget]`: what model calls may cost, in USD: each session's default
/// (`create --budget` overrides it) and all sessions' together per UTC day.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    pub session_usd: Option<crate::usd::Usd>,
    pub daily_usd: Option<crate::usd::Usd>,
}

impl BudgetSettings {
    fn checked(self) -> std::result::Result<Self, (String, String)> {
        for (key, v) in [
            ("budget.session_usd", self.session_usd),
            ("budget.daily_usd", self.daily_usd),
        ] {
            if let Some(v) = v {
                crate::usd::Usd::checked(v.0).map_err(|m| (key.to_string(), m))?;
            }
        }
        Ok(self)
    }
}

/// `[compose]`: a compose file for every session (relative to the
/// repository), its agent's service, and what its services may do.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeSettings {
    pub file: Option<PathBuf>,
    pub service: Option<String>,
    /// Services may publish host ports.
    #[serde(default)]
    pub allow_ports: bool,
    /// Services may be built from `build:`.
    #[serde(default)]
    pub allow_build: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodmanSection {
    default_image: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentSection {
    cli_image: Option<String>,
    cli_image_tag: Option<String>,
    codex_cli_image: Option<String>,
    codex_cli_image_tag: Option<String>,
    codex_base_url: Option<String>,
    auto_pull_cli: Option<bool>,
    mount_agent_cli: Option<bool>,
    user_config: Option<bool>,
    user_config_max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesSection {
    allowed_patterns: Option<Vec<String>>,
}

/// How the agent CLI gets into the container (`[agent]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSettings {
    /// Claude Code's CLI image.
    pub cli_image: String,
    pub cli_image_tag: String,
    /// Codex's CLI image (its own, so both agents' images coexist).
    pub codex_cli_image: String,
    pub codex_cli_image_tag: String,
    /// Codex's Responses endpoint, when not api.openai.com (a model
    /// provider with `wire_api = "responses"`; `OPENAI_BASE_URL` alone is
    /// not used by Codex).
    pub codex_base_url: Option<String>,
    /// Pull the CLI image when it is missing.
    pub auto_pull_cli: bool,
    /// Mount the agent CLI from `cli_image` (Podman only; Docker has no image mounts).
    pub mount_agent_cli: bool,
    /// Copy the user's own agent configuration into each session.
    pub user_config: bool,
    /// A file of it larger than this is left out.
    pub user_config_max_bytes: u64,
}

/// `[agent] user_config_max_bytes` unless set: 1 MiB.
pub const DEFAULT_USER_CONFIG_MAX_BYTES: u64 = 1024 * 1024;

impl AgentSettings {
    /// The agent's CLI image, `name:tag`.
    pub fn reference(&self, agent: Agent) -> String {
        match agent {
            Agent::Claude => format!("{}:{}", self.cli_image, self.cli_image_tag),
            Agent::Codex => format!("{}:{}", self.codex_cli_image, self.codex_cli_image_tag),
        }
    }
}

pub const DEFAULT_CLI_IMAGE: &str = "clauderon-agent-cli";
pub const DEFAULT_CODEX_CLI_IMAGE: &str = "clauderon-codex-cli";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DaemonSection {
    http_port: Option<u16>,
}

/// The hook listener's port when neither `--http-port` nor the config says.
pub const DEFAULT_HTTP_PORT: u16 = 3030;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerSection {
    default_image: Option<String>,
    pull_policy: Option<String>,
    #[serde(default)]
    limits: LimitsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    cpu: Option<StringOrNumber>,
    memory: Option<StringOrNumber>,
}

type Parsed<T> = std::result::Result<Option<T>, String>;

impl LimitsSection {
    /// The limits, unset and "" alike meaning none.
    fn parsed(&self) -> (Parsed<Cpu>, Parsed<Memory>) {
        let nonempty = |v: &Option<StringOrNumber>| {
            v.as_ref()
                .map(StringOrNumber::text)
                .filter(|s| !s.is_empty())
        };
        let cpu = nonempty(&self.cpu).map(|c| Cpu::parse(&c)).transpose();
        let memory = nonempty(&self.memory)
            .map(|m| Memory::parse(&m))
            .transpose();
        (cpu, memory)
    }
}

/// `cpu = 2` and `cpu = "2"` both work.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Integer(i64),
    Float(f64),
}

impl StringOrNumber {
    fn text(&self) -> String {
        match self {
            StringOrNumber::String(s) => s.clone(),
            StringOrNumber::Integer(i) => i.to_string(),
            StringOrNumber::Float(f) => f.to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "built-in default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub default_image: Sourced<String>,
    pub pull_policy: Sourced<PullPolicy>,
    pub cpu: Sourced<Option<Cpu>>,
    pub memory: Sourced<Option<Memory>>,
    /// 0 lets the system pick a free port (used by tests).
    pub http_port: Sourced<u16>,
    pub proxy: ProxySettings,
    /// `[podman] default_image`, else the Docker one.
    pub podman_default_image: Option<String>,
    pub agent: AgentSettings,
    /// Image patterns sessions may use; empty = any
    /// (`CLAUDERON_ALLOWED_IMAGES`, comma-separated, wins over the file).
    pub allowed_images: Sourced<Vec<String>>,
    pub lifecycle: Lifecycle,
    /// `[network] mode`: proxy (the default) or open.
    pub network: Sourced<NetworkMode>,
    /// `[security]`: capabilities given back, pids limit, no-new-privileges.
    pub security: Security,
    /// `[api] listen`: where the daemon serves the HTTP API (off when unset).
    pub api_listen: Option<crate::api::settings::Listen>,
    /// `[api] max_concurrent_runs`.
    pub api_max_runs: usize,
    /// `[api] webhook_hosts` and `webhook_secret`.
    pub api_webhooks: crate::api::settings::Webhooks,
    /// `[api] allowed_volume_roots`: the roots of mounts a command the API runs may have.
    pub api_volume_roots: Vec<String>,
    /// `[kubernetes]`: the cluster and the defaults of session manifests.
    pub kubernetes: KubernetesSettings,
    /// `[compose]`: file, service, allow_ports, allow_build.
    pub compose: ComposeSettings,
    /// `[uploads] max_bytes`: what a session's uploads may add up to.
    pub uploads_max_bytes: u64,
    /// `[mounts]`: where `--mount` may take host paths from.
    pub mounts: crate::mounts::MountsSection,
    /// `[talos] config`: a talosconfig mounted into every session.
    pub talos: crate::mounts::TalosSection,
    /// `[notify]`: the daemon's command when a session needs you, the bell.
    pub notify: crate::notify::NotifySection,
    /// `[budget]`: session_usd (the default of `create --budget`), daily_usd.
    pub budget: BudgetSettings,
    /// `[pricing]` over the shipped price table.
    pub prices: crate::proxy::usage::pricing::Prices,
}

/// A value from the file, else the default.
fn sourced<T>(value: Option<T>, default: T, file: &Path) -> Sourced<T> {
    match value {
        Some(value) => Sourced {
            value,
            source: Source::File(file.to_path_buf()),
        },
        None => Sourced {
            value: default,
            source: Source::Default,
        },
    }
}

/// Reads config.toml; a missing file is the defaults.
fn read_file(path: &Path) -> Result<FileConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(e) => return Err(Error::io(format!("could not read {}", path.display()), e)),
    };
    toml::from_str(&text).map_err(|e| {
        let message = e.to_string();
        let error = Error::input(format!("{}: {}", path.display(), message.trim()));
        // The whole list helps with a key in the wrong section; a bad value
        // (or a key twice) is shown at its line already.
        if !message.contains("unknown field") {
            return error.with_fix(format!("fix the line shown in {}", path.display()));
        }
        error.with_fix(format!(
            "edit {} (known keys: [docker] default_image, pull_policy; [docker.limits] cpu, memory; [daemon] http_port; [proxy] enabled, port, policy, allow_hosts, deny_hosts, unknown, approval_timeout, upstream_ca_file, resolve, [proxy.github] scope, repos, [[proxy.rules]]; [podman] default_image; [agent] cli_image, cli_image_tag, codex_cli_image, codex_cli_image_tag, codex_base_url, auto_pull_cli, mount_agent_cli, user_config, user_config_max_bytes; [images] allowed_patterns; [lifecycle] on_create, post_start, on_create_timeout; [network] mode; [security] cap_add, pids_limit, no_new_privileges; [api] listen, max_concurrent_runs, webhook_hosts, webhook_secret, allowed_volume_roots; [kubernetes] context, namespace, default_image, storage_class, storage_size, image_pull_secrets, runtime_class, create_timeout, daemon_image; [compose] file, service, allow_ports, allow_build; [uploads] max_bytes; [mounts] allowed_roots, allow_secret_stores; [talos] config; [notify] command, bell, debounce_secs, timeout_secs; [budget] session_usd, daily_usd; [pricing.MODEL] input, output, cache_write, cache_read)",
            path.display()
        ))
    })
}

/// The allowlist: `CLAUDERON_ALLOWED_IMAGES` (comma-separated) wins over the file.
fn allowed_images(from_file: Option<Vec<String>>, path: &Path) -> Sourced<Vec<String>> {
    match std::env::var("CLAUDERON_ALLOWED_IMAGES") {
        Ok(list) => Sourced {
            value: list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
            source: Source::Env("CLAUDERON_ALLOWED_IMAGES".into()),
        },
        Err(_) => sourced(from_file, Vec::new(), path),
    }
}

impl AgentSettings {
    fn from_file(a: AgentSection) -> AgentSettings {
        AgentSettings {
            cli_image: a.cli_image.unwrap_or_else(|| DEFAULT_CLI_IMAGE.into()),
            cli_image_tag: a.cli_image_tag.unwrap_or_else(|| "latest".into()),
            codex_cli_image: a
                .codex_cli_image
                .unwrap_or_else(|| DEFAULT_CODEX_CLI_IMAGE.into()),
            codex_cli_image_tag: a.codex_cli_image_tag.unwrap_or_else(|| "latest".into()),
            codex_base_url: a.codex_base_url,
            auto_pull_cli: a.auto_pull_cli.unwrap_or(true),
            mount_agent_cli: a.mount_agent_cli.unwrap_or(true),
            user_config: a.user_config.unwrap_or(true),
            user_config_max_bytes: a
                .user_config_max_bytes
                .unwrap_or(DEFAULT_USER_CONFIG_MAX_BYTES),
        }
    }
}

impl Config {
    /// Loads `<home>/config.toml`; a missing file gives the defaults.
    pub fn load(home: &Path) -> Result<Config> {
        let path = home.join("config.toml");
        let file = read_file(&path)?;
        Config::from_file(path, file)
    }

    /// The built-in defaults, as if there were no config.toml (for commands
    /// that must work while the file is broken: stopping and deleting).
    pub fn defaults(home: &Path) -> Config {
        Config::from_file(home.join("config.toml"), FileConfig::default())
            .expect("the built-in defaults are valid")
    }

    fn from_file(path: PathBuf, file: FileConfig) -> Result<Config> {
        let bad = |key: &str, msg: String| {
            Error::input(format!("{}: `{key}`: {msg}", path.display()))
                .with_fix(format!("fix `{key}` in {}", path.display()))
        };
        let d = file.docker;
        if d.default_image
            .as_ref()
            .is_some_and(|i| i.trim().is_empty())
        {
            return Err(bad("docker.default_image", "must not be empty".into()));
        }
        let pull_policy = d.pull_policy.as_deref().map(PullPolicy::parse).transpose();
        let (cpu, memory) = d.limits.parsed();
        let cpu = cpu.map_err(|m| bad("docker.limits.cpu", m))?;
        let memory = memory.map_err(|m| bad("docker.limits.memory", m))?;
        let network = file.network.mode().map_err(|(key, m)| bad(&key, m))?;
        let config = Config {
            default_image: sourced(d.default_image, DEFAULT_IMAGE.to_string(), &path),
            pull_policy: sourced(
                pull_policy.map_err(|m| bad("docker.pull_policy", m))?,
                PullPolicy::IfNotPresent,
                &path,
            ),
            // Unset and "" alike mean no limit; a set one is from the file.
            cpu: sourced(cpu.map(Some), None, &path),
            memory: sourced(memory.map(Some), None, &path),
            http_port: sourced(file.daemon.http_port, DEFAULT_HTTP_PORT, &path),
            proxy: file.proxy.settings().map_err(|(key, m)| bad(&key, m))?,
            allowed_images: allowed_images(file.images.allowed_patterns, &path),
            network: sourced(network, NetworkMode::default(), &path),
            security: file.security.settings().map_err(|(key, m)| bad(&key, m))?,
            api_listen: file.api.listen().map_err(|(key, m)| bad(&key, m))?,
            api_max_runs: file.api.max_runs().map_err(|(key, m)| bad(&key, m))?,
            api_webhooks: file.api.webhooks().map_err(|(key, m)| bad(&key, m))?,
            api_volume_roots: file.api.volume_roots().map_err(|(key, m)| bad(&key, m))?,
            kubernetes: file
                .kubernetes
                .settings()
                .map_err(|(key, m)| bad(&key, m))?,
            podman_default_image: file.podman.default_image,
            compose: file.compose,
            uploads_max_bytes: file.uploads.max_bytes().map_err(|(key, m)| bad(&key, m))?,
            mounts: file.mounts.checked().map_err(|(key, m)| bad(&key, m))?,
            talos: file.talos,
            notify: file.notify.checked().map_err(|(key, m)| bad(&key, m))?,
            budget: file.budget.checked().map_err(|(key, m)| bad(&key, m))?,
            prices: crate::proxy::usage::pricing::Prices::from_config(file.pricing)
                .map_err(|(key, m)| bad(&key, m))?,
            agent: AgentSettings::from_file(file.agent),
            lifecycle: file.lifecycle,
            path,
        };
        config.check_cli_image_tags()?;
        config.check_image_references()?;
        config.check_codex_base_url()?;
        Ok(config)
    }

    /// Image references land in engine argv: they must be references.
    fn check_image_references(&self) -> Result<()> {
        let images = [
            (
                "docker.default_image",
                Some(self.default_image.value.clone()),
            ),
            ("podman.default_image", self.podman_default_image.clone()),
            ("agent.cli_image", Some(self.agent.reference(Agent::Claude))),
            (
                "agent.codex_cli_image",
                Some(self.agent.reference(Agent::Codex)),
            ),
        ];
        for (key, image) in images {
            if let Some(image) = image {
                crate::validate::image_reference(&image).map_err(|m| {
                    Error::input(format!(
                        "{}: `{key}`: {image:?} is not an image reference: {m}",
                        self.path.display()
                    ))
                    .with_fix(format!("fix `{key}` in {}", self.path.display()))
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
