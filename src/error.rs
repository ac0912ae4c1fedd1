//! One error type for the whole tool. Every error is written for the user:
//! what went wrong, and (where there is one) the command or change that fixes it.

use std::fmt;

#[derive(Debug)]
pub struct Error {
    pub message: String,
    pub fix: Option<String>,
    /// Process exit code: 1 for failures, 2 for bad input.
    pub code: i32,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Something failed while doing the work.
    pub fn failed(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            fix: None,
            code: 1,
        }
    }

    /// The user asked for something that cannot be done as asked.
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            fix: None,
            code: 2,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Adds context in front of the message, keeping the fix.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Error::failed(format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
