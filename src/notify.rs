//! `[notify]`: a program the daemon runs when a session starts needing
//! you (waiting for input or approval, ended, stopped). Its argv comes from
//! the config with placeholders replaced inside each argument, never
//! through a shell; it runs in a process group of its own, is killed
//! (the whole group) after a timeout, and its failure is only logged.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// `[notify]` in config.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// argv, e.g. ["notify-send", "clauderon", "{session}: {status}"].
    #[serde(default)]
    pub command: Vec<String>,
    /// `list --watch` rings the terminal bell on the same transitions.
    #[serde(default)]
    pub bell: bool,
    /// One notification per session and status within this many seconds.
    pub debounce_secs: Option<u64>,
    /// The command is killed after this many seconds.
    pub timeout_secs: Option<u64>,
}

pub const DEFAULT_DEBOUNCE_SECS: u64 = 5;
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The statuses worth telling someone about.
pub const ATTENTION: &[&str] = &["waiting-input", "waiting-approval", "ended", "stopped"];

impl NotifySection {
    /// The section, if its values are usable; else the key and why not.
    pub fn checked(self) -> std::result::Result<Self, (String, String)> {
        self.check().map(|()| self)
    }

    fn check(&self) -> std::result::Result<(), (String, String)> {
        if self.command.first().is_some_and(|p| p.trim().is_empty()) {
            return Err((
                "notify.command".into(),
                "the program (first element) is empty".into(),
            ));
        }
        if self.command.iter().any(|a| a.contains('\0')) {
            return Err(("notify.command".into(), "contains a NUL byte".into()));
        }
        if self.timeout_secs == Some(0) {
            return Err(("notify.timeout_secs".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    pub fn debounce(&self) -> Duration {
        Duration::from_secs(self.debounce_secs.unwrap_or(DEFAULT_DEBOUNCE_SECS))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS))
    }
}

/// A session entering a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub session: String,
    pub previous: Option<String>,
    pub status: String,
    pub backend: String,
    /// The prompt's first line (at most 100 characters).
    pub prompt: String,
}

/// The argv for one transition: `{session}`, `{status}`, `{previous}`,
/// `{backend}` and `{prompt}` replaced in one pass (a value that itself
/// holds `{status}` stays as it is).
pub fn argv(template: &[String], t: &Transition) -> Vec<String> {
    let previous = t.previous.as_deref().unwrap_or("-");
    let values = [
        ("{session}", t.session.as_str()),
        ("{status}", t.status.as_str()),
        ("{previous}", previous),
        ("{backend}", t.backend.as_str()),
        ("{prompt}", t.prompt.as_str()),
    ];
    template
        .iter()
        .map(|arg| {
            let mut out = String::new();
            let mut rest = arg.as_str();
            'scan: while !rest.is_empty() {
                for (key, value) in values {
                    if let Some(after) = rest.strip_prefix(key) {
                        out.push_str(value);
                        rest = after;
                        continue 'scan;
                    }
                }
                let c = rest.chars().next().expect("not empty");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
            out
        })
        .collect()
}

/// Remembers what was sent when, per session, to drop repeats.
#[derive(Default)]
pub struct Debouncer {
    last: HashMap<String, (String, Instant)>,
}

impl Debouncer {
    /// True if this transition should be announced now.
    pub fn admit(&mut self, t: &Transition, window: Duration, now: Instant) -> bool {
        if let Some((status, at)) = self.last.get(&t.session)
            && *status == t.status
            && now.duration_since(*at) < window
        {
            return false;
        }
        self.last.insert(t.session.clone(), (t.status.clone(), now));
        true
    }
}

/// Runs the command for one transition on a thread of its own; what
/// becomes of it goes to the daemon's log (stderr).
pub fn spawn(template: &[String], t: &Transition, timeout: Duration) {
    let args = argv(template, t);
    let what = format!("{} {}", t.session, t.status);
    std::thread::spawn(move || {
        if let Err(why) = run(&args, timeout) {
            eprintln!("clauderon daemon: notify command for {what} failed: {why}");
        }
    });
}

/// Runs argv with no stdin, in its own process group; kills the group
/// when it outlives `timeout`.
pub fn run(args: &[String], timeout: Duration) -> Result<(), String> {
    let (program, rest) = args.split_first().ok_or("no command")?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not run {program:?}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.by_ref().take(2000).read_to_string(&mut err);
                }
                return Err(format!("{program:?} exited with {status}: {}", err.trim()));
            }
            Ok(None) if Instant::now() >= deadline => {
                // The process group we made for the child (it leads it).
                if let Some(pgid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let kill = rustix::process::Signal::KILL;
                    let _ = rustix::process::kill_process_group(pgid, kill);
                }
                let _ = child.wait();
                return Err(format!(
                    "{program:?} took longer than {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("could not wait for {program:?}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(session: &str, status: &str, prompt: &str) -> Transition {
        Transition {
            session: session.into(),
            previous: Some("working".into()),
            status: status.into(),
            backend: "docker".into(),
            prompt: prompt.into(),
        }
    }

    #[test]
    fn placeholders_are_replaced_once_inside_arguments() {
        let template: Vec<String> = [
            "x",
            "{session}: {status}",
            "{prompt}",
            "{previous}{backend}{nope}",
        ]
        .map(String::from)
        .to_vec();
        let hostile = "$(touch /tmp/p) '\"{status}`id`";
        assert_eq!(
            argv(&template, &t("s1", "ended", hostile)),
            ["x", "s1: ended", hostile, "workingdocker{nope}"]
        );
    }

    #[test]
    fn repeats_within_the_window_are_dropped() {
        let mut d = Debouncer::default();
        let now = Instant::now();
        let w = Duration::from_secs(5);
        assert!(d.admit(&t("a", "ended", ""), w, now));
        assert!(!d.admit(&t("a", "ended", ""), w, now + Duration::from_secs(1)));
        assert!(d.admit(&t("b", "ended", ""), w, now));
        assert!(d.admit(&t("a", "stopped", ""), w, now + Duration::from_secs(2)));
        assert!(d.admit(&t("a", "ended", ""), w, now + Duration::from_secs(3)));
        assert!(d.admit(&t("a", "ended", ""), w, now + Duration::from_secs(9)));
    }

    #[test]
    fn a_slow_command_is_killed_with_its_group() {
        let args = ["sh", "-c", "sleep 30 & sleep 30"].map(String::from);
        let start = Instant::now();
        let e = run(&args, Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("killed"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(5));
        let e = run(&["false".to_string()], Duration::from_secs(5)).unwrap_err();
        assert!(e.contains("exited"), "{e}");
        assert!(run(&["/nonexistent/x".to_string()], Duration::from_secs(5)).is_err());
    }
}
