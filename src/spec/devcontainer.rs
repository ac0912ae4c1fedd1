//! What a session records of its devcontainer.json (see `devcontainer`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What `status` shows of a session's devcontainer.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The file, as found in the repository.
    pub file: PathBuf,
    /// The image built from its `build`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_image: Option<String>,
    /// One line for each field left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
}
