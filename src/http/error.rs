//! Errors of starting and stopping a server.
//!
//! Errors inside one connection (a bad request, a client that went away) are
//! answered or end that connection; they never reach the application.

use std::io;
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid server config: {0}")]
    InvalidConfig(&'static str),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: io::Error,
    },
    #[error("cannot spawn a coroutine: {0}")]
    Spawn(io::Error),
    #[error(
        "shutdown did not finish within {timeout_ms} ms ({connections_open} connections open)"
    )]
    ShutdownTimedOut {
        timeout_ms: u64,
        connections_open: usize,
    },
}
