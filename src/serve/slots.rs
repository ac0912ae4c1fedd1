//! The capped connection slots of a listener (or of listeners that share a
//! cap), and which open connections are idle: no request being answered.
//! When every slot is taken, a new connection takes the slot of the
//! connection idle the longest (a client that connected and sends nothing,
//! or a keep-alive connection between requests), so idle clients cannot
//! starve the daemon; when none is idle, the newcomer gets a quick 503.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How long a newcomer waits for an evicted connection to free its slot.
/// Closing one takes microseconds when the daemon is idle, but 500 ms was
/// seen to run out on two loaded cores (a 503 with idle connections open);
/// the wait only happens when every slot is taken.
const EVICTION_WAIT: Duration = Duration::from_secs(2);

pub struct Slots {
    permits: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
    epoch: Instant,
}

/// One open connection as the slots see it.
pub struct Activity {
    id: u64,
    /// Requests whose answer (body included) is not finished.
    in_flight: AtomicUsize,
    /// Microseconds since the epoch when it last became idle.
    idle_since: AtomicU64,
    /// Told when its slot is taken by a newcomer.
    pub evicted: Notify,
}

impl Activity {
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }
}

/// Counts a request as in flight until it is dropped (with its body).
pub struct Busy {
    activity: Arc<Activity>,
    slots: Arc<Slots>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.slots.now_us();
        self.activity.idle_since.store(now, Ordering::SeqCst);
        self.activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body that keeps its request in flight until it is dropped;
/// it passes its size on, so a sized answer keeps its Content-Length.
pub struct BusyBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B> BusyBody<B> {
    pub fn new(inner: B, busy: Busy) -> BusyBody<B> {
        BusyBody { inner, _busy: busy }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for BusyBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Slots {
    pub fn new(capacity: usize) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(capacity)),
            open: Mutex::default(),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A free slot at once, if there is one.
    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.permits).try_acquire_owned().ok()
    }

    /// A slot for a newcomer when all are taken: the longest-idle
    /// connection is told to close, and its slot is waited for briefly.
    pub async fn take_from_idle(&self) -> Option<OwnedSemaphorePermit> {
        let oldest = self
            .open()
            .values()
            .filter(|a| a.is_idle())
            .min_by_key(|a| (a.idle_since.load(Ordering::SeqCst), a.id))
            .cloned();
        // Forgotten now, so the next newcomer picks another one.
        self.forget(oldest.as_ref()?);
        oldest?.evicted.notify_one();
        let permits = Arc::clone(&self.permits);
        tokio::time::timeout(EVICTION_WAIT, permits.acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// Registers a connection that holds a slot (idle until its first
    /// request).
    pub fn track(&self) -> Arc<Activity> {
        let activity = Arc::new(Activity {
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now_us()),
            evicted: Notify::new(),
        });
        self.open().insert(activity.id, Arc::clone(&activity));
        activity
    }

    pub fn forget(&self, activity: &Activity) {
        self.open().remove(&activity.id);
    }

    /// Marks a request of this connection in flight.
    pub fn busy(self: &Arc<Self>, activity: &Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy {
            activity: Arc::clone(activity),
            slots: Arc::clone(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_longest_idle_connection_gives_up_its_slot_and_a_busy_one_never() {
        let slots = Arc::new(Slots::new(2));
        let (p1, p2) = (slots.try_take().unwrap(), slots.try_take().unwrap());
        let (first, second) = (slots.track(), slots.track());
        assert!(slots.try_take().is_none());
        let busy = slots.busy(&first);
        // `first` is busy: `second` is the one told to go.
        let evicting = {
            let slots = Arc::clone(&slots);
            tokio::spawn(async move { slots.take_from_idle().await })
        };
        second.evicted.notified().await;
        drop(p2);
        assert!(evicting.await.unwrap().is_some());
        // Nothing is idle now (second was forgotten): no slot, quickly.
        assert!(slots.take_from_idle().await.is_none());
        drop(busy);
        assert!(first.is_idle());
        drop(p1);
    }
}
