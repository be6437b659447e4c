//! One thread's PostgreSQL connection: connects with bounds, prepares the
//! thread's statements, and after a failure reconnects with a bounded
//! backoff.
//!
//! While a reconnect is not due, work is refused at once with
//! [`OrderStoreError::Unavailable`] rather than held: during an outage
//! every caller hears so within the time of one connect attempt, and none
//! waits for a database that is not there.

use std::io;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::{OrderStoreConfig, OrderStoreError};

/// First wait before reconnecting after a failed connect; doubles up to
/// [`BACKOFF_MS_MAX`].
const BACKOFF_MS_MIN: u64 = 50;
const BACKOFF_MS_MAX: u64 = 2_000;
/// A unit of work runs at most twice: once more on a fresh connection if
/// the first failed on a stale one (PostgreSQL restarted) or lost a
/// deadlock. Everything the store does is idempotent, so a retry is safe.
const ATTEMPTS_MAX: usize = 2;

/// The statements a thread prepares on each new connection.
pub(crate) trait Prepared: Sized {
    fn prepare(client: &mut Client) -> Result<Self, postgres::Error>;
}

pub(crate) struct Connection<P> {
    pg: postgres::Config,
    url_without_password: String,
    session: Option<(Client, P)>,
    backoff_ms: u64,
    /// No connect attempt before this instant (after a failed one).
    retry_at: Option<Instant>,
    last_error: String,
}

impl<P: Prepared> Connection<P> {
    /// Connects now: a store that cannot reach PostgreSQL fails at start.
    pub(crate) fn open(config: &OrderStoreConfig) -> Result<Connection<P>, OrderStoreError> {
        let mut connection = Connection {
            pg: pg_config(config)?,
            url_without_password: super::url::without_password(&config.url),
            session: None,
            backoff_ms: BACKOFF_MS_MIN,
            retry_at: None,
            last_error: String::new(),
        };
        connection.reconnect()?;
        Ok(connection)
    }

    /// Runs `work` on the session, reconnecting first if needed. On an
    /// error the client is dropped; `work` is retried once when the
    /// failure says the connection, not the work, was at fault.
    pub(crate) fn run<T>(
        &mut self,
        mut work: impl FnMut(&mut Client, &P) -> Result<T, postgres::Error>,
    ) -> Result<T, OrderStoreError> {
        for attempt in 1..=ATTEMPTS_MAX {
            if self.session.is_none() {
                self.reconnect()?;
            }
            let (client, prepared) = self.session.as_mut().expect("connected");
            match work(client, prepared) {
                Ok(output) => return Ok(output),
                Err(error) => {
                    self.session = None;
                    self.last_error = describe(&error);
                    if attempt == ATTEMPTS_MAX || !retryable(&error) {
                        return Err(self.unavailable(self.last_error.clone()));
                    }
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn reconnect(&mut self) -> Result<(), OrderStoreError> {
        assert!(self.session.is_none());
        if let Some(retry_at) = self.retry_at {
            let now = Instant::now();
            if now < retry_at {
                let wait_ms = (retry_at - now).as_millis();
                let message = format!("{} (reconnecting in {wait_ms} ms)", self.last_error);
                return Err(self.unavailable(message));
            }
        }
        match self.connect() {
            Ok(session) => {
                self.session = Some(session);
                self.backoff_ms = BACKOFF_MS_MIN;
                self.retry_at = None;
                Ok(())
            }
            Err(error) => {
                self.last_error = describe(&error);
                self.retry_at = Some(Instant::now() + Duration::from_millis(self.backoff_ms));
                self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MS_MAX);
                Err(self.unavailable(self.last_error.clone()))
            }
        }
    }

    fn connect(&self) -> Result<(Client, P), postgres::Error> {
        let mut client = self.pg.connect(NoTls)?;
        let prepared = P::prepare(&mut client)?;
        Ok((client, prepared))
    }

    fn unavailable(&self, message: String) -> OrderStoreError {
        OrderStoreError::Unavailable {
            url_without_password: self.url_without_password.clone(),
            message,
        }
    }
}

/// The parsed URL with the store's bounds: connect and TCP timeouts, and
/// session settings sent in the startup packet (no extra round trip).
/// `synchronous_commit` is forced on: an answered order is on disk.
pub(crate) fn pg_config(config: &OrderStoreConfig) -> Result<postgres::Config, OrderStoreError> {
    let mut pg: postgres::Config =
        config
            .url
            .parse()
            .map_err(|error: postgres::Error| OrderStoreError::Unavailable {
                url_without_password: super::url::without_password(&config.url),
                message: format!("the URL does not parse: {error}"),
            })?;
    let timeout = Duration::from_millis(config.timeout_ms);
    pg.connect_timeout(timeout)
        .tcp_user_timeout(timeout)
        .application_name("boxoffice-orders")
        .options(&format!(
            "-c statement_timeout={} -c synchronous_commit=on",
            config.timeout_ms
        ));
    Ok(pg)
}

/// Connects once (for the migrations at start), mapping the error.
pub(crate) fn connect_client(config: &OrderStoreConfig) -> Result<Client, OrderStoreError> {
    pg_config(config)?
        .connect(NoTls)
        .map_err(|error| OrderStoreError::Unavailable {
            url_without_password: super::url::without_password(&config.url),
            message: describe(&error),
        })
}

/// The error and its causes (the crate's `Display` alone says only "db
/// error" or "error connecting to server"), with the SQLSTATE, and a hint
/// when nothing listens.
pub(crate) fn describe(error: &postgres::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    // Bounded: error chains are short and finite.
    for _ in 0..CAUSES_MAX {
        let Some(cause) = source else { break };
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    if let Some(code) = error.code() {
        message = format!("{message} (SQLSTATE {})", code.code());
    }
    if refused(error) {
        message.push_str("; is it running? Start it with `tools/stack start postgres`");
    }
    message
}

const CAUSES_MAX: usize = 8;

fn refused(error: &postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    for _ in 0..=CAUSES_MAX {
        let Some(error) = source else { return false };
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return io.kind() == io::ErrorKind::ConnectionRefused;
        }
        source = error.source();
    }
    false
}

/// True when trying again on a fresh connection may succeed: the
/// connection broke or the server is shutting down or restarting (it was
/// stale: PostgreSQL restarted since), or this transaction lost a
/// deadlock or serialization conflict to another writer.
fn retryable(error: &postgres::Error) -> bool {
    let Some(code) = error.code() else {
        return true;
    };
    let code = code.code();
    code.starts_with("08") // connection_exception
        || ["57P01", "57P02", "57P03"].contains(&code) // shutdown, starting up
        || ["40P01", "40001"].contains(&code) // deadlock, serialization
}
