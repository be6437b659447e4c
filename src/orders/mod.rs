//! Orders: the durable cold path, in PostgreSQL.
//!
//! PostgreSQL holds every order's final outcome (paid, paid but
//! unfulfilled, failed, canceled). It is never on the checkout path, which
//! runs on TigerBeetle and Redis alone; only the payment webhook writes
//! here, and order pages read.
//!
//! # Group commit
//!
//! A durable commit costs one WAL flush (an fsync), whatever it holds; on
//! this hardware that flush, not the SQL, bounds commits per second. So
//! callers never commit alone: [`OrderStore::record`] puts the order on a
//! bounded queue and parks the calling coroutine on a reply slot. A few
//! writer threads, each with its own connection, drain the queue: block
//! for the first order, take everything else queued (up to
//! `batch_orders_max`), and write the lot in ONE transaction — one
//! `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (order_id) DO
//! NOTHING`, the same for the payment events, a read-back of every
//! order's stored row, COMMIT — and only then answer each caller with its
//! stored row. Batches need no timer: they are whatever arrived during the
//! previous commit, so they grow with load and a lone order goes at once.
//! Two writers overlap one batch's flush with the next one's filling.
//!
//! The first final outcome wins: `ON CONFLICT DO NOTHING` keeps the row
//! stored first, and the read-back answers a replayed or contradicting
//! webhook with that row, so the caller learns what actually holds.
//! Every distinct payment event is kept in `payment_events`, the audit log.
//!
//! Measured on the 2-core development machine (PostgreSQL, the writers
//! and 5,000 recording coroutines sharing both cores): about 10,000 to
//! 15,000 durable orders per second, 300 to 550 orders per transaction.
//!
//! # Schema
//!
//! `order_id` is a `uuid`: exactly 128 bits in 16 fixed bytes (a `bytea`
//! would take any length and needs a length CHECK; text takes twice the
//! space and slower comparisons), and uuid input accepts the 32 hex digits
//! of `OrderId`'s `Display`, so an id from a URL pastes straight into
//! psql. Ids go to PostgreSQL as that text, cast in SQL, and come back as
//! 16 binary bytes, so no uuid crate is needed. Order ids are time-ordered,
//! which keeps the primary key's inserts at the right edge of the b-tree.
//! `refund_owed` is a generated column with a partial index: the refunds
//! still owed are one index scan away.
//!
//! # Bounds
//!
//! The `postgres` crate blocks, so it is only called from these dedicated
//! threads, never from a coroutine. Every queue has a bound (a full one
//! answers `Overloaded` at once), every wait a deadline (`timeout_ms`: the
//! caller's wait, the connect, each statement as `statement_timeout`).
//! When PostgreSQL fails, every caller of the batch gets `Unavailable` at
//! once; the thread drops its client and reconnects with a bounded
//! backoff, refusing work at once until a reconnect is due; when
//! PostgreSQL is back the store works again without a restart.
//!
//! - [`record`]: the order and its status; [`error`]: operating errors;
//! - [`config`]: settings; [`counters`]: group-commit sizes;
//! - [`migrations`]: the embedded, versioned schema;
//! - `store`: the caller's handle; `writer`, `reader`: the threads;
//! - `connection`: one thread's connection and its backoff;
//! - `columns`, `row`: batches to SQL arrays and rows back to records;
//! - `url`: connection URLs without their password.

mod columns;
pub mod config;
mod connection;
pub mod counters;
pub mod error;
pub mod migrations;
mod reader;
pub mod record;
mod row;
mod store;
mod url;
mod writer;

pub use config::OrderStoreConfig;
pub use counters::OrderStoreCounters;
pub use error::OrderStoreError;
pub use migrations::{Migration, MIGRATIONS};
pub use reader::StatusCounts;
pub use record::{OrderRecord, OrderStatus};
pub use store::{OrderStore, RECENT_ORDERS_MAX};
pub use url::without_password as url_without_password;
