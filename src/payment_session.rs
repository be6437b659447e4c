//! The shop's payment session: what it remembers about an order between
//! checkout and the payment webhook, in Redis, for the hold's lifetime.
//!
//! It is ephemeral by design. Losing it (Redis flushed or restarted) loses
//! nothing that matters: the hold in TigerBeetle carries the order's
//! metadata in `user_data`, and the webhook carries the buyer's e-mail, so a
//! payment still completes (see `shop::webhook`).

use serde::{Deserialize, Serialize};

use crate::ids::OrderId;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PaymentSession {
    pub order_id: String,
    pub event_id: u32,
    pub class_code: String,
    pub class_index: u16,
    pub quantity: u16,
    pub email: String,
    pub amount_cents: u64,
    pub currency: String,
    /// Whether a goodie hold was placed with the tickets.
    pub goodie_held: bool,
    pub payment_url: String,
    pub hold_expires_at_s: u64,
}

/// Redis key of an order's payment session.
pub fn session_key(order: OrderId) -> String {
    format!("session:{order}")
}

/// Redis key of an order's final state, cached after PostgreSQL has it.
pub fn final_order_key(order: OrderId) -> String {
    format!("order:{order}")
}

/// Redis key of a checkout idempotency key.
pub fn idempotency_key(key: &str) -> String {
    format!("idempotency:{key}")
}
