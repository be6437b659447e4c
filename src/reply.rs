//! A reply slot: one answer from a dedicated thread (the TigerBeetle
//! batcher, a Redis or PostgreSQL thread) to one waiting caller.
//!
//! The caller is usually a may coroutine, which must park without blocking
//! its worker thread; a plain thread works too. It is the one-answer case
//! of `may::sync::mpsc`, without the queue that channel allocates and
//! zeroes on every call (about 2.5% of the server's CPU under checkout
//! load, measured with perf).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use may::sync::Blocker;
use parking_lot::Mutex;

struct Slot<T> {
    value: Mutex<Option<T>>,
    /// Set when the sender is gone without answering.
    closed: AtomicBool,
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

impl<T> ReplyReceiver<T> {
    /// Waits at most `timeout` for the answer.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        // Bounded by the deadline; each park returns on an unpark or at the
        // deadline (an unpark before the park makes it return at once).
        loop {
            if let Some(value) = self.0.value.lock().take() {
                return Ok(value);
            }
            if self.0.closed.load(Ordering::Acquire) {
                // The sender may have answered just before it was dropped.
                return self
                    .0
                    .value
                    .lock()
                    .take()
                    .ok_or(RecvTimeoutError::Disconnected);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvTimeoutError::Timeout);
            }
            let _ = self.0.blocker.park(Some(deadline - now));
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
    fn a_wait_without_an_answer_ends_at_its_timeout() {
        let (_sender, receiver) = reply_slot::<u8>();
        assert_eq!(
            receiver.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
    }
}
