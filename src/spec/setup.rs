//! What a session brought from the user's setup, as its record keeps it
//! (and `status` shows): the devcontainer.json, the agent configuration
//! copied in, the MCP servers and where their tokens come from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `status` shows of a session's devcontainer.json.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevcontainerRecord {
    /// The file, as found in the repository.
    pub file: PathBuf,
    /// The image built from its `build`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_image: Option<String>,
    /// One line for each field left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
}

/// The user's agent configuration brought into a session, as `status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserConfigRecord {
    /// The user's directory it was copied from.
    pub from: PathBuf,
    /// Each item brought, e.g. `CLAUDE.md`, `skills/ (3 files)`.
    #[serde(default)]
    pub brought: Vec<String>,
    /// Each thing left out, and why.
    #[serde(default)]
    pub left_out: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum McpScope {
    /// The user's Claude Code configuration.
    User,
    /// The repository's `.mcp.json`.
    Project,
}

/// Where the proxy reads a server's real header value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The header as the user's file has it at the time of the request.
    UserHeader {
        file: PathBuf,
        server: String,
        header: String,
    },
    /// The daemon's environment variable (`.mcp.json`'s `${VAR}`).
    Env(String),
}

/// A header whose value stays outside: the container holds `placeholder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpToken {
    pub header: String,
    pub placeholder: String,
    pub source: TokenSource,
}

/// One configured MCP server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServer {
    pub name: String,
    pub scope: McpScope,
    /// `http`, `sse` or `stdio`.
    pub transport: String,
    /// How the agent reaches it (for `status`).
    pub reached: String,
    /// The file it is configured in (re-read to see it is still there).
    pub file: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<McpToken>,
    /// A user-scope server's definition for the session's `.claude.json`,
    /// placeholders in place of its tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
}
