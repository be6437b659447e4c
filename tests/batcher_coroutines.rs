//! The batcher under may coroutines: thousands of concurrent holds from
//! coroutines on 2 worker threads, each parked (not its worker thread)
//! while TigerBeetle works. A coroutine that blocked its worker would
//! leave only 2 holds in flight at a time and the batches would stay tiny.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use boxoffice::ids::{OrderId, Resource};
use boxoffice::ledger::{HoldMetadata, TransferOutcome};
use common::{connect, may_workers, open_event};

#[test]
fn ten_thousand_concurrent_holds_from_coroutines_fill_batches_of_over_100_events() {
    may_workers(2);
    let holds_total: u64 = 10_000;
    let capacity: u64 = 6_000;
    let ledger = Arc::new(connect());
    let event = open_event(&ledger, capacity, 0);
    let before = ledger.counters();

    let created = Arc::new(AtomicU64::new(0));
    let sold_out = Arc::new(AtomicU64::new(0));
    let coroutines: Vec<_> = (0..holds_total)
        .map(|_| {
            let (ledger, created, sold_out) = (ledger.clone(), created.clone(), sold_out.clone());
            // SAFETY: the closure uses no thread-local storage and the
            // coroutine's stack (set in `may_workers`) fits a hold call.
            unsafe {
                may::coroutine::spawn(move || {
                    let hold = HoldMetadata {
                        order_id: OrderId::generate(),
                        event,
                        class: 1,
                        quantity: 1,
                        customer_hash: 7,
                    };
                    match ledger.hold_tickets(&hold, 300).expect("hold") {
                        TransferOutcome::Created => created.fetch_add(1, Ordering::Relaxed),
                        TransferOutcome::SoldOut => sold_out.fetch_add(1, Ordering::Relaxed),
                        other => panic!("unexpected outcome {other}"),
                    };
                })
            }
        })
        .collect();
    for coroutine in coroutines {
        coroutine.join().expect("coroutine panicked");
    }

    assert_eq!(created.load(Ordering::Relaxed), capacity);
    assert_eq!(sold_out.load(Ordering::Relaxed), holds_total - capacity);
    let batches = ledger.counters().since(&before);
    assert_eq!(batches.events, holds_total);
    assert!(
        batches.batch_events_mean() > 100.0,
        "mean batch {:.1} events over {} requests",
        batches.batch_events_mean(),
        batches.requests
    );
    assert!(batches.batch_events_max <= 8189);
    let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
    assert_eq!((inventory.held, inventory.available), (capacity, 0));
}
