//! Plans: the ordered steps a command takes, printed by `--dry-run` or run
//! with rollback. Both paths walk the same `Plan`, so what is printed is
//! exactly what runs. This module holds the data only; `executor` prints
//! and runs it.

use crate::error::Error;
use crate::exec::Failure;

mod step;
pub use step::{Step, Tolerate, UploadSource, Verdict};
// Where callers found it before it became a leaf of its own.
pub use crate::atomic_write::write_atomic;

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
}

/// What a command does with its plan: run it, with rollback, or show it
/// (`--dry-run`). Made once from the flag and honoured by the executor
/// (`Plan::finish`), so a dry run prints the very plan a run would run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Execute,
    DryRun,
}

impl Mode {
    pub fn from_dry_run(dry_run: bool) -> Mode {
        if dry_run { Mode::DryRun } else { Mode::Execute }
    }

    pub fn is_dry_run(self) -> bool {
        self == Mode::DryRun
    }
}
