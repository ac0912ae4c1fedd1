//! Where a secret comes from: data that config and session records keep,
//! read by the proxy when a request needs the secret.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the real secret comes from; read when a request needs it, so a
/// rotated file or password-manager entry is picked up without a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The first of these environment variables (of the daemon) that is set.
    Env(Vec<String>),
    File(PathBuf),
    /// A command's standard output (e.g. `["op", "read", "op://vault/item/token"]`).
    Command(Vec<String>),
    /// A header of an MCP server in the user's Claude Code file, as it is
    /// there now (a server removed there has no secret any more).
    McpHeader {
        file: PathBuf,
        server: String,
        header: String,
    },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Env(vars) => format!("environment variable {}", vars.join(" or ")),
            Source::File(p) => format!("file {}", p.display()),
            Source::Command(argv) => format!("command `{}`", shell_words::join(argv)),
            Source::McpHeader {
                file,
                server,
                header,
            } => format!(
                "MCP server {server}'s {header} header in {}",
                file.display()
            ),
        }
    }
}
