//! boxoffice: ticketing for flash sales on TigerBeetle.
//!
//! Layout (one noun per module):
//! - [`ids`]: how every account, order and transfer id is derived;
//! - [`ledger`]: the inventory in TigerBeetle: the account model, holds,
//!   posts, voids, late bookings and live inventory, all through
//!   [`ledger::batcher`], the one pinned thread that owns the TigerBeetle
//!   client and packs every caller's events into full batches;
//!
//! The data lifecycle: TigerBeetle holds the inventory (pending transfers
//! are the time-limited holds), Redis holds ephemeral payment sessions,
//! PostgreSQL holds durable orders, off the checkout path.

pub mod ids;
pub mod ledger;
