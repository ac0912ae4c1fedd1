//! Plans: the ordered steps a command takes, printed by `--dry-run` or run
//! with rollback. Both paths walk the same `Plan`, so what is printed is
//! exactly what runs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::exec::{Cmd, Failure};

mod render;
mod watch;
use watch::{verify_started, wait_on_create};

/// Maps a failed command to a user-facing error (engines classify their stderr).
pub type Classify = fn(Failure) -> Error;

/// What one look at something being waited for says.
#[derive(Debug)]
pub enum Poll {
    Ready,
    /// Not yet; the text says what it is doing (shown on a timeout).
    Waiting(String),
    /// Waiting will not help.
    Failed(Error),
}

/// Reads one answer of a polled command.
pub type Check = fn(std::result::Result<&str, Failure>) -> Poll;

#[derive(Clone, Debug)]
pub enum Step {
    Run {
        cmd: Cmd,
        classify: Classify,
        /// A failure this returns true for counts as success (e.g. "no such container" on delete).
        tolerate: Option<fn(&Failure) -> bool>,
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
    /// Runs `cmd` every `interval` until `check` says ready or failed, for
    /// at most `timeout` (a pod coming up, a file appearing in it).
    Poll {
        cmd: Cmd,
        /// What is waited for, e.g. "the agent pod to run".
        what: String,
        check: Check,
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
}

#[derive(Clone, Debug)]
pub struct PlannedStep {
    pub step: Step,
    /// Steps that undo this one, run in order if a later step fails.
    pub undo: Vec<Step>,
    /// Steps that clean up after this one if it fails itself (an engine
    /// call that made a container and then failed to start it).
    pub on_failure: Vec<Step>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub steps: Vec<PlannedStep>,
    /// Notes printed as comments in dry-run output (assumptions, skipped steps).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn push(&mut self, step: Step) -> &mut Self {
        self.push_undoable(step, Vec::new())
    }

    pub fn push_undoable(&mut self, step: Step, undo: Vec<Step>) -> &mut Self {
        self.steps.push(PlannedStep {
            step,
            undo,
            on_failure: Vec::new(),
        });
        self
    }

    /// A step with its undo, and the cleanup to run if it fails itself.
    pub fn push_with_cleanup(&mut self, step: Step, undo: Vec<Step>, on_failure: Vec<Step>) {
        self.steps.push(PlannedStep {
            step,
            undo,
            on_failure,
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The dry-run text: notes as comments, then every step as shell.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for note in &self.notes {
            for line in note.lines() {
                let _ = writeln!(out, "# {line}");
            }
        }
        for planned in &self.steps {
            out.push_str(&planned.step.render());
        }
        out
    }

    /// Runs every step in order. If one fails, the undo steps of those that
    /// succeeded run in reverse order, and the error says what failed and
    /// whether the rollback was complete.
    pub fn execute(&self) -> Result<()> {
        catch_interrupts();
        let mut journal: Vec<&[Step]> = Vec::new();
        for planned in &self.steps {
            let result = if INTERRUPTED.load(Ordering::SeqCst) {
                Err(interrupted())
            } else {
                planned.step.run()
            };
            // Ctrl-C also reaches the running child, which then fails: say why.
            let result = result.map_err(|e| {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    interrupted()
                } else {
                    e
                }
            });
            if result.is_ok() {
                journal.push(&planned.undo);
            } else {
                journal.push(&planned.on_failure);
            }
            // An interrupt during a step that still succeeded aborts too.
            let result = result.and_then(|()| {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    Err(interrupted())
                } else {
                    Ok(())
                }
            });
            if let Err(err) = result {
                let undid_something = journal.iter().any(|u| !u.is_empty());
                let leftovers = rollback(&journal);
                return Err(with_rollback_report(err, undid_something, leftovers));
            }
        }
        Ok(())
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From here on, Ctrl-C or SIGTERM stops the plan at the next step and rolls
/// back, instead of killing clauderon halfway and leaving a half-made session.
fn catch_interrupts() {
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn interrupted() -> Error {
    Error {
        message: "interrupted".into(),
        fix: None,
        code: 130,
    }
}

fn rollback(journal: &[&[Step]]) -> Vec<String> {
    let mut leftovers = Vec::new();
    for undo in journal.iter().rev() {
        for step in undo.iter() {
            if let Err(err) = step.run() {
                leftovers.push(format!("{} ({})", step.render().trim_end(), err.message));
            }
        }
    }
    leftovers
}

fn with_rollback_report(err: Error, undid_something: bool, leftovers: Vec<String>) -> Error {
    let mut report = err.message.clone();
    if leftovers.is_empty() {
        if undid_something {
            report
                .push_str("\n(rolled back: what was created before the failure has been removed)");
        }
        return Error {
            message: report,
            ..err
        };
    }
    report.push_str("\nrolling back did not fully succeed; clean these up by hand:");
    for l in leftovers {
        report.push_str("\n  ");
        report.push_str(&l);
    }
    Error {
        message: report,
        ..err
    }
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
            } => match cmd.run() {
                Ok(_) => Ok(()),
                Err(f) if tolerate.is_some_and(|t| t(&f)) => Ok(()),
                Err(f) => Err(classify(f)),
            },
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
            Step::VerifyStarted {
                ready,
                state,
                logs,
                classify,
            } => {
                let ready = ready.as_ref().map(|(r, m)| (r.as_path(), m.as_path()));
                verify_started(ready, state, logs, *classify)
            }
            Step::RemoveBelow { root, relative } => crate::safe_fs::remove_below(root, relative)
                .map_err(|e| {
                    Error::io(
                        format!("could not remove {}", root.join(relative).display()),
                        e,
                    )
                }),
            Step::WaitOnCreate {
                root,
                status,
                timeout,
                state,
                logs,
                classify,
            } => wait_on_create(root, status, *timeout, state, logs, *classify),
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
            Step::ForgetWorktree {
                common_dir,
                worktree,
            } => crate::worktree::forget(common_dir, worktree).map_err(|e| {
                Error::io(
                    format!(
                        "could not remove git's registration of {}",
                        worktree.display()
                    ),
                    e,
                )
            }),
            Step::Poll {
                cmd,
                what,
                check,
                timeout,
                interval,
                timeout_fix,
            } => watch::poll(cmd, what, *check, *timeout, *interval, timeout_fix),
            Step::RemoveDir { path } => match std::fs::remove_dir_all(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(format!("could not remove {}", path.display()), e)),
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(f: Failure) -> Error {
        f.into_error()
    }

    #[test]
    fn failed_step_rolls_back_earlier_steps_in_reverse() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let log = dir.path().join("log");
        let mut plan = Plan::default();
        plan.push_undoable(
            Step::Mkdir {
                path: a.clone(),
                mode: 0o700,
                exclusive: true,
            },
            vec![Step::RemoveDir { path: a.clone() }],
        );
        plan.push_undoable(
            Step::run_cmd(
                Cmd::new(["sh", "-c", "echo one >> \"$0\"", log.to_str().unwrap()]),
                generic,
            ),
            vec![Step::run_cmd(
                Cmd::new(["sh", "-c", "echo undo-one >> \"$0\"", log.to_str().unwrap()]),
                generic,
            )],
        );
        plan.push(Step::run_cmd(
            Cmd::new(["sh", "-c", "echo nope >&2; exit 1"]),
            generic,
        ));
        let err = plan.execute().unwrap_err();
        assert!(err.message.contains("nope"), "{}", err.message);
        assert!(!a.exists());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\nundo-one\n");
    }

    #[test]
    fn exclusive_mkdir_refuses_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let step = Step::Mkdir {
            path: dir.path().to_path_buf(),
            mode: 0o700,
            exclusive: true,
        };
        assert!(step.run().is_err());
    }

    #[test]
    fn write_renders_as_pasteable_shell() {
        let step = Step::WriteFile {
            path: "/tmp/x y".into(),
            contents: b"no newline 'quoted'".to_vec(),
            mode: 0o644,
            secret: false,
        };
        assert_eq!(
            step.render(),
            r"printf '%s' 'no newline '\''quoted'\''' > '/tmp/x y'
chmod 0644 '/tmp/x y'
"
        );
        let secret = Step::WriteFile {
            path: "/tmp/s".into(),
            contents: b"hunter2".to_vec(),
            mode: 0o600,
            secret: true,
        };
        assert!(!secret.render().contains("hunter2"));
    }
}
