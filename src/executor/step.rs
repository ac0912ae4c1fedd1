//! How each kind of step runs.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::watch::{verify_started, wait_on_create};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::plan::{Classify, Step, Tolerate, Verdict};

impl Step {
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
            } => crate::atomic_write::write_atomic(path, contents, *mode),
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
            Step::RemoveDir { path } => remove_tree(path).map_err(|e| removing(path, e)),
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

/// Removes a directory tree; one already gone is fine. A writer that adds a
/// file while the tree goes (the daemon logging a hook event of a session
/// whose container still runs because its engine did not answer) makes
/// the last rmdir fail with ENOTEMPTY: the new file is removed on a retry.
fn remove_tree(path: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
