//! Running a credential rule's `command` source: bounded in time, its
//! stdout the secret, its failures explained in the daemon's log.

use std::os::unix::process::CommandExt;
use std::sync::mpsc;
use std::time::Duration;

/// A command's stdout, or None if it fails or outlives the timeout (then it
/// and everything it started are killed). Why it failed goes to the
/// daemon's log (its stderr tail, never its stdout, which would be the
/// secret).
pub fn run_with_timeout(argv: &[String], timeout: Duration) -> Option<String> {
    let program = argv.first()?;
    let say = |why: &str| eprintln!("clauderon daemon: credential command `{program}` {why}");
    let mut child = match std::process::Command::new(program)
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so a timeout kills what it started too
        // (a grandchild holding the pipes would keep the reads waiting).
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            say(&format!("could not start: {e}"));
            return None;
        }
    };
    let pgid = rustix::process::Pid::from_raw(child.id() as i32)?;
    let out = read_all(child.stdout.take()?);
    let err = read_all(child.stderr.take()?);
    // The wait happens on a thread; this one waits for it, with a deadline
    // (no polling).
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    match finished.recv_timeout(timeout) {
        Ok(Ok(status)) if status.success() => out.join().ok(),
        Ok(Ok(status)) => {
            let stderr = err.join().unwrap_or_default();
            say(&format!("failed ({status}): {}", tail(&stderr)));
            None
        }
        Ok(Err(e)) => {
            say(&format!("could not be waited for: {e}"));
            None
        }
        Err(_) => {
            // Our child's process group (it leads it).
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            let secs = timeout.as_secs();
            say(&format!("did not finish within {secs} s and was killed"));
            None
        }
    }
}

/// Reads a pipe to its end on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// The last lines of a command's stderr, short, on one line.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let text = lines[lines.len().saturating_sub(3)..].join(" / ");
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_and_what_it_started_are_killed_at_the_timeout() {
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & echo secret; wait"]
            .map(String::from)
            .to_vec();
        let started = std::time::Instant::now();
        assert_eq!(run_with_timeout(&argv, Duration::from_millis(300)), None);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let ok: Vec<String> = ["sh", "-c", "echo secret"].map(String::from).to_vec();
        assert_eq!(
            run_with_timeout(&ok, Duration::from_secs(5)).as_deref(),
            Some("secret\n")
        );
    }
}
