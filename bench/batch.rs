//! Criterion benchmarks of the batcher's packing and unpacking (no server),
//! and of a hold's round trip through the batcher when a TigerBeetle is
//! running at `BOXOFFICE_TB_ADDRESS` (default 127.0.0.1:34000; start it
//! with `tools/stack start`).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use boxoffice::ids::{EventId, OrderId, Resource, TransferKind};
use boxoffice::ledger::batch::{split_transfer_results, Batch};
use boxoffice::ledger::{transfers, BatcherConfig, HoldMetadata, Ledger, BATCH_EVENTS_MAX};

fn hold_metadata(event: EventId) -> HoldMetadata {
    HoldMetadata {
        order_id: OrderId::generate(),
        event,
        class: 1,
        quantity: 1,
        customer_hash: 7,
    }
}

/// Packing a full request of one-transfer jobs, as under checkout load.
fn packing(c: &mut Criterion) {
    let jobs: Vec<_> = (0..BATCH_EVENTS_MAX)
        .map(|_| {
            let metadata = hold_metadata(EventId(1));
            vec![transfers::hold(
                &metadata,
                Resource::Class(1),
                TransferKind::TicketHold,
                1,
                300,
            )]
        })
        .collect();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH_EVENTS_MAX as u64));
    group.bench_function("pack 8189 one-transfer jobs", |b| {
        let mut batch = Batch::new();
        b.iter(|| {
            for job in &jobs {
                batch.push(job);
            }
            black_box(batch.take())
        })
    });
    // Every tenth transfer failed (sold out), the rest created.
    let ends: Vec<u32> = (1..=BATCH_EVENTS_MAX as u32).collect();
    let failures: Vec<(u32, u32)> = (0..BATCH_EVENTS_MAX as u32)
        .step_by(10)
        .map(|i| (i, 54))
        .collect();
    group.bench_function("unpack results of 8189 one-transfer jobs", |b| {
        b.iter(|| black_box(split_transfer_results(&ends, failures.iter().copied())))
    });
    group.finish();
}

fn tigerbeetle_address() -> Option<String> {
    let address =
        std::env::var("BOXOFFICE_TB_ADDRESS").unwrap_or_else(|_| "127.0.0.1:34000".into());
    let socket = address.to_socket_addrs().ok()?.next()?;
    TcpStream::connect_timeout(&socket, Duration::from_millis(300)).ok()?;
    Some(address)
}

/// One hold at a time: the latency floor of the batcher plus TigerBeetle.
fn hold_round_trip(c: &mut Criterion) {
    let Some(address) = tigerbeetle_address() else {
        eprintln!("hold round trip: skipped, no TigerBeetle answers (run `tools/stack start`)");
        return;
    };
    let ledger = Ledger::connect(BatcherConfig::new(address)).expect("TigerBeetle client");
    let event = EventId(0xBE0C);
    ledger
        .open_event(event, &[(Resource::Class(1), 1 << 40)])
        .expect("opening the benchmark event");
    c.bench_function("ledger/hold round trip (one caller)", |b| {
        b.iter_batched(
            || hold_metadata(event),
            |metadata| {
                let outcome = ledger.hold_tickets(&metadata, 1).expect("hold");
                assert!(outcome.is_applied(), "{outcome}");
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, packing, hold_round_trip);
criterion_main!(benches);
