//! `[kubernetes]` in config.toml: the cluster sessions run on and the
//! defaults of their manifests. Every value lands in a manifest or a
//! kubectl argument, so each is validated here.

use serde::Deserialize;

use crate::validate;

/// The namespace sessions go to when neither `--namespace` nor the config names one.
pub const DEFAULT_NAMESPACE: &str = "clauderon";
/// The size of a session's volume (worktree and agent home) unless configured.
pub const DEFAULT_STORAGE_SIZE: &str = "10Gi";
/// Seconds `create` waits for the agent pod unless configured.
pub const DEFAULT_CREATE_TIMEOUT: u64 = 300;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KubernetesSection {
    context: Option<String>,
    namespace: Option<String>,
    default_image: Option<String>,
    storage_class: Option<String>,
    storage_size: Option<String>,
    #[serde(default)]
    image_pull_secrets: Vec<String>,
    runtime_class: Option<String>,
    create_timeout: Option<u64>,
    daemon_image: Option<String>,
}

/// The effective `[kubernetes]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesSettings {
    /// None: `kubectl config current-context`, read once at create.
    pub context: Option<String>,
    pub namespace: String,
    /// None: the Docker default image.
    pub default_image: Option<String>,
    /// None: the cluster's default storage class.
    pub storage_class: Option<String>,
    pub storage_size: String,
    pub image_pull_secrets: Vec<String>,
    pub runtime_class: Option<String>,
    /// Seconds.
    pub create_timeout: u64,
    /// The in-cluster daemon's image (None: `clauderon-daemon:<version>`,
    /// what `clauderon daemon-image build` makes).
    pub daemon_image: Option<String>,
}

/// The image `clauderon daemon-image build` makes unless `daemon_image` is set.
pub fn default_daemon_image() -> String {
    format!("clauderon-daemon:{}", env!("CARGO_PKG_VERSION"))
}

impl KubernetesSettings {
    pub fn daemon_image(&self) -> String {
        self.daemon_image
            .clone()
            .unwrap_or_else(default_daemon_image)
    }
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        KubernetesSettings {
            context: None,
            namespace: DEFAULT_NAMESPACE.into(),
            default_image: None,
            storage_class: None,
            storage_size: DEFAULT_STORAGE_SIZE.into(),
            image_pull_secrets: Vec::new(),
            runtime_class: None,
            create_timeout: DEFAULT_CREATE_TIMEOUT,
            daemon_image: None,
        }
    }
}

impl KubernetesSection {
    /// The settings, or the key that is wrong and why.
    pub(super) fn settings(self) -> Result<KubernetesSettings, (String, String)> {
        let bad = |key: &str, m: String| (format!("kubernetes.{key}"), m);
        if let Some(c) = &self.context {
            validate::kube_context(c).map_err(|m| bad("context", m))?;
        }
        if let Some(n) = &self.namespace {
            validate::dns_label(n).map_err(|m| bad("namespace", format!("{n:?}: {m}")))?;
        }
        if let Some(i) = &self.daemon_image {
            validate::image_reference(i).map_err(|m| {
                bad(
                    "daemon_image",
                    format!("{i:?} is not an image reference: {m}"),
                )
            })?;
        }
        if let Some(i) = &self.default_image {
            validate::image_reference(i).map_err(|m| {
                bad(
                    "default_image",
                    format!("{i:?} is not an image reference: {m}"),
                )
            })?;
        }
        for (key, name) in [
            ("storage_class", &self.storage_class),
            ("runtime_class", &self.runtime_class),
        ] {
            if let Some(n) = name {
                validate::dns_subdomain(n).map_err(|m| bad(key, format!("{n:?}: {m}")))?;
            }
        }
        for s in &self.image_pull_secrets {
            validate::dns_subdomain(s)
                .map_err(|m| bad("image_pull_secrets", format!("{s:?}: {m}")))?;
        }
        if let Some(size) = &self.storage_size {
            validate::storage_size(size).map_err(|m| bad("storage_size", m))?;
        }
        if self.create_timeout == Some(0) {
            return Err(bad("create_timeout", "must be at least 1 second".into()));
        }
        Ok(KubernetesSettings {
            context: self.context,
            namespace: self.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            default_image: self.default_image,
            storage_class: self.storage_class,
            storage_size: self
                .storage_size
                .unwrap_or_else(|| DEFAULT_STORAGE_SIZE.into()),
            image_pull_secrets: self.image_pull_secrets,
            runtime_class: self.runtime_class,
            create_timeout: self.create_timeout.unwrap_or(DEFAULT_CREATE_TIMEOUT),
            daemon_image: self.daemon_image,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KubernetesSettings, (String, String)> {
        toml::from_str::<KubernetesSection>(text)
            .unwrap()
            .settings()
    }

    #[test]
    fn defaults_and_values() {
        let s = parse("").unwrap();
        assert_eq!(s, KubernetesSettings::default());
        let s = parse("context = \"kind-kind\"\nnamespace = \"agents\"\nstorage_size = \"20Gi\"\nimage_pull_secrets = [\"regcred\"]\ncreate_timeout = 60\n").unwrap();
        assert_eq!(s.context.as_deref(), Some("kind-kind"));
        assert_eq!(s.namespace, "agents");
        assert_eq!(s.storage_size, "20Gi");
        assert_eq!(s.create_timeout, 60);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("namespace = \"Bad_NS\"", "kubernetes.namespace"),
            ("namespace = \"-x\"", "kubernetes.namespace"),
            ("storage_size = \"10 GB\"", "kubernetes.storage_size"),
            ("storage_size = \"0Gi\"", "kubernetes.storage_size"),
            ("create_timeout = 0", "kubernetes.create_timeout"),
            ("default_image = \"-x\"", "kubernetes.default_image"),
            ("daemon_image = \"-x\"", "kubernetes.daemon_image"),
            (
                "image_pull_secrets = [\"a b\"]",
                "kubernetes.image_pull_secrets",
            ),
            ("context = \"a\\nb\"", "kubernetes.context"),
        ] {
            assert_eq!(parse(text).unwrap_err().0, key, "{text}");
        }
    }
}
