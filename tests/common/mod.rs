//! Shared test harness: every test talks to the real TigerBeetle started by
//! `tools/stack start` and isolates itself on an event (ledger) of its own.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use boxoffice::ids::{EventId, Resource};
use boxoffice::ledger::{BatcherConfig, Ledger};

/// The TigerBeetle address of the test stack.
pub fn tb_address() -> String {
    std::env::var("BOXOFFICE_TB_ADDRESS").unwrap_or_else(|_| "127.0.0.1:34000".into())
}

pub fn connect() -> Ledger {
    Ledger::connect(BatcherConfig::new(tb_address())).expect("TigerBeetle client")
}

/// An event number no other test (in this or an earlier run) has used: the
/// TigerBeetle data file outlives test runs.
pub fn unique_event() -> EventId {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mixed = (nanos as u32)
        ^ (std::process::id().rotate_left(16))
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9);
    EventId(mixed.max(1000))
}

/// Opens a fresh event with one ticket class of `capacity` and `goodies`.
pub fn open_event(ledger: &Ledger, capacity: u64, goodies: u64) -> EventId {
    let event = unique_event();
    ledger
        .open_event(
            event,
            &[(Resource::Class(1), capacity), (Resource::Goodies, goodies)],
        )
        .expect("opening the test event");
    event
}

/// may's worker count is global to the process: set it once.
pub fn may_workers(workers: usize) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        may::config().set_workers(workers).set_stack_size(0x4000);
    });
}
pub mod app;
