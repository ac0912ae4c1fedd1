//! Running a credential rule's `command` source: bounded in time, its
//! stdout the secret, its failures explained in the daemon's log.

use std::time::{Duration, Instant};

/// A command's stdout, or None if it fails or outlives the timeout (then it
/// is killed). Why it failed goes to the daemon's log (its stderr tail, never
/// its stdout, which would be the secret).
pub fn run_with_timeout(argv: &[String], timeout: Duration) -> Option<String> {
    let program = argv.first()?;
    let say = |why: &str| eprintln!("clauderon daemon: credential command `{program}` {why}");
    let mut child = match std::process::Command::new(program)
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            say(&format!("could not start: {e}"));
            return None;
        }
    };
    let out = read_all(child.stdout.take()?);
    let err = read_all(child.stderr.take()?);
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return out.join().ok(),
            Ok(Some(status)) => {
                say(&format!(
                    "failed ({status}): {}",
                    tail(&err.join().unwrap_or_default())
                ));
                return None;
            }
            Err(e) => {
                say(&format!("could not be waited for: {e}"));
                return None;
            }
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                say(&format!(
                    "did not finish within {} s and was killed",
                    timeout.as_secs()
                ));
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
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
