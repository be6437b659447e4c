//! `GET /metrics`: the server's counters in Prometheus text format, so a
//! benchmark can read batch sizes (TigerBeetle), pipelining depth (Redis)
//! and group-commit size (PostgreSQL) from the server that did the work.

use std::fmt::Write;

use super::Shop;
use crate::http::Response;
use crate::ledger::counters::LATENCY_BUCKETS_COUNT;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn metrics(shop: &Shop) -> Response {
    let mut text = String::with_capacity(4096);
    write_ledger(&mut text, shop);
    write_sessions(&mut text, shop);
    write_orders(&mut text, shop);
    metric(
        &mut text,
        "boxoffice_payment_sessions_open",
        "gauge",
        "Sessions open at the mock payment provider",
        shop.provider.open_sessions_count() as u64,
    );
    Response::empty(200).with_body(CONTENT_TYPE, text.into_bytes())
}

fn metric(text: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        text,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

fn write_ledger(text: &mut String, shop: &Shop) {
    let batches = shop.ledger.counters();
    metric(
        text,
        "boxoffice_tigerbeetle_requests_total",
        "counter",
        "TigerBeetle requests sent by the batcher",
        batches.requests,
    );
    metric(
        text,
        "boxoffice_tigerbeetle_events_total",
        "counter",
        "Events (transfers, accounts, lookups) in those requests",
        batches.events,
    );
    metric(
        text,
        "boxoffice_tigerbeetle_batch_events_max",
        "gauge",
        "Largest batch sent",
        batches.batch_events_max,
    );
    metric(
        text,
        "boxoffice_tigerbeetle_failed_requests_total",
        "counter",
        "Requests that missed their deadline",
        batches.failed_requests,
    );
    let name = "boxoffice_tigerbeetle_request_seconds";
    let _ = writeln!(
        text,
        "# HELP {name} TigerBeetle request latency\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (bucket, count) in batches.latency_buckets.iter().enumerate() {
        cumulative += count;
        if bucket + 1 < LATENCY_BUCKETS_COUNT {
            let bound_s = (1u64 << bucket) as f64 / 1e6;
            let _ = writeln!(text, "{name}_bucket{{le=\"{bound_s}\"}} {cumulative}");
        }
    }
    let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(text, "{name}_sum {}", batches.latency_us_sum as f64 / 1e6);
    let _ = writeln!(text, "{name}_count {}", batches.requests);
}

fn write_sessions(text: &mut String, shop: &Shop) {
    let sessions = shop.sessions.counters();
    metric(
        text,
        "boxoffice_redis_round_trips_total",
        "counter",
        "Redis pipelined round trips",
        sessions.round_trips,
    );
    metric(
        text,
        "boxoffice_redis_commands_total",
        "counter",
        "Redis commands in those round trips",
        sessions.commands,
    );
    metric(
        text,
        "boxoffice_redis_pipeline_commands_max",
        "gauge",
        "Deepest Redis pipeline",
        sessions.commands_per_round_trip_max,
    );
    metric(
        text,
        "boxoffice_redis_failed_round_trips_total",
        "counter",
        "Redis round trips that failed",
        sessions.failed_round_trips,
    );
}

fn write_orders(text: &mut String, shop: &Shop) {
    let orders = shop.orders.counters();
    metric(
        text,
        "boxoffice_postgres_transactions_total",
        "counter",
        "Group-commit transactions",
        orders.transactions,
    );
    metric(
        text,
        "boxoffice_postgres_orders_total",
        "counter",
        "Orders in those transactions",
        orders.orders,
    );
    metric(
        text,
        "boxoffice_postgres_batch_orders_max",
        "gauge",
        "Largest group commit",
        orders.batch_orders_max,
    );
    metric(
        text,
        "boxoffice_postgres_failed_transactions_total",
        "counter",
        "Group commits that failed",
        orders.failed_transactions,
    );
}
