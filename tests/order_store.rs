//! The order store against the real PostgreSQL of `tools/stack start
//! postgres`. Every test gets a database of its own, created from the base
//! URL and dropped at the end, so tests run in parallel and start clean.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Once};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boxoffice::ids::OrderId;
use boxoffice::orders::{
    OrderRecord, OrderStatus, OrderStore, OrderStoreConfig, OrderStoreError, MIGRATIONS,
};
use postgres::{Client, NoTls};

// ------------------------------------------------------------------ harness

fn base_url() -> String {
    std::env::var("BOXOFFICE_PG_URL")
        .unwrap_or_else(|_| "postgres://boxoffice@127.0.0.1:34001/boxoffice".into())
}

/// A database of the test's own, dropped (with its connections) at the end.
struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> TestDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000;
        let name = format!(
            "boxoffice_test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE");
        let url = with_database(&base_url(), &name);
        TestDatabase { name, url }
    }

    fn config(&self) -> OrderStoreConfig {
        OrderStoreConfig::new(&self.url)
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connecting to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = admin().batch_execute(&drop) {
            eprintln!("could not drop {}: {error}", self.name);
        }
    }
}

fn admin() -> Client {
    Client::connect(&base_url(), NoTls).unwrap_or_else(|error| {
        panic!(
            "PostgreSQL at {}: {error}; start it with `tools/stack start postgres`",
            base_url()
        )
    })
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let scheme_end = head.find("://").expect("a postgres:// URL") + 3;
    let host_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    let mut url = format!("{}/{database}", &head[..host_end]);
    if let Some(query) = query {
        url = format!("{url}?{query}");
    }
    url
}

/// may's worker count is global to the process: set it once.
fn may_workers(workers: usize) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        may::config().set_workers(workers).set_stack_size(0x2000);
    });
}

fn order(event_id: u32, status: OrderStatus, payment_event_id: &str) -> OrderRecord {
    let quantity = 2;
    let ticket_codes = if status == OrderStatus::Paid {
        vec!["ABCD-EFGH-0001".into(), "ABCD-EFGH-0002".into()]
    } else {
        Vec::new()
    };
    OrderRecord {
        order_id: OrderId::generate(),
        event_id,
        class_code: "GA".into(),
        quantity,
        email: "ada@example.com".into(),
        amount_cents: 2 * 4_500,
        currency: "EUR".into(),
        status,
        goodie: status == OrderStatus::Paid,
        ticket_codes,
        payment_event_id: payment_event_id.into(),
        recorded_at: None,
    }
}

/// The record as stored, minus the database's timestamp.
fn without_time(mut record: OrderRecord) -> OrderRecord {
    assert!(record.recorded_at.is_some(), "a stored record has its time");
    record.recorded_at = None;
    record
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).expect(sql).get(0)
}

/// Locks `orders` against every writer until the guard's transaction ends:
/// a writer's batch then waits inside PostgreSQL while more orders queue.
fn block_writers(client: &mut Client) -> postgres::Transaction<'_> {
    let mut transaction = client.transaction().expect("BEGIN");
    transaction
        .batch_execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .expect("LOCK TABLE");
    transaction
}

// ------------------------------------------------------------------ tests

#[test]
fn migrations_apply_once_and_a_second_start_applies_nothing() {
    let db = TestDatabase::create();
    let all: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    let first = OrderStore::start(db.config()).expect("first start");
    assert_eq!(first.migrations_applied(), all.as_slice());
    drop(first);

    let mut client = db.client();
    let applied_at = |client: &mut Client| -> Vec<(i32, SystemTime)> {
        let rows = client
            .query(
                "SELECT version, applied_at FROM schema_migrations ORDER BY version",
                &[],
            )
            .expect("schema_migrations");
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    };
    let before = applied_at(&mut client);
    assert_eq!(before.len(), MIGRATIONS.len());

    let second = OrderStore::start(db.config()).expect("second start");
    assert!(second.migrations_applied().is_empty());
    assert_eq!(applied_at(&mut client), before, "nothing applied again");
}

#[test]
fn concurrent_starts_apply_the_migrations_exactly_once() {
    let db = TestDatabase::create();
    let url = db.url.clone();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                let mut config = OrderStoreConfig::new(url);
                (config.writers, config.readers) = (1, 1);
                let store = OrderStore::start(config).expect("concurrent start");
                store.migrations_applied().to_vec()
            })
        })
        .collect();
    let applied: Vec<Vec<u32>> = starts.into_iter().map(|s| s.join().unwrap()).collect();
    let appliers = applied
        .iter()
        .filter(|versions| !versions.is_empty())
        .count();
    assert_eq!(
        appliers, 1,
        "one start applied, the others found nothing: {applied:?}"
    );
    let mut client = db.client();
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
}

#[test]
fn a_recorded_order_is_found_with_its_status_and_tickets() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let paid = order(7, OrderStatus::Paid, "evt_paid_1");
    let before = SystemTime::now() - Duration::from_secs(60);

    let stored = store.record(paid.clone()).expect("record");
    assert!(stored.recorded_at.expect("set by the database") > before);
    assert_eq!(without_time(stored.clone()), paid);

    let found = store.find(paid.order_id).expect("find").expect("found");
    assert_eq!(found, stored, "found as stored, timestamp included");
    assert_eq!(found.status.as_str(), "PAID");
    assert_eq!(found.ticket_codes, vec!["ABCD-EFGH-0001", "ABCD-EFGH-0002"]);
}

#[test]
fn texts_that_need_quoting_survive_the_round_trip() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let mut odd = order(7, OrderStatus::Paid, "evt \"quoted\", {braced}");
    odd.ticket_codes = vec![r#"a,b"#.into(), r#"q"\"#.into()];
    odd.email = "o'hara+tickets@example.com".into();
    odd.class_code = "NULL".into();
    let stored = store.record(odd.clone()).expect("record");
    assert_eq!(without_time(stored), odd);
    let found = store.find(odd.order_id).expect("find").expect("found");
    assert_eq!(without_time(found), odd);
}

#[test]
fn the_first_final_outcome_wins_and_a_replay_changes_nothing() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let paid = order(7, OrderStatus::Paid, "evt_1");
    let first = store.record(paid.clone()).expect("record");

    let replay = store.record(paid.clone()).expect("replay");
    assert_eq!(
        replay, first,
        "the replay gets the stored row, time included"
    );

    let mut failed = paid.clone();
    (failed.status, failed.goodie, failed.ticket_codes) = (OrderStatus::Failed, false, vec![]);
    failed.payment_event_id = "evt_2".into();
    let later = store.record(failed).expect("a different outcome");
    assert_eq!(later, first, "the first outcome stays");

    let mut client = db.client();
    assert_eq!(count(&mut client, "SELECT count(*) FROM orders"), 1);
    let events = client
        .query(
            "SELECT payment_event_id, status FROM payment_events ORDER BY 1",
            &[],
        )
        .expect("payment_events");
    let events: Vec<(String, String)> = events.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        events,
        vec![
            ("evt_1".into(), "PAID".into()),
            ("evt_2".into(), "FAILED".into())
        ],
        "every distinct payment event is in the audit log"
    );
}

#[test]
fn duplicate_order_ids_inside_one_batch_keep_the_first() {
    let db = TestDatabase::create();
    let mut config = db.config();
    config.writers = 1;
    let store = Arc::new(OrderStore::start(config).expect("start"));
    let mut blocker = db.client();
    let lock = block_writers(&mut blocker);

    // The writer takes this one and waits on the lock; the rest queue.
    let plug = order(7, OrderStatus::Paid, "evt_plug");
    let mut callers = vec![spawn_record(&store, plug)];
    thread::sleep(Duration::from_millis(200));
    let paid = order(7, OrderStatus::Paid, "evt_a");
    let outcomes = [
        (OrderStatus::Paid, "evt_a"),
        (OrderStatus::Failed, "evt_b"),
        (OrderStatus::Canceled, "evt_c"),
    ];
    for (status, payment_event_id) in outcomes {
        let mut duplicate = paid.clone();
        duplicate.status = status;
        duplicate.payment_event_id = payment_event_id.into();
        callers.push(spawn_record(&store, duplicate));
        thread::sleep(Duration::from_millis(50));
    }
    lock.rollback().expect("releasing the lock");

    let stored: Vec<OrderRecord> = callers.into_iter().map(|c| c.join().unwrap()).collect();
    for duplicate in &stored[1..] {
        assert_eq!(
            without_time(duplicate.clone()),
            paid,
            "the first in queue wins"
        );
    }
    assert!(
        store.counters().batch_orders_max >= 3,
        "{:?}",
        store.counters()
    );
    let mut client = db.client();
    assert_eq!(count(&mut client, "SELECT count(*) FROM orders"), 2);
    assert_eq!(count(&mut client, "SELECT count(*) FROM payment_events"), 4);
}

fn spawn_record(store: &Arc<OrderStore>, order: OrderRecord) -> thread::JoinHandle<OrderRecord> {
    let store = store.clone();
    thread::spawn(move || store.record(order).expect("record"))
}

#[test]
fn concurrent_orders_from_coroutines_are_group_committed() {
    may_workers(2);
    let db = TestDatabase::create();
    let store = Arc::new(OrderStore::start(db.config()).expect("start"));
    let orders_total: u32 = 5_000;
    let event_id = 11;
    let before = store.counters();

    let started = Instant::now();
    let coroutines: Vec<_> = (0..orders_total)
        .map(|i| {
            let store = store.clone();
            let paid = order(event_id, OrderStatus::Paid, &format!("evt_{i}"));
            // SAFETY: the closure uses no thread-local storage and its stack
            // (set in `may_workers`) fits a record call.
            unsafe {
                may::coroutine::spawn(move || {
                    let stored = store.record(paid.clone()).expect("record");
                    assert_eq!(without_time(stored), paid);
                })
            }
        })
        .collect();
    for coroutine in coroutines {
        coroutine.join().expect("coroutine panicked");
    }
    let elapsed = started.elapsed();

    let commits = store.counters().since(&before);
    println!(
        "{orders_total} orders from coroutines in {:.0} ms: {:.0} orders/s, {} transactions, \
         {:.1} orders per transaction (largest {})",
        elapsed.as_secs_f64() * 1e3,
        f64::from(orders_total) / elapsed.as_secs_f64(),
        commits.transactions,
        commits.orders_per_transaction_mean(),
        commits.batch_orders_max,
    );
    assert_eq!(commits.orders, u64::from(orders_total));
    assert_eq!(commits.failed_transactions, 0);
    assert!(
        commits.orders_per_transaction_mean() > 10.0,
        "group commit did not group: {commits:?}"
    );
    let counts = store.counts_by_status(event_id).expect("counts");
    assert_eq!(
        counts[0],
        (
            OrderStatus::Paid,
            u64::from(orders_total),
            2 * u64::from(orders_total)
        )
    );
}

#[test]
fn counts_by_status_sum_tickets() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let event_id = 21;
    let mut big = order(event_id, OrderStatus::Paid, "evt_big");
    big.quantity = 5;
    let recorded = [
        (big, OrderStatus::Paid),
        (
            order(event_id, OrderStatus::Paid, "evt_p"),
            OrderStatus::Paid,
        ),
        (
            order(event_id, OrderStatus::PaidUnfulfilled, "evt_u"),
            OrderStatus::PaidUnfulfilled,
        ),
        (
            order(event_id, OrderStatus::Failed, "evt_f"),
            OrderStatus::Failed,
        ),
        (
            order(event_id + 1, OrderStatus::Canceled, "evt_other"),
            OrderStatus::Canceled,
        ),
    ];
    for (order, status) in recorded {
        assert_eq!(store.record(order).expect("record").status, status);
    }
    assert_eq!(
        store.counts_by_status(event_id).expect("counts"),
        vec![
            (OrderStatus::Paid, 2, 7),
            (OrderStatus::PaidUnfulfilled, 1, 2),
            (OrderStatus::Failed, 1, 2),
            (OrderStatus::Canceled, 0, 0),
        ]
    );
    let mut client = db.client();
    let owed = count(&mut client, "SELECT count(*) FROM orders WHERE refund_owed");
    assert_eq!(owed, 1, "the unfulfilled payment shows as a refund owed");
}

#[test]
fn recent_lists_the_newest_orders_first() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let ids: Vec<OrderId> = (0..3)
        .map(|i| {
            let order = order(7, OrderStatus::Paid, &format!("evt_{i}"));
            store.record(order).expect("record").order_id
        })
        .collect();
    let recent: Vec<OrderId> = store
        .recent(2)
        .expect("recent")
        .iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(recent, vec![ids[2], ids[1]]);
    assert!(store.recent(0).expect("recent").is_empty());
}

#[test]
fn an_unknown_order_is_not_found() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    assert_eq!(store.find(OrderId::generate()).expect("find"), None);
}

#[test]
fn an_invalid_order_is_refused_before_it_joins_a_batch() {
    let db = TestDatabase::create();
    let store = OrderStore::start(db.config()).expect("start");
    let mut bad = order(7, OrderStatus::Paid, "evt_bad");
    bad.email = "nul\0@example.com".into();
    match store.record(bad) {
        Err(OrderStoreError::Invalid { reason, .. }) => assert!(reason.contains("NUL"), "{reason}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.counters().transactions, 0);
}

#[test]
fn a_full_queue_answers_overloaded_at_once() {
    let db = TestDatabase::create();
    let mut config = db.config();
    (config.writers, config.queue_orders_max) = (1, 2);
    let store = Arc::new(OrderStore::start(config).expect("start"));
    let mut blocker = db.client();
    let lock = block_writers(&mut blocker);

    let mut callers = vec![spawn_record(&store, order(7, OrderStatus::Paid, "evt_0"))];
    thread::sleep(Duration::from_millis(200)); // taken by the writer
    for i in 1..=2 {
        callers.push(spawn_record(
            &store,
            order(7, OrderStatus::Paid, &format!("evt_{i}")),
        ));
    }
    thread::sleep(Duration::from_millis(200)); // queued
    let started = Instant::now();
    let refused = store.record(order(7, OrderStatus::Paid, "evt_3"));
    assert_eq!(
        refused,
        Err(OrderStoreError::Overloaded {
            queue_orders_max: 2
        })
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "refused at once"
    );

    lock.rollback().expect("releasing the lock");
    for caller in callers {
        caller
            .join()
            .expect("queued orders are stored once the lock is gone");
    }
}

#[test]
fn a_store_pointed_at_a_dead_port_answers_errors_not_hangs() {
    let mut config = OrderStoreConfig::new("postgres://boxoffice:hunter2@127.0.0.1:1/boxoffice");
    config.timeout_ms = 2_000;
    let started = Instant::now();
    let error = OrderStore::start(config)
        .err()
        .expect("no store without PostgreSQL");
    assert!(started.elapsed() < Duration::from_millis(2_000), "bounded");
    let OrderStoreError::Unavailable {
        url_without_password,
        message,
    } = &error
    else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert_eq!(
        url_without_password,
        "postgres://boxoffice@127.0.0.1:1/boxoffice"
    );
    assert!(message.contains("tools/stack start"), "{message}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
}
