//! The executor: prints a `Plan` (`--dry-run`, as text or JSON) or runs it
//! with rollback, interpreting each `Step`. The domain steps (start or stop
//! the daemon, rotate the proxy CA, podman-compose's hosts file, copy
//! uploads, forget a worktree) call into the layers below, which is why
//! this lives above `daemon`, `proxy` and `backend` while `plan` stays data.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::plan::{Mode, Plan, Step};

mod json;
mod render;
mod step;
mod watch;

impl Plan {
    /// The one way a plan leaves a command: shown as shell (`--dry-run`),
    /// as JSON (`--dry-run --json`), or run with rollback (its exit code:
    /// that of an interactive step such as `attach`, else 0).
    pub fn finish(&self, what: &str, mode: Mode) -> Result<i32> {
        match mode {
            Mode::DryRun if crate::output::json() => {
                crate::output::print_json(&self.to_json(what));
                Ok(0)
            }
            Mode::DryRun => {
                print!(
                    "# clauderon {what} (dry run: nothing was changed)\n{}",
                    self.render()
                );
                Ok(0)
            }
            Mode::Execute => self.execute(),
        }
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
    /// whether the rollback was complete. The result is the exit code of
    /// the last interactive step (`attach`), or 0.
    pub fn execute(&self) -> Result<i32> {
        catch_interrupts();
        let mut code = 0;
        let mut journal: Vec<&[Step]> = Vec::new();
        for planned in &self.steps {
            let result = if INTERRUPTED.load(Ordering::SeqCst) {
                Err(interrupted())
            } else {
                planned
                    .step
                    .run_for_code()
                    .map(|c| code = c.unwrap_or(code))
            };
            // Ctrl-C at an interactive step (logs -f, attach) is the user's
            // way to end it: its exit code is the answer, not an error.
            if matches!(planned.step, Step::Interactive { .. }) && result.is_ok() {
                INTERRUPTED.store(false, Ordering::SeqCst);
            }
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
        Ok(code)
    }
}

impl Plan {
    /// Undoes this plan, which ran to its end, because what came after it
    /// failed with `err`: every step's undo in reverse order, reported in
    /// `err` as `execute` reports its own rollback.
    pub fn undo_after(&self, err: Error) -> Error {
        let journal: Vec<&[Step]> = self.steps.iter().map(|p| p.undo.as_slice()).collect();
        let undid_something = journal.iter().any(|u| !u.is_empty());
        if !undid_something {
            return err;
        }
        let leftovers = rollback(&journal);
        // The failed plan may have said it rolled back already: say it once.
        let mut err = err;
        err.message = err.message.replace(ROLLED_BACK, "");
        with_rollback_report(err, true, leftovers)
    }
}

const ROLLED_BACK: &str = "\n(rolled back: what was created before the failure has been removed)";

/// Set by SIGINT/SIGTERM while a plan runs (see `catch_interrupts`).
static INTERRUPTED: std::sync::LazyLock<Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// From here on, Ctrl-C or SIGTERM stops the plan at the next step and rolls
/// back, instead of killing clauderon halfway and leaving a half-made session.
fn catch_interrupts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registering fails only for signals that cannot be caught.
            let _ = signal_hook::flag::register(signal, Arc::clone(&INTERRUPTED));
        }
    });
}

fn interrupted() -> Error {
    Error::new(crate::error::ErrorKind::Interrupted, "interrupted")
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
            report.push_str(ROLLED_BACK);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Cmd, Failure};

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
