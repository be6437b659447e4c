//! Listening, accepting, and stopping.
//!
//! One accept coroutine per listener; each accepted connection gets its own
//! coroutine with a configured stack. With `acceptors_count > 1` every
//! acceptor has its own listener on the same port (`SO_REUSEPORT`, which may
//! sets on every listener) and the kernel spreads new connections over them.
//! One more coroutine, the watchdog, enforces read timeouts.
//!
//! Shutdown: the acceptors stop and close their listeners; the watchdog wakes
//! every connection, idle ones close at once, busy ones after their current
//! batch; `shutdown` returns when all are gone, or after a bounded wait.
//!
//! Call `configure_may` (or `may::config().set_workers(n)`) before
//! `Server::start`: binding a listener starts may's scheduler with whatever
//! worker count is set then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use may::coroutine::{Builder, JoinHandle};
use may::net::{TcpListener, TcpStream};

use super::config::ServerConfig;
use super::connection;
use super::error::ServerError;
use super::handler::Handler;
use super::watchdog::Watchdog;

/// How long `shutdown` waits for the accept coroutines to stop and for open
/// connections to close (a handler may be waiting on TigerBeetle).
const SHUTDOWN_TIMEOUT_MS: u64 = 5_000;

/// What a client over `connections_max` gets before the close; written with
/// one non-blocking write, best effort.
const OVERLOADED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Server: boxoffice\r\nContent-Type: application/json\r\nContent-Length: 32\r\n\
Connection: close\r\nRetry-After: 1\r\n\r\n{\"error\":\"too many connections\"}";

/// How often the watchdog wakes the connections while the server drains.
const DRAIN_TICK_MS: u64 = 2;

/// How long an acceptor pauses after a failed accept (typically out of file
/// descriptors), so that it does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE_MS: u64 = 10;

/// What the acceptors and all connections of one server share.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) handler: Box<dyn Handler>,
    /// Set by `shutdown`: acceptors stop, connections close after their
    /// current batch.
    pub(crate) stopping: AtomicBool,
    pub(crate) watchdog: Watchdog,
    connections_count: AtomicUsize,
}

/// A running server. Dropping it shuts the server down, so keep it alive
/// for as long as the server should run.
pub struct Server {
    local_address: SocketAddr,
    shared: Arc<Shared>,
    /// Empty once stopped.
    acceptors: Vec<JoinHandle<()>>,
    /// `None` once stopped (or if starting failed before it).
    watchdog: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the listener(s) and starts accepting. Returns once the port is
    /// bound, so `local_address()` is usable at once (port 0 works).
    pub fn start(config: ServerConfig, handler: impl Handler) -> Result<Server, ServerError> {
        config.validate()?;
        let listeners = bind_listeners(config.listen_address, config.acceptors_count)?;
        let local_address = listeners[0]
            .local_addr()
            .map_err(|source| ServerError::Bind {
                address: config.listen_address,
                source,
            })?;
        let shared = Arc::new(Shared {
            watchdog: Watchdog::new(config.read_timeout_ms),
            config,
            handler: Box::new(handler),
            stopping: AtomicBool::new(false),
            connections_count: AtomicUsize::new(0),
        });
        let mut server = Server {
            local_address,
            shared,
            acceptors: Vec::with_capacity(listeners.len()),
            watchdog: None,
        };
        // On an early return `server` drops, which stops what started.
        for listener in listeners {
            let acceptor = spawn_acceptor(listener, Arc::clone(&server.shared))?;
            server.acceptors.push(acceptor);
        }
        server.watchdog = Some(spawn_watchdog(Arc::clone(&server.shared))?);
        Ok(server)
    }

    /// The address actually bound (with the port the OS chose for port 0).
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Connections currently open, for tests and metrics.
    pub fn connections_count(&self) -> usize {
        self.shared.connections_count.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes idle connections, lets busy ones finish their
    /// current batch, and waits for all of it, at most `SHUTDOWN_TIMEOUT_MS`.
    pub fn shutdown(mut self) -> Result<(), ServerError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ServerError> {
        if self.acceptors.is_empty() && self.watchdog.is_none() {
            return Ok(());
        }
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(watchdog) = &self.watchdog {
            watchdog.coroutine().unpark();
        }
        let finished = self.wait_for_coroutines();
        // Joined, or detached on timeout (dropping a handle detaches).
        for acceptor in self.acceptors.drain(..) {
            if acceptor.is_done() {
                let _ = acceptor.join();
            }
        }
        if let Some(watchdog) = self.watchdog.take() {
            if watchdog.is_done() {
                let _ = watchdog.join();
            }
        }
        let connections_open = self.connections_count();
        if !finished || connections_open > 0 {
            return Err(ServerError::ShutdownTimedOut {
                timeout_ms: SHUTDOWN_TIMEOUT_MS,
                connections_open,
            });
        }
        Ok(())
    }

    /// Whether the acceptors and the watchdog ended within the timeout.
    fn wait_for_coroutines(&self) -> bool {
        let timeout = Duration::from_millis(SHUTDOWN_TIMEOUT_MS);
        let started = Instant::now();
        let wake_address = wake_address(self.local_address);
        // An acceptor sits in `accept`; a connection wakes it, it sees
        // `stopping` and returns, closing its listener. SO_REUSEPORT hashes
        // each wake connection to one listener, so connect until all are
        // gone. The watchdog ends by itself once the connections are gone.
        // Bounded by the timeout.
        while started.elapsed() < timeout {
            let acceptors_done = self.acceptors.iter().all(JoinHandle::is_done);
            let watchdog_done = self.watchdog.as_ref().is_none_or(JoinHandle::is_done);
            if acceptors_done && watchdog_done {
                return true;
            }
            if !acceptors_done {
                let _ = std::net::TcpStream::connect_timeout(&wake_address, timeout);
            }
            may::coroutine::sleep(Duration::from_millis(1));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn bind_listeners(
    address: SocketAddr,
    acceptors_count: usize,
) -> Result<Vec<TcpListener>, ServerError> {
    assert!(acceptors_count > 0);
    let bind = |address| {
        TcpListener::bind(address).map_err(|source| ServerError::Bind { address, source })
    };
    let first = bind(address)?;
    // Port 0: the others must join the port the first one got.
    let bound = first
        .local_addr()
        .map_err(|source| ServerError::Bind { address, source })?;
    let mut listeners = Vec::with_capacity(acceptors_count);
    listeners.push(first);
    for _ in 1..acceptors_count {
        listeners.push(bind(bound)?);
    }
    Ok(listeners)
}

fn spawn_acceptor(
    listener: TcpListener,
    shared: Arc<Shared>,
) -> Result<JoinHandle<()>, ServerError> {
    let builder = Builder::new().name("http-accept".to_owned());
    // SAFETY: may marks spawning unsafe because a coroutine that touches
    // thread-locals sees those of whichever worker runs it, and because
    // overflowing a coroutine stack is not caught. The accept loop uses no
    // thread-locals and only a few small frames.
    unsafe { builder.spawn(move || accept_loop(&listener, &shared)) }.map_err(ServerError::Spawn)
}

fn spawn_watchdog(shared: Arc<Shared>) -> Result<JoinHandle<()>, ServerError> {
    let builder = Builder::new().name("http-watchdog".to_owned());
    // SAFETY: as for the acceptor: no thread-locals, small frames.
    unsafe { builder.spawn(move || watchdog_loop(&shared)) }.map_err(ServerError::Spawn)
}

/// Ticks until the server is stopping and its connections are gone (or the
/// shutdown timeout passed). `stop` unparks it, so that the drain starts at
/// once; while draining it ticks every `DRAIN_TICK_MS`, at most
/// `SHUTDOWN_TIMEOUT_MS / DRAIN_TICK_MS` passes.
fn watchdog_loop(shared: &Shared) {
    while !shared.stopping.load(Ordering::Acquire) {
        may::coroutine::park_timeout(shared.watchdog.tick());
        shared.watchdog.scan(false);
    }
    let started = Instant::now();
    let timeout = Duration::from_millis(SHUTDOWN_TIMEOUT_MS);
    while started.elapsed() < timeout {
        // Every pass wakes all: a connection that was busy at the last one
        // may be waiting now.
        shared.watchdog.scan(true);
        if shared.connections_count.load(Ordering::Acquire) == 0 {
            return;
        }
        may::coroutine::sleep(Duration::from_millis(DRAIN_TICK_MS));
    }
}

/// Runs until `stopping` is set; each pass accepts one connection.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        match accepted {
            Ok((stream, _)) if at_connections_max(shared) => refuse_overloaded(stream),
            Ok((stream, remote_address)) => spawn_connection(stream, remote_address, shared),
            Err(_) => may::coroutine::sleep(Duration::from_millis(ACCEPT_ERROR_PAUSE_MS)),
        }
    }
}

fn at_connections_max(shared: &Shared) -> bool {
    shared.connections_count.load(Ordering::Relaxed) >= shared.config.connections_max
}

/// Tells the client why, if its socket takes the bytes at once, and closes.
fn refuse_overloaded(mut stream: TcpStream) {
    use std::io::Write;
    let _ = stream.inner_mut().write(OVERLOADED_RESPONSE);
}

fn spawn_connection(stream: TcpStream, remote_address: SocketAddr, shared: &Arc<Shared>) {
    let guard = ConnectionGuard::enter(Arc::clone(shared));
    let builder = connection_builder(shared.config.connection_stack_bytes);
    // SAFETY: as for the acceptor. The connection uses no thread-locals; its
    // buffers live on the heap; its largest frame is the parse (4 KiB of
    // header slots) under the handler, which `connection_stack_bytes` is
    // sized for.
    let spawned =
        unsafe { builder.spawn(move || connection::serve(stream, remote_address, &guard.shared)) };
    // On failure the closure, with the stream and the guard, is dropped: the
    // client sees the connection close.
    drop(spawned);
}

/// may counts stack sizes in words. A stack of may's configured size comes
/// from may's pool of ready coroutines; any other size maps and unmaps a fresh
/// stack per connection, which costs more than the rest of a short connection
/// (measured: 47 µs against 83 µs of CPU per `Connection: close` request).
/// `configure_may` makes the two sizes agree.
fn connection_builder(stack_bytes: usize) -> Builder {
    let stack_words = stack_bytes / std::mem::size_of::<usize>();
    if stack_words == may::config().get_stack_size() {
        Builder::new()
    } else {
        Builder::new().stack_size(stack_words)
    }
}

/// Counts a connection for as long as its coroutine (or closure) lives, also
/// when the handler panics.
struct ConnectionGuard {
    shared: Arc<Shared>,
}

impl ConnectionGuard {
    fn enter(shared: Arc<Shared>) -> ConnectionGuard {
        shared.connections_count.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard { shared }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared
            .connections_count
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where `shutdown` connects to wake an acceptor: the bound address, with a
/// wildcard IP replaced by loopback.
fn wake_address(local_address: SocketAddr) -> SocketAddr {
    let ip = match local_address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local_address.port())
}
