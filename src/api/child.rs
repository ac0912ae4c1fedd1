//! The API runs each request as the `clauderon` command a user would type,
//! so it goes through exactly the CLI's validation, plan and rollback. The
//! child's exit code and error line become the HTTP status and reason.

use std::path::Path;

use http::StatusCode;
use serde_json::{Value, json};

use crate::store::Home;

/// What a `clauderon` child printed, and how it ended.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `clauderon ARGS` for this home. `env` reaches the child through its
/// environment (values a request sends for `--env KEY`), never its argv.
/// A client that hangs up does not kill it: a create runs to its end or
/// rolls back, never stops halfway.
pub async fn run(home: &Home, args: &[String], env: &[(String, String)]) -> Finished {
    run_until(home, args, env, None).await
}

/// As `run`, but a child still running at `deadline` gets SIGTERM (a
/// create then rolls back) and its answer says it timed out.
pub async fn run_until(
    home: &Home,
    args: &[String],
    env: &[(String, String)],
    deadline: Option<tokio::time::Instant>,
) -> Finished {
    let nul = args
        .iter()
        .chain(env.iter().flat_map(|(k, v)| [k, v]))
        .any(|a| a.contains('\0'));
    if nul {
        return refused("a value in the request contains a NUL byte");
    }
    let exe = own_binary();
    let values: std::collections::BTreeMap<&str, &str> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(args)
        .env(
            crate::session::API_ENV,
            serde_json::to_string(&values).unwrap_or_default(),
        )
        .env("CLAUDERON_HOME", &home.root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed_to_start(e),
    };
    let pid = child.id();
    let mut waited = Box::pin(child.wait_with_output());
    let out = match deadline {
        None => waited.await,
        Some(at) => match tokio::time::timeout_at(at, &mut waited).await {
            Ok(out) => out,
            Err(_) => {
                if let Some(pid) = pid {
                    // SAFETY: kill(2) of our own child; touches no memory.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                }
                // Its rollback runs to the end before the caller goes on.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), &mut waited).await;
                return Finished {
                    code: Some(124),
                    stdout: String::new(),
                    stderr: "clauderon: error: timed out".into(),
                };
            }
        },
    };
    match out {
        Ok(out) => Finished {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Err(e) => failed_to_start(e),
    }
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
    Finished {
        code: None,
        stdout: String::new(),
        stderr: format!("clauderon: error: could not run clauderon: {e}"),
    }
}

/// Bad input found before any command runs (exit code 2: a 400).
fn refused(why: &str) -> Finished {
    Finished {
        code: Some(2),
        stdout: String::new(),
        stderr: format!("clauderon: error: {why}"),
    }
}

impl Finished {
    /// The JSON the child printed (its `--json` output).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.stdout).ok()
    }

    /// `clauderon: error: MESSAGE` and its `fix:` line.
    fn error(&self) -> (String, Option<String>) {
        let mut message = String::new();
        let mut fix = None;
        for line in self.stderr.lines() {
            if let Some(m) = line.strip_prefix("clauderon: error: ") {
                message = m.to_string();
            } else if let Some(f) = line.trim_start().strip_prefix("fix: ") {
                fix = Some(f.to_string());
            } else if !message.is_empty() && fix.is_none() && line.starts_with("  ") {
                message.push('\n');
                message.push_str(line.trim());
            }
        }
        if message.is_empty() {
            // clap's own errors ("error: invalid value ...") have no prefix.
            let clap = self.stderr.lines().find_map(|l| l.strip_prefix("error: "));
            message = clap.unwrap_or("the command failed").to_string();
        }
        (message, fix)
    }

    /// The status a failure maps to: bad input 400 (403 for the allowlist,
    /// 409 for a name in use, 404 for an unknown session), and an engine or
    /// git failure 502: a 500 would mean clauderon itself broke.
    pub fn failure(&self) -> (StatusCode, Value) {
        let (message, fix) = self.error();
        let has = |s: &str| message.contains(s);
        let status = if has("is not allowed: it matches none of the allowed patterns") {
            StatusCode::FORBIDDEN
        } else if has("no session named") || has("does not exist") {
            StatusCode::NOT_FOUND
        } else if has("already exists") || has("already in use") || has("is changing session") {
            StatusCode::CONFLICT
        } else if self.code == Some(2) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::BAD_GATEWAY
        };
        (status, json!({"error": message, "fix": fix}))
    }
}

/// The file a request body names must be absolute: the daemon's working
/// directory means nothing to the caller.
pub fn absolute(path: &str, field: &str) -> Result<(), String> {
    if Path::new(path).is_absolute() {
        Ok(())
    } else {
        Err(format!(
            "`{field}` must be an absolute path on the daemon's machine, not {path:?}"
        ))
    }
}
