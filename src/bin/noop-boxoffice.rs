//! Our HTTP layer alone, answering `GET /noop` through the same router entry,
//! handler and connection code as the shop's `GET /noop`, for counting
//! instructions per request under callgrind (`tools/noop-instructions`)
//! beside `noop-minihttp`. The full server does not start under valgrind on
//! these machines (its TigerBeetle client never connects there), and a no-op
//! request does not touch the ledger, Redis or PostgreSQL anyway.
//!
//! Usage: `noop-boxoffice [ADDRESS] [WORKERS]` (default 127.0.0.1:8082, 2).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use boxoffice::http::{self, Router, Server, ServerConfig};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8082".to_owned())
        .parse()
        .context("ADDRESS must be host:port")?;
    let workers: usize = match args.next() {
        None => 2,
        Some(text) => text.parse().context("WORKERS must be a number")?,
    };
    http::configure_may(workers, http::CONNECTION_STACK_BYTES_DEFAULT);
    let config = ServerConfig {
        listen_address: address,
        ..ServerConfig::default()
    };
    let server = Server::start(config, Router::new().get("/noop", http::noop))
        .context("starting the HTTP server")?;
    eprintln!(
        "noop-boxoffice on {} with {workers} workers",
        server.local_address()
    );
    loop {
        std::thread::park();
    }
}
