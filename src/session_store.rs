//! The session store: Redis on the hot path, for ephemeral payment sessions
//! and idempotency keys.
//!
//! The `redis` crate's connections block, and a may coroutine must never
//! block its worker thread, so Redis is only ever called from dedicated OS
//! threads ([`SessionStoreConfig::threads`], one connection each). Callers
//! (may coroutines or plain threads) pack their command, put it with a
//! reply handle on ONE shared bounded crossbeam queue and wait on a
//! `may::sync::mpsc` channel, which parks a coroutine without blocking its
//! worker thread.
//!
//! Pipelining: a store thread blocks for the first command, then takes
//! everything else already queued (at most [`ROUND_COMMANDS_MAX`] commands
//! and [`ROUND_BYTES_MAX`] bytes), writes them all in one `write` and reads
//! the replies in order: one round trip for the whole round, and each
//! caller gets exactly its own reply. There is no timer: a round is
//! whatever arrived while the previous round trip was in flight, so rounds
//! grow with load and a lone command goes out at once. Rounds are not
//! transactions: commands of one round are independent, and a server error
//! (say `WRONGTYPE`) fails only its own command.
//!
//! Failures: every wait is bounded. A round trip that fails (connection
//! lost, Redis restarted, read timeout) answers every caller of that round
//! with an error, drops the connection and makes the thread reconnect with
//! a bounded backoff; rounds that arrive during the backoff are answered
//! with the last error at once, so a Redis that is down gives errors
//! quickly, and the store works again as soon as Redis is back, without a
//! restart. A caller whose command failed does not know whether Redis
//! applied it (the write may have landed before the connection broke).
//!
//! The redis crate (0.27) reads the connection handshake (`CLIENT SETINFO`,
//! `SELECT`, `AUTH`) with no read timeout, even from
//! `get_connection_with_timeout` (redis-rs issue #554, fixed in 0.28), so a
//! Redis that accepts connections but does not answer (stopped with
//! SIGSTOP, `DEBUG SLEEP`, a stuck proxy) would hang a thread that
//! connects. Each attempt therefore runs on a short-lived connector thread
//! that the store thread waits for with a deadline; at most one attempt per
//! store thread is outstanding, so a silent server costs at most one
//! parked thread per store thread, never a growing pile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use redis::{Connection, RedisError, Value};

/// Most commands in one round trip: bounds the replies held in memory and
/// the time one round keeps its callers waiting.
pub const ROUND_COMMANDS_MAX: usize = 4_096;

/// Most bytes of packed commands in one round trip.
pub const ROUND_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Keys are short names such as `session:<order id>`; a longer one is a bug.
pub const KEY_BYTES_MAX: usize = 1_024;

/// Sessions are small; bigger blobs do not belong on the hot path.
pub const VALUE_BYTES_MAX: usize = 1024 * 1024;

/// Everything here is ephemeral; what must live longer belongs in
/// PostgreSQL.
pub const TTL_S_MAX: u64 = 30 * 24 * 3600;

/// More threads than this only add connections Redis (one thread itself)
/// must serve.
pub const THREADS_MAX: usize = 64;

/// Room for the RESP framing and the other arguments of a `SET`.
const COMMAND_OVERHEAD_BYTES_MAX: usize = 256;

/// The first command of a round always fits the round.
const _: () =
    assert!(KEY_BYTES_MAX + VALUE_BYTES_MAX + COMMAND_OVERHEAD_BYTES_MAX <= ROUND_BYTES_MAX);

/// First and longest pause between connection attempts after a failure;
/// the pause doubles on every failed attempt and resets on success.
const BACKOFF_MS_MIN: u64 = 10;
const BACKOFF_MS_MAX: u64 = 1_000;

/// Where the store finds Redis and how long anything may take.
#[derive(Clone, Debug)]
pub struct SessionStoreConfig {
    /// `redis://[user:password@]host:port/db`.
    pub url: String,
    /// Dedicated threads, one Redis connection each.
    pub threads: usize,
    /// Bound of the command queue; when full, callers get
    /// [`SessionStoreError::Overloaded`] at once.
    pub queue_commands_max: usize,
    /// Deadline of connecting and of every socket read and write; callers
    /// wait at most about twice this (their round may queue behind one in
    /// flight).
    pub timeout_ms: u64,
}

impl SessionStoreConfig {
    pub fn new(url: impl Into<String>) -> SessionStoreConfig {
        SessionStoreConfig {
            url: url.into(),
            threads: 2,
            queue_commands_max: 65_536,
            timeout_ms: 2_000,
        }
    }
}

/// Operating errors of the session store. URLs in them never carry the
/// password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionStoreError {
    #[error("the session store queue is full ({queue_commands_max} commands waiting); try again shortly")]
    Overloaded { queue_commands_max: usize },

    #[error(
        "Redis at {url} did not answer within {timeout_ms} ms; \
         is it running? Start it with `tools/stack start`"
    )]
    Timeout { url: String, timeout_ms: u64 },

    #[error("Redis at {url} failed: {message}")]
    Redis { url: String, message: String },

    #[error("the session store has stopped")]
    Stopped,
}

/// A copy of the store's counters (each field read once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionCounters {
    /// Rounds answered, including those failed before reaching Redis.
    pub round_trips: u64,
    /// Commands in those rounds.
    pub commands: u64,
    /// The deepest pipeline so far.
    pub commands_per_round_trip_max: u64,
    /// Rounds answered with an error (Redis down, connection lost).
    pub failed_round_trips: u64,
    /// Commands dropped unsent because their caller had stopped waiting.
    pub expired_commands: u64,
    /// Fire-and-forget writes that failed or expired: lost cache entries.
    pub failed_detached_puts: u64,
}

impl SessionCounters {
    /// Mean pipelining depth; 0 before the first round trip.
    pub fn commands_per_round_trip_mean(&self) -> f64 {
        if self.round_trips == 0 {
            0.0
        } else {
            self.commands as f64 / self.round_trips as f64
        }
    }

    /// The counters gathered since `earlier` (the maximum is not a delta:
    /// it is this copy's).
    pub fn since(&self, earlier: &SessionCounters) -> SessionCounters {
        SessionCounters {
            round_trips: self.round_trips - earlier.round_trips,
            commands: self.commands - earlier.commands,
            commands_per_round_trip_max: self.commands_per_round_trip_max,
            failed_round_trips: self.failed_round_trips - earlier.failed_round_trips,
            expired_commands: self.expired_commands - earlier.expired_commands,
            failed_detached_puts: self.failed_detached_puts - earlier.failed_detached_puts,
        }
    }
}

/// Written by the store threads, read by anyone without a lock.
#[derive(Default)]
struct Counters {
    round_trips: AtomicU64,
    commands: AtomicU64,
    commands_per_round_trip_max: AtomicU64,
    failed_round_trips: AtomicU64,
    expired_commands: AtomicU64,
    failed_detached_puts: AtomicU64,
}

impl Counters {
    fn record_round(&self, commands: usize, failed: bool) {
        let commands = commands as u64;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(commands, Ordering::Relaxed);
        self.commands_per_round_trip_max
            .fetch_max(commands, Ordering::Relaxed);
        if failed {
            self.failed_round_trips.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> SessionCounters {
        SessionCounters {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            commands_per_round_trip_max: self.commands_per_round_trip_max.load(Ordering::Relaxed),
            failed_round_trips: self.failed_round_trips.load(Ordering::Relaxed),
            expired_commands: self.expired_commands.load(Ordering::Relaxed),
            failed_detached_puts: self.failed_detached_puts.load(Ordering::Relaxed),
        }
    }
}

type Reply<T> = crate::reply::ReplySender<Result<T, SessionStoreError>>;

/// One caller's command, packed in RESP by the caller so that encoding
/// runs on the callers' threads, not on the few store threads.
struct Command {
    packed: Vec<u8>,
    answer: Answer,
    /// When the caller stops waiting: past it, the command is not sent.
    deadline: Instant,
}

/// How a command's reply reaches its caller.
enum Answer {
    /// `SET ... EX`, `DEL`: any reply that is not an error.
    Done(Reply<()>),
    /// `SET ... NX EX`: `OK` when stored, nil when the key existed.
    Stored(Reply<bool>),
    /// `GET`: the bytes, or nil.
    Value(Reply<Option<Vec<u8>>>),
    /// A fire-and-forget `SET`: nobody waits.
    Detached,
}

impl Answer {
    fn send_value(self, value: Value, url: &str, counters: &Counters) {
        if let Value::ServerError(error) = value {
            let message = RedisError::from(error).to_string();
            return self.send_error(redis_error(url, message), counters);
        }
        match self {
            Answer::Done(reply) => {
                let _ = reply.send(Ok(()));
            }
            Answer::Stored(reply) => {
                let _ = reply.send(match value {
                    Value::Okay => Ok(true),
                    Value::Nil => Ok(false),
                    other => Err(unexpected(url, "SET NX", &other)),
                });
            }
            Answer::Value(reply) => {
                let _ = reply.send(match value {
                    Value::BulkString(bytes) => Ok(Some(bytes)),
                    Value::Nil => Ok(None),
                    other => Err(unexpected(url, "GET", &other)),
                });
            }
            Answer::Detached => {}
        }
    }

    fn send_error(self, error: SessionStoreError, counters: &Counters) {
        // A caller that stopped waiting has dropped its receiver: the send
        // fails, harmlessly.
        match self {
            Answer::Done(reply) => {
                let _ = reply.send(Err(error));
            }
            Answer::Stored(reply) => {
                let _ = reply.send(Err(error));
            }
            Answer::Value(reply) => {
                let _ = reply.send(Err(error));
            }
            Answer::Detached => {
                counters
                    .failed_detached_puts
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn redis_error(url: &str, message: String) -> SessionStoreError {
    SessionStoreError::Redis {
        url: url.to_string(),
        message,
    }
}

fn unexpected(url: &str, command: &str, value: &Value) -> SessionStoreError {
    redis_error(url, format!("unexpected reply to {command}: {value:?}"))
}

/// The callers' side of the store: share it (it is `Sync`); dropping it
/// stops the threads.
pub struct SessionStore {
    commands: Option<Sender<Command>>,
    threads: Vec<JoinHandle<()>>,
    /// One message per store thread that has ended.
    ended: may::sync::mpsc::Receiver<()>,
    counters: Arc<Counters>,
    config: SessionStoreConfig,
    /// The URL without its password, for errors and logs.
    url: String,
}

impl SessionStore {
    /// Starts the threads. They connect in the background: a Redis that is
    /// down shows as errors on use, and the store works once it is up.
    /// Only a malformed URL fails here.
    pub fn start(config: SessionStoreConfig) -> Result<SessionStore, SessionStoreError> {
        assert!(
            (1..=THREADS_MAX).contains(&config.threads),
            "1..={THREADS_MAX} threads, not {}",
            config.threads
        );
        assert!(config.queue_commands_max > 0 && config.timeout_ms > 0);
        let url = redact_url(&config.url);
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| redis_error(&url, format!("invalid URL: {e}")))?;
        let (commands, receiver) = crossbeam_channel::bounded(config.queue_commands_max);
        let (ended_sender, ended) = may::sync::mpsc::channel();
        let counters = Arc::new(Counters::default());
        let threads = (0..config.threads)
            .map(|index| {
                let worker = Worker::new(&client, &receiver, &counters, &config, &url);
                let ended_sender = ended_sender.clone();
                thread::Builder::new()
                    .name(format!("redis-session-{index}"))
                    .spawn(move || {
                        let _ended = EndedGuard(ended_sender);
                        worker.run();
                    })
                    .expect("spawning a session store thread")
            })
            .collect();
        Ok(SessionStore {
            commands: Some(commands),
            threads,
            ended,
            counters,
            config,
            url,
        })
    }

    /// Stores `value` under `key` for `ttl_s` seconds, replacing any value.
    pub fn put(&self, key: &str, value: Vec<u8>, ttl_s: u64) -> Result<(), SessionStoreError> {
        let packed = pack_set(key, &value, ttl_s, false);
        self.call(packed, Answer::Done)
    }

    /// Stores `value` under `key` for `ttl_s` seconds unless the key
    /// exists; true when stored. An idempotency key is claimed by the
    /// first caller. After an error the claim may have landed anyway: a
    /// retry that answers false must be read as "claimed, maybe by me".
    pub fn put_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl_s: u64,
    ) -> Result<bool, SessionStoreError> {
        let packed = pack_set(key, &value, ttl_s, true);
        self.call(packed, Answer::Stored)
    }

    /// The value under `key`; `None` when absent or expired.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SessionStoreError> {
        assert_key(key);
        let packed = redis::cmd("GET").arg(key).get_packed_command();
        self.call(packed, Answer::Value)
    }

    /// Removes `key`; removing an absent key is not an error.
    pub fn delete(&self, key: &str) -> Result<(), SessionStoreError> {
        assert_key(key);
        let packed = redis::cmd("DEL").arg(key).get_packed_command();
        self.call(packed, Answer::Done)
    }

    /// Queues a `put` and returns at once, for write-behind caching where
    /// a lost write only costs a cache miss (counted in
    /// [`SessionCounters::failed_detached_puts`]).
    pub fn put_detached(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl_s: u64,
    ) -> Result<(), SessionStoreError> {
        let packed = pack_set(key, &value, ttl_s, false);
        self.enqueue(Command {
            packed,
            answer: Answer::Detached,
            deadline: Instant::now() + self.wait(),
        })
    }

    pub fn counters(&self) -> SessionCounters {
        self.counters.snapshot()
    }

    /// The Redis URL without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues a command and waits for its reply, parking the calling
    /// coroutine (or thread). Never waits without a bound.
    fn call<T: Send + 'static>(
        &self,
        packed: Vec<u8>,
        answer: impl FnOnce(Reply<T>) -> Answer,
    ) -> Result<T, SessionStoreError> {
        let (reply, receiver) = crate::reply::reply_slot();
        let wait = self.wait();
        self.enqueue(Command {
            packed,
            answer: answer(reply),
            deadline: Instant::now() + wait,
        })?;
        match receiver.recv_timeout(wait) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(SessionStoreError::Timeout {
                url: self.url.clone(),
                timeout_ms: self.config.timeout_ms,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(SessionStoreError::Stopped),
        }
    }

    /// Never blocks: a full queue is an answer, not a wait.
    fn enqueue(&self, command: Command) -> Result<(), SessionStoreError> {
        let commands = self.commands.as_ref().ok_or(SessionStoreError::Stopped)?;
        commands.try_send(command).map_err(|e| match e {
            TrySendError::Full(_) => SessionStoreError::Overloaded {
                queue_commands_max: self.config.queue_commands_max,
            },
            TrySendError::Disconnected(_) => SessionStoreError::Stopped,
        })
    }

    /// How long a caller waits: the round in flight on its thread, then
    /// its own round.
    fn wait(&self) -> Duration {
        Duration::from_millis(2 * self.config.timeout_ms + 1_000)
    }
}

impl Drop for SessionStore {
    /// Closes the queue; the threads answer (or send) what is queued and
    /// end. Waits a bounded time: a thread stuck on a silent Redis is left
    /// to end on its own. Blocks the dropping thread, so drop the store
    /// from a plain thread at shutdown, not from a coroutine.
    fn drop(&mut self) {
        drop(self.commands.take());
        let deadline = Instant::now() + self.wait();
        let mut ended_count = 0;
        while ended_count < self.threads.len() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if self.ended.recv_timeout(remaining).is_err() {
                break;
            }
            ended_count += 1;
        }
        let all_ended = ended_count == self.threads.len();
        for thread in self.threads.drain(..) {
            if all_ended || thread.is_finished() {
                let _ = thread.join();
            } else {
                eprintln!(
                    "boxoffice: a session store thread for {} did not end in time; leaving it",
                    self.url
                );
            }
        }
    }
}

/// Tells the store a thread ended, even when the thread panicked.
struct EndedGuard(may::sync::mpsc::Sender<()>);

impl Drop for EndedGuard {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn assert_key(key: &str) {
    assert!(
        !key.is_empty() && key.len() <= KEY_BYTES_MAX,
        "a key has 1..={KEY_BYTES_MAX} bytes, not {}",
        key.len()
    );
}

/// `SET key value [NX] EX ttl_s`, packed.
fn pack_set(key: &str, value: &[u8], ttl_s: u64, if_absent: bool) -> Vec<u8> {
    assert_key(key);
    assert!(
        value.len() <= VALUE_BYTES_MAX,
        "a value has at most {VALUE_BYTES_MAX} bytes, not {}",
        value.len()
    );
    assert!(
        (1..=TTL_S_MAX).contains(&ttl_s),
        "a TTL is 1..={TTL_S_MAX} s, not {ttl_s}"
    );
    let mut command = redis::cmd("SET");
    command.arg(key).arg(value);
    if if_absent {
        command.arg("NX");
    }
    command.arg("EX").arg(ttl_s);
    let packed = command.get_packed_command();
    assert!(packed.len() <= KEY_BYTES_MAX + VALUE_BYTES_MAX + COMMAND_OVERHEAD_BYTES_MAX);
    packed
}

type ConnectResult = Result<Connection, String>;

/// A store thread's state: one connection (or an attempt at one).
struct Worker {
    commands: Receiver<Command>,
    client: redis::Client,
    connection: Option<Connection>,
    /// The outstanding connection attempt, on its connector thread.
    connecting: Option<Receiver<ConnectResult>>,
    /// True once the outstanding attempt has been waited for: later rounds
    /// only look whether it has finished.
    connecting_waited: bool,
    /// No new attempt before this, after a failure.
    reconnect_at: Instant,
    backoff_ms: u64,
    /// Why the last round trip or attempt failed, for the callers of
    /// rounds that fail fast.
    last_error: String,
    /// A command taken from the queue that did not fit the last round.
    carried: Option<Command>,
    /// The packed round, reused from round to round.
    buffer: Vec<u8>,
    counters: Arc<Counters>,
    timeout: Duration,
    url: String,
}

impl Worker {
    fn new(
        client: &redis::Client,
        commands: &Receiver<Command>,
        counters: &Arc<Counters>,
        config: &SessionStoreConfig,
        url: &str,
    ) -> Worker {
        Worker {
            commands: commands.clone(),
            client: client.clone(),
            connection: None,
            connecting: None,
            connecting_waited: false,
            reconnect_at: Instant::now(),
            backoff_ms: BACKOFF_MS_MIN,
            last_error: String::new(),
            carried: None,
            buffer: Vec::new(),
            counters: counters.clone(),
            timeout: Duration::from_millis(config.timeout_ms),
            url: url.to_string(),
        }
    }

    fn run(mut self) {
        // Connect ahead of the first command, so it does not pay for it.
        self.connecting = Some(self.spawn_connect());
        while let Some(round) = self.collect_round() {
            if !round.is_empty() {
                self.execute(round);
            }
        }
    }

    /// Blocks for the first command, then takes what is queued until the
    /// round is full; commands whose caller stopped waiting are dropped.
    /// `None` once the queue is closed and empty.
    fn collect_round(&mut self) -> Option<Vec<Command>> {
        let first = match self.carried.take() {
            Some(command) => command,
            None => self.commands.recv().ok()?,
        };
        let now = Instant::now();
        let mut round = Vec::new();
        let mut bytes = 0;
        let mut next = Some(first);
        // Bounded: every iteration takes one command off the queue, and
        // at most ROUND_COMMANDS_MAX of them stay in the round (expired
        // ones are at most the queue's backlog: new ones do not expire).
        while let Some(command) = next.take() {
            if command.deadline <= now {
                self.expire(command);
            } else if bytes + command.packed.len() > ROUND_BYTES_MAX {
                assert!(!round.is_empty(), "one command always fits a round");
                self.carried = Some(command);
                break;
            } else {
                bytes += command.packed.len();
                round.push(command);
            }
            if round.len() == ROUND_COMMANDS_MAX {
                break;
            }
            // Empty or closed, the round ends; a closed queue still hands
            // out what was queued before it closed.
            next = self.commands.try_recv().ok();
        }
        Some(round)
    }

    fn expire(&self, command: Command) {
        self.counters
            .expired_commands
            .fetch_add(1, Ordering::Relaxed);
        let error = SessionStoreError::Timeout {
            url: self.url.clone(),
            timeout_ms: self.timeout.as_millis() as u64,
        };
        command.answer.send_error(error, &self.counters);
    }

    /// One round trip for the whole round; each caller gets its own reply.
    fn execute(&mut self, round: Vec<Command>) {
        assert!((1..=ROUND_COMMANDS_MAX).contains(&round.len()));
        self.buffer.clear();
        for command in &round {
            self.buffer.extend_from_slice(&command.packed);
        }
        match self.round_trip(round.len()) {
            Ok(values) => {
                assert_eq!(values.len(), round.len(), "one reply per command");
                self.counters.record_round(round.len(), false);
                for (command, value) in round.into_iter().zip(values) {
                    command.answer.send_value(value, &self.url, &self.counters);
                }
            }
            Err(message) => {
                self.counters.record_round(round.len(), true);
                let error = redis_error(&self.url, message);
                for command in round {
                    command.answer.send_error(error.clone(), &self.counters);
                }
            }
        }
    }

    /// Sends the packed round and reads `count` replies. On failure the
    /// connection is dropped: replies may still be on their way, and a
    /// connection out of step would hand callers each other's replies.
    fn round_trip(&mut self, count: usize) -> Result<Vec<Value>, String> {
        let mut connection = self.take_connection()?;
        match send_and_receive(&mut connection, &self.buffer, count) {
            Ok(values) => {
                self.connection = Some(connection);
                self.backoff_ms = BACKOFF_MS_MIN;
                Ok(values)
            }
            Err(e) => {
                let message = format!("connection lost: {e}");
                self.failed(message.clone());
                Err(message)
            }
        }
    }

    /// The open connection, or a new one if an attempt is due; fails fast
    /// during the backoff after a failure.
    fn take_connection(&mut self) -> Result<Connection, String> {
        if let Some(connection) = self.connection.take() {
            return Ok(connection);
        }
        if self.connecting.is_none() {
            if Instant::now() < self.reconnect_at {
                return Err(self.not_connected());
            }
            self.connecting = Some(self.spawn_connect());
            self.connecting_waited = false;
        }
        let attempt = self.connecting.as_ref().expect("an attempt is outstanding");
        let result = if self.connecting_waited {
            attempt.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            attempt.recv_timeout(self.timeout).map_err(|e| match e {
                crossbeam_channel::RecvTimeoutError::Timeout => RecvTimeoutError::Timeout,
                crossbeam_channel::RecvTimeoutError::Disconnected => RecvTimeoutError::Disconnected,
            })
        };
        self.attempt_result(result)
    }

    fn attempt_result(
        &mut self,
        result: Result<ConnectResult, RecvTimeoutError>,
    ) -> Result<Connection, String> {
        match result {
            Ok(Ok(connection)) => {
                self.connecting = None;
                Ok(connection)
            }
            Ok(Err(message)) => {
                self.connecting = None;
                self.failed(message.clone());
                Err(message)
            }
            Err(RecvTimeoutError::Timeout) => {
                // The attempt stays outstanding; no second one is started.
                self.connecting_waited = true;
                Err(format!(
                    "connecting took over {} ms (Redis accepts connections but does not \
                     answer); still trying",
                    self.timeout.as_millis()
                ))
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.connecting = None;
                let message = "the connector thread panicked".to_string();
                self.failed(message.clone());
                Err(message)
            }
        }
    }

    /// Starts one connection attempt on its own thread (see the module
    /// doc: the handshake reads without a timeout).
    fn spawn_connect(&self) -> Receiver<ConnectResult> {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        let client = self.client.clone();
        let timeout = self.timeout;
        thread::Builder::new()
            .name("redis-connect".into())
            .spawn(move || {
                let _ = sender.send(connect(&client, timeout));
            })
            .expect("spawning a Redis connector thread");
        receiver
    }

    /// Notes a failure and schedules the next attempt, with a doubling
    /// backoff.
    fn failed(&mut self, message: String) {
        self.last_error = message;
        self.reconnect_at = Instant::now() + Duration::from_millis(self.backoff_ms);
        self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MS_MAX);
    }

    fn not_connected(&self) -> String {
        let retry_ms = self
            .reconnect_at
            .saturating_duration_since(Instant::now())
            .as_millis();
        format!(
            "not connected ({}); next attempt in {retry_ms} ms",
            self.last_error
        )
    }
}

fn connect(client: &redis::Client, timeout: Duration) -> ConnectResult {
    let connection = client.get_connection_with_timeout(timeout).map_err(|e| {
        format!("cannot connect ({e}); is it running? Start it with `tools/stack start`")
    })?;
    connection
        .set_read_timeout(Some(timeout))
        .and_then(|()| connection.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot set socket timeouts: {e}"))?;
    Ok(connection)
}

/// One write of the whole round, then the replies in order.
fn send_and_receive(
    connection: &mut Connection,
    packed: &[u8],
    count: usize,
) -> redis::RedisResult<Vec<Value>> {
    connection.send_packed_command(packed)?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(connection.recv_response()?);
    }
    Ok(values)
}

/// `url` with the password (and a bare user-info, which may be one)
/// replaced by `***`, so errors and logs can show where Redis is.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{}", redact_query(tail))
}

/// Unix-socket URLs may carry the password as `?pass=...`.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name == "pass" || name == "password" => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_urls() {
        assert_eq!(
            redact_url("redis://127.0.0.1:34002/"),
            "redis://127.0.0.1:34002/"
        );
        assert_eq!(
            redact_url("redis://app:s3cret@10.0.0.1:6379/3"),
            "redis://app:***@10.0.0.1:6379/3"
        );
        assert_eq!(redact_url("redis://:s3cret@host/"), "redis://:***@host/");
        assert_eq!(redact_url("redis://s3cret@host"), "redis://***@host");
        assert_eq!(
            redact_url("redis+unix:///run/redis.sock?db=2&pass=s3cret"),
            "redis+unix:///run/redis.sock?db=2&pass=***"
        );
    }

    #[test]
    fn a_set_is_packed_as_resp() {
        let packed = pack_set("k", b"v", 60, true);
        assert_eq!(
            packed,
            b"*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nEX\r\n$2\r\n60\r\n"
        );
    }

    #[test]
    fn counters_give_mean_and_max_pipelining_depth() {
        let counters = Counters::default();
        counters.record_round(10, false);
        counters.record_round(30, true);
        let snapshot = counters.snapshot();
        assert_eq!(snapshot.round_trips, 2);
        assert_eq!(snapshot.failed_round_trips, 1);
        assert_eq!(snapshot.commands_per_round_trip_max, 30);
        assert_eq!(snapshot.commands_per_round_trip_mean(), 20.0);
    }
}
