//! What `list --watch` waits on between looks: the keyboard (when stdin is
//! a terminal: key by key, no echo, Ctrl-C as a key, so the terminal is
//! always put back) and a change of an event log (see `wake`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use std::os::fd::AsFd;

use crate::store::Home;
use crate::wake::{EventWake, poll};

pub(super) struct Input {
    /// The terminal's settings before ours, restored on drop.
    saved: Option<Termios>,
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
        let stdin = std::io::stdin();
        let key_fd = self.saved.is_some().then(|| stdin.as_fd());
        let mut changed = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let due = self.wake.due(looked, changed);
            let Some(left) = due.checked_duration_since(Instant::now()) else {
                return false;
            };
            let [key, wake] = poll([key_fd, self.wake.fd()], left);
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
        let n = match rustix::io::read(std::io::stdin(), &mut buf) {
            Ok(0) => return true,
            Ok(n) => n,
            Err(_) => 0,
        };
        buf[..n].iter().any(|k| matches!(k, b'q' | b'Q' | 3))
    }
}

/// Stdin key by key, without echo, Ctrl-C a key; the settings before, or
/// None when stdin is not a terminal.
fn raw_terminal() -> Option<Termios> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    let saved = rustix::termios::tcgetattr(&stdin).ok()?;
    let mut t = saved.clone();
    t.local_modes &= !(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
    t.special_codes[SpecialCodeIndex::VMIN] = 0;
    t.special_codes[SpecialCodeIndex::VTIME] = 0;
    let _ = rustix::termios::tcsetattr(&stdin, OptionalActions::Now, &t);
    Some(saved)
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), OptionalActions::Now, t);
        }
    }
}
