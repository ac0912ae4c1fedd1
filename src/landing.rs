//! What `create` records for landing the agent's work later: the commit the
//! session's branch started from and the remote (with its push URL as it
//! was then) that `pr` pushes to. Recorded before the agent runs, so nothing
//! the agent writes into the shared `.git` can change where a push goes.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::git;

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
    /// Its push URL (pushurl and insteadOf already applied, from the
    /// user's config before any agent ran).
    pub url: String,
}

impl Landing {
    pub fn is_empty(&self) -> bool {
        self.base_commit.is_none() && self.remote.is_none()
    }

    /// Read at create, from a repository whose config was just checked.
    pub fn record(repo: &Path, base_commit: String) -> Landing {
        Landing {
            base_commit: Some(base_commit),
            remote: push_remote(repo),
        }
    }
}

/// `origin` if the repository has it, else its only remote.
fn push_remote(repo: &Path) -> Option<Remote> {
    let out = git::git(repo).arg("remote").run().ok()?.stdout;
    let remotes: Vec<&str> = out.lines().map(str::trim).collect();
    let name = if remotes.contains(&"origin") {
        "origin"
    } else if let [only] = remotes.as_slice() {
        only
    } else {
        return None;
    };
    let url = git::git(repo)
        .args(["remote", "get-url", "--push", "--end-of-options", name])
        .run()
        .ok()?
        .stdout
        .trim()
        .to_string();
    (!url.is_empty()).then(|| Remote {
        name: name.to_string(),
        url,
    })
}
