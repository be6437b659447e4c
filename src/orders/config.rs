//! Where and how the order store talks to PostgreSQL.

use std::fmt;

/// Largest group commit allowed: bounds the arrays of one transaction.
pub const BATCH_ORDERS_LIMIT: usize = 10_000;
/// Most writer or reader threads (each holds one PostgreSQL connection).
pub const THREADS_LIMIT: usize = 64;

/// The order store's settings. `Debug` hides the password.
#[derive(Clone)]
pub struct OrderStoreConfig {
    /// `postgres://user[:password]@host:port/database`.
    pub url: String,
    /// Writer threads: each owns a connection and commits one batch at a
    /// time, so two overlap one batch's fsync with the next one's filling.
    pub writers: usize,
    /// Reader threads for `find`, `counts_by_status` and `recent`.
    pub readers: usize,
    /// Bound of each queue (writes, reads); when full, callers get
    /// `Overloaded` at once.
    pub queue_orders_max: usize,
    /// Most orders (or lookups) in one transaction (or query).
    pub batch_orders_max: usize,
    /// The bound of every wait: a caller's wait for its answer, a connect,
    /// and each statement (as the session's `statement_timeout`).
    pub timeout_ms: u64,
}

impl OrderStoreConfig {
    pub fn new(url: impl Into<String>) -> OrderStoreConfig {
        OrderStoreConfig {
            url: url.into(),
            writers: 2,
            readers: 2,
            queue_orders_max: 65_536,
            batch_orders_max: 1_000,
            timeout_ms: 5_000,
        }
    }

    /// Asserts the settings are sane: a wrong one is a programmer error.
    pub(crate) fn assert_valid(&self) {
        assert!((1..=THREADS_LIMIT).contains(&self.writers), "writers");
        assert!((1..=THREADS_LIMIT).contains(&self.readers), "readers");
        assert!(self.queue_orders_max > 0, "queue_orders_max");
        assert!(
            (1..=BATCH_ORDERS_LIMIT).contains(&self.batch_orders_max),
            "batch_orders_max must be in 1..={BATCH_ORDERS_LIMIT}"
        );
        assert!(self.timeout_ms > 0, "timeout_ms");
    }
}

impl fmt::Debug for OrderStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderStoreConfig")
            .field("url", &super::url::without_password(&self.url))
            .field("writers", &self.writers)
            .field("readers", &self.readers)
            .field("queue_orders_max", &self.queue_orders_max)
            .field("batch_orders_max", &self.batch_orders_max)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}
