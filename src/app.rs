//! Starting the whole server: may's workers, the ledger's batcher, the
//! Redis session threads, the PostgreSQL writer and reader threads, the
//! mock payment provider and the HTTP server, in that order; and stopping
//! them in reverse.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::catalog::Catalog;
use crate::http::{Server, ServerConfig};
use crate::ledger::{BatcherConfig, Ledger};
use crate::mockpay::delivery::DeliveryPolicy;
use crate::mockpay::{MockPay, MockPayConfig};
use crate::orders::{OrderStore, OrderStoreConfig};
use crate::session_store::{SessionStore, SessionStoreConfig};
use crate::shop::{events, routes, Shop, ShopConfig};
use crate::signature::SigningKey;

/// Everything `boxoffice serve` is configured with.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub listen_address: SocketAddr,
    /// How buyers reach the server; `None`: `http://<listen address>`.
    pub public_url: Option<String>,
    pub tb_address: String,
    pub pg_url: String,
    pub redis_url: String,
    pub events_path: PathBuf,
    pub workers: usize,
    pub hold_timeout_s: u32,
    pub tickets_per_order_max: u16,
    pub webhook_secret: String,
    pub secret_key: String,
    pub benchmark_endpoints: bool,
    /// Core for the batcher thread; `None` leaves it unpinned.
    pub batcher_core: Option<usize>,
    pub redis_threads: usize,
    pub pg_writers: usize,
    /// Bound of the batcher's queue (a full queue answers 503).
    pub ledger_queue_jobs_max: usize,
    /// Deadline of a TigerBeetle request (TigerBeetle down answers 503).
    pub ledger_request_timeout_ms: u64,
    /// How long start-up waits for TigerBeetle to answer: a replica
    /// recovering a large data file listens before it serves.
    pub tb_startup_timeout_s: u64,
}

/// A running server; [`App::stop`] ends it.
pub struct App {
    server: Server,
    shop: Arc<Shop>,
}

impl App {
    pub fn start(config: AppConfig) -> anyhow::Result<App> {
        check_secrets(&config)?;
        let catalog = Catalog::load(&config.events_path)?;
        configure_may(config.workers);
        let mut batcher = BatcherConfig::new(&config.tb_address);
        batcher.pin_core = config.batcher_core;
        batcher.queue_jobs_max = config.ledger_queue_jobs_max;
        batcher.request_timeout_ms = config.ledger_request_timeout_ms;
        let ledger = Arc::new(Ledger::connect(batcher)?);
        let mut sessions = SessionStoreConfig::new(&config.redis_url);
        sessions.threads = config.redis_threads;
        let sessions =
            SessionStore::start(sessions).context("starting the Redis session threads")?;
        let mut orders = OrderStoreConfig::new(&config.pg_url);
        orders.writers = config.pg_writers;
        let orders = OrderStore::start(orders).context("starting the PostgreSQL order store")?;

        let server_config = ServerConfig {
            listen_address: resolve_port(config.listen_address)?,
            ..ServerConfig::default()
        };
        let bound = server_config.listen_address;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let webhook_key = SigningKey::new(config.webhook_secret.as_bytes().to_vec());
        let secret_key = SigningKey::new(config.secret_key.as_bytes().to_vec());
        let provider = MockPay::new(MockPayConfig {
            public_url: public_url.clone(),
            webhook_url: format!("http://{bound}/payments/webhook"),
            webhook_key: webhook_key.clone(),
            token_key: SigningKey::new(secret_key.keyed_hash(&[b"mockpay-tokens"]).to_vec()),
            sessions_max: 4_000_000,
            delivery: DeliveryPolicy::default(),
        })
        .map_err(anyhow::Error::msg)?;
        let shop = Arc::new(Shop {
            config: ShopConfig {
                hold_timeout_s: config.hold_timeout_s,
                tickets_per_order_max: config.tickets_per_order_max,
                public_url,
                webhook_key,
                secret_key,
                benchmark_endpoints: config.benchmark_endpoints,
            },
            catalog,
            ledger,
            sessions,
            orders,
            provider: Arc::new(provider),
        });
        open_events(&shop, &config.tb_address, config.tb_startup_timeout_s)?;
        let server = Server::start(server_config, routes::router(shop.clone()))
            .context("starting the HTTP server")?;
        Ok(App { server, shop })
    }

    pub fn local_address(&self) -> SocketAddr {
        self.server.local_address()
    }

    pub fn shop(&self) -> &Arc<Shop> {
        &self.shop
    }

    /// Stops accepting, then lets the threads end as their handles drop.
    pub fn stop(self) -> anyhow::Result<()> {
        self.server.shutdown().context("stopping the HTTP server")
    }
}

/// The payment provider needs the shop's real address before the server
/// starts. Port 0 (tests) is resolved to a free port here; the moment
/// between this probe and the server's bind is a race only another process
/// grabbing the same port in that instant can lose.
fn resolve_port(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    if address.port() != 0 {
        return Ok(address);
    }
    let probe = std::net::TcpListener::bind(address).context("finding a free port")?;
    Ok(probe.local_addr()?)
}

/// Pause between attempts to reach TigerBeetle at start-up.
const STARTUP_RETRY_PAUSE_MS: u64 = 500;

/// Opens the catalogue's events in the ledger. A TigerBeetle that was just
/// started listens before it serves: it first opens its data file and
/// replays its journal, which took 30 s here for a 16 GB file. So timeouts
/// are retried until `startup_timeout_s` has passed. The deadline bounds
/// the loop, and a pause between attempts keeps a refusal that comes at
/// once from spinning. Runs on the starting thread, not a coroutine.
fn open_events(shop: &Shop, tb_address: &str, startup_timeout_s: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(startup_timeout_s);
    for attempt in 1.. {
        match events::open_all(shop) {
            Ok(()) => return Ok(()),
            Err(crate::ledger::LedgerError::Timeout { .. }) if Instant::now() < deadline => {
                let waited_s = started.elapsed().as_secs();
                eprintln!(
                    "boxoffice: TigerBeetle at {tb_address} not answering yet (attempt {attempt}, \
                     {waited_s} s of {startup_timeout_s} s); retrying"
                );
                std::thread::sleep(Duration::from_millis(STARTUP_RETRY_PAUSE_MS));
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!(
                        "opening the events in TigerBeetle at {tb_address} (waited {} s)",
                        started.elapsed().as_secs()
                    )
                });
            }
        }
    }
    unreachable!("the attempts end at the deadline")
}

fn check_secrets(config: &AppConfig) -> anyhow::Result<()> {
    let minimum = crate::signature::KEY_BYTES_MIN;
    anyhow::ensure!(
        config.webhook_secret.len() >= minimum,
        "the webhook secret (--webhook-secret or BOXOFFICE_WEBHOOK_SECRET) must be at least {minimum} bytes"
    );
    anyhow::ensure!(
        config.secret_key.len() >= minimum,
        "the secret key (--secret-key or BOXOFFICE_SECRET_KEY) must be at least {minimum} bytes"
    );
    Ok(())
}

/// may's settings are global and must be set before the first coroutine;
/// a second call (tests start several apps) keeps the first settings.
fn configure_may(workers: usize) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        crate::http::configure_may(workers, crate::http::CONNECTION_STACK_BYTES_DEFAULT)
    });
}
