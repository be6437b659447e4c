//! Operating errors of the order store: what a caller can meet when
//! PostgreSQL is slow, down or overloaded. Every variant is `Clone`, since
//! one failed transaction answers every caller of its batch.

use crate::ids::OrderId;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderStoreError {
    #[error("the order store queue is full ({queue_orders_max} waiting); try again shortly")]
    Overloaded { queue_orders_max: usize },

    /// The outcome is unknown: the order may have been stored. Recording it
    /// again is safe (the first final outcome wins).
    #[error(
        "PostgreSQL did not answer within {timeout_ms} ms; the order may or may not be \
         stored, and recording it again is safe"
    )]
    Timeout { timeout_ms: u64 },

    #[error("PostgreSQL at {url_without_password} is unavailable: {message}")]
    Unavailable {
        url_without_password: String,
        message: String,
    },

    /// Version 0 is the bookkeeping around the migrations (the lock and the
    /// `schema_migrations` table).
    #[error("database migration {version} failed: {message}")]
    Migration { version: u32, message: String },

    #[error("the order store has stopped")]
    Stopped,

    /// Refused before it joined a batch (see `OrderRecord::check`).
    #[error("order {order_id} cannot be stored: {reason}")]
    Invalid { order_id: OrderId, reason: String },
}
