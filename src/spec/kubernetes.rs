//! What a kubernetes session records (see `backend::kubernetes` for its plans).

use serde::{Deserialize, Serialize};

/// Where a kubernetes session runs and what its manifests need beyond the
/// backend-neutral spec; resolved once at create and kept in the record,
/// so a later change of the user's current context touches nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeSpec {
    pub context: String,
    pub namespace: String,
    #[serde(default)]
    pub storage_class: Option<String>,
    pub storage_size: String,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    #[serde(default)]
    pub runtime_class: Option<String>,
    /// Seconds `create`, `start` and `refresh` wait for the pod.
    pub create_timeout: u64,
    /// Which clauderon home owns the session (a hash of its path: label
    /// values cannot hold a path), so homes do not see each other's pods.
    pub home_label: String,
}
