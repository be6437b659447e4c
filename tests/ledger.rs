//! The ticket ledger against the real TigerBeetle of `tools/stack`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use boxoffice::ids::{EventId, OrderId, Resource, TransferKind};
use boxoffice::ledger::{
    transfers, BatcherConfig, HoldMetadata, Ledger, LedgerError, TransferOutcome,
};
use common::{connect, open_event};

fn metadata(event: EventId, quantity: u16) -> HoldMetadata {
    HoldMetadata {
        order_id: OrderId::generate(),
        event,
        class: 1,
        quantity,
        customer_hash: 42,
    }
}

/// Waits (bounded) until TigerBeetle has expired every hold of the event.
fn wait_until_released(ledger: &Ledger, event: EventId, capacity: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
        if inventory.held == 0 {
            assert_eq!(inventory.available, capacity);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "hold not released: {inventory:?}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn many_threads_never_sell_more_than_the_capacity() {
    let ledger = Arc::new(connect());
    let event = open_event(&ledger, 1_000, 0);
    let created = Arc::new(AtomicU64::new(0));
    let sold_out = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    // A reader checks the invariant while the buyers race.
    let reader = {
        let (ledger, done) = (ledger.clone(), done.clone());
        thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) || reads == 0 {
                let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
                assert_eq!(inventory.capacity, 1_000);
                assert!(
                    inventory.sold + inventory.held <= inventory.capacity,
                    "{inventory:?}"
                );
                reads += 1;
            }
            reads
        })
    };
    let attempts_total = 5_000;
    let threads = 64;
    let buyers: Vec<_> = (0..threads)
        .map(|t| {
            let (ledger, created, sold_out) = (ledger.clone(), created.clone(), sold_out.clone());
            thread::spawn(move || {
                // 5,000 attempts spread over 64 threads (78 or 79 each).
                let attempts = attempts_total / threads + usize::from(t < attempts_total % threads);
                for _ in 0..attempts {
                    match ledger.hold_tickets(&metadata(event, 1), 300).unwrap() {
                        TransferOutcome::Created => created.fetch_add(1, Ordering::Relaxed),
                        TransferOutcome::SoldOut => sold_out.fetch_add(1, Ordering::Relaxed),
                        other => panic!("unexpected outcome {other}"),
                    };
                }
            })
        })
        .collect();
    for buyer in buyers {
        buyer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    assert_eq!(created.load(Ordering::Relaxed), 1_000);
    assert_eq!(sold_out.load(Ordering::Relaxed), 4_000);
    let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
    assert_eq!(
        (inventory.held, inventory.sold, inventory.available),
        (1_000, 0, 0)
    );
}

#[test]
fn an_unpaid_hold_expires_and_cannot_be_posted_afterwards() {
    let ledger = connect();
    let event = open_event(&ledger, 10, 0);
    let hold = metadata(event, 3);
    assert_eq!(
        ledger.hold_tickets(&hold, 1).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger
            .inventory(event, Resource::Class(1))
            .unwrap()
            .available,
        7
    );

    wait_until_released(&ledger, event, 10);
    assert_eq!(
        ledger.post_tickets(hold.order_id, event, 1).unwrap(),
        TransferOutcome::Expired
    );
}

#[test]
fn a_paid_hold_expired_can_be_booked_late_while_tickets_remain() {
    let ledger = connect();
    let event = open_event(&ledger, 2, 0);
    let late = metadata(event, 2);
    assert_eq!(
        ledger.hold_tickets(&late, 1).unwrap(),
        TransferOutcome::Created
    );
    wait_until_released(&ledger, event, 2);
    assert_eq!(
        ledger.post_tickets(late.order_id, event, 1).unwrap(),
        TransferOutcome::Expired
    );
    assert_eq!(
        ledger.book_tickets_late(&late).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(ledger.inventory(event, Resource::Class(1)).unwrap().sold, 2);
    // Booking again is the same transfer: exists, nothing sold twice.
    assert_eq!(
        ledger.book_tickets_late(&late).unwrap(),
        TransferOutcome::AlreadyExists
    );
    let other = metadata(event, 1);
    assert_eq!(
        ledger.book_tickets_late(&other).unwrap(),
        TransferOutcome::SoldOut
    );
    assert_eq!(ledger.inventory(event, Resource::Class(1)).unwrap().sold, 2);
}

#[test]
fn post_after_void_and_void_after_post_fail_and_posting_twice_is_safe() {
    let ledger = connect();
    let event = open_event(&ledger, 10, 0);

    let voided = metadata(event, 1);
    assert_eq!(
        ledger.hold_tickets(&voided, 300).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger.void_tickets(voided.order_id, event, 1).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger.post_tickets(voided.order_id, event, 1).unwrap(),
        TransferOutcome::AlreadyVoided
    );

    let posted = metadata(event, 2);
    assert_eq!(
        ledger.hold_tickets(&posted, 300).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger.post_tickets(posted.order_id, event, 1).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger.void_tickets(posted.order_id, event, 1).unwrap(),
        TransferOutcome::AlreadyPosted
    );
    assert_eq!(
        ledger.post_tickets(posted.order_id, event, 1).unwrap(),
        TransferOutcome::AlreadyExists
    );

    let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
    assert_eq!(
        (inventory.sold, inventory.held, inventory.available),
        (2, 0, 8)
    );
}

#[test]
fn resubmitting_a_hold_answers_exists_and_holds_nothing_twice() {
    let ledger = connect();
    let event = open_event(&ledger, 10, 0);
    let hold = metadata(event, 4);
    assert_eq!(
        ledger.hold_tickets(&hold, 300).unwrap(),
        TransferOutcome::Created
    );
    assert_eq!(
        ledger.hold_tickets(&hold, 300).unwrap(),
        TransferOutcome::AlreadyExists
    );
    assert_eq!(ledger.inventory(event, Resource::Class(1)).unwrap().held, 4);
}

#[test]
fn a_hold_that_failed_for_sold_out_keeps_failing_under_the_same_id() {
    let ledger = connect();
    let event = open_event(&ledger, 1, 0);
    let hold = metadata(event, 2);
    assert_eq!(
        ledger.hold_tickets(&hold, 300).unwrap(),
        TransferOutcome::SoldOut
    );
    assert_eq!(
        ledger.hold_tickets(&hold, 300).unwrap(),
        TransferOutcome::IdAlreadyFailed
    );
}

#[test]
fn ticket_and_goodie_posts_linked_apply_together_or_not_at_all() {
    let ledger = connect();
    let event = open_event(&ledger, 10, 5);
    let order = metadata(event, 1);
    let holds = vec![
        transfers::hold(&order, Resource::Class(1), TransferKind::TicketHold, 1, 300),
        transfers::hold(&order, Resource::Goodies, TransferKind::GoodieHold, 1, 300),
    ];
    assert_eq!(
        ledger.submit(holds).unwrap(),
        vec![TransferOutcome::Created; 2]
    );
    // The ticket hold is voided first, so the linked post of both fails as
    // a whole: the goodie is not posted alone.
    ledger.void_tickets(order.order_id, event, 1).unwrap();
    let posts = transfers::linked(vec![
        transfers::post(
            order.order_id,
            event,
            Resource::Class(1),
            TransferKind::TicketHold,
        ),
        transfers::post(
            order.order_id,
            event,
            Resource::Goodies,
            TransferKind::GoodieHold,
        ),
    ]);
    assert_eq!(
        ledger.submit(posts).unwrap(),
        vec![
            TransferOutcome::AlreadyVoided,
            TransferOutcome::LinkedEventFailed
        ]
    );
    let goodies = ledger.inventory(event, Resource::Goodies).unwrap();
    assert_eq!((goodies.sold, goodies.held), (0, 1));
}

#[test]
fn a_hold_can_be_read_back_from_tigerbeetle_with_its_order_metadata() {
    let ledger = connect();
    let event = open_event(&ledger, 10, 0);
    let hold = metadata(event, 3);
    ledger.hold_tickets(&hold, 300).unwrap();
    let missing = OrderId::generate().transfer_id(TransferKind::TicketHold);
    let found = ledger
        .lookup_transfers(vec![
            hold.order_id.transfer_id(TransferKind::TicketHold),
            missing,
        ])
        .unwrap();
    assert_eq!(HoldMetadata::from_transfer(&found[0].unwrap()), Some(hold));
    assert!(found[1].is_none());
}

#[test]
fn reopening_an_event_after_a_restart_reuses_its_accounts_and_never_funds_twice() {
    let event;
    let hold = {
        let ledger = connect();
        event = open_event(&ledger, 100, 10);
        let hold = metadata(event, 5);
        ledger.hold_tickets(&hold, 300).unwrap();
        hold
        // The ledger (batcher thread and TigerBeetle client) ends here.
    };
    let ledger = connect();
    let capacities = [(Resource::Class(1), 100), (Resource::Goodies, 10)];
    ledger.open_event(event, &capacities).unwrap();
    ledger.open_event(event, &capacities).unwrap();
    let inventory = ledger.inventory(event, Resource::Class(1)).unwrap();
    assert_eq!(
        (inventory.capacity, inventory.held, inventory.available),
        (100, 5, 95)
    );
    assert_eq!(
        ledger.inventory(event, Resource::Goodies).unwrap().capacity,
        10
    );
    assert_eq!(
        ledger.post_tickets(hold.order_id, event, 1).unwrap(),
        TransferOutcome::Created
    );

    // Raising a capacity funds the difference; lowering it is refused.
    ledger
        .open_event(event, &[(Resource::Class(1), 150)])
        .unwrap();
    assert_eq!(
        ledger
            .inventory(event, Resource::Class(1))
            .unwrap()
            .capacity,
        150
    );
    let lowered = ledger.open_event(event, &[(Resource::Class(1), 120)]);
    assert!(
        matches!(lowered, Err(LedgerError::CapacityLowered { .. })),
        "{lowered:?}"
    );
}

#[test]
fn running_the_ledger_demo_twice_funds_the_demo_event_once() {
    let event = common::unique_event();
    let run = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_boxoffice"))
            .args(["--tb-address", &common::tb_address()])
            .args([
                "ledger-demo",
                "--event",
                &event.0.to_string(),
                "--capacity",
                "50",
            ])
            .output()
            .expect("running boxoffice");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert!(
        first.contains("A: capacity 50, sold 2, held 0, available 48"),
        "{first}"
    );
    let second = run();
    assert!(
        second.contains("A: capacity 50, sold 4, held 0, available 46"),
        "{second}"
    );
}

#[test]
fn a_cluster_that_does_not_answer_gives_every_waiting_caller_an_error() {
    // Nothing listens on this port: the client retries for ever, and the
    // batcher's deadline must end every wait.
    let mut config = BatcherConfig::new("127.0.0.1:9");
    config.request_timeout_ms = 500;
    let ledger = Arc::new(Ledger::connect(config).unwrap());
    let started = Instant::now();
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let ledger = ledger.clone();
            thread::spawn(move || ledger.hold_tickets(&metadata(EventId(1), 1), 300))
        })
        .collect();
    for caller in callers {
        match caller.join().unwrap() {
            Err(LedgerError::Timeout { address, .. }) => assert_eq!(address, "127.0.0.1:9"),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    // Each caller waits at most two rounds (plus slack), never for ever.
    assert!(started.elapsed() < Duration::from_secs(30));
    let message = ledger
        .inventory(EventId(1), Resource::Class(1))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("127.0.0.1:9") && message.contains("tools/stack start"),
        "{message}"
    );
}

#[test]
fn a_full_queue_answers_overloaded_at_once() {
    let mut config = BatcherConfig::new("127.0.0.1:9");
    config.request_timeout_ms = 2_000;
    config.queue_jobs_max = 1;
    let ledger = Arc::new(Ledger::connect(config).unwrap());
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let ledger = ledger.clone();
            thread::spawn(move || ledger.hold_tickets(&metadata(EventId(1), 1), 300))
        })
        .collect();
    let results: Vec<_> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    let overloaded = results
        .iter()
        .filter(|r| matches!(r, Err(LedgerError::Overloaded { queue_jobs_max: 1 })))
        .count();
    assert!(overloaded > 0, "{results:?}");
    assert!(results.iter().all(|r| r.is_err()));
}
