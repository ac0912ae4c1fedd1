//! Running external programs (docker, podman, git) from argv vectors.
//!
//! A `Cmd` is data: it can be shown (shell-quoted, secrets redacted) or run.
//! Nothing here builds shell strings; quoting exists for display only.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A value passed to a child process through its environment.
#[derive(Clone, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    /// Never printed: shown as `KEY="$KEY"` in dry-run output and errors.
    Secret(String),
    /// Taken out of what the child inherits from us (shown as `env -u KEY`).
    Unset,
}

/// `{:?}` of a plan or a step never shows a secret either.
impl std::fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvValue::Plain(v) => f.debug_tuple("Plain").field(v).finish(),
            EnvValue::Secret(_) => f.write_str("Secret(<redacted>)"),
            EnvValue::Unset => f.write_str("Unset"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub argv: Vec<String>,
    /// Extra environment for the child (on top of ours).
    pub env: Vec<(String, EnvValue)>,
    /// Copy the child's stderr to ours while it runs (pull progress, git messages).
    pub live_stderr: bool,
    /// Run once more, after a short pause, if a failure's stderr has this
    /// (a known transient engine error).
    pub retry_on: Option<&'static str>,
    /// Bytes written to the child's stdin (manifests for `kubectl apply -f -`).
    pub stdin: Option<Stdin>,
    /// Killed, and failed as timed out, when it runs longer than this.
    pub time_limit: Option<std::time::Duration>,
}

/// What a command reads on stdin, and how a dry run shows it: secrets are
/// replaced in `shown`, never in `bytes`.
#[derive(Clone, PartialEq, Eq)]
pub struct Stdin {
    pub bytes: Vec<u8>,
    pub shown: String,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `-v/--verbose`: every command is printed to stderr as it runs.
pub static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// A command that ran and failed (or could not start).
#[derive(Debug)]
pub struct Failure {
    pub shown: String,
    /// The program and its subcommand, e.g. `docker create`, for short messages.
    pub short: String,
    pub code: Option<i32>,
    pub stderr: String,
    pub not_found: bool,
    /// stderr was already copied to ours as the command ran (`Cmd::live`):
    /// an error need not repeat it.
    pub live: bool,
}

impl Cmd {
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            live_stderr: false,
            retry_on: None,
            stdin: None,
            time_limit: None,
        }
    }

    /// Kills the command if it runs longer than `limit` (a call that must
    /// not stall its caller, such as one through a half-answering cluster).
    pub fn time_limit(mut self, limit: std::time::Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// Feeds `bytes` to the command's stdin; a dry run prints `shown`.
    pub fn stdin(mut self, bytes: Vec<u8>, shown: String) -> Self {
        self.stdin = Some(Stdin { bytes, shown });
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.argv.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn secret_env(mut self, key: &str, value: &str) -> Self {
        self.env
            .push((key.to_string(), EnvValue::Secret(value.to_string())));
        self
    }

    /// The child does not inherit these variables from us (a value given
    /// with `secret_env` afterwards still reaches it).
    pub fn without_env(mut self, keys: &[String]) -> Self {
        self.env
            .extend(keys.iter().map(|k| (k.clone(), EnvValue::Unset)));
        self
    }

    pub fn retry_once_on(mut self, marker: &'static str) -> Self {
        self.retry_on = Some(marker);
        self
    }

    pub fn live(mut self) -> Self {
        self.live_stderr = true;
        self
    }

    /// The command as a user could paste it into a POSIX shell.
    pub fn shown(&self) -> String {
        let unset: Vec<String> = self
            .env
            .iter()
            .filter(|(_, v)| *v == EnvValue::Unset)
            .map(|(k, _)| format!("-u {k}"))
            .collect();
        let mut parts = match unset.is_empty() {
            true => vec![],
            false => vec![format!("env {}", unset.join(" "))],
        };
        parts.extend(self.env.iter().filter_map(|(k, v)| match v {
            EnvValue::Plain(v) => Some(format!("{k}={}", shell_words::quote(v))),
            // Pasteable: the value comes from the user's own environment.
            EnvValue::Secret(_) => Some(format!("{k}=\"${k}\"")),
            EnvValue::Unset => None,
        }));
        parts.push(shell_words::join(&self.argv));
        parts.join(" ")
    }

    /// `docker create`, `git worktree`, `docker-compose up`: the program and
    /// its subcommand.
    pub fn short(&self) -> String {
        let mut words = vec![self.argv[0].as_str()];
        let mut rest = self.argv[1..].iter();
        while let Some(a) = rest.next() {
            // Options that take a value (git's; compose's project and files).
            if matches!(a.as_str(), "-C" | "-c" | "--project-name" | "--file") {
                rest.next();
            } else if !a.starts_with('-') {
                words.push(a);
                break;
            }
        }
        words.join(" ")
    }

    fn command(&self) -> Command {
        if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
            // Shown as in a dry run: shell-quoted, secrets as "$NAME".
            eprintln!("+ {}", self.shown());
        }
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]);
        for (k, v) in &self.env {
            match v {
                EnvValue::Plain(v) | EnvValue::Secret(v) => cmd.env(k, v),
                EnvValue::Unset => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Runs the command in `dir`.
    pub fn run_in(&self, dir: &std::path::Path) -> Result<Output, Failure> {
        self.run_with(|c| {
            c.current_dir(dir);
        })
    }

    /// Runs the command with no stdin, capturing stdout and stderr.
    pub fn run(&self) -> Result<Output, Failure> {
        match self.run_with(|_| {}) {
            Err(f) if self.retry_on.is_some_and(|m| f.stderr.contains(m)) => {
                std::thread::sleep(std::time::Duration::from_millis(500));
                self.run_with(|_| {})
            }
            other => other,
        }
    }

    fn run_with(&self, adjust: impl FnOnce(&mut Command)) -> Result<Output, Failure> {
        let mut command = self.command();
        adjust(&mut command);
        let stdin = if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let spawned = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = spawned.map_err(|err| {
            let not_found = err.kind() == std::io::ErrorKind::NotFound;
            self.failure(None, err.to_string(), not_found)
        })?;
        let in_thread = feed_stdin(child.stdin.take(), self.stdin.as_ref());
        let err_thread = read_stderr(
            child.stderr.take().expect("stderr is piped"),
            self.live_stderr,
        );
        let watchdog = self
            .time_limit
            .map(|limit| Watchdog::start(child.id(), limit));
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_end(&mut stdout);
        }
        // Before the child is reaped, so its pid cannot be another's yet.
        let timed_out = watchdog.is_some_and(Watchdog::finish);
        let status = child.wait();
        if let Some(t) = in_thread {
            let _ = t.join();
        }
        let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
        let stdout = String::from_utf8_lossy(&stdout).into_owned();
        if let (true, Some(limit)) = (timed_out, self.time_limit) {
            return Err(self.failure(
                None,
                format!("timed out after {} s (killed)\n{stderr}", limit.as_secs()),
                false,
            ));
        }
        match status {
            Ok(status) if status.success() => Ok(Output { stdout, stderr }),
            Ok(status) => Err(self.failure(status.code(), stderr, false)),
            Err(err) => Err(self.failure(None, err.to_string(), false)),
        }
    }

    fn failure(&self, code: Option<i32>, stderr: String, not_found: bool) -> Failure {
        Failure {
            shown: self.shown(),
            short: self.short(),
            code,
            stderr,
            not_found,
            live: self.live_stderr,
        }
    }

    /// Runs the command to its end and returns its exit code and stdout
    /// whatever the code (`git merge-tree` lists conflicts with exit 1).
    pub fn run_any(&self) -> Result<(Option<i32>, String), Failure> {
        let out = self
            .command()
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|err| {
                let not_found = err.kind() == std::io::ErrorKind::NotFound;
                self.failure(None, err.to_string(), not_found)
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Ok((out.status.code(), stdout))
    }

    /// Runs the command attached to our terminal (attach, logs -f) and
    /// returns its exit code.
    pub fn run_interactive(&self) -> Result<i32> {
        let status = self.command().status().map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::failed(format!("`{}` is not installed", self.argv[0]))
            } else {
                Error::io(format!("could not run `{}`", self.shown()), err)
            }
        })?;
        Ok(status.code().unwrap_or(1))
    }
}

/// Writes the command's input on its own thread (a child that exits
/// without reading it all is no error here).
fn feed_stdin(
    pipe: Option<std::process::ChildStdin>,
    input: Option<&Stdin>,
) -> Option<std::thread::JoinHandle<()>> {
    let (mut pipe, bytes) = (pipe?, input?.bytes.clone());
    Some(std::thread::spawn(move || {
        let _ = pipe.write_all(&bytes);
    }))
}

/// docker's "Run 'docker run --help' for more information" (and the blank
/// line before it) say nothing to a clauderon user: left out of what is shown.
fn is_help_hint(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("Run '") && line.ends_with("for more information")
}

fn without_help_hint(chunk: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(chunk) else {
        return chunk.into();
    };
    if !text.lines().any(is_help_hint) {
        return chunk.into();
    }
    let kept: String = text
        .split_inclusive('\n')
        .filter(|l| !is_help_hint(l) && !l.trim().is_empty())
        .collect();
    kept.into_bytes().into()
}

/// Reads stderr on its own thread so a chatty child cannot block on a full
/// pipe; with `live`, copies it to ours as it comes.
fn read_stderr(
    mut pipe: std::process::ChildStderr,
    live: bool,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            if live {
                let _ = std::io::stderr().write_all(&without_help_hint(&buf[..n]));
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    })
}

impl Failure {
    /// The last few meaningful lines of stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !is_help_hint(l))
            .collect();
        let start = lines.len().saturating_sub(4);
        lines[start..].join("\n")
    }

    /// A generic error for a failed command: the command and what it said.
    pub fn into_error(self) -> Error {
        if self.not_found {
            let program = self
                .shown
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            return Error::unavailable(format!("`{program}` is not installed or not in PATH"))
                .with_fix(format!("install {program} and make sure it is in PATH"));
        }
        let code = self
            .code
            .map(|c| format!("exit code {c}"))
            .unwrap_or_else(|| "killed by a signal".to_string());
        Error::new(
            crate::error::ErrorKind::EngineFailed,
            format!("`{}` failed ({code}): {}", self.short, self.stderr_tail()),
        )
    }
}

/// Kills a child (SIGKILL) that outlives its time limit, unless told first
/// that it has finished.
struct Watchdog {
    done: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    fn start(pid: u32, limit: std::time::Duration) -> Watchdog {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let late = matches!(
                finished.recv_timeout(limit),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            );
            if late {
                // Our own child, not yet reaped: the pid is still its own.
                if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            late
        });
        Watchdog { done, thread }
    }

    /// Whether the child had to be killed.
    fn finish(self) -> bool {
        let _ = self.done.send(());
        self.thread.join().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests;
