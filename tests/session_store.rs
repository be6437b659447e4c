//! The session store against the real Redis of the project's stack
//! (`tools/stack start redis`; URL from `BOXOFFICE_REDIS_URL`). Each test
//! owns a Redis database of its own (1 to 15) and flushes only that one,
//! and owns its store, so the counters it reads are its own.
//!
//! Servers that are down or silent are played by a dead port and by a
//! listener that never answers; Redis restarts are in
//! `tests/session_store_restart.rs`, a process of its own.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use boxoffice::session_store::{
    SessionStore, SessionStoreConfig, SessionStoreError, ROUND_COMMANDS_MAX,
};

/// The stack's Redis, database `db`, flushed.
fn fresh_db(db: u8) -> String {
    assert!((1..=15).contains(&db), "database 0 is left to the others");
    let base =
        std::env::var("BOXOFFICE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:34002/".into());
    let (scheme, rest) = base.split_once("://").expect("a redis:// URL");
    let authority = rest.split('/').next().expect("host:port");
    let url = format!("{scheme}://{authority}/{db}");
    let mut connection = raw_connection(&url);
    let () = redis::cmd("FLUSHDB")
        .query(&mut connection)
        .expect("FLUSHDB of the test's own database");
    url
}

/// A direct connection, for checking Redis behind the store's back (from
/// the test thread, never from a coroutine).
fn raw_connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
        .unwrap_or_else(|e| panic!("Redis at {url}: {e}; start it with `tools/stack start redis`"))
}

fn start(url: &str) -> SessionStore {
    SessionStore::start(SessionStoreConfig::new(url)).expect("starting the session store")
}

/// may's worker count is global to the process: set it once.
fn may_workers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        may::config().set_workers(2);
    });
}

/// Runs `count` coroutines of `body(index)` and waits for them all.
fn in_coroutines(count: usize, body: impl Fn(usize) + Send + Sync + 'static) {
    may_workers();
    let body = Arc::new(body);
    let coroutines: Vec<_> = (0..count)
        .map(|index| {
            let body = body.clone();
            // SAFETY: the closures use no thread-local storage and a store
            // call fits the default coroutine stack.
            unsafe { may::coroutine::spawn(move || body(index)) }
        })
        .collect();
    for coroutine in coroutines {
        coroutine.join().expect("coroutine panicked");
    }
}

/// Accepts connections (the kernel does, up to the backlog) and never
/// answers: a Redis stopped with SIGSTOP, or a stuck proxy.
fn silent_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let port = listener.local_addr().unwrap().port();
    (listener, format!("redis://127.0.0.1:{port}/"))
}

#[test]
fn a_stored_session_is_read_back_until_its_ttl_ends() {
    let store = start(&fresh_db(1));
    store.put("session:1", b"pending".to_vec(), 1).unwrap();
    assert_eq!(store.get("session:1").unwrap(), Some(b"pending".to_vec()));

    let started = Instant::now();
    let mut polls = 0;
    while store.get("session:1").unwrap().is_some() {
        polls += 1;
        assert!(polls < 100, "still there after {:?}", started.elapsed());
        thread::sleep(Duration::from_millis(50));
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn put_if_absent_stores_only_the_first_value() {
    let store = start(&fresh_db(2));
    assert!(store
        .put_if_absent("idem:42", b"first".to_vec(), 60)
        .unwrap());
    assert!(!store
        .put_if_absent("idem:42", b"second".to_vec(), 60)
        .unwrap());
    assert_eq!(store.get("idem:42").unwrap(), Some(b"first".to_vec()));
}

#[test]
fn put_if_absent_from_many_coroutines_has_exactly_one_winner() {
    let store = Arc::new(start(&fresh_db(3)));
    let winners = Arc::new(AtomicU64::new(0));
    let (shared, counted) = (store.clone(), winners.clone());
    in_coroutines(1_000, move |index| {
        let value = index.to_string().into_bytes();
        if shared
            .put_if_absent("idem:race", value, 60)
            .expect("SET NX")
        {
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert_eq!(winners.load(Ordering::Relaxed), 1);
}

#[test]
fn a_deleted_session_is_gone_and_deleting_it_again_is_no_error() {
    let store = start(&fresh_db(4));
    store.put("session:2", b"paid".to_vec(), 60).unwrap();
    store.delete("session:2").unwrap();
    assert_eq!(store.get("session:2").unwrap(), None);
    store.delete("session:2").unwrap();
    assert_eq!(store.get("never:stored").unwrap(), None);
}

#[test]
fn a_put_replaces_the_value_and_its_ttl() {
    let url = fresh_db(5);
    let store = start(&url);
    store.put("session:3", b"old".to_vec(), 1).unwrap();
    store.put("session:3", b"new".to_vec(), 600).unwrap();
    assert_eq!(store.get("session:3").unwrap(), Some(b"new".to_vec()));
    let ttl_s: i64 = redis::cmd("TTL")
        .arg("session:3")
        .query(&mut raw_connection(&url))
        .unwrap();
    assert!((590..=600).contains(&ttl_s), "TTL {ttl_s} s");
}

#[test]
fn values_of_every_byte_and_the_empty_value_survive_the_round_trip() {
    let store = start(&fresh_db(6));
    let every_byte: Vec<u8> = (0..=255).cycle().take(4 * 256).collect();
    store.put("bytes", every_byte.clone(), 60).unwrap();
    store.put("empty", Vec::new(), 60).unwrap();
    assert_eq!(store.get("bytes").unwrap(), Some(every_byte));
    assert_eq!(store.get("empty").unwrap(), Some(Vec::new()));
}

#[test]
fn a_detached_put_is_stored_without_waiting() {
    let store = start(&fresh_db(7));
    store.put_detached("cache:1", b"warm".to_vec(), 60).unwrap();
    let mut polls = 0;
    while store.get("cache:1").unwrap().is_none() {
        polls += 1;
        assert!(polls < 100, "the detached put never landed");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(store.counters().failed_detached_puts, 0);
}

#[test]
fn dropping_the_store_sends_the_queued_detached_puts_first() {
    let url = fresh_db(8);
    let keys_count: usize = 2_000;
    let store = start(&url);
    for index in 0..keys_count {
        store
            .put_detached(&format!("cache:{index}"), b"v".to_vec(), 60)
            .unwrap();
    }
    let started = Instant::now();
    drop(store);
    assert!(started.elapsed() < Duration::from_secs(5));
    let keys_stored: usize = redis::cmd("DBSIZE")
        .query(&mut raw_connection(&url))
        .unwrap();
    assert_eq!(keys_stored, keys_count);
}

#[test]
fn thousands_of_concurrent_gets_from_coroutines_share_few_round_trips() {
    let keys_count = 100;
    let gets_count = 5_000;
    let store = Arc::new(start(&fresh_db(9)));
    for key in 0..keys_count {
        store
            .put(&format!("s:{key}"), format!("v{key}").into_bytes(), 60)
            .unwrap();
    }
    let before = store.counters();

    let shared = store.clone();
    in_coroutines(gets_count, move |index| {
        let key = index % keys_count;
        let value = shared.get(&format!("s:{key}")).expect("GET");
        assert_eq!(value, Some(format!("v{key}").into_bytes()));
    });

    let rounds = store.counters().since(&before);
    println!("{gets_count} gets from coroutines: {rounds:?}");
    assert_eq!(rounds.commands, gets_count as u64);
    assert_eq!(rounds.failed_round_trips, 0);
    assert!(
        rounds.commands_per_round_trip_mean() > 10.0,
        "mean {:.1} commands per round trip over {} round trips",
        rounds.commands_per_round_trip_mean(),
        rounds.round_trips
    );
    assert!(rounds.commands_per_round_trip_max <= ROUND_COMMANDS_MAX as u64);
}

#[test]
fn a_server_error_fails_only_its_own_command() {
    let url = fresh_db(10);
    let _length: i64 = redis::cmd("RPUSH")
        .arg("a:list")
        .arg("x")
        .query(&mut raw_connection(&url))
        .unwrap();
    let store = Arc::new(start(&url));
    store.put("a:string", b"fine".to_vec(), 60).unwrap();

    let shared = store.clone();
    in_coroutines(1_000, move |index| {
        if index % 100 == 0 {
            match shared.get("a:list") {
                Err(SessionStoreError::Redis { message, .. }) => {
                    assert!(message.contains("WRONGTYPE"), "{message}")
                }
                other => panic!("GET of a list gave {other:?}"),
            }
        } else {
            assert_eq!(shared.get("a:string").unwrap(), Some(b"fine".to_vec()));
        }
    });
    let counters = store.counters();
    assert_eq!(counters.failed_round_trips, 0);
    assert_eq!(store.get("a:string").unwrap(), Some(b"fine".to_vec()));
}

#[test]
fn a_store_pointed_at_a_dead_port_answers_errors_not_hangs() {
    let store = Arc::new(start("redis://127.0.0.1:9/"));
    let started = Instant::now();
    for _ in 0..10 {
        let call_started = Instant::now();
        match store.get("session:1") {
            Err(SessionStoreError::Redis { url, message }) => {
                assert_eq!(url, "redis://127.0.0.1:9/");
                assert!(message.contains("tools/stack start"), "{message}");
            }
            other => panic!("a dead port gave {other:?}"),
        }
        assert!(call_started.elapsed() < Duration::from_secs(1));
    }
    assert!(store.put("k", b"v".to_vec(), 60).is_err());
    assert!(store.put_if_absent("k", b"v".to_vec(), 60).is_err());
    assert!(store.delete("k").is_err());

    let shared = store.clone();
    in_coroutines(1_000, move |_| {
        assert!(shared.get("session:1").is_err());
    });
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(store.counters().failed_round_trips > 0);
}

#[test]
fn a_silent_server_gives_errors_within_the_timeout_not_hangs() {
    let (_listener, url) = silent_server();
    let mut config = SessionStoreConfig::new(&url);
    config.timeout_ms = 300;
    let store = SessionStore::start(config).unwrap();
    // The caller's bound: twice the timeout and a second.
    let bound = Duration::from_millis(2 * 300 + 1_000);
    for _ in 0..5 {
        let started = Instant::now();
        let result = store.get("session:1");
        assert!(
            matches!(
                result,
                Err(SessionStoreError::Redis { .. } | SessionStoreError::Timeout { .. })
            ),
            "{result:?}"
        );
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
    }
    let started = Instant::now();
    drop(store);
    assert!(started.elapsed() < bound);
}

#[test]
fn a_full_queue_answers_overloaded_at_once() {
    let (_listener, url) = silent_server();
    let mut config = SessionStoreConfig::new(&url);
    config.threads = 1;
    config.queue_commands_max = 16;
    config.timeout_ms = 1_000;
    let store = SessionStore::start(config).unwrap();

    // The thread takes at most one round off the queue, then waits on
    // the silent server; the queue fills behind it.
    let attempts_max = ROUND_COMMANDS_MAX + 16 + 1;
    let mut overloaded = None;
    for attempt in 0..attempts_max {
        let started = Instant::now();
        match store.put_detached("k", b"v".to_vec(), 60) {
            Ok(()) => {}
            Err(error) => {
                assert!(started.elapsed() < Duration::from_millis(500));
                overloaded = Some((attempt, error));
                break;
            }
        }
    }
    let (attempt, error) = overloaded.expect("the queue never filled");
    println!("overloaded after {attempt} detached puts");
    assert_eq!(
        error,
        SessionStoreError::Overloaded {
            queue_commands_max: 16
        }
    );
    let started = Instant::now();
    assert_eq!(
        store.get("k"),
        Err(SessionStoreError::Overloaded {
            queue_commands_max: 16
        })
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(error.to_string().contains("queue is full"));
}

#[test]
fn errors_never_show_the_password() {
    let store = start("redis://app:hunter2@127.0.0.1:9/");
    assert_eq!(store.url(), "redis://app:***@127.0.0.1:9/");
    let error = store.get("k").unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("redis://app:***@127.0.0.1:9/"), "{text}");
}

#[test]
fn a_malformed_url_fails_at_start() {
    match SessionStore::start(SessionStoreConfig::new("http://127.0.0.1:34002/")) {
        Err(SessionStoreError::Redis { message, .. }) => {
            assert!(message.contains("invalid URL"), "{message}")
        }
        Ok(_) => panic!("an http:// URL was accepted"),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// A measurement, not a test: run with
/// `cargo test --release --test session_store -- --ignored --nocapture`.
#[test]
#[ignore = "measurement; run alone with --ignored --nocapture"]
fn measure_gets_per_second_from_5000_coroutines() {
    let coroutines_count = 5_000;
    let gets_per_coroutine = 40;
    let url = fresh_db(11);
    for threads in [1, 2, 4] {
        let mut config = SessionStoreConfig::new(&url);
        config.threads = threads;
        let store = Arc::new(SessionStore::start(config).unwrap());
        store.put("s", b"value".to_vec(), 600).unwrap();
        let before = store.counters();
        let started = Instant::now();
        let shared = store.clone();
        in_coroutines(coroutines_count, move |_| {
            for _ in 0..gets_per_coroutine {
                assert!(shared.get("s").unwrap().is_some());
            }
        });
        let elapsed = started.elapsed();
        let rounds = store.counters().since(&before);
        let gets_count = (coroutines_count * gets_per_coroutine) as f64;
        println!(
            "store threads {threads}: {gets_count} gets from {coroutines_count} coroutines \
             in {elapsed:.2?}: {:.0} gets/s, {:.1} commands per round trip (max {})",
            gets_count / elapsed.as_secs_f64(),
            rounds.commands_per_round_trip_mean(),
            rounds.commands_per_round_trip_max
        );
    }
}
