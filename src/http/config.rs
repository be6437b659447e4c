//! The limits and timeouts of one server.
//!
//! Every buffer a connection owns is sized from these numbers, so they are
//! also the memory bound per connection: the read buffer never grows past
//! `head_bytes_max + body_bytes_max`.

use std::net::SocketAddr;

use super::error::ServerError;

/// The largest `headers_max` we accept. The header slots for one parse live on
/// the connection coroutine's stack (`HEADERS_MAX_LIMIT * 32` bytes, 4 KiB), so
/// this bound keeps that stack frame small next to the handler's own needs.
pub const HEADERS_MAX_LIMIT: usize = 128;

/// 64 KiB: room for the 4 KiB of header slots plus a handler that
/// serialises JSON or renders a page. may's own default is 32 KiB.
pub const CONNECTION_STACK_BYTES_DEFAULT: usize = 64 * 1024;

/// Requests above this size would make the connection's read buffer big
/// enough to hurt at many thousands of connections; refuse such a config.
const REQUEST_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// Below this a coroutine cannot even run the parser and a small handler.
const CONNECTION_STACK_BYTES_MIN: usize = 16 * 1024;

/// Above this there are as many accept coroutines as anyone could use.
const ACCEPTORS_COUNT_MAX: usize = 64;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen. Port 0 picks a free port; `ServerHandle::local_address`
    /// tells which.
    pub listen_address: SocketAddr,
    /// More headers than this gets 431. Browsers send up to ~20.
    pub headers_max: usize,
    /// A request line plus headers longer than this gets 431.
    pub head_bytes_max: usize,
    /// A `Content-Length` above this gets 413 without reading the body.
    pub body_bytes_max: usize,
    /// How long a connection may sit without sending a byte before it is
    /// closed (idle keep-alive), and how long a started request may take to
    /// arrive in full (a stalled partial request gets 408 and is closed).
    pub read_timeout_ms: u64,
    /// How long a write may wait for a client that does not read.
    pub write_timeout_ms: u64,
    /// Stack of each connection coroutine; the handler runs on it. If it
    /// equals may's default coroutine stack (see `configure_may`), stacks come
    /// from may's pool; otherwise each connection maps a fresh one, which
    /// roughly doubles the CPU cost of a short connection.
    pub connection_stack_bytes: usize,
    /// Connections open at once; one more gets a 503 and is closed. Each
    /// holds up to `head_bytes_max + body_bytes_max` of read buffer, so this
    /// bounds the server's memory too.
    pub connections_max: usize,
    /// Accept coroutines, each with its own `SO_REUSEPORT` listener on the
    /// same port. One is plenty for keep-alive traffic; more spread the accept
    /// work when clients open many short connections.
    pub acceptors_count: usize,
    /// While answering a pipelined batch, write early once this many response
    /// bytes are waiting, so that a client pipelining thousands of requests
    /// cannot grow the output buffer without bound.
    pub output_flush_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            headers_max: 64,
            head_bytes_max: 16 * 1024,
            body_bytes_max: 16 * 1024,
            read_timeout_ms: 60_000,
            write_timeout_ms: 60_000,
            connection_stack_bytes: CONNECTION_STACK_BYTES_DEFAULT,
            connections_max: 10_000,
            acceptors_count: 1,
            output_flush_bytes: 64 * 1024,
        }
    }
}

impl ServerConfig {
    /// The capacity the read buffer may grow to: one whole request fits.
    pub(crate) fn request_bytes_max(&self) -> usize {
        self.head_bytes_max + self.body_bytes_max
    }

    pub(crate) fn validate(&self) -> Result<(), ServerError> {
        let invalid = |reason| Err(ServerError::InvalidConfig(reason));
        if self.headers_max == 0 || self.headers_max > HEADERS_MAX_LIMIT {
            return invalid("headers_max must be in 1..=HEADERS_MAX_LIMIT");
        }
        // "GET / HTTP/1.1\r\n\r\n" is 18 bytes: a smaller head cannot exist.
        if self.head_bytes_max < 18 {
            return invalid("head_bytes_max must be at least 18");
        }
        if self.head_bytes_max.saturating_add(self.body_bytes_max) > REQUEST_BYTES_LIMIT {
            return invalid("head_bytes_max + body_bytes_max must be at most 16 MiB");
        }
        if self.read_timeout_ms == 0 || self.write_timeout_ms == 0 {
            return invalid("timeouts must be positive (0 would mean none)");
        }
        if self.connection_stack_bytes < CONNECTION_STACK_BYTES_MIN
            || !self
                .connection_stack_bytes
                .is_multiple_of(std::mem::size_of::<usize>())
        {
            return invalid("connection_stack_bytes must be whole words, at least 16 KiB");
        }
        if self.connections_max == 0 {
            return invalid("connections_max must be positive");
        }
        if self.acceptors_count == 0 || self.acceptors_count > ACCEPTORS_COUNT_MAX {
            return invalid("acceptors_count must be in 1..=64");
        }
        if self.output_flush_bytes == 0 {
            return invalid("output_flush_bytes must be positive");
        }
        Ok(())
    }
}
