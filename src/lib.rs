//! clauderon: run AI coding agents in isolated containers, one git worktree
//! and one container per session.
//!
//! The shape: CLI flags + config -> `SessionSpec` -> `Plan` (ordered steps)
//! -> printed (`--dry-run`) or executed with rollback.

pub mod agent;
pub mod api;
pub mod atomic_write;
pub mod attention;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod codex;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod devcontainer;
pub mod error;
pub mod exec;
pub mod executor;
pub mod git;
pub mod helper;
pub mod hooks;
pub mod ids;
pub mod image;
pub mod isolation;
pub mod jsonl;
#[cfg(test)]
mod layers;
pub mod limits;
pub mod mcp;
pub mod mounts;
pub mod notify;
pub mod output;
pub mod plan;
pub mod proxy;
pub mod pull_request;
pub mod rows;
pub mod safe_fs;
pub mod serve;
pub mod session;
pub mod spec;
// Where callers found the agent options before `spec/` held them.
pub use spec::agent_options;
pub mod store;
pub mod transcript;
pub mod uploads;
pub mod usd;
pub mod user_config;
pub mod validate;
pub mod wake;
pub mod worktree;
