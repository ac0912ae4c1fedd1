//! What `list --watch` waits on between looks: the keyboard (when stdin is
//! a terminal: key by key, no echo, Ctrl-C as a key, so the terminal is
//! always put back) and inotify on the home's session directories, where
//! the daemon appends each hook event.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{ENGINE_INTERVAL, INTERVAL};
use crate::store::Home;

pub(super) struct Input {
    /// The terminal's settings before ours, restored on drop.
    saved: Option<libc::termios>,
    /// None where inotify is not available: then the watch looks every second.
    inotify: Option<OwnedFd>,
}

impl Input {
    pub(super) fn open(home: &Home) -> Input {
        // SAFETY: inotify_init1 takes flags only; the fd is owned from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        let inotify = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) });
        let input = Input {
            saved: raw_terminal(),
            inotify,
        };
        input.add_watch(&home.root, libc::IN_CREATE);
        input
    }

    /// Watches the sessions directory and every session's directory (new
    /// ones appear between looks; watching a path twice is a no-op).
    pub(super) fn watch_sessions(&self, home: &Home) {
        let dir = home.sessions_dir();
        self.add_watch(&dir, libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVED_TO);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let mask = libc::IN_MODIFY | libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_DELETE;
            self.add_watch(&entry.path(), mask);
        }
    }

    fn add_watch(&self, path: &Path, mask: u32) {
        let (Some(fd), Ok(c)) = (&self.inotify, CString::new(path.as_os_str().as_bytes())) else {
            return;
        };
        // SAFETY: a valid fd and a NUL-terminated path.
        unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask | libc::IN_ONLYDIR) };
    }

    /// Waits until the next look is due: a second after `looked` if an
    /// event log changed meanwhile, else `ENGINE_INTERVAL` after it (every
    /// second without inotify). True if `q` or Ctrl-C was pressed, the
    /// terminal hung up, or a signal asked to stop.
    pub(super) fn quit_before_next_look(&mut self, looked: Instant, stop: &AtomicBool) -> bool {
        let mut changed = self.inotify.is_none();
        loop {
            if stop.load(Ordering::Relaxed) {
                return true;
            }
            let due = looked + if changed { INTERVAL } else { ENGINE_INTERVAL };
            let Some(left) = due.checked_duration_since(Instant::now()) else {
                return false;
            };
            let (key, wake) = self.poll(left.as_millis().max(1) as i32);
            if key && self.read_quit() {
                return true;
            }
            if wake {
                self.drain();
                changed = true;
            }
        }
    }

    /// Polls the terminal and inotify; which of them is readable.
    fn poll(&self, timeout_ms: i32) -> (bool, bool) {
        let key_fd = if self.saved.is_some() { 0 } else { -1 };
        let wake_fd = self.inotify.as_ref().map_or(-1, |f| f.as_raw_fd());
        let mut fds = [key_fd, wake_fd].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: two pollfds we own (a negative fd is ignored by poll).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if n <= 0 {
            return (false, false);
        }
        let ready = |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLHUP) != 0;
        (ready(&fds[0]), ready(&fds[1]))
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

    /// Empties inotify's queue (its contents do not matter: a look follows).
    fn drain(&self) {
        let Some(fd) = &self.inotify else { return };
        let mut buf = [0u8; 4096];
        // SAFETY: a non-blocking fd we own, read into a buffer we own.
        while unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
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
