//! The MCP servers a session's record keeps (see `mcp` for how they are
//! found and wired): data only, so that `session` can hold them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::secret_source::Source;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The user's Claude Code configuration.
    User,
    /// The repository's `.mcp.json`.
    Project,
}

/// A header whose value stays outside: the container holds `placeholder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub header: String,
    pub placeholder: String,
    pub source: Source,
}

/// One configured server, as the session record keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    pub scope: Scope,
    /// `http`, `sse` or `stdio`.
    pub transport: String,
    /// How the agent reaches it (for `status`).
    pub reached: String,
    /// The file it is configured in (re-read to see it is still there).
    pub file: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<Token>,
    /// A user-scope server's definition for the session's `.claude.json`,
    /// placeholders in place of its tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
}
