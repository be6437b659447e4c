//! Read timeouts for every connection of a server, from one coroutine.
//!
//! may can time out a read by itself, but then it arms a timer (a lock and an
//! allocation) on every read that waits, which is once per keep-alive request.
//! Instead a connection waits with `wait_io` and publishes its deadline in a
//! `Watch`; one coroutine per server ticks every `tick_ms`, advances a coarse
//! clock, and wakes the connections whose deadline passed. The coarse clock
//! also feeds the `Date` header, so answering a request reads no clock.
//!
//! Timeouts fire between `timeout_ms` and `timeout_ms + 2 * tick_ms` late,
//! never early.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use may::io::WaitIoWaker;

const NO_DEADLINE: u64 = u64::MAX;

/// Ticks are at least this far apart, so that the scan stays cheap.
const TICK_MS_MIN: u64 = 5;

/// Ticks are at most this far apart, so that `Date` lags by at most this.
const TICK_MS_MAX: u64 = 500;

pub(crate) struct Watchdog {
    started: Instant,
    tick_ms: u64,
    /// Milliseconds since `started`, as of the last tick.
    now_ms: AtomicU64,
    /// Seconds since 1970, as of the last tick, for `Date`.
    unix_seconds: AtomicU64,
    /// Never held across a wait: a scan or one insert or removal.
    registry: Mutex<Registry>,
}

/// Watches by slot; freed slots are reused, so the registry is as large as
/// the most connections open at once.
#[derive(Default)]
struct Registry {
    slots: Vec<Option<Arc<Watch>>>,
    free: Vec<usize>,
}

struct Watch {
    deadline_ms: AtomicU64,
    expired: AtomicBool,
    waker: WaitIoWaker,
}

/// A connection's registration; dropping it unregisters.
pub(crate) struct WatchGuard<'w> {
    watchdog: &'w Watchdog,
    slot: usize,
    watch: Arc<Watch>,
}

impl Watchdog {
    /// Ticks at an eighth of the read timeout, within [5, 500] ms.
    pub(crate) fn new(timeout_ms: u64) -> Watchdog {
        assert!(timeout_ms > 0);
        let watchdog = Watchdog {
            started: Instant::now(),
            tick_ms: (timeout_ms / 8).clamp(TICK_MS_MIN, TICK_MS_MAX),
            now_ms: AtomicU64::new(0),
            unix_seconds: AtomicU64::new(0),
            registry: Mutex::new(Registry::default()),
        };
        watchdog.advance_clocks();
        watchdog
    }

    pub(crate) fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Acquire)
    }

    pub(crate) fn unix_seconds(&self) -> u64 {
        self.unix_seconds.load(Ordering::Relaxed)
    }

    /// The deadline for a wait that may last `timeout_ms` from `since_ms`
    /// (a coarse time): one tick is added because `since_ms` may be a tick
    /// old, so the timeout never fires early.
    pub(crate) fn deadline_ms(&self, since_ms: u64, timeout_ms: u64) -> u64 {
        since_ms
            .saturating_add(timeout_ms)
            .saturating_add(self.tick_ms)
    }

    pub(crate) fn register(&self, waker: WaitIoWaker) -> WatchGuard<'_> {
        let watch = Arc::new(Watch {
            deadline_ms: AtomicU64::new(NO_DEADLINE),
            expired: AtomicBool::new(false),
            waker,
        });
        let mut registry = self.lock();
        let slot = match registry.free.pop() {
            Some(slot) => slot,
            None => {
                registry.slots.push(None);
                registry.slots.len() - 1
            }
        };
        assert!(registry.slots[slot].is_none());
        registry.slots[slot] = Some(Arc::clone(&watch));
        WatchGuard {
            watchdog: self,
            slot,
            watch,
        }
    }

    /// One tick: advance the clocks, then wake every connection whose
    /// deadline passed, or every connection at all when `expire_all` (the
    /// server is stopping: idle connections close at once).
    pub(crate) fn scan(&self, expire_all: bool) {
        self.advance_clocks();
        let now_ms = self.now_ms();
        let registry = self.lock();
        for watch in registry.slots.iter().flatten() {
            if expire_all || watch.deadline_ms.load(Ordering::Acquire) <= now_ms {
                watch.expired.store(true, Ordering::Release);
                watch.waker.wakeup();
            }
        }
    }

    fn advance_clocks(&self) {
        let elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.now_ms.fetch_max(elapsed_ms, Ordering::AcqRel);
        // A clock before 1970 is a broken machine; keep the last value.
        if let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) {
            self.unix_seconds
                .store(since_epoch.as_secs(), Ordering::Relaxed);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves the registry consistent (each
        // operation is one push or one assignment), so poisoning is ignored.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl WatchGuard<'_> {
    /// Publishes the deadline of the wait about to start.
    pub(crate) fn arm(&self, deadline_ms: u64) {
        self.watch.expired.store(false, Ordering::Release);
        self.watch.deadline_ms.store(deadline_ms, Ordering::Release);
    }

    /// After the wait: whether the watchdog woke us because `deadline_ms`
    /// passed (or the server is stopping). A late wake meant for an earlier
    /// deadline does not count.
    pub(crate) fn disarm(&self, deadline_ms: u64, stopping: bool) -> bool {
        self.watch.deadline_ms.store(NO_DEADLINE, Ordering::Release);
        let expired = self.watch.expired.swap(false, Ordering::AcqRel);
        expired && (stopping || self.watchdog.now_ms() >= deadline_ms)
    }
}

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        let mut registry = self.watchdog.lock();
        let removed = registry.slots[self.slot].take();
        assert!(removed.is_some_and(|watch| Arc::ptr_eq(&watch, &self.watch)));
        registry.free.push(self.slot);
    }
}
