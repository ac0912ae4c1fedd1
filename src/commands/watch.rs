//! `clauderon list --watch`: the list, redrawn when it changes. It looks
//! once a second (the event logs and one `ps` per engine in use), clears
//! and redraws with plain ANSI (fine over SSH; no alternate screen), and
//! quits on `q` or Ctrl-C. Without a terminal, and with `--json` (one line
//! per change), it prints only what changed.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::attention;
use crate::commands::Ctx;
use crate::commands::list;
use crate::error::Result;
use crate::session;

/// The fastest the watch looks again.
pub const INTERVAL: Duration = Duration::from_secs(1);

pub fn run(ctx: &Ctx, json: bool) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let keys = Keys::open();
    let redraw = std::io::stdout().is_terminal() && !json;
    let mut shown = String::new();
    let mut before: Option<attention::Snapshot> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some((rows, snap)) = attention::look(ctx) else {
            std::thread::sleep(INTERVAL);
            continue;
        };
        let text = if json {
            json_line(&rows)
        } else if rows.is_empty() {
            "No sessions.\n".to_string()
        } else {
            list::table(&rows, session::now())
        };
        // Never inside the JSON stream.
        let ring = ctx.config.notify.bell
            && !json
            && before
                .as_ref()
                .is_some_and(|b| !attention::transitions(b, &snap).is_empty());
        // The engine's "Up 5 seconds" changes every second: not a change.
        let key = if json {
            changes_of(&rows)
        } else {
            text.clone()
        };
        if (key != shown || ring) && !show(&text, redraw, ring) {
            // The reader went away (a closed pipe): nothing more to show.
            break;
        }
        shown = key;
        before = Some(snap);
        if keys.quit_within(INTERVAL, &stop) {
            break;
        }
    }
    Ok(())
}

fn json_line(rows: &[list::Row]) -> String {
    serde_json::to_string(rows).expect("rows serialize")
}

/// The rows without the engine's status text, to tell a change from time passing.
fn changes_of(rows: &[list::Row]) -> String {
    let mut v = serde_json::to_value(rows).expect("rows serialize");
    for row in v.as_array_mut().into_iter().flatten() {
        if row["state"] == "running" {
            row["status"] = serde_json::Value::Null;
        }
    }
    v.to_string()
}

/// Prints the list; false if stdout is gone.
fn show(text: &str, redraw: bool, ring: bool) -> bool {
    let mut out = std::io::stdout().lock();
    let bell = if ring { "\x07" } else { "" };
    let result = if redraw {
        // Home, clear the screen; \r\n as the terminal's output processing is left on.
        writeln!(out, "{bell}\x1b[H\x1b[2J{text}(q or Ctrl-C quits)")
    } else {
        // A JSON line; a table, then a blank line between tables.
        writeln!(out, "{bell}{text}")
    };
    result.and_then(|()| out.flush()).is_ok()
}

/// The keyboard, when stdin is a terminal: read key by key, without echo
/// and with Ctrl-C as a key (so the terminal is always put back).
struct Keys {
    saved: Option<libc::termios>,
}

impl Keys {
    fn open() -> Keys {
        if !std::io::stdin().is_terminal() {
            return Keys { saved: None };
        }
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return Keys { saved: None };
            }
            let saved = t;
            t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            Keys { saved: Some(saved) }
        }
    }

    /// Waits up to `wait`; true if `q` or Ctrl-C was pressed (or a signal came).
    fn quit_within(&self, wait: Duration, stop: &AtomicBool) -> bool {
        if self.saved.is_none() {
            std::thread::sleep(wait);
            return stop.load(Ordering::Relaxed);
        }
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own; read into a buffer we own.
        let ready = unsafe { libc::poll(&mut fd, 1, wait.as_millis() as i32) };
        if ready <= 0 {
            return stop.load(Ordering::Relaxed);
        }
        let mut buf = [0u8; 64];
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            // The terminal hung up.
            return true;
        }
        let keys = &buf[..n.max(0) as usize];
        keys.iter().any(|k| matches!(k, b'q' | b'Q' | 3)) || stop.load(Ordering::Relaxed)
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores the settings read in `open`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}
