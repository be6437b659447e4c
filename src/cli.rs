//! Command-line interface of the `boxoffice` binary.

use anyhow::Context;
use clap::{Parser, Subcommand};

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

pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::LedgerDemo {
            event,
            capacity,
            goodies,
        } => ledger_demo(&cli.tb_address, EventId(event), capacity, goodies),
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
