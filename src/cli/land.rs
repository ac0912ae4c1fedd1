//! Flags of the commands that land the agent's work (clap only).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Session name (see `clauderon list`)
    pub name: String,
    /// Only the changed files and their line counts
    #[arg(long, conflicts_with = "name_only")]
    pub stat: bool,
    /// Only the changed files' names
    #[arg(long)]
    pub name_only: bool,
    /// Limit the diff to these paths (after `--`)
    #[arg(last = true, value_name = "PATH")]
    pub paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TranscriptArgs {
    /// Session name (see `clauderon list`)
    pub name: String,
    /// Keep printing the conversation as it goes on
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Session name (see `clauderon list`)
    pub name: String,
    /// The message, byte for byte (it may start with `-`); `-` reads it from stdin
    #[arg(
        allow_hyphen_values = true,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub message: Option<String>,
    /// Read the message from this file
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the commands and files instead of running them
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Session name (see `clauderon list`)
    pub name: String,
    /// The branch to merge into (default: the one checked out in the session's repository)
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    /// One commit with all of the session's changes
    #[arg(long, conflicts_with = "rebase")]
    pub squash: bool,
    /// Replay the session's commits on the branch (linear history)
    #[arg(long)]
    pub rebase: bool,
    /// First commit the worktree's uncommitted changes on the session's branch
    #[arg(long)]
    pub include_uncommitted: bool,
    /// Print the git commands instead of running them
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PrArgs {
    /// Session name (see `clauderon list`)
    pub name: String,
    /// Open the pull request as a draft
    #[arg(long)]
    pub draft: bool,
    /// The title (default: the prompt's first line)
    #[arg(long, allow_hyphen_values = true)]
    pub title: Option<String>,
    /// The body, from a file (default: the prompt and the agent's last summary)
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// The branch to merge into (default: the repository's default branch)
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Refresh the kept pull request state from `gh pr view` (what status and list start in the background)
    #[arg(long, hide = true)]
    pub refresh: bool,
    /// Print the git push and gh commands instead of running them
    #[arg(long)]
    pub dry_run: bool,
}
