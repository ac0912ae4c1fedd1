//! Waking when a session's event log changes: inotify (via libc) on the
//! home's session directories, where the daemon appends each hook event.
//! `list --watch` and the daemon's notifications look again on a change,
//! never sooner than `MIN_INTERVAL` after their last look, and at least
//! every `MAX_INTERVAL` for the containers' states, which no file shows.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::store::Home;

/// The fastest a watcher looks again.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest it waits for an event log to change before it looks anyway.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3);

pub struct EventWake {
    /// None where inotify is not available: then every look is `MIN_INTERVAL` apart.
    inotify: Option<OwnedFd>,
}

impl EventWake {
    pub fn open(home: &Home) -> EventWake {
        // SAFETY: inotify_init1 takes flags only; the fd is owned from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        let wake = EventWake {
            // SAFETY: a new fd nothing else owns.
            inotify: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
        };
        // The sessions directory may not exist yet.
        wake.add_watch(&home.root, libc::IN_CREATE);
        wake
    }

    /// Watches the sessions directory and every session's directory (new
    /// ones appear between looks; watching a path twice is a no-op).
    pub fn watch_sessions(&self, home: &Home) {
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

    /// The fd to poll for a change (-1, which poll ignores, without inotify).
    pub fn raw_fd(&self) -> i32 {
        self.inotify.as_ref().map_or(-1, |f| f.as_raw_fd())
    }

    /// When the next look is due, given whether an event log changed.
    pub fn due(&self, looked: Instant, changed: bool) -> Instant {
        let soon = changed || self.inotify.is_none();
        looked + if soon { MIN_INTERVAL } else { MAX_INTERVAL }
    }

    /// Empties inotify's queue (its contents do not matter: a look follows).
    pub fn drain(&self) {
        let Some(fd) = &self.inotify else { return };
        let mut buf = [0u8; 4096];
        // SAFETY: a non-blocking fd we own, read into a buffer we own.
        while unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }

    /// Blocks until the next look is due.
    pub fn wait(&self, looked: Instant) {
        let mut changed = false;
        while let Some(left) = self
            .due(looked, changed)
            .checked_duration_since(Instant::now())
        {
            if poll(&[self.raw_fd()], left)[0] {
                self.drain();
                changed = true;
            }
        }
    }
}

/// Polls fds (negative ones are ignored) for at most `timeout`; which are
/// readable (or hung up).
pub fn poll<const N: usize>(fds: &[i32; N], timeout: Duration) -> [bool; N] {
    let mut polled = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: N pollfds we own.
    let n = unsafe { libc::poll(polled.as_mut_ptr(), N as libc::nfds_t, ms) };
    polled.map(|p| n > 0 && p.revents & (libc::POLLIN | libc::POLLHUP) != 0)
}
