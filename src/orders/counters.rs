//! Counters of the group commit, written by the writer threads and read by
//! anyone (tests, the metrics endpoint) without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct CommitCounters {
    transactions: AtomicU64,
    orders: AtomicU64,
    batch_orders_max: AtomicU64,
    failed_transactions: AtomicU64,
}

/// A copy of the counters (each field read once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OrderStoreCounters {
    /// Committed transactions.
    pub transactions: u64,
    /// Orders answered by committed transactions (replays included).
    pub orders: u64,
    /// Largest batch committed so far.
    pub batch_orders_max: u64,
    /// Batches whose callers got an error (including batches refused at
    /// once while a writer waits to reconnect).
    pub failed_transactions: u64,
}

impl CommitCounters {
    pub(crate) fn record_commit(&self, orders: usize) {
        let orders = orders as u64;
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.orders.fetch_add(orders, Ordering::Relaxed);
        self.batch_orders_max.fetch_max(orders, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self) {
        self.failed_transactions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> OrderStoreCounters {
        OrderStoreCounters {
            transactions: self.transactions.load(Ordering::Relaxed),
            orders: self.orders.load(Ordering::Relaxed),
            batch_orders_max: self.batch_orders_max.load(Ordering::Relaxed),
            failed_transactions: self.failed_transactions.load(Ordering::Relaxed),
        }
    }
}

impl OrderStoreCounters {
    /// Mean group-commit size; 0 before the first commit.
    pub fn orders_per_transaction_mean(&self) -> f64 {
        if self.transactions == 0 {
            0.0
        } else {
            self.orders as f64 / self.transactions as f64
        }
    }

    /// The counters gathered since `earlier` (the maximum is not a delta:
    /// it is this snapshot's).
    pub fn since(&self, earlier: &OrderStoreCounters) -> OrderStoreCounters {
        OrderStoreCounters {
            transactions: self.transactions - earlier.transactions,
            orders: self.orders - earlier.orders,
            batch_orders_max: self.batch_orders_max,
            failed_transactions: self.failed_transactions - earlier.failed_transactions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_give_the_mean_and_largest_group_commit() {
        let counters = CommitCounters::default();
        counters.record_commit(10);
        counters.record_commit(30);
        counters.record_failure();
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.transactions, 2);
        assert_eq!(snapshot.batch_orders_max, 30);
        assert_eq!(snapshot.failed_transactions, 1);
        assert_eq!(snapshot.orders_per_transaction_mean(), 20.0);
    }
}
