//! `config.toml` under the clauderon home: defaults that CLI flags override.
//! Every effective value remembers where it came from, for `config show`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::isolation::{NetworkMode, NetworkSection, Security, SecuritySection};
use crate::limits::{Cpu, Memory};
use crate::proxy::settings::{ProxySection, ProxySettings};
use crate::session::{Lifecycle, PullPolicy};

pub mod kubernetes;
mod show;

pub use kubernetes::KubernetesSettings;

/// The image used when neither `--image` nor the config names one. It is not
/// published anywhere: `scripts/build-agent-image.sh` builds it locally.
pub const DEFAULT_IMAGE: &str = "clauderon-agent:latest";

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
    kubernetes: kubernetes::KubernetesSection,
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
    auto_pull_cli: Option<bool>,
    mount_agent_cli: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesSection {
    allowed_patterns: Option<Vec<String>>,
}

/// How the agent CLI gets into the container (`[agent]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSettings {
    pub cli_image: String,
    pub cli_image_tag: String,
    /// Pull the CLI image when it is missing.
    pub auto_pull_cli: bool,
    /// Mount the agent CLI from `cli_image` (Podman only; Docker has no image mounts).
    pub mount_agent_cli: bool,
}

impl AgentSettings {
    pub fn reference(&self) -> String {
        format!("{}:{}", self.cli_image, self.cli_image_tag)
    }
}

pub const DEFAULT_CLI_IMAGE: &str = "clauderon-agent-cli";

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
    /// `[kubernetes]`: the cluster and the defaults of session manifests.
    pub kubernetes: KubernetesSettings,
}

impl Config {
    /// Loads `<home>/config.toml`; a missing file gives the defaults.
    pub fn load(home: &Path) -> Result<Config> {
        let path = home.join("config.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(format!("could not read {}", path.display()), e)),
        };
        let file: FileConfig = match &text {
            None => FileConfig::default(),
            Some(t) => toml::from_str(t).map_err(|e| {
                Error::input(format!("{}: {}", path.display(), e.to_string().trim())).with_fix(
                    format!(
                        "edit {} (known keys: [docker] default_image, pull_policy; [docker.limits] cpu, memory; [daemon] http_port; [proxy] enabled, port, policy, allow_hosts, deny_hosts, upstream_ca_file, resolve, [[proxy.rules]]; [podman] default_image; [agent] cli_image, cli_image_tag, auto_pull_cli, mount_agent_cli; [images] allowed_patterns; [lifecycle] on_create, post_start, on_create_timeout; [network] mode; [security] cap_add, pids_limit, no_new_privileges; [kubernetes] context, namespace, default_image, storage_class, storage_size, image_pull_secrets, runtime_class, create_timeout)",
                        path.display()
                    ),
                )
            })?,
        };
        let from_file = || Source::File(path.clone());
        let bad = |key: &str, msg: String| {
            Error::input(format!("{}: `{key}`: {msg}", path.display()))
                .with_fix(format!("fix `{key}` in {}", path.display()))
        };

        let d = file.docker;
        let default_image = match d.default_image {
            Some(img) if img.trim().is_empty() => {
                return Err(bad("docker.default_image", "must not be empty".into()));
            }
            Some(img) => Sourced {
                value: img,
                source: from_file(),
            },
            None => Sourced {
                value: DEFAULT_IMAGE.to_string(),
                source: Source::Default,
            },
        };
        let pull_policy = match d.pull_policy {
            Some(p) => Sourced {
                value: PullPolicy::parse(&p).map_err(|m| bad("docker.pull_policy", m))?,
                source: from_file(),
            },
            None => Sourced {
                value: PullPolicy::IfNotPresent,
                source: Source::Default,
            },
        };
        let cpu_text = d.limits.cpu.as_ref().map(StringOrNumber::text);
        let cpu = match cpu_text.as_deref().filter(|s| !s.is_empty()) {
            Some(c) => Sourced {
                value: Some(Cpu::parse(c).map_err(|m| bad("docker.limits.cpu", m))?),
                source: from_file(),
            },
            None => Sourced {
                value: None,
                source: Source::Default,
            },
        };
        let memory_text = d.limits.memory.as_ref().map(StringOrNumber::text);
        let memory = match memory_text.as_deref().filter(|s| !s.is_empty()) {
            Some(m) => Sourced {
                value: Some(Memory::parse(m).map_err(|m| bad("docker.limits.memory", m))?),
                source: from_file(),
            },
            None => Sourced {
                value: None,
                source: Source::Default,
            },
        };
        let http_port = match file.daemon.http_port {
            Some(p) => Sourced {
                value: p,
                source: from_file(),
            },
            None => Sourced {
                value: DEFAULT_HTTP_PORT,
                source: Source::Default,
            },
        };
        let proxy = file.proxy.settings().map_err(|(key, m)| bad(&key, m))?;
        let agent = AgentSettings {
            cli_image: file
                .agent
                .cli_image
                .unwrap_or_else(|| DEFAULT_CLI_IMAGE.into()),
            cli_image_tag: file.agent.cli_image_tag.unwrap_or_else(|| "latest".into()),
            auto_pull_cli: file.agent.auto_pull_cli.unwrap_or(true),
            mount_agent_cli: file.agent.mount_agent_cli.unwrap_or(true),
        };
        let allowed_images = match std::env::var("CLAUDERON_ALLOWED_IMAGES") {
            Ok(list) => Sourced {
                value: list
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
                source: Source::Env("CLAUDERON_ALLOWED_IMAGES".into()),
            },
            Err(_) => match file.images.allowed_patterns {
                Some(p) => Sourced {
                    value: p,
                    source: from_file(),
                },
                None => Sourced {
                    value: Vec::new(),
                    source: Source::Default,
                },
            },
        };
        let network = match file.network.mode().map_err(|(key, m)| bad(&key, m))? {
            Some(mode) => Sourced {
                value: mode,
                source: from_file(),
            },
            None => Sourced {
                value: NetworkMode::default(),
                source: Source::Default,
            },
        };
        let security = file.security.settings().map_err(|(key, m)| bad(&key, m))?;
        let kubernetes = file
            .kubernetes
            .settings()
            .map_err(|(key, m)| bad(&key, m))?;
        // Image references land in engine argv: they must be references.
        let images = [
            ("docker.default_image", Some(default_image.value.clone())),
            ("podman.default_image", file.podman.default_image.clone()),
            ("agent.cli_image", Some(agent.reference())),
        ];
        for (key, image) in images {
            if let Some(image) = image {
                crate::validate::image_reference(&image)
                    .map_err(|m| bad(key, format!("{image:?} is not an image reference: {m}")))?;
            }
        }
        Ok(Config {
            kubernetes,
            network,
            security,
            path,
            default_image,
            pull_policy,
            cpu,
            memory,
            http_port,
            proxy,
            podman_default_image: file.podman.default_image,
            agent,
            allowed_images,
            lifecycle: file.lifecycle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Config::load(dir.path())
    }

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert_eq!(c.default_image.value, DEFAULT_IMAGE);
        assert_eq!(c.pull_policy.value, PullPolicy::IfNotPresent);
        assert_eq!(c.default_image.source, Source::Default);
    }

    #[test]
    fn values_come_from_the_file() {
        let c = load(
            "[docker]\ndefault_image = \"rust:1.85\"\npull_policy = \"never\"\n[docker.limits]\ncpu = \"500m\"\nmemory = \"2Gi\"\n",
        )
        .unwrap();
        assert_eq!(c.default_image.value, "rust:1.85");
        assert_eq!(c.pull_policy.value, PullPolicy::Never);
        assert_eq!(c.cpu.value.unwrap().docker(), "0.5");
        assert_eq!(c.memory.value.unwrap().docker(), "2g");
        assert!(matches!(c.cpu.source, Source::File(_)));
    }

    #[test]
    fn unknown_key_and_bad_value_name_the_key_and_file() {
        let e = load("[docker]\ndefault_imag = \"x\"\n").unwrap_err();
        assert!(e.message.contains("default_imag"), "{}", e.message);
        assert!(e.message.contains("config.toml"), "{}", e.message);
        let e = load("[docker]\npull_policy = \"sometimes\"\n").unwrap_err();
        assert!(e.message.contains("docker.pull_policy"), "{}", e.message);
        assert!(e.message.contains("config.toml"), "{}", e.message);
        let e = load("[docker.limits]\nmemory = \"lots\"\n").unwrap_err();
        assert!(e.message.contains("docker.limits.memory"), "{}", e.message);
        let e = load("[dockr]\n").unwrap_err();
        assert!(e.message.contains("dockr"), "{}", e.message);
    }
}
