//! The bytes a connection has read but not yet answered.
//!
//! One buffer per connection, reused for every request: requests are parsed
//! in place, consumed from the front, and the unparsed tail is moved to the
//! front only when room is needed at the end. It starts small and grows (by
//! doubling) to at most `bytes_max`, the size of the largest request we
//! accept, so one whole request always fits and memory per connection is
//! bounded.

/// Enough for dozens of pipelined small requests; most connections never grow.
const BYTES_INITIAL: usize = 8 * 1024;

pub(crate) struct ReadBuffer {
    /// Always fully initialised: reads go into `bytes[end..]` safely.
    bytes: Vec<u8>,
    /// Unanswered bytes are `bytes[start..end]`.
    start: usize,
    end: usize,
    bytes_max: usize,
}

impl ReadBuffer {
    pub(crate) fn new(bytes_max: usize) -> ReadBuffer {
        assert!(bytes_max > 0);
        ReadBuffer {
            bytes: vec![0; BYTES_INITIAL.min(bytes_max)],
            start: 0,
            end: 0,
            bytes_max,
        }
    }

    /// The bytes read and not yet consumed.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn consume(&mut self, count: usize) {
        assert!(count <= self.end - self.start);
        self.start += count;
        if self.start == self.end {
            // The common case: everything answered, no copy needed.
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into. Empty only when `bytes_max` bytes are pending, which
    /// the connection never lets happen (a request that big is complete or
    /// refused).
    pub(crate) fn spare_mut(&mut self) -> &mut [u8] {
        if self.end == self.bytes.len() {
            self.make_room();
        }
        &mut self.bytes[self.end..]
    }

    /// Marks `count` bytes of `spare_mut()` as read.
    pub(crate) fn commit(&mut self, count: usize) {
        assert!(count <= self.bytes.len() - self.end);
        self.end += count;
    }

    fn make_room(&mut self) {
        if self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        } else if self.bytes.len() < self.bytes_max {
            let len = (self.bytes.len() * 2).min(self.bytes_max);
            self.bytes.resize(len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(buffer: &mut ReadBuffer, data: &[u8]) {
        let spare = buffer.spare_mut();
        assert!(spare.len() >= data.len());
        spare[..data.len()].copy_from_slice(data);
        buffer.commit(data.len());
    }

    #[test]
    fn consumed_bytes_make_room_and_growth_stops_at_the_max() {
        let mut buffer = ReadBuffer::new(BYTES_INITIAL * 2);
        fill(&mut buffer, &vec![b'a'; BYTES_INITIAL]);
        buffer.consume(BYTES_INITIAL - 3);
        assert_eq!(buffer.pending(), b"aaa");
        // Full at the end with a consumed front: the tail moves, no growth.
        assert_eq!(buffer.spare_mut().len(), BYTES_INITIAL - 3);
        fill(&mut buffer, &vec![b'b'; BYTES_INITIAL - 3]);
        // Full from the front: grows to the max, then no further.
        assert_eq!(buffer.spare_mut().len(), BYTES_INITIAL);
        fill(&mut buffer, &vec![b'c'; BYTES_INITIAL]);
        assert!(buffer.spare_mut().is_empty());
        buffer.consume(BYTES_INITIAL * 2);
        assert!(buffer.is_empty());
        assert_eq!(buffer.spare_mut().len(), BYTES_INITIAL * 2);
    }
}
