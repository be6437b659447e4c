//! boxoffice: ticketing for flash sales on TigerBeetle.
//!
//! Layout (one noun per module):
//! - [`app`]: starting and stopping the whole server;
//! - [`catalog`]: events and ticket classes, from a TOML file;
//! - [`ids`]: how every account, order and transfer id is derived;
//! - [`ledger`]: the inventory in TigerBeetle: the account model, holds,
//!   posts, voids, late bookings and live inventory, all through
//!   [`ledger::batcher`], the one pinned thread that owns the TigerBeetle
//!   client and packs every caller's events into full batches;
//! - [`session_store`]: Redis threads that pipeline every queued command
//!   into one round trip (payment sessions, idempotency keys);
//! - [`orders`]: PostgreSQL writer threads that group-commit final orders,
//!   and reader threads; versioned migrations;
//! - [`shop`]: the purchase flow over HTTP (checkout, webhook, order
//!   status, events, pages, metrics);
//! - [`mockpay`]: the mock payment provider, a separate service in spirit;
//! - [`reply`]: how a dedicated thread answers a waiting coroutine;
//! - [`payment_session`], [`signature`], [`tickets`], [`clock`]: the
//!   payment session record, webhook signatures, ticket codes, time;
//! - [`http`]: HTTP/1.1 on may coroutines (thread-per-core).
//!
//! The data lifecycle: TigerBeetle holds the inventory (pending transfers
//! are the time-limited holds), Redis holds ephemeral payment sessions,
//! PostgreSQL holds durable orders, off the checkout path.

pub mod app;
pub mod catalog;
pub mod clock;
pub mod http;
pub mod ids;
pub mod ledger;
pub mod mockpay;
pub mod orders;
pub mod payment_session;
pub mod reply;
pub mod session_store;
pub mod shop;
pub mod signature;
pub mod tickets;
