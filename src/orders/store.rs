//! The caller's side of the order store: cheap to share behind an `Arc`,
//! stops its threads when dropped.

use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use super::connection::{connect_client, Connection};
use super::counters::{CommitCounters, OrderStoreCounters};
use super::reader::{ReadJob, Reader, StatusCounts};
use super::record::OrderRecord;
use super::writer::{WriteJob, Writer};
use super::{migrations, url, OrderStoreConfig, OrderStoreError};
use crate::ids::OrderId;

/// Most orders `recent` answers at once.
pub const RECENT_ORDERS_MAX: u32 = 1_000;

/// Where a thread sends one caller's answer. A reply slot: the caller
/// waiting on it parks its coroutine, not its worker thread.
pub(crate) type Reply<T> = crate::reply::ReplySender<Result<T, OrderStoreError>>;

/// PostgreSQL's orders, behind writer threads that group-commit and reader
/// threads that batch lookups. Every method is safe to call from may
/// coroutines and from plain threads.
pub struct OrderStore {
    writes: Option<Sender<WriteJob>>,
    reads: Option<Sender<ReadJob>>,
    threads: Vec<JoinHandle<()>>,
    /// Each thread says it has finished here, so that drop can join with a
    /// bound (std's `join` has none). In a mutex only to make the store
    /// `Sync`; drop, the one user, has `&mut` access.
    exits: parking_lot::Mutex<may::sync::mpsc::Receiver<()>>,
    counters: Arc<CommitCounters>,
    config: OrderStoreConfig,
    migrations_applied: Vec<u32>,
}

impl OrderStore {
    /// Connects, applies pending migrations, and starts the threads, each
    /// with its own connection. Fails at once when PostgreSQL is not
    /// reachable within `timeout_ms`. Blocks while it connects: call it at
    /// boot from a plain thread, not from a coroutine.
    pub fn start(config: OrderStoreConfig) -> Result<OrderStore, OrderStoreError> {
        config.assert_valid();
        let url_without_password = url::without_password(&config.url);
        let migrations_applied = {
            let mut client = connect_client(&config)?;
            migrations::apply(&mut client, &url_without_password)?
        };
        // Every connection first, so that a failure leaves no thread behind.
        let writer_connections = (0..config.writers)
            .map(|_| Connection::open(&config))
            .collect::<Result<Vec<_>, _>>()?;
        let reader_connections = (0..config.readers)
            .map(|_| Connection::open(&config))
            .collect::<Result<Vec<_>, _>>()?;

        let (writes, write_queue) = crossbeam_channel::bounded(config.queue_orders_max);
        let (reads, read_queue) = crossbeam_channel::bounded(config.queue_orders_max);
        let (exited, exits) = may::sync::mpsc::channel();
        let counters = Arc::new(CommitCounters::default());
        let mut threads = Vec::with_capacity(config.writers + config.readers);
        for (i, connection) in writer_connections.into_iter().enumerate() {
            let writer = Writer {
                connection,
                jobs: write_queue.clone(),
                counters: counters.clone(),
                batch_orders_max: config.batch_orders_max,
            };
            threads.push(spawn(format!("pg-writer-{i}"), exited.clone(), || {
                writer.run()
            }));
        }
        for (i, connection) in reader_connections.into_iter().enumerate() {
            let reader = Reader {
                connection,
                jobs: read_queue.clone(),
                batch_jobs_max: config.batch_orders_max,
            };
            threads.push(spawn(format!("pg-reader-{i}"), exited.clone(), || {
                reader.run()
            }));
        }
        Ok(OrderStore {
            writes: Some(writes),
            reads: Some(reads),
            threads,
            exits: parking_lot::Mutex::new(exits),
            counters,
            config,
            migrations_applied,
        })
    }

    /// Records an order's final outcome and answers the row as stored:
    /// the first final outcome of an order wins, and a replay or a later
    /// different outcome gets that first row back, unchanged. `Ok` means
    /// committed with `synchronous_commit = on`: durable. After `Timeout`
    /// or `Unavailable`, recording again is safe.
    pub fn record(&self, order: OrderRecord) -> Result<OrderRecord, OrderStoreError> {
        order.check().map_err(|reason| OrderStoreError::Invalid {
            order_id: order.order_id,
            reason,
        })?;
        let order_id = order.order_id;
        let stored = self.call(&self.writes, |reply| WriteJob { order, reply })?;
        assert_eq!(stored.order_id, order_id);
        Ok(stored)
    }

    /// The stored order, `None` if PostgreSQL has none with this id.
    pub fn find(&self, order_id: OrderId) -> Result<Option<OrderRecord>, OrderStoreError> {
        self.call(&self.reads, |reply| ReadJob::Find { order_id, reply })
    }

    /// For each status (in `OrderStatus::ALL` order, zeros included): the
    /// event's orders and tickets (sum of quantity).
    pub fn counts_by_status(&self, event_id: u32) -> Result<StatusCounts, OrderStoreError> {
        self.call(&self.reads, |reply| ReadJob::CountsByStatus {
            event_id,
            reply,
        })
    }

    /// The `limit` most recently recorded orders, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<OrderRecord>, OrderStoreError> {
        assert!(
            limit <= RECENT_ORDERS_MAX,
            "recent: at most {RECENT_ORDERS_MAX}"
        );
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.call(&self.reads, |reply| ReadJob::Recent { limit, reply })
    }

    pub fn counters(&self) -> OrderStoreCounters {
        self.counters.snapshot()
    }

    /// The migrations this start applied (empty when the schema was up to
    /// date).
    pub fn migrations_applied(&self) -> &[u32] {
        &self.migrations_applied
    }

    pub fn url_without_password(&self) -> String {
        url::without_password(&self.config.url)
    }

    /// Queues `make(reply)` without blocking and waits at most
    /// `timeout_ms` for the answer, parking the calling coroutine.
    fn call<J, T: Send + 'static>(
        &self,
        queue: &Option<Sender<J>>,
        make: impl FnOnce(Reply<T>) -> J,
    ) -> Result<T, OrderStoreError> {
        let (reply, answer) = crate::reply::reply_slot();
        let queue = queue.as_ref().ok_or(OrderStoreError::Stopped)?;
        queue.try_send(make(reply)).map_err(|error| match error {
            TrySendError::Full(_) => OrderStoreError::Overloaded {
                queue_orders_max: self.config.queue_orders_max,
            },
            TrySendError::Disconnected(_) => OrderStoreError::Stopped,
        })?;
        match answer.recv_timeout(Duration::from_millis(self.config.timeout_ms)) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(OrderStoreError::Timeout {
                timeout_ms: self.config.timeout_ms,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(OrderStoreError::Stopped),
        }
    }
}

impl Drop for OrderStore {
    /// Closes the queues; the threads answer what is queued and end. Waits
    /// for them at most twice `timeout_ms` (a round in flight, then the
    /// last); a thread still busy after that is left to finish alone.
    fn drop(&mut self) {
        drop(self.writes.take());
        drop(self.reads.take());
        let deadline = Instant::now() + Duration::from_millis(2 * self.config.timeout_ms);
        let mut exited_count = 0;
        while exited_count < self.threads.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.exits.get_mut().recv_timeout(left) {
                Ok(()) => exited_count += 1,
                Err(_) => break,
            }
        }
        if exited_count < self.threads.len() {
            eprintln!(
                "boxoffice: {} order store threads still busy at shutdown; not waiting",
                self.threads.len() - exited_count
            );
            return;
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Starts a named thread that reports on `exited` when it ends, panic or
/// not.
fn spawn(
    name: String,
    exited: may::sync::mpsc::Sender<()>,
    body: impl FnOnce() + Send + 'static,
) -> JoinHandle<()> {
    struct ExitReport(may::sync::mpsc::Sender<()>);
    impl Drop for ExitReport {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    thread::Builder::new()
        .name(name)
        .spawn(move || {
            let _report = ExitReport(exited);
            body();
        })
        .expect("spawning an order store thread")
}

/// The store is shared by coroutines behind an `Arc`.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<OrderStore>();
};
