//! One error type for the whole tool. Every error is written for the user:
//! what went wrong, and (where there is one) the command or change that fixes it.
//! Its `kind` is what callers branch on: one table (`ErrorKind::exit_code`,
//! `ErrorKind::http_status`) turns it into the CLI's exit code and the HTTP
//! API's status, so nothing ever matches the message's words.

use std::fmt;

/// What kind of failure an error is. The CLI's exit code and the API's
/// HTTP status follow from it alone (see `TABLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A flag, a field, a name, a value or config.toml is not valid.
    BadInput,
    /// The session (job, image, message) named does not exist.
    NotFound,
    /// The name, branch or path asked for is already taken.
    Conflict,
    /// Another command is changing the same thing right now.
    Locked,
    /// A rule refuses it: the image allowlist, the mount roots, isolation.
    Refused,
    /// No token, or the wrong one (HTTP API).
    Unauthorized,
    /// As many runs as allowed are running (HTTP API).
    Busy,
    /// The request body is larger than the API reads.
    TooLarge,
    /// The body did not arrive in time (HTTP API).
    SlowRequest,
    /// The route does not take this method (HTTP API).
    MethodNotAllowed,
    /// The engine (or git, kubectl) is not installed, not running or not reachable.
    EngineUnavailable,
    /// The engine, git or the cluster ran and failed.
    EngineFailed,
    /// Something clauderon itself does (a file, the daemon) failed.
    Failed,
    /// It did not finish in time.
    Timeout,
    /// Ctrl-C or SIGTERM: what was done is rolled back.
    Interrupted,
    /// A command the user gave (an on-create command) failed with this exit
    /// code, which clauderon exits with.
    CommandFailed(u8),
}

/// Each kind's exit code and HTTP status, in one place.
/// (`CommandFailed` passes its own exit code through.)
const TABLE: &[(ErrorKind, i32, u16)] = &[
    (ErrorKind::BadInput, 2, 400),
    (ErrorKind::NotFound, 2, 404),
    (ErrorKind::Conflict, 2, 409),
    (ErrorKind::Locked, 1, 409),
    (ErrorKind::Refused, 2, 403),
    (ErrorKind::Unauthorized, 2, 401),
    (ErrorKind::Busy, 1, 429),
    (ErrorKind::TooLarge, 2, 413),
    (ErrorKind::SlowRequest, 2, 408),
    (ErrorKind::MethodNotAllowed, 2, 405),
    (ErrorKind::EngineUnavailable, 1, 503),
    (ErrorKind::EngineFailed, 1, 502),
    (ErrorKind::Failed, 1, 502),
    (ErrorKind::Timeout, 1, 504),
    (ErrorKind::Interrupted, 130, 503),
    (ErrorKind::CommandFailed(1), 1, 502),
];

impl ErrorKind {
    fn row(self) -> (i32, u16) {
        let key = match self {
            ErrorKind::CommandFailed(_) => ErrorKind::CommandFailed(1),
            other => other,
        };
        TABLE
            .iter()
            .find(|(kind, _, _)| *kind == key)
            .map(|&(_, code, status)| (code, status))
            .unwrap_or((1, 502))
    }

    /// The process exit code: 1 failures, 2 bad input, 130 interrupted.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::CommandFailed(code) if code > 0 => i32::from(code),
            kind => kind.row().0,
        }
    }

    /// The HTTP status the API answers with. A failure of the engine or of
    /// a command is a 502 (a 500 would mean clauderon itself broke).
    pub fn http_status(self) -> u16 {
        self.row().1
    }

    /// The kind's name in JSON answers (`"kind": "not_found"`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadInput => "bad_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Locked => "locked",
            ErrorKind::Refused => "refused",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Busy => "busy",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::SlowRequest => "slow_request",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::EngineUnavailable => "engine_unavailable",
            ErrorKind::EngineFailed => "engine_failed",
            ErrorKind::Failed => "failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::CommandFailed(_) => "command_failed",
        }
    }

    /// The kind a name stands for (an API child's answer); an unknown
    /// name is a plain failure.
    pub fn from_name(name: &str) -> ErrorKind {
        TABLE
            .iter()
            .map(|(kind, _, _)| *kind)
            .find(|kind| kind.name() == name)
            .unwrap_or(ErrorKind::Failed)
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub fix: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            fix: None,
        }
    }

    /// Something failed while doing the work.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Failed, message)
    }

    /// The user asked for something that cannot be done as asked.
    pub fn input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadInput, message)
    }

    /// The session (or other thing) named does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    /// The name (branch, path) is already taken.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Conflict, message)
    }

    /// A rule (allowlist, mount roots, isolation) refuses it.
    pub fn refused(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Refused, message)
    }

    /// The engine is not there or not running.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::EngineUnavailable, message)
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds context in front of the message, keeping the fix and kind.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Error::failed(format!("{what}: {err}"))
    }

    /// The process exit code (from the kind).
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// The error as the API (and an API child) gives it:
    /// `{"error", "kind", "fix"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.message,
            "kind": self.kind.name(),
            "fix": self.fix,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_the_documented_exit_codes() {
        for (kind, _, _) in TABLE {
            assert_eq!(TABLE.iter().filter(|(k, _, _)| k == kind).count(), 1);
        }
        assert_eq!(Error::failed("x").exit_code(), 1);
        assert_eq!(Error::input("x").exit_code(), 2);
        assert_eq!(Error::not_found("x").exit_code(), 2);
        assert_eq!(ErrorKind::Interrupted.exit_code(), 130);
        assert_eq!(ErrorKind::CommandFailed(7).exit_code(), 7);
        assert_eq!(ErrorKind::NotFound.http_status(), 404);
        assert_eq!(ErrorKind::Refused.http_status(), 403);
        assert_eq!(ErrorKind::EngineUnavailable.http_status(), 503);
        let json = Error::conflict("taken").with_fix("pick another").to_json();
        assert_eq!(json["kind"], "conflict");
        assert_eq!(json["fix"], "pick another");
    }
}
