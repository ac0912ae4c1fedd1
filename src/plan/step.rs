//! The kinds of step a plan is made of, and how each runs.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::Classify;
use super::watch::{verify_started, wait_on_create};
use crate::error::{Error, Result};
use crate::exec::{Cmd, Failure};
use crate::store::Home;

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
        files: Vec<crate::uploads::Source>,
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

    pub fn run(&self) -> Result<()> {
        match self {
            Step::Run {
                cmd,
                classify,
                tolerate,
            } => run_tolerating(cmd, *classify, tolerate.as_ref()),
            Step::RunWithLogs { .. } => run_with_logs(self),
            Step::VerifyStarted {
                ready,
                state,
                logs,
                classify,
            } => {
                let ready = ready.as_ref().map(|(r, m)| (r.as_path(), m.as_path()));
                verify_started(ready, state, logs, *classify)
            }
            Step::WaitOnCreate {
                root,
                status,
                timeout,
                state,
                logs,
                classify,
            } => wait_on_create(root, status, *timeout, state, logs, *classify),
            Step::Poll {
                cmd,
                what,
                check,
                timeout,
                interval,
                timeout_fix,
            } => super::watch::poll(cmd, what, *check, *timeout, *interval, timeout_fix),
            Step::Interactive { .. } => self.run_for_code().map(|_| ()),
            Step::ComposeHosts {
                containers,
                path,
                base,
            } => crate::backend::compose::podman::refresh_hosts(containers, path, base),
            Step::StartDaemon {
                home,
                port,
                exact_port,
            } => crate::daemon::ensure_running(home, *port, *exact_port).map(|_| ()),
            Step::StopDaemon { home, .. } => crate::daemon::stop(home).map(|_| ()),
            Step::RotateCa { home, extra_ca } => {
                crate::proxy::ca::generate(home)?;
                crate::proxy::ca::write_bundle(home, extra_ca.as_deref())
            }
            _ => self.run_file_step(),
        }
    }

    /// The steps that only touch files and directories.
    fn run_file_step(&self) -> Result<()> {
        let removing =
            |what: &Path, e| Error::io(format!("could not remove {}", what.display()), e);
        match self {
            Step::Mkdir {
                path,
                mode,
                exclusive,
            } => make_dir(path, *mode, *exclusive),
            Step::WriteFile {
                path,
                contents,
                mode,
                ..
            } => write_atomic(path, contents, *mode),
            Step::RemoveBelow { root, relative } => crate::safe_fs::remove_below(root, relative)
                .map_err(|e| removing(&root.join(relative), e)),
            Step::MkdirBelow {
                root,
                relative,
                mode,
            } => {
                if let Err(e) = crate::safe_fs::mkdirs_below(root, relative, *mode) {
                    eprintln!(
                        "clauderon: warning: not preparing {} ({e}): the repository may have a link there",
                        root.join(relative).display()
                    );
                }
                Ok(())
            }
            Step::AppendFile { path, contents } => append(path, contents),
            Step::CopyUploads {
                files,
                dir,
                max_bytes,
            } => crate::uploads::copy(files, dir, *max_bytes),
            Step::CopyFiles { files, max_bytes } => crate::user_config::copy(files, *max_bytes),
            Step::ForgetWorktree {
                common_dir,
                worktree,
            } => crate::worktree::forget(common_dir, worktree).map_err(|e| {
                let what = format!("git's registration of {}", worktree.display());
                removing(Path::new(&what), e)
            }),
            Step::RemoveDir { path } => match std::fs::remove_dir_all(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(removing(path, e)),
                _ => Ok(()),
            },
            other => unreachable!("not a file step: {other:?}"),
        }
    }

    /// Runs the step; an interactive one also gives its exit code.
    pub fn run_for_code(&self) -> Result<Option<i32>> {
        let Step::Interactive { cmd, fix } = self else {
            return self.run().map(|()| None);
        };
        let code = cmd.run_interactive()?;
        match fix {
            Some(fix) if code != 0 => Err(Error::failed(format!(
                "`{}` failed (exit code {code})",
                cmd.short()
            ))
            .with_fix(fix.clone())),
            _ => Ok(Some(code)),
        }
    }
}

/// Runs a command; a failure is what `tolerate` makes of it.
fn run_tolerating(cmd: &Cmd, classify: Classify, tolerate: Option<&Tolerate>) -> Result<()> {
    let Err(f) = cmd.run() else {
        return Ok(());
    };
    let warn = |w: String| {
        eprintln!("clauderon: warning: {w}");
        Ok(())
    };
    match tolerate {
        Some(Tolerate::If(quietly)) if quietly(&f) => Ok(()),
        // The executor, not the plan's author, says what was let pass.
        Some(Tolerate::Warn(warning)) => warn(warning(&f)),
        Some(Tolerate::Judge(judge)) => match judge(&f) {
            Verdict::Fail => Err(classify(f)),
            Verdict::Pass => Ok(()),
            Verdict::Warn(w) => warn(w),
        },
        _ => Err(classify(f)),
    }
}

/// `cmd`; its failure carries the last lines of `logs`' output.
fn run_with_logs(step: &Step) -> Result<()> {
    let Step::RunWithLogs {
        cmd,
        logs,
        classify,
    } = step
    else {
        return step.run();
    };
    cmd.run().map(|_| ()).map_err(|f| {
        let mut err = classify(f);
        if let Ok(out) = logs.run() {
            let text = format!("{}{}", out.stdout, out.stderr);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            err.message = format!("{}\nthe services' last lines:\n{tail}", err.message);
        }
        err
    })
}

fn make_dir(path: &Path, mode: u32, exclusive: bool) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(mode).recursive(!exclusive);
    if exclusive && let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(parent)
            .map_err(|e| Error::io(format!("could not create {}", parent.display()), e))?;
    }
    builder.create(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::input(format!("{} already exists", path.display()))
        } else {
            Error::io(format!("could not create {}", path.display()), e)
        }
    })
}

/// Appends without following a link anywhere an agent could plant one.
/// (Only the exclude patterns are appended: not worth failing a create for.)
fn append(path: &Path, contents: &[u8]) -> Result<()> {
    if let Err(e) = crate::safe_fs::append_no_follow(path, contents) {
        eprintln!(
            "clauderon: warning: did not add clauderon's patterns to {}: {e}; `git status` may list the agent's files",
            path.display()
        );
    }
    Ok(())
}

/// Writes via a temp file in the same directory and a rename, so readers see
/// the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| Error::io(format!("could not write {}", path.display()), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".clauderon-tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(fail)?;
    tmp.write_all(contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
