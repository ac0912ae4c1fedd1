//! What a session records of the user's agent configuration (see
//! `user_config`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What `status` shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The user's directory it was copied from.
    pub from: PathBuf,
    /// Each item brought, e.g. `CLAUDE.md`, `skills/ (3 files)`.
    #[serde(default)]
    pub brought: Vec<String>,
    /// Each thing left out, and why.
    #[serde(default)]
    pub left_out: Vec<String>,
}
