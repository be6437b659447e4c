//! The shop: the TigerFans purchase flow over HTTP.
//!
//! Hot path (checkout): a ticket hold and a goodie hold in TigerBeetle
//! through the batcher, a payment session at the provider, the shop's
//! payment session in Redis. No PostgreSQL.
//!
//! Cold path (payment webhook): post or void the holds in TigerBeetle, then
//! the final order, durable in PostgreSQL (group commit) before the webhook
//! is answered.
//!
//! - [`checkout`]: `POST /api/checkout`;
//! - [`webhook`]: `POST /payments/webhook`;
//! - [`order_status`]: `GET /api/orders/{id}`;
//! - [`events`]: `GET /api/events`;
//! - [`accounting`]: the accounting-only benchmark endpoints;
//! - [`metrics`]: `GET /metrics` (Prometheus text);
//! - [`pages`]: the landing and order pages;
//! - [`routes`]: the router;
//! - [`problem`]: error answers.

pub mod accounting;
pub mod checkout;
pub mod events;
pub mod metrics;
pub mod order_status;
pub mod pages;
pub mod problem;
pub mod routes;
pub mod webhook;

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::ledger::Ledger;
use crate::mockpay::MockPay;
use crate::orders::OrderStore;
use crate::session_store::SessionStore;
use crate::signature::SigningKey;

/// The shop's settings (from the command line, see `cli.rs`).
#[derive(Clone, Debug)]
pub struct ShopConfig {
    /// How long a hold lasts before TigerBeetle releases it.
    pub hold_timeout_s: u32,
    pub tickets_per_order_max: u16,
    /// Base URL buyers reach the shop at (for redirects back from payment).
    pub public_url: String,
    /// Verifies payment webhooks (the provider signs with the same key).
    pub webhook_key: SigningKey,
    /// The shop's own secret: derives order ids from idempotency keys.
    pub secret_key: SigningKey,
    /// Serve the accounting-only benchmark endpoints.
    pub benchmark_endpoints: bool,
}

/// Everything a request handler needs; shared by all coroutines.
pub struct Shop {
    pub config: ShopConfig,
    pub catalog: Catalog,
    pub ledger: Arc<Ledger>,
    pub sessions: SessionStore,
    pub orders: OrderStore,
    pub provider: Arc<MockPay>,
}

/// How long a final order stays cached in Redis for status polls.
const FINAL_ORDER_CACHE_TTL_S: u64 = 24 * 3600;

impl Shop {
    /// A stable 16-byte seed for `text` under the shop's secret.
    fn seed(&self, domain: &str, text: &str) -> [u8; 16] {
        let tag = self
            .config
            .secret_key
            .keyed_hash(&[domain.as_bytes(), b"\0", text.as_bytes()]);
        tag[..16].try_into().expect("16 of 32 bytes")
    }
}

/// The 64-bit customer hash stored in a hold's `user_data_64`: enough to
/// check that a webhook's e-mail belongs to the order, never the e-mail.
pub fn customer_hash(email: &str) -> u64 {
    let digest = Sha256::digest(email.to_ascii_lowercase().as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 of 32 bytes"))
}
