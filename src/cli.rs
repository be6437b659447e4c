//! Command-line interface of the `boxoffice` binary.

use anyhow::Context;
use clap::{Parser, Subcommand};

use boxoffice::app::{App, AppConfig};
use boxoffice::ids::{EventId, OrderId, Resource};
use boxoffice::ledger::{BatcherConfig, HoldMetadata, Inventory, Ledger};

#[derive(Parser)]
#[command(version, about = "Ticketing for flash sales on TigerBeetle")]
struct Cli {
    /// TigerBeetle cluster address (host:port).
    #[arg(
        long,
        env = "BOXOFFICE_TB_ADDRESS",
        default_value = "127.0.0.1:34000",
        global = true
    )]
    tb_address: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the shop: the API, the pages and the mock payment provider.
    Serve(Box<ServeArgs>),
    /// Opens the demo event in TigerBeetle, holds and sells two class A
    /// tickets, and prints the inventory before and after.
    LedgerDemo {
        /// Ledger (event) number of the demo event.
        #[arg(long, default_value_t = 1)]
        event: u32,
        /// Capacity of each ticket class.
        #[arg(long, default_value_t = 1_000_000)]
        capacity: u64,
        /// Goodies for the first paid orders.
        #[arg(long, default_value_t = 100)]
        goodies: u64,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "BOXOFFICE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Base URL buyers reach the server at (default: http://<listen>).
    #[arg(long, env = "BOXOFFICE_PUBLIC_URL")]
    public_url: Option<String>,
    /// PostgreSQL URL of the durable orders.
    #[arg(
        long,
        env = "BOXOFFICE_PG_URL",
        default_value = "postgres://boxoffice@127.0.0.1:34001/boxoffice"
    )]
    pg_url: String,
    /// Redis URL of the payment sessions.
    #[arg(
        long,
        env = "BOXOFFICE_REDIS_URL",
        default_value = "redis://127.0.0.1:34002/"
    )]
    redis_url: String,
    /// The events on sale (TOML; see tools/demo-events.toml).
    #[arg(long, env = "BOXOFFICE_EVENTS")]
    events: std::path::PathBuf,
    /// may worker threads, one per core.
    #[arg(long, env = "BOXOFFICE_WORKERS", default_value_t = default_workers())]
    workers: usize,
    /// Seconds a hold lasts before TigerBeetle releases it.
    #[arg(long, env = "BOXOFFICE_HOLD_TIMEOUT_S", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    hold_timeout_s: u32,
    /// Most tickets one order may hold.
    #[arg(long, env = "BOXOFFICE_TICKETS_PER_ORDER_MAX", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    tickets_per_order_max: u16,
    /// Key the payment provider signs webhooks with (no default: required).
    #[arg(long, env = "BOXOFFICE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    /// The shop's own secret (no default: required).
    #[arg(long, env = "BOXOFFICE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Serve the accounting-only benchmark endpoints (/bench/reserve, /bench/commit).
    #[arg(long, env = "BOXOFFICE_BENCHMARK_ENDPOINTS")]
    benchmark_endpoints: bool,
    /// CPU core to pin the TigerBeetle batcher thread to.
    #[arg(long, env = "BOXOFFICE_BATCHER_CORE")]
    batcher_core: Option<usize>,
    /// Redis session threads.
    #[arg(long, default_value_t = 2)]
    redis_threads: usize,
    /// PostgreSQL writer threads.
    #[arg(long, default_value_t = 2)]
    pg_writers: usize,
    /// Bound of the TigerBeetle batcher's queue; a full queue answers 503.
    #[arg(long, default_value_t = 65_536)]
    ledger_queue_jobs_max: usize,
    /// Deadline of one TigerBeetle request, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    ledger_request_timeout_ms: u64,
    /// How long start-up waits for TigerBeetle to answer (a replica
    /// recovering a large data file can take minutes), in seconds.
    #[arg(long, env = "BOXOFFICE_TB_STARTUP_TIMEOUT_S", default_value_t = 300)]
    tb_startup_timeout_s: u64,
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(cli.tb_address, *args),
        Command::LedgerDemo {
            event,
            capacity,
            goodies,
        } => ledger_demo(&cli.tb_address, EventId(event), capacity, goodies),
    }
}

fn serve(tb_address: String, args: ServeArgs) -> anyhow::Result<()> {
    let app = App::start(AppConfig {
        listen_address: args.listen,
        public_url: args.public_url,
        tb_address,
        pg_url: args.pg_url,
        redis_url: args.redis_url,
        events_path: args.events,
        workers: args.workers,
        hold_timeout_s: args.hold_timeout_s,
        tickets_per_order_max: args.tickets_per_order_max,
        webhook_secret: args.webhook_secret,
        secret_key: args.secret_key,
        benchmark_endpoints: args.benchmark_endpoints,
        batcher_core: args.batcher_core,
        redis_threads: args.redis_threads,
        pg_writers: args.pg_writers,
        ledger_queue_jobs_max: args.ledger_queue_jobs_max,
        ledger_request_timeout_ms: args.ledger_request_timeout_ms,
        tb_startup_timeout_s: args.tb_startup_timeout_s,
    })?;
    println!("boxoffice: serving on http://{}", app.local_address());
    for event in app.shop().catalog.events() {
        println!(
            "boxoffice: event {:?} ({}) is on sale",
            event.slug, event.name
        );
    }
    // Runs until the process is stopped (Ctrl-C or SIGTERM).
    loop {
        std::thread::park();
    }
}

fn ledger_demo(address: &str, event: EventId, capacity: u64, goodies: u64) -> anyhow::Result<()> {
    let ledger = Ledger::connect(BatcherConfig::new(address))?;
    let resources = [
        (Resource::Class(1), capacity),
        (Resource::Class(2), capacity),
        (Resource::Goodies, goodies),
    ];
    ledger
        .open_event(event, &resources)
        .with_context(|| format!("opening event {} in TigerBeetle at {address}", event.0))?;
    print_inventory(&ledger, event, "opened")?;

    let order_id = OrderId::generate();
    let metadata = HoldMetadata {
        order_id,
        event,
        class: 1,
        quantity: 2,
        customer_hash: 0x5EED,
    };
    let held = ledger.hold_tickets(&metadata, 60)?;
    println!("order {order_id}: hold of 2 class A tickets: {held}");
    print_inventory(&ledger, event, "held")?;
    let posted = ledger.post_tickets(order_id, event, 1)?;
    println!("order {order_id}: post: {posted}");
    print_inventory(&ledger, event, "sold")?;
    let counters = ledger.counters();
    println!(
        "TigerBeetle requests: {}, events: {}, mean batch: {:.1}",
        counters.requests,
        counters.events,
        counters.batch_events_mean()
    );
    Ok(())
}

fn print_inventory(ledger: &Ledger, event: EventId, moment: &str) -> anyhow::Result<()> {
    let names = [
        ("A", Resource::Class(1)),
        ("B", Resource::Class(2)),
        ("goodies", Resource::Goodies),
    ];
    let keys: Vec<_> = names
        .iter()
        .map(|&(_, resource)| (event, resource))
        .collect();
    let inventories = ledger.inventories(&keys)?;
    for (
        (name, _),
        Inventory {
            capacity,
            sold,
            held,
            available,
        },
    ) in names.iter().zip(inventories)
    {
        println!(
            "[{moment}] event {} {name:>7}: capacity {capacity}, sold {sold}, held {held}, available {available}",
            event.0
        );
    }
    Ok(())
}
