//! clauderon: run AI coding agents in isolated containers, one git worktree
//! and one container per session.
//!
//! The shape: CLI flags + config -> `SessionSpec` -> `Plan` (ordered steps)
//! -> printed (`--dry-run`) or executed with rollback.

pub mod agent;
pub mod agent_options;
pub mod api;
pub mod attention;
pub mod backend;
pub mod cli;
pub mod cluster;
pub mod codex;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod error;
pub mod exec;
pub mod git;
pub mod helper;
pub mod hooks;
pub mod image;
pub mod isolation;
pub mod jsonl;
pub mod landing;
pub mod limits;
pub mod mounts;
pub mod notify;
pub mod output;
pub mod plan;
pub mod proxy;
pub mod safe_fs;
pub mod serve;
pub mod session;
pub mod store;
pub mod transcript;
pub mod uploads;
pub mod validate;
pub mod wake;
pub mod worktree;
