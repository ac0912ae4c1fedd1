//! What `list --watch` waits on between looks: the keyboard (when stdin is
//! a terminal: key by key, no echo, Ctrl-C as a key, so the terminal is
//! always put back) and a change of an event log (see `wake`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::store::Home;
use crate::wake::{EventWake, poll};

pub(super) struct Input {
    /// The terminal's settings before ours, restored on drop.
    saved: Option<libc::termios>,
    pub(super) wake: EventWake,
}

impl Input {
    pub(super) fn open(home: &Home) -> Input {
        Input {
            saved: raw_terminal(),
            wake: EventWake::open(home),
        }
    }

    /// Waits until the next look is due (see `EventWake::due`). True if `q`
    /// or Ctrl-C was pressed, the terminal hung up, or a signal asked to stop.
    pub(super) fn quit_before_next_look(&mut self, looked: Instant, stop: &AtomicBool) -> bool {
        let key_fd = if self.saved.is_some() { 0 } else { -1 };
        let mut changed = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let due = self.wake.due(looked, changed);
            let Some(left) = due.checked_duration_since(Instant::now()) else {
                return false;
            };
            let [key, wake] = poll(&[key_fd, self.wake.raw_fd()], left);
            if key && self.read_quit() {
                return true;
            }
            if wake {
                self.wake.drain();
                changed = true;
            }
        }
    }

    /// Reads the keys typed; true for `q` or Ctrl-C, or a hung-up terminal.
    fn read_quit(&self) -> bool {
        let mut buf = [0u8; 64];
        // SAFETY: reads into a buffer we own.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            return true;
        }
        buf[..n.max(0) as usize]
            .iter()
            .any(|k| matches!(k, b'q' | b'Q' | 3))
    }
}

/// Stdin key by key, without echo, Ctrl-C a key; the settings before, or
/// None when stdin is not a terminal.
fn raw_terminal() -> Option<libc::termios> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
        t.c_cc[libc::VMIN] = 0;
        t.c_cc[libc::VTIME] = 0;
        libc::tcsetattr(0, libc::TCSANOW, &t);
        Some(saved)
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores the settings read in `raw_terminal`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}
