//! One TigerBeetle request being packed: the events of many callers laid end
//! to end, and the bookkeeping to hand each caller exactly its own results.
//!
//! This is the pure half of the batcher (no threads, no I/O), so that its
//! cost per event can be measured on its own (`bench/batch.rs`).

use super::TransferOutcome;

/// Events per request that TigerBeetle 0.16.78 accepts in production mode
/// (1 MiB messages of 128-byte events, minus the header).
pub const BATCH_EVENTS_MAX: usize = 8189;

/// Events of several callers, packed for one request. A caller's events are
/// never split across two batches, so a linked chain stays whole.
pub struct Batch<E> {
    events: Vec<E>,
    /// `ends[i]` is one past the last event of caller `i`.
    ends: Vec<u32>,
}

impl<E: Copy> Batch<E> {
    pub fn new() -> Batch<E> {
        // No capacity up front: most rounds use one or two of the four
        // operations, and a 1 MiB allocation per unused one costs more
        // than the few doublings of a growing batch.
        Batch {
            events: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Whether `events_count` more events fit in this request.
    pub fn fits(&self, events_count: usize) -> bool {
        self.events.len() + events_count <= BATCH_EVENTS_MAX
    }

    /// Appends one caller's events; the caller's index is the number of
    /// callers before it.
    pub fn push(&mut self, events: &[E]) {
        assert!(
            !events.is_empty(),
            "a caller must submit at least one event"
        );
        assert!(
            self.fits(events.len()),
            "batch overflow: check fits() first"
        );
        self.events.extend_from_slice(events);
        self.ends.push(self.events.len() as u32);
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn events_count(&self) -> usize {
        self.events.len()
    }

    pub fn callers_count(&self) -> usize {
        self.ends.len()
    }

    /// The packed events, leaving the batch empty for the next request.
    /// Returns the callers' end offsets alongside.
    pub fn take(&mut self) -> (Vec<E>, Vec<u32>) {
        let events = std::mem::take(&mut self.events);
        let ends = std::mem::take(&mut self.ends);
        (events, ends)
    }
}

impl<E: Copy> Default for Batch<E> {
    fn default() -> Self {
        Batch::new()
    }
}

/// Splits TigerBeetle's sparse answer to `create_transfers` (only failures,
/// as `(index, result code)` in ascending index order) into one vector of
/// outcomes per caller.
pub fn split_transfer_results(
    ends: &[u32],
    failures: impl IntoIterator<Item = (u32, u32)>,
) -> Vec<Vec<TransferOutcome>> {
    let mut results: Vec<Vec<TransferOutcome>> = Vec::with_capacity(ends.len());
    let mut start = 0u32;
    for &end in ends {
        assert!(end > start, "caller ends must be strictly increasing");
        results.push(vec![TransferOutcome::Created; (end - start) as usize]);
        start = end;
    }
    let mut caller = 0usize;
    let mut caller_start = 0u32;
    for (index, code) in failures {
        assert!(index < start, "result index {index} beyond the batch");
        // Failures arrive in ascending order, so the caller only moves on.
        while index >= ends[caller] {
            caller_start = ends[caller];
            caller += 1;
        }
        results[caller][(index - caller_start) as usize] = TransferOutcome::from_code(code);
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_gets_exactly_its_own_results() {
        let mut batch = Batch::<u64>::new();
        batch.push(&[1, 2]);
        batch.push(&[3]);
        batch.push(&[4, 5, 6]);
        let (events, ends) = batch.take();
        assert_eq!(events, vec![1, 2, 3, 4, 5, 6]);
        assert!(batch.is_empty());
        let results = split_transfer_results(&ends, [(1, 54), (2, 46), (5, 35)]);
        use TransferOutcome::*;
        assert_eq!(results[0], vec![Created, SoldOut]);
        assert_eq!(results[1], vec![AlreadyExists]);
        assert_eq!(results[2], vec![Created, Created, Expired]);
    }

    #[test]
    fn a_full_batch_takes_no_more_events() {
        let mut batch = Batch::<u8>::new();
        batch.push(&[0; BATCH_EVENTS_MAX - 1]);
        assert!(batch.fits(1));
        assert!(!batch.fits(2));
        batch.push(&[0]);
        assert_eq!(batch.events_count(), BATCH_EVENTS_MAX);
        assert!(!batch.fits(1));
    }
}
