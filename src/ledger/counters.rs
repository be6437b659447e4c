//! Counters of the TigerBeetle batcher, written by its one thread and read
//! by anyone (tests, the metrics endpoint) without a lock.
//!
//! Latency is kept as a histogram of power-of-two microsecond buckets, which
//! maps directly onto a Prometheus histogram and costs one atomic increment
//! per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets: 2^0 .. 2^24 µs (about 16.8 s); the
/// last bucket catches everything slower.
pub const LATENCY_BUCKETS_COUNT: usize = 26;

#[derive(Default)]
pub struct BatchCounters {
    requests: AtomicU64,
    events: AtomicU64,
    batch_events_max: AtomicU64,
    failed_requests: AtomicU64,
    latency_us_sum: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_COUNT],
}

/// A consistent-enough copy of the counters (each field read once).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchSnapshot {
    pub requests: u64,
    pub events: u64,
    pub batch_events_max: u64,
    pub failed_requests: u64,
    pub latency_us_sum: u64,
    /// Non-cumulative counts per bucket; bucket `i` holds requests that took
    /// at most `2^i` µs (the last: any longer).
    pub latency_buckets: [u64; LATENCY_BUCKETS_COUNT],
}

impl BatchCounters {
    /// Records one TigerBeetle request of `events` events.
    pub fn record_request(&self, events: usize, latency: Duration, failed: bool) {
        let events = events as u64;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.batch_events_max.fetch_max(events, Ordering::Relaxed);
        if failed {
            self.failed_requests.fetch_add(1, Ordering::Relaxed);
        }
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us_sum.fetch_add(latency_us, Ordering::Relaxed);
        self.latency_buckets[latency_bucket(latency_us)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BatchSnapshot {
        let mut latency_buckets = [0; LATENCY_BUCKETS_COUNT];
        for (copy, bucket) in latency_buckets.iter_mut().zip(&self.latency_buckets) {
            *copy = bucket.load(Ordering::Relaxed);
        }
        BatchSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            batch_events_max: self.batch_events_max.load(Ordering::Relaxed),
            failed_requests: self.failed_requests.load(Ordering::Relaxed),
            latency_us_sum: self.latency_us_sum.load(Ordering::Relaxed),
            latency_buckets,
        }
    }
}

impl BatchSnapshot {
    /// Mean events per request; 0 before the first request.
    pub fn batch_events_mean(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.events as f64 / self.requests as f64
        }
    }

    /// Mean request latency in microseconds; 0 before the first request.
    pub fn latency_us_mean(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.latency_us_sum as f64 / self.requests as f64
        }
    }

    /// The counters gathered since `earlier` (the maximum is not a delta:
    /// it is this snapshot's).
    pub fn since(&self, earlier: &BatchSnapshot) -> BatchSnapshot {
        let mut latency_buckets = [0; LATENCY_BUCKETS_COUNT];
        for (i, bucket) in latency_buckets.iter_mut().enumerate() {
            *bucket = self.latency_buckets[i] - earlier.latency_buckets[i];
        }
        BatchSnapshot {
            requests: self.requests - earlier.requests,
            events: self.events - earlier.events,
            batch_events_max: self.batch_events_max,
            failed_requests: self.failed_requests - earlier.failed_requests,
            latency_us_sum: self.latency_us_sum - earlier.latency_us_sum,
            latency_buckets,
        }
    }
}

/// Index of the smallest bucket `i` with `latency_us <= 2^i`.
fn latency_bucket(latency_us: u64) -> usize {
    let bucket = if latency_us <= 1 {
        0
    } else {
        (64 - (latency_us - 1).leading_zeros()) as usize
    };
    bucket.min(LATENCY_BUCKETS_COUNT - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_into_power_of_two_buckets() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(1), 0);
        assert_eq!(latency_bucket(2), 1);
        assert_eq!(latency_bucket(3), 2);
        assert_eq!(latency_bucket(1024), 10);
        assert_eq!(latency_bucket(1025), 11);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS_COUNT - 1);
    }

    #[test]
    fn counters_give_mean_and_max_batch_size() {
        let counters = BatchCounters::default();
        counters.record_request(10, Duration::from_micros(500), false);
        counters.record_request(30, Duration::from_micros(700), false);
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.requests, 2);
        assert_eq!(snapshot.batch_events_max, 30);
        assert_eq!(snapshot.batch_events_mean(), 20.0);
        assert_eq!(snapshot.latency_us_mean(), 600.0);
    }
}
