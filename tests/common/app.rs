//! The whole server for one test: port 0, a PostgreSQL database of its own,
//! a Redis database of its own, events on TigerBeetle ledgers of their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice::app::{App, AppConfig};
use boxoffice::clock::unix_now_s;
use boxoffice::ids::{EventId, Resource};
use boxoffice::ledger::Inventory;
use boxoffice::shop::Shop;
use boxoffice::signature::SigningKey;
use serde_json::Value;

pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";
pub const SECRET_KEY: &str = "test-shop-secret-0123456789abcdef";

pub fn pg_base_url() -> String {
    std::env::var("BOXOFFICE_PG_URL")
        .unwrap_or_else(|_| "postgres://boxoffice@127.0.0.1:34001/boxoffice".into())
}

pub fn redis_base_url() -> String {
    std::env::var("BOXOFFICE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:34002/".into())
}

fn unique_suffix() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    nanos ^ (u64::from(std::process::id()) << 40) ^ COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A fresh PostgreSQL database; its URL.
pub fn fresh_database() -> String {
    let name = format!("boxoffice_test_{:x}", unique_suffix());
    let mut client = postgres::Client::connect(&pg_base_url(), postgres::NoTls)
        .expect("PostgreSQL of tools/stack");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = pg_base_url();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

/// A Redis database (1..=15) of its own for this test, emptied.
pub fn fresh_redis() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let database = 1 + (NEXT.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id())) % 15;
    let url = format!(
        "{}{database}",
        redis_base_url().trim_end_matches('/').to_string() + "/"
    );
    flush_redis(&url);
    url
}

/// Drops a test database (connections of a stopped app may linger: FORCE).
fn drop_database(url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut client) = postgres::Client::connect(&pg_base_url(), postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

pub fn flush_redis(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_connection().expect("Redis of tools/stack");
    redis::cmd("FLUSHDB").exec(&mut connection).unwrap();
}

/// Catalogue text with one event per `(capacity_a, goodies)` on fresh ledgers.
pub fn catalog(events: &[(&str, u64, u64)]) -> String {
    let mut text = String::new();
    for (slug, capacity, goodies) in events {
        let id = super::unique_event().0;
        text.push_str(&format!(
            "[[events]]\nid = {id}\nslug = \"{slug}\"\nname = \"Test {slug}\"\ncurrency = \"EUR\"\ngoodies = {goodies}\n\
             [[events.classes]]\ncode = \"A\"\nname = \"Premium\"\nprice_cents = 6500\ncapacity = {capacity}\n\
             [[events.classes]]\ncode = \"B\"\nname = \"Standard\"\nprice_cents = 3500\ncapacity = {capacity}\n"
        ));
    }
    text
}

pub struct TestApp {
    pub base_url: String,
    pub redis_url: String,
    pub pg_url: String,
    app: Option<App>,
    _events_file: TempFile,
}

pub struct TempFile(pub std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub struct Options {
    pub hold_timeout_s: u32,
    pub tb_address: String,
    pub ledger_queue_jobs_max: usize,
    pub ledger_request_timeout_ms: u64,
    pub benchmark_endpoints: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hold_timeout_s: 300,
            tb_address: super::tb_address(),
            ledger_queue_jobs_max: 65_536,
            ledger_request_timeout_ms: 5_000,
            benchmark_endpoints: false,
        }
    }
}

impl TestApp {
    pub fn spawn(catalog_text: &str) -> TestApp {
        TestApp::spawn_with(catalog_text, Options::default())
    }

    pub fn spawn_with(catalog_text: &str, options: Options) -> TestApp {
        super::may_workers(2);
        let path =
            std::env::temp_dir().join(format!("boxoffice-events-{:x}.toml", unique_suffix()));
        std::fs::write(&path, catalog_text).unwrap();
        let (pg_url, redis_url) = (fresh_database(), fresh_redis());
        let app = App::start(AppConfig {
            listen_address: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            tb_address: options.tb_address,
            pg_url: pg_url.clone(),
            redis_url: redis_url.clone(),
            events_path: path.clone(),
            workers: 2,
            hold_timeout_s: options.hold_timeout_s,
            tickets_per_order_max: 10,
            webhook_secret: WEBHOOK_SECRET.into(),
            secret_key: SECRET_KEY.into(),
            benchmark_endpoints: options.benchmark_endpoints,
            batcher_core: None,
            redis_threads: 2,
            pg_writers: 2,
            ledger_queue_jobs_max: options.ledger_queue_jobs_max,
            ledger_request_timeout_ms: options.ledger_request_timeout_ms,
            tb_startup_timeout_s: 60,
        })
        .expect("the app starts");
        TestApp {
            base_url: format!("http://{}", app.local_address()),
            redis_url,
            pg_url,
            app: Some(app),
            _events_file: TempFile(path),
        }
    }

    pub fn shop(&self) -> &Arc<Shop> {
        self.app.as_ref().unwrap().shop()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `(status, JSON body)` of a request; 4xx and 5xx are answers too.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = agent().request(method, &self.url(path));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(body) => request
                .set("Content-Type", "application/json")
                .send_string(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("{method} {path}: {error}"),
        };
        let status = response.status();
        let text = response.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn checkout(&self, event: &str, class: &str, quantity: u64, email: &str) -> (u16, Value) {
        let body = serde_json::json!({"event": event, "class": class, "quantity": quantity, "email": email});
        self.call("POST", "/api/checkout", Some(&body.to_string()), &[])
    }

    /// The buyer presses a button on the payment page; the status and the
    /// redirect target.
    pub fn pay(&self, payment_url: &str, outcome: &str) -> (u16, Option<String>) {
        let response = match agent().post(&format!("{payment_url}/{outcome}")).call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("paying: {error}"),
        };
        (
            response.status(),
            response.header("Location").map(str::to_string),
        )
    }

    pub fn order(&self, order_id: &str) -> (u16, Value) {
        self.call("GET", &format!("/api/orders/{order_id}"), None, &[])
    }

    /// Polls the order until its status is `status` (bounded).
    pub fn wait_for_status(&self, order_id: &str, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (code, order) = self.order(order_id);
            if code == 200 && order["status"] == status {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {order_id} never became {status}: {code} {order}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A webhook signed like the provider's, for replays and forgeries.
    pub fn signed_webhook(&self, body: &str, key: &str, timestamp_s: u64) -> (u16, Value) {
        let signature = SigningKey::new(key.as_bytes().to_vec()).sign(timestamp_s, body.as_bytes());
        self.call(
            "POST",
            "/payments/webhook",
            Some(body),
            &[("Mockpay-Signature", &signature)],
        )
    }

    pub fn inventory(&self, slug: &str, class_index: u16) -> Inventory {
        let event = self.shop().catalog.by_slug(slug).unwrap();
        self.shop()
            .ledger
            .inventory(EventId(event.id), Resource::Class(class_index))
            .unwrap()
    }

    pub fn goodies(&self, slug: &str) -> Inventory {
        let event = self.shop().catalog.by_slug(slug).unwrap();
        self.shop()
            .ledger
            .inventory(EventId(event.id), Resource::Goodies)
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(app) = self.app.take() {
            let _ = app.stop();
        }
        drop_database(&self.pg_url);
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build()
}

pub fn now_s() -> u64 {
    unix_now_s()
}
