//! What `create` records for landing the agent's work later: the commit the
//! session's branch started from and the remote (with its push URL as it
//! was then) that `pr` pushes to. Recorded before the agent runs, so nothing
//! the agent writes into the shared `.git` can change where a push goes.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    /// The commit the session's branch was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_commit: Option<String>,
    /// The remote `pr` pushes to, as it was when the session was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    pub name: String,
    /// Its URL as written in the config (`remote.NAME.url`, no pushurl and
    /// no insteadOf applied): where `pr` pushes and the repository the
    /// GitHub credential opens.
    pub url: String,
}

impl Landing {
    pub fn is_empty(&self) -> bool {
        self.base_commit.is_none() && self.remote.is_none()
    }
}
