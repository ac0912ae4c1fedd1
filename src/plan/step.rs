//! The kinds of step a plan is made of (`executor` says how each runs).

use std::path::PathBuf;

use super::Classify;
use crate::exec::{Cmd, Failure};
use crate::store::Home;

/// One file to copy into a session's uploads: where it is now, and its
/// name in the uploads (`uploads::Source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSource {
    pub path: PathBuf,
    pub name: String,
}

#[derive(Clone, Debug)]
pub enum Step {
    Run {
        cmd: Cmd,
        classify: Classify,
        /// Failures that count as success (e.g. "no such container" on delete).
        tolerate: Option<Tolerate>,
    },
    /// Runs a command that starts several containers (`compose up`); when
    /// it fails, the error carries the tail of `logs` (their output), so
    /// the failing service says why before the rollback removes it.
    RunWithLogs {
        cmd: Cmd,
        logs: Cmd,
        classify: Classify,
    },
    /// Creates a directory; with `exclusive` it fails if it exists, which is how
    /// two concurrent `create`s of the same name are told apart.
    Mkdir {
        path: PathBuf,
        mode: u32,
        exclusive: bool,
    },
    /// Writes a file atomically (temp file + rename).
    WriteFile {
        path: PathBuf,
        contents: Vec<u8>,
        mode: u32,
        /// Contents are never printed.
        secret: bool,
    },
    /// Watches a just-started container for a moment and fails if it has
    /// already exited with an error (a broken image, a missing agent), with
    /// the tail of its output. `state` prints "<status> <exit code>".
    VerifyStarted {
        /// The worktree, and the marker in it that the entrypoint writes
        /// when it hands over to the agent.
        ready: Option<(PathBuf, PathBuf)>,
        state: Cmd,
        logs: Cmd,
        classify: Classify,
    },
    /// Removes a file below `root` (the agent's worktree) without following
    /// links; a missing one is fine.
    RemoveBelow { root: PathBuf, relative: PathBuf },
    /// Waits until the container's on-create commands have finished
    /// (`status` file: `ok` or `failed N`), failing with the exit code and
    /// the output's tail; also fails if the container stops first.
    WaitOnCreate {
        /// The worktree, and the status file inside it (read without
        /// following links: the worktree is the agent's).
        root: PathBuf,
        status: PathBuf,
        /// Rolls back when the commands take longer.
        timeout: std::time::Duration,
        state: Cmd,
        logs: Cmd,
        classify: Classify,
    },
    /// `mkdir -p root/relative` without following links below `root` (the
    /// agent's worktree); a link there is reported and skipped.
    MkdirBelow {
        root: PathBuf,
        relative: PathBuf,
        mode: u32,
    },
    /// Appends to a file, creating it (and its directory) if needed; never
    /// through a symbolic link, and only to a regular file of ours.
    AppendFile { path: PathBuf, contents: Vec<u8> },
    /// Removes a directory tree; a missing one is fine.
    RemoveDir { path: PathBuf },
    /// Copies files handed to the agent into its uploads directory, all or
    /// none, within `max_bytes` for the directory (see `uploads::copy`).
    CopyUploads {
        files: Vec<UploadSource>,
        dir: PathBuf,
        max_bytes: u64,
    },
    /// Copies regular files (the user's agent configuration) to new paths,
    /// each at most `max_bytes`, never following a link (see `user_config::copy`).
    CopyFiles {
        files: Vec<(PathBuf, PathBuf)>,
        max_bytes: u64,
    },
    /// Runs `cmd` every `interval` until `check` says ready or failed, for
    /// at most `timeout` (a pod coming up, a file appearing in it).
    Poll {
        cmd: Cmd,
        /// What is waited for, e.g. "the agent pod to run".
        what: String,
        check: super::Check,
        timeout: std::time::Duration,
        interval: std::time::Duration,
        /// The fix named when it times out.
        timeout_fix: String,
    },
    /// Removes git's registration of a worktree without running git
    /// (see `worktree`); a missing one is fine.
    ForgetWorktree {
        common_dir: PathBuf,
        worktree: PathBuf,
    },
    /// A command attached to the user's terminal (`attach`, a pull's
    /// progress). Its exit code is the plan's; with `fix`, a non-zero one is
    /// a failure with that fix.
    Interactive { cmd: Cmd, fix: Option<String> },
    /// Starts this home's daemon in the background unless it runs, and waits
    /// until it answers.
    StartDaemon {
        home: Home,
        port: u16,
        /// The user asked for this port: take it or fail.
        exact_port: bool,
    },
    /// Stops this home's daemon (SIGTERM, then waits for it to exit).
    StopDaemon { home: Home, pid: u32 },
    /// podman-compose: checks that every container of the project started
    /// (its `up` exits 0 whatever happened) and writes their addresses to
    /// the hosts file mounted in each (see `compose::podman`).
    ComposeHosts {
        containers: Vec<String>,
        path: PathBuf,
        /// The lines that come first (localhost; the host's names in
        /// network mode open), written with the override.
        base: PathBuf,
    },
    /// Replaces the proxy CA and rebuilds the containers' trust bundle.
    RotateCa {
        home: Home,
        extra_ca: Option<PathBuf>,
    },
}

/// Which failures of a `Run` step are let pass.
#[derive(Clone, Copy, Debug)]
pub enum Tolerate {
    /// Those this is true for, silently.
    If(fn(&Failure) -> bool),
    /// Every failure, with this warning (the step is best-effort).
    Warn(fn(&Failure) -> String),
    /// Each failure as this judges it.
    Judge(fn(&Failure) -> Verdict),
}

/// What `Tolerate::Judge` says of one failure.
pub enum Verdict {
    Fail,
    Pass,
    /// Passes, with this warning.
    Warn(String),
}

impl Step {
    pub fn run_cmd(cmd: Cmd, classify: Classify) -> Step {
        Step::Run {
            cmd,
            classify,
            tolerate: None,
        }
    }
}
