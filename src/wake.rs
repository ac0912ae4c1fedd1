//! Waking when a session's event log changes: inotify (via rustix) on the
//! home's session directories, where the daemon appends each hook event.
//! `list --watch` and the daemon's notifications look again on a change,
//! never sooner than `MIN_INTERVAL` after their last look, and at least
//! every `MAX_INTERVAL` for the containers' states, which no file shows.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

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
        let wake = EventWake {
            inotify: inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok(),
        };
        // The sessions directory may not exist yet.
        wake.add_watch(&home.root, WatchFlags::CREATE);
        wake
    }

    /// Watches the sessions directory and every session's directory (new
    /// ones appear between looks; watching a path twice is a no-op).
    pub fn watch_sessions(&self, home: &Home) {
        let dir = home.sessions_dir();
        self.add_watch(
            &dir,
            WatchFlags::CREATE | WatchFlags::DELETE | WatchFlags::MOVED_TO,
        );
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let mask =
                WatchFlags::MODIFY | WatchFlags::CREATE | WatchFlags::MOVED_TO | WatchFlags::DELETE;
            self.add_watch(&entry.path(), mask);
        }
    }

    fn add_watch(&self, path: &Path, mask: WatchFlags) {
        if let Some(fd) = &self.inotify {
            // A directory that is not there (yet) is looked at by the interval.
            let _ = inotify::add_watch(fd, path, mask | WatchFlags::ONLYDIR);
        }
    }

    /// The fd to poll for a change (None without inotify).
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.inotify.as_ref().map(|f| f.as_fd())
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
        while rustix::io::read(fd, &mut buf).is_ok_and(|n| n > 0) {}
    }

    /// Blocks until the next look is due.
    pub fn wait(&self, looked: Instant) {
        let mut changed = false;
        while let Some(left) = self
            .due(looked, changed)
            .checked_duration_since(Instant::now())
        {
            if poll([self.fd()], left)[0] {
                self.drain();
                changed = true;
            }
        }
    }
}

/// Polls fds (None ones are left out) for at most `timeout`; which are
/// readable (or hung up).
pub fn poll<const N: usize>(fds: [Option<BorrowedFd<'_>>; N], timeout: Duration) -> [bool; N] {
    let mut entries: Vec<PollFd<'_>> = fds
        .iter()
        .flatten()
        .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
        .collect();
    let timeout = Timespec::try_from(timeout.max(Duration::from_millis(1))).ok();
    let n = rustix::event::poll(&mut entries, timeout.as_ref()).unwrap_or(0);
    let mut answers = entries
        .iter()
        .map(|p| n > 0 && p.revents().intersects(PollFlags::IN | PollFlags::HUP));
    fds.map(|fd| fd.is_some() && answers.next().unwrap_or(false))
}
