//! The API runs each request as the `clauderon` command a user would type,
//! so it goes through exactly the CLI's validation, plan and rollback. It is
//! a child process, not a call in the daemon: a create that panics or is
//! killed cannot take the daemon (and its proxy) down, a timed-out create
//! gets SIGTERM and rolls back as Ctrl-C does, and a request's `env` values
//! reach it through its own environment only. The child answers in JSON on
//! stdout: its `--json` result, or on failure one line
//! `{"clauderon_error": {"kind", "error", "fix"}}` (see `answer_error`).
//! The parent takes the kind from there and never reads the child's stderr.

use std::io::Write;
use std::path::Path;

use http::StatusCode;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::store::Home;

/// Set in the environment of every child the API runs.
const CHILD_ENV: &str = "CLAUDERON_API_CHILD";
/// The key of a child's error answer.
const ERROR_KEY: &str = "clauderon_error";

/// Whether this process is a child of the HTTP API.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// In a child of the API: the error, typed, as the last line of stdout.
pub fn answer_error(err: &Error) {
    if is_child() {
        let line = serde_json::json!({ ERROR_KEY: err.to_json() });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// What a `clauderon` child printed, and how it ended.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    /// Set when the child did not succeed: its own typed answer, or why
    /// there is none (it could not start, timed out, or was killed).
    failure: Option<Error>,
}

/// Runs `clauderon ARGS` for this home. `env` reaches the child through its
/// environment (values a request sends for `--env KEY`), never its argv.
/// A client that hangs up does not kill it: a create runs to its end or
/// rolls back, never stops halfway.
pub async fn run(home: &Home, args: &[String], env: &[(String, String)]) -> Finished {
    run_until(home, args, env, None, None).await
}

/// As `run`, but a child still running at `deadline` gets SIGTERM (a
/// create then rolls back) and its answer says it timed out.
/// `input`: the child's standard input (a prompt given with
/// `--prompt-file=-`, so it is in no process list and has no size limit
/// of argv's); none is an empty one.
pub async fn run_until(
    home: &Home,
    args: &[String],
    env: &[(String, String)],
    input: Option<&str>,
    deadline: Option<tokio::time::Instant>,
) -> Finished {
    let nul = args
        .iter()
        .chain(env.iter().flat_map(|(k, v)| [k, v]))
        .any(|a| a.contains('\0'))
        || input.is_some_and(|i| i.contains('\0'));
    if nul {
        return refused("a value in the request contains a NUL byte");
    }
    let mut child = match child_command(home, args, env).spawn() {
        Ok(c) => c,
        Err(e) => return failed_to_start(e),
    };
    // Written beside the wait, so a child answering before it reads all of
    // it cannot stall both; closed at the end (EOF).
    if let Some(mut stdin) = child.stdin.take() {
        let bytes = input.unwrap_or_default().as_bytes().to_vec();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let _ = stdin.write_all(&bytes).await;
        });
    }
    let pid = child.id();
    let mut waited = Box::pin(child.wait_with_output());
    let out = match deadline {
        None => waited.await,
        Some(at) => match tokio::time::timeout_at(at, &mut waited).await {
            Ok(out) => out,
            Err(_) => {
                if let Some(pid) = pid {
                    use rustix::process::{Pid, Signal, kill_process};
                    if let Some(pid) = Pid::from_raw(pid as i32) {
                        // Gone already: its wait below returns at once.
                        let _ = kill_process(pid, Signal::TERM);
                    }
                }
                // Its rollback runs to the end before the caller goes on.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), &mut waited).await;
                return Finished {
                    code: Some(124),
                    stdout: String::new(),
                    failure: Some(Error::new(ErrorKind::Timeout, "timed out")),
                };
            }
        },
    };
    match out {
        Ok(out) => Finished::of(
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        Err(e) => failed_to_start(e),
    }
}

/// The child: this binary with the request's arguments, its values in
/// `API_ENV` (never in argv), the home, and stdin and stdout piped.
fn child_command(
    home: &Home,
    args: &[String],
    env: &[(String, String)],
) -> tokio::process::Command {
    let values: std::collections::BTreeMap<&str, &str> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut cmd = tokio::process::Command::new(own_binary());
    cmd.args(args)
        .env(
            crate::session::API_ENV,
            serde_json::to_string(&values).unwrap_or_default(),
        )
        .env("CLAUDERON_HOME", &home.root)
        .env(CHILD_ENV, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        // Its words are for people: the daemon's log, not the answer.
        .stderr(std::process::Stdio::inherit());
    cmd
}

/// This daemon's own binary. A `cargo install` (or a rebuild) while the
/// daemon runs replaces the file: its path then names a deleted inode
/// ("... (deleted)") and every request failed with ENOENT. /proc/self/exe
/// still opens the binary that runs, so the children match the daemon.
fn own_binary() -> std::path::PathBuf {
    match std::env::current_exe() {
        Ok(exe) if exe.exists() => exe,
        _ => "/proc/self/exe".into(),
    }
}

fn failed_to_start(e: std::io::Error) -> Finished {
    let why = format!("could not run clauderon: {e}");
    Finished {
        code: None,
        stdout: String::new(),
        failure: Some(Error::failed(why)),
    }
}

/// Bad input found before any command runs (a 400).
fn refused(why: &str) -> Finished {
    Finished {
        code: Some(2),
        stdout: String::new(),
        failure: Some(Error::input(why)),
    }
}

impl Finished {
    /// How a child ended: on failure, its typed answer (the last line of
    /// its stdout), or a failure that says it gave none.
    fn of(code: Option<i32>, stdout: String) -> Finished {
        if code == Some(0) {
            return Finished {
                code,
                stdout,
                failure: None,
            };
        }
        let typed = stdout.lines().rev().find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()?
                .get(ERROR_KEY)
                .cloned()
        });
        let failure = match typed {
            Some(e) => {
                let text = |k: &str| e[k].as_str().map(String::from);
                let mut err = Error::new(
                    ErrorKind::from_name(e["kind"].as_str().unwrap_or_default()),
                    text("error").unwrap_or_default(),
                );
                err.fix = text("fix");
                err
            }
            None => Error::failed(match code {
                Some(c) => format!("the command ended with exit code {c} and no answer"),
                None => "the command was killed by a signal".into(),
            }),
        };
        Finished {
            code,
            stdout,
            failure: Some(failure),
        }
    }

    /// The JSON the child printed (its `--json` output).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.stdout).ok()
    }

    /// Why it failed (None when it succeeded).
    pub fn error(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// Why it failed, taken out (None when it succeeded).
    pub fn into_error(self) -> Option<Error> {
        self.failure
    }

    /// The status and body a failure maps to: the kind's row of the
    /// table in `error.rs`.
    pub fn failure(&self) -> (StatusCode, Value) {
        let fallback = Error::failed("the command failed");
        let err = self.failure.as_ref().unwrap_or(&fallback);
        (super::status_of(err.kind), err.to_json())
    }
}

/// The file a request body names must be absolute: the daemon's working
/// directory means nothing to the caller.
pub fn absolute(path: &str, field: &str) -> Result<(), Error> {
    if Path::new(path).is_absolute() {
        Ok(())
    } else {
        Err(Error::input(format!(
            "`{field}` must be an absolute path on the daemon's machine, not {path:?}"
        )))
    }
}
