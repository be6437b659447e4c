//! The order store through a PostgreSQL outage: its own test binary (its
//! own process), since it stops the stack's PostgreSQL, which would break
//! any test running beside it in the same process. A guard starts
//! PostgreSQL again however the test ends.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use boxoffice::ids::OrderId;
use boxoffice::orders::{OrderRecord, OrderStatus, OrderStore, OrderStoreConfig, OrderStoreError};
use postgres::{Client, NoTls};

fn base_url() -> String {
    std::env::var("BOXOFFICE_PG_URL")
        .unwrap_or_else(|_| "postgres://boxoffice@127.0.0.1:34001/boxoffice".into())
}

/// Runs `tools/stack <action> postgres`; true if it succeeded.
fn stack(action: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/stack");
    let status = Command::new(script)
        .args([action, "postgres"])
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => true,
        other => {
            eprintln!("tools/stack {action} postgres failed: {other:?}");
            false
        }
    }
}

/// Starts PostgreSQL again when dropped, even if the test panicked (so it
/// must not panic itself).
struct RestartPostgres;

impl Drop for RestartPostgres {
    fn drop(&mut self) {
        stack("start");
    }
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

/// A database of the test's own, dropped at the end.
struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    fn create() -> TestDatabase {
        let name = format!("boxoffice_test_outage_{}", std::process::id());
        let mut admin = Client::connect(&base_url(), NoTls).unwrap_or_else(|error| {
            panic!(
                "PostgreSQL at {}: {error}; start it with `tools/stack start postgres`",
                base_url()
            )
        });
        // A leftover of an earlier run that died with this pid goes first.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("DROP DATABASE");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE");
        let url = with_database(&base_url(), &name);
        TestDatabase { name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        match Client::connect(&base_url(), NoTls) {
            Ok(mut admin) => {
                let _ = admin.batch_execute(&drop);
            }
            Err(error) => eprintln!("could not drop {}: {error}", self.name),
        }
    }
}

fn order(payment_event_id: &str) -> OrderRecord {
    OrderRecord {
        order_id: OrderId::generate(),
        event_id: 7,
        class_code: "GA".into(),
        quantity: 1,
        email: "ada@example.com".into(),
        amount_cents: 4_500,
        currency: "EUR".into(),
        status: OrderStatus::Paid,
        goodie: false,
        ticket_codes: vec!["ABCD-EFGH-0001".into()],
        payment_event_id: payment_event_id.into(),
        recorded_at: None,
    }
}

/// Calls `attempt` until it succeeds: at most `attempts_max` times, 250 ms
/// apart (the writer's reconnect backoff is at most 2 s).
fn eventually<T>(attempts_max: u32, mut attempt: impl FnMut() -> Result<T, OrderStoreError>) -> T {
    let mut last = None;
    for _ in 0..attempts_max {
        match attempt() {
            Ok(value) => return value,
            Err(error) => last = Some(error),
        }
        thread::sleep(Duration::from_millis(250));
    }
    panic!("still failing after {attempts_max} attempts: {last:?}");
}

#[test]
fn recording_while_postgres_is_down_fails_fast_and_works_after_restart() {
    let db = TestDatabase::create();
    let mut config = OrderStoreConfig::new(&db.url);
    config.timeout_ms = 2_000;
    let bound = Duration::from_millis(config.timeout_ms);
    let store = OrderStore::start(config).expect("start");
    store
        .record(order("evt_before"))
        .expect("recording before the outage");

    let restart = RestartPostgres;
    assert!(stack("stop"), "stopping PostgreSQL");
    for i in 0..3 {
        let started = Instant::now();
        let error = store
            .record(order(&format!("evt_down_{i}")))
            .expect_err("PostgreSQL is down");
        assert!(
            started.elapsed() < bound,
            "answered within the bound: {:?}",
            started.elapsed()
        );
        assert!(
            matches!(error, OrderStoreError::Unavailable { .. }),
            "{error:?}"
        );
        println!("down, answered in {:?}: {error}", started.elapsed());
    }
    let started = Instant::now();
    let error = store
        .find(OrderId::generate())
        .expect_err("PostgreSQL is down");
    assert!(started.elapsed() < bound);
    assert!(
        matches!(error, OrderStoreError::Unavailable { .. }),
        "{error:?}"
    );
    let failed_transactions = store.counters().failed_transactions;
    assert!(failed_transactions >= 3, "{:?}", store.counters());

    assert!(stack("start"), "starting PostgreSQL again");
    let after = order("evt_after");
    let restarted = Instant::now();
    let stored = eventually(40, || store.record(after.clone()));
    println!(
        "recording again {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(stored.order_id, after.order_id);
    let found = eventually(40, || store.find(after.order_id));
    assert_eq!(
        found.expect("found after the restart").payment_event_id,
        "evt_after"
    );

    // A restart while the store is idle goes unnoticed: the stale
    // connections fail, and the work is retried once on fresh ones.
    assert!(stack("stop") && stack("start"), "restarting PostgreSQL");
    let idle = order("evt_after_idle_restart");
    assert_eq!(
        store.record(idle.clone()).expect("record").order_id,
        idle.order_id
    );
    assert!(store.find(idle.order_id).expect("find").is_some());
    drop(restart);
    drop(store);
}
