//! One extra mount as a session records it (see `mounts` for the checks).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One extra mount, as recorded in the session (so `refresh` recreates it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraMount {
    /// The host path with every link resolved: what was checked is what is mounted.
    pub host: PathBuf,
    pub container: String,
    pub rw: bool,
}

impl ExtraMount {
    /// `HOST:CONTAINER:ro|rw`, as `status` and the dry run show it.
    pub fn describe(&self) -> String {
        let mode = if self.rw { "rw" } else { "ro" };
        format!("{}:{}:{mode}", self.host.display(), self.container)
    }
}
