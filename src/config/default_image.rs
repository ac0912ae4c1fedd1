//! The image a new session runs when `create` names none: each backend
//! has its own key, and the Docker one is the fallback.

use super::Config;
use crate::session::BackendKind;

impl Config {
    /// The default image for sessions of this kind, and where it was set
    /// (for the error when the allowlist refuses it).
    pub fn default_image_for(&self, kind: BackendKind) -> (String, String) {
        let own = match kind {
            BackendKind::Docker => None,
            BackendKind::Podman => self.podman_default_image.as_ref().map(|i| (i, "podman")),
            BackendKind::Kubernetes => {
                (self.kubernetes.default_image.as_ref()).map(|i| (i, "kubernetes"))
            }
        };
        match own {
            Some((image, section)) => (
                image.clone(),
                format!("[{section}] default_image in {}", self.path.display()),
            ),
            None => (
                self.default_image.value.clone(),
                format!("[docker] default_image ({})", self.default_image.source),
            ),
        }
    }
}
