//! A reply slot: one answer from a dedicated thread (the TigerBeetle
//! batcher, a Redis or PostgreSQL thread) to one waiting caller.
//!
//! The caller is usually a may coroutine, which must park without blocking
//! its worker thread; a plain thread works too. It is the one-answer case
//! of `may::sync::mpsc`, without the queue that channel allocates and
//! zeroes on every call (about 2.5% of the server's CPU under checkout
//! load, measured with perf).
//!
//! Every wait has a deadline, but not a may timer: a may park with a
//! timeout puts an entry in may's timer thread, and removing it when the
//! answer comes first wakes that thread, a futex wake and two context
//! switches per call (perf showed them among the top costs of a reserve).
//! Instead each wait hands its slot to the [`Sweeper`], one thread that
//! every `SWEEP_TICK_MS` wakes the waits whose deadline passed. The answer
//! itself costs the sweeper nothing: it drops answered slots when it next
//! looks at them. A deadline therefore fires up to one tick late, never
//! early.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use may::sync::Blocker;
use parking_lot::Mutex;

/// How often the sweeper looks for expired waits. The deadlines here are
/// seconds; a tick of this size costs nothing measurable.
const SWEEP_TICK_MS: u64 = 20;

struct Slot<T> {
    value: Mutex<Option<T>>,
    /// Set when the sender is gone without answering.
    closed: AtomicBool,
    /// Set by the sweeper when the waiter's deadline passed.
    expired: AtomicBool,
    /// Parks the waiting coroutine or thread; made on the waiting side.
    blocker: Blocker,
}

/// The answering side; dropping it unanswered wakes the caller with
/// `Disconnected`.
pub struct ReplySender<T>(Arc<Slot<T>>);

/// The waiting side.
pub struct ReplyReceiver<T>(Arc<Slot<T>>);

/// A slot whose receiver is the calling coroutine (or thread).
pub fn reply_slot<T>() -> (ReplySender<T>, ReplyReceiver<T>) {
    let slot = Arc::new(Slot {
        value: Mutex::new(None),
        closed: AtomicBool::new(false),
        expired: AtomicBool::new(false),
        blocker: Blocker::new(false),
    });
    (ReplySender(slot.clone()), ReplyReceiver(slot))
}

impl<T> ReplySender<T> {
    /// Answers the caller. A second answer is refused (given back).
    pub fn send(&self, value: T) -> Result<(), T> {
        {
            let mut slot = self.0.value.lock();
            if slot.is_some() {
                return Err(value);
            }
            *slot = Some(value);
        }
        self.0.blocker.unpark();
        Ok(())
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.blocker.unpark();
    }
}

impl<T: Send + 'static> ReplyReceiver<T> {
    /// Waits at most `timeout` (plus one sweeper tick) for the answer.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        if let Some(outcome) = self.try_recv() {
            return outcome;
        }
        let deadline = Instant::now() + timeout;
        Sweeper::global().watch(self.0.clone(), deadline);
        // Bounded by the deadline: the sweeper sets `expired` and unparks
        // once it passed; each park returns on an unpark (one made before
        // the park makes it return at once).
        loop {
            if let Some(outcome) = self.try_recv() {
                return outcome;
            }
            if self.0.expired.load(Ordering::Acquire) {
                return Err(RecvTimeoutError::Timeout);
            }
            let _ = self.0.blocker.park(None);
        }
    }

    fn try_recv(&self) -> Option<Result<T, RecvTimeoutError>> {
        if let Some(value) = self.0.value.lock().take() {
            return Some(Ok(value));
        }
        if self.0.closed.load(Ordering::Acquire) {
            // The sender may have answered just before it was dropped.
            let value = self.0.value.lock().take();
            return Some(value.ok_or(RecvTimeoutError::Disconnected));
        }
        None
    }
}

/// What the sweeper needs of a slot, whatever its answer type.
trait Watched: Send + Sync {
    /// Whether the wait is over (answered, sender gone, or expired before).
    fn is_settled(&self) -> bool;
    fn expire(&self);
}

impl<T: Send> Watched for Slot<T> {
    fn is_settled(&self) -> bool {
        self.closed.load(Ordering::Acquire)
            || self.expired.load(Ordering::Acquire)
            || self.value.lock().is_some()
    }

    fn expire(&self) {
        self.expired.store(true, Ordering::Release);
        self.blocker.unpark();
    }
}

/// The one thread that enforces reply deadlines.
struct Sweeper {
    /// Waits handed over since the sweeper last looked; the sweeper moves
    /// them to its own list each tick, so callers contend only on a push.
    incoming: Mutex<Vec<(Instant, Arc<dyn Watched>)>>,
}

impl Sweeper {
    fn global() -> &'static Sweeper {
        static SWEEPER: OnceLock<&'static Sweeper> = OnceLock::new();
        SWEEPER.get_or_init(|| {
            let sweeper: &'static Sweeper = Box::leak(Box::new(Sweeper {
                incoming: Mutex::new(Vec::new()),
            }));
            std::thread::Builder::new()
                .name("reply-sweeper".into())
                .spawn(move || sweeper.run())
                .expect("spawning the reply sweeper thread");
            sweeper
        })
    }

    fn watch(&self, slot: Arc<dyn Watched>, deadline: Instant) {
        self.incoming.lock().push((deadline, slot));
    }

    /// Runs for the life of the process. Every tick drops the settled waits
    /// and expires the overdue ones; the list is bounded by the waits in
    /// flight plus one tick's worth of answered ones.
    fn run(&self) {
        let mut waiting: Vec<(Instant, Arc<dyn Watched>)> = Vec::new();
        let mut spare = Vec::new();
        loop {
            std::thread::sleep(Duration::from_millis(SWEEP_TICK_MS));
            std::mem::swap(&mut *self.incoming.lock(), &mut spare);
            waiting.append(&mut spare);
            let now = Instant::now();
            waiting.retain(|(deadline, slot)| {
                if slot.is_settled() {
                    return false;
                }
                if *deadline <= now {
                    slot.expire();
                    return false;
                }
                true
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_from_another_thread_reaches_a_waiting_thread() {
        let (sender, receiver) = reply_slot();
        let answering = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send(42).unwrap();
        });
        assert_eq!(receiver.recv_timeout(Duration::from_secs(5)), Ok(42));
        answering.join().unwrap();
    }

    #[test]
    fn a_slot_answers_once_and_reports_a_vanished_sender() {
        let (sender, receiver) = reply_slot::<u8>();
        assert_eq!(sender.send(1), Ok(()));
        assert_eq!(sender.send(2), Err(2));
        drop(sender);
        assert_eq!(receiver.recv_timeout(Duration::from_millis(10)), Ok(1));
        let (sender, receiver) = reply_slot::<u8>();
        drop(sender);
        assert_eq!(
            receiver.recv_timeout(Duration::from_secs(5)),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn a_wait_without_an_answer_ends_at_its_timeout_not_before() {
        let (_sender, receiver) = reply_slot::<u8>();
        let started = Instant::now();
        assert_eq!(
            receiver.recv_timeout(Duration::from_millis(30)),
            Err(RecvTimeoutError::Timeout)
        );
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(30), "early: {waited:?}");
        assert!(waited < Duration::from_secs(2), "late: {waited:?}");
    }

    #[test]
    fn a_coroutine_waiting_without_an_answer_ends_at_its_timeout() {
        let (_sender, receiver) = reply_slot::<u8>();
        // SAFETY: the closure touches no thread-locals and has small frames.
        let waiting = unsafe {
            may::coroutine::spawn(move || receiver.recv_timeout(Duration::from_millis(30)))
        };
        assert_eq!(waiting.join().unwrap(), Err(RecvTimeoutError::Timeout));
    }
}
