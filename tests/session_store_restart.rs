//! The session store across a Redis restart, in a process of its own.
//!
//! The stack's shared Redis (port 34002) serves other tests and other
//! engineers at the same time, so this test does not restart it: it runs
//! a private Redis through the same `tools/stack`, with its own data
//! directory and a free loopback port, and stops it at the end (also when
//! the test fails).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use boxoffice::session_store::{SessionStore, SessionStoreConfig, SessionStoreError};

/// A Redis of this test's own, stopped and removed when dropped.
struct PrivateRedis {
    dir: PathBuf,
    port: u16,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let dir =
            std::env::temp_dir().join(format!("boxoffice-session-restart-{}", std::process::id()));
        let redis = PrivateRedis {
            dir,
            port: free_port(),
        };
        redis.stack("start");
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `tools/stack ACTION redis` on this Redis's directory and port.
    fn stack(&self, action: &str) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/stack");
        let output = Command::new(script)
            .args([action, "redis"])
            .env("BOXOFFICE_STACK_DIR", &self.dir)
            .env("BOXOFFICE_REDIS_PORT", self.port.to_string())
            .output()
            .expect("running tools/stack");
        assert!(
            output.status.success(),
            "tools/stack {action} redis failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stack("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener.local_addr().unwrap().port()
}

fn may_workers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        may::config().set_workers(2);
    });
}

#[test]
fn the_store_recovers_after_redis_restarts() {
    let redis = PrivateRedis::start();
    let mut config = SessionStoreConfig::new(redis.url());
    config.timeout_ms = 1_000;
    let store = Arc::new(SessionStore::start(config).unwrap());
    // A caller's bound: twice the timeout and a second.
    let bound = Duration::from_millis(2 * 1_000 + 1_000);
    store.put("session:1", b"before".to_vec(), 60).unwrap();
    assert_eq!(store.get("session:1").unwrap(), Some(b"before".to_vec()));

    redis.stack("stop");
    for _ in 0..5 {
        let started = Instant::now();
        let result = store.get("session:1");
        assert!(
            matches!(result, Err(SessionStoreError::Redis { .. })),
            "{result:?}"
        );
        assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
        thread::sleep(Duration::from_millis(20));
    }
    every_coroutine_gets_an_error(&store, bound);

    redis.stack("start");
    let started = Instant::now();
    let mut attempts = 0;
    while store.put("session:1", b"after".to_vec(), 60).is_err() {
        attempts += 1;
        assert!(attempts < 200, "no recovery after {:?}", started.elapsed());
        thread::sleep(Duration::from_millis(50));
    }
    println!(
        "recovered {:?} after Redis came back ({attempts} failed attempts)",
        started.elapsed()
    );
    // The restarted Redis has no persistence: only the new value exists.
    assert_eq!(store.get("session:1").unwrap(), Some(b"after".to_vec()));
    assert!(store.counters().failed_round_trips > 0);
}

/// With Redis down, 1,000 coroutines all get errors, none hangs.
fn every_coroutine_gets_an_error(store: &Arc<SessionStore>, bound: Duration) {
    may_workers();
    let started = Instant::now();
    let coroutines: Vec<_> = (0..1_000)
        .map(|_| {
            let store = store.clone();
            // SAFETY: the closure uses no thread-local storage and a store
            // call fits the default coroutine stack.
            unsafe {
                may::coroutine::spawn(move || {
                    assert!(store.get("session:1").is_err());
                })
            }
        })
        .collect();
    for coroutine in coroutines {
        coroutine.join().expect("coroutine panicked");
    }
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
}
