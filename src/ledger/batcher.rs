//! The batcher: one pinned thread that owns the TigerBeetle client.
//!
//! Callers (may coroutines or plain threads) put a [`Job`] with a reply
//! handle on a bounded crossbeam channel and wait on its reply slot
//! ([`crate::reply`]), which parks a coroutine without blocking its worker
//! thread. The batcher thread drains everything queued, packs up to
//! [`BATCH_EVENTS_MAX`] events per TigerBeetle request, submits, waits for
//! the reply and answers each caller with exactly its own results. There
//! is no timer: a batch is whatever arrived while the previous request was
//! in flight, so batches grow with load and a lone request goes out at once.
//!
//! The TigerBeetle client retries for ever. Every wait here has a deadline;
//! a request that misses it fails all its callers with
//! [`LedgerError::Timeout`] and is kept aside ("stuck"), and no new request
//! is sent until it completes, so that an outage never piles up work inside
//! the client.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tigerbeetle_unofficial::error::{CreateAccountsError, CreateTransfersError};
use tigerbeetle_unofficial::{Account, Client, Transfer};

use super::batch::{split_transfer_results, Batch, BATCH_EVENTS_MAX};
use super::counters::BatchCounters;
use super::{AccountOutcome, LedgerError, TransferOutcome};

/// Where and how the batcher talks to TigerBeetle.
#[derive(Clone, Debug)]
pub struct BatcherConfig {
    /// `host:port` of the (single-replica) cluster.
    pub address: String,
    pub cluster_id: u128,
    /// Bound of the job queue; when full, callers get
    /// [`LedgerError::Overloaded`] at once.
    pub queue_jobs_max: usize,
    /// Deadline of one round of TigerBeetle requests.
    pub request_timeout_ms: u64,
    /// CPU core to pin the batcher thread to; `None` leaves it unpinned.
    pub pin_core: Option<usize>,
}

impl BatcherConfig {
    pub fn new(address: impl Into<String>) -> BatcherConfig {
        BatcherConfig {
            address: address.into(),
            cluster_id: 0,
            queue_jobs_max: 65_536,
            request_timeout_ms: 5_000,
            pin_core: None,
        }
    }
}

type Reply<T> = crate::reply::ReplySender<Result<T, LedgerError>>;

/// One caller's request to the ledger.
pub enum Job {
    /// Transfers applied in one request; a linked chain must end inside it.
    CreateTransfers {
        transfers: Vec<Transfer>,
        reply: Reply<Vec<TransferOutcome>>,
    },
    CreateAccounts {
        accounts: Vec<Account>,
        reply: Reply<Vec<AccountOutcome>>,
    },
    /// One entry per id, `None` where TigerBeetle has no such account.
    LookupAccounts {
        ids: Vec<u128>,
        reply: Reply<Vec<Option<Account>>>,
    },
    LookupTransfers {
        ids: Vec<u128>,
        reply: Reply<Vec<Option<Transfer>>>,
    },
}

impl Job {
    fn events_count(&self) -> usize {
        match self {
            Job::CreateTransfers { transfers, .. } => transfers.len(),
            Job::CreateAccounts { accounts, .. } => accounts.len(),
            Job::LookupAccounts { ids, .. } | Job::LookupTransfers { ids, .. } => ids.len(),
        }
    }
}

/// The caller's side of the batcher: cheap to share, stops the thread when
/// dropped.
pub struct Batcher {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<BatchCounters>,
    config: BatcherConfig,
}

impl Batcher {
    /// Creates the client and starts the thread. The client connects lazily:
    /// a cluster that is down shows as [`LedgerError::Timeout`] on first use.
    pub fn start(config: BatcherConfig) -> Result<Batcher, LedgerError> {
        assert!(config.queue_jobs_max > 0 && config.request_timeout_ms > 0);
        let client = Client::new(config.cluster_id, config.address.as_bytes()).map_err(|e| {
            LedgerError::Connect {
                address: config.address.clone(),
                reason: e.to_string(),
            }
        })?;
        let (jobs, receiver) = crossbeam_channel::bounded(config.queue_jobs_max);
        let counters = Arc::new(BatchCounters::default());
        let mut worker = Worker {
            client: Arc::new(client),
            jobs: receiver,
            counters: counters.clone(),
            config: config.clone(),
            stuck: None,
            carried: None,
        };
        let thread = thread::Builder::new()
            .name("tb-batcher".into())
            .spawn(move || worker.run())
            .expect("spawning the batcher thread");
        Ok(Batcher {
            jobs: Some(jobs),
            thread: Some(thread),
            counters,
            config,
        })
    }

    pub fn counters(&self) -> &BatchCounters {
        &self.counters
    }

    pub fn address(&self) -> &str {
        &self.config.address
    }

    /// Queues `make(reply)` and waits for the answer, parking the calling
    /// coroutine (or thread). Never waits without a bound.
    pub fn call<T: Send + 'static>(
        &self,
        make: impl FnOnce(Reply<T>) -> Job,
    ) -> Result<T, LedgerError> {
        let (reply, answer) = crate::reply::reply_slot();
        let job = make(reply);
        let events_count = job.events_count();
        assert!(
            (1..=BATCH_EVENTS_MAX).contains(&events_count),
            "a job carries 1..={BATCH_EVENTS_MAX} events, not {events_count}"
        );
        if let Job::CreateTransfers { transfers, .. } = &job {
            let last = transfers.last().expect("non-empty");
            assert!(
                !last
                    .flags()
                    .contains(tigerbeetle_unofficial::transfer::Flags::LINKED),
                "a linked chain must be closed inside its job"
            );
        }
        let jobs = self.jobs.as_ref().ok_or(LedgerError::Stopped)?;
        jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => LedgerError::Overloaded {
                queue_jobs_max: self.config.queue_jobs_max,
            },
            TrySendError::Disconnected(_) => LedgerError::Stopped,
        })?;
        // A job waits for at most the round in flight plus its own round.
        let wait = Duration::from_millis(2 * self.config.request_timeout_ms + 1_000);
        match answer.recv_timeout(wait) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(self.timeout_error()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(LedgerError::Stopped),
        }
    }

    fn timeout_error(&self) -> LedgerError {
        LedgerError::Timeout {
            address: self.config.address.clone(),
            timeout_ms: self.config.request_timeout_ms,
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has answered
        // every queued job.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type BoxedFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The batcher thread's state.
struct Worker {
    client: Arc<Client>,
    jobs: Receiver<Job>,
    counters: Arc<BatchCounters>,
    config: BatcherConfig,
    /// A request that missed its deadline and has not completed yet.
    stuck: Option<BoxedFuture<()>>,
    /// A job drained from the queue that did not fit the last round.
    carried: Option<Job>,
}

/// The jobs of one round, one batch per TigerBeetle operation.
#[derive(Default)]
struct Round {
    transfers: Batch<Transfer>,
    transfer_replies: Vec<Reply<Vec<TransferOutcome>>>,
    accounts: Batch<Account>,
    account_replies: Vec<Reply<Vec<AccountOutcome>>>,
    account_lookups: Batch<u128>,
    account_lookup_replies: Vec<Reply<Vec<Option<Account>>>>,
    transfer_lookups: Batch<u128>,
    transfer_lookup_replies: Vec<Reply<Vec<Option<Transfer>>>>,
}

impl Round {
    /// Adds `job` if its batch has room; gives it back otherwise.
    fn add(&mut self, job: Job) -> Option<Job> {
        if !self.fits(&job) {
            return Some(job);
        }
        match job {
            Job::CreateTransfers { transfers, reply } => {
                self.transfers.push(&transfers);
                self.transfer_replies.push(reply);
            }
            Job::CreateAccounts { accounts, reply } => {
                self.accounts.push(&accounts);
                self.account_replies.push(reply);
            }
            Job::LookupAccounts { ids, reply } => {
                self.account_lookups.push(&ids);
                self.account_lookup_replies.push(reply);
            }
            Job::LookupTransfers { ids, reply } => {
                self.transfer_lookups.push(&ids);
                self.transfer_lookup_replies.push(reply);
            }
        }
        None
    }

    fn fits(&self, job: &Job) -> bool {
        let count = job.events_count();
        match job {
            Job::CreateTransfers { .. } => self.transfers.fits(count),
            Job::CreateAccounts { .. } => self.accounts.fits(count),
            Job::LookupAccounts { .. } => self.account_lookups.fits(count),
            Job::LookupTransfers { .. } => self.transfer_lookups.fits(count),
        }
    }
}

impl Worker {
    fn run(&mut self) {
        self.pin();
        let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
        while let Some(round) = self.collect_round() {
            self.submit_round(round, &waker);
        }
    }

    fn pin(&self) {
        let Some(core) = self.config.pin_core else {
            return;
        };
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        match cores.into_iter().find(|id| id.id == core) {
            Some(id) if core_affinity::set_for_current(id) => {}
            _ => eprintln!("boxoffice: could not pin the batcher thread to core {core}"),
        }
    }

    /// Blocks for the first job, then drains what is queued until a batch
    /// is full. `None` once the queue is closed and empty.
    fn collect_round(&mut self) -> Option<Round> {
        let first = match self.carried.take() {
            Some(job) => job,
            None => self.jobs.recv().ok()?,
        };
        let mut round = Round::default();
        let rejected = round.add(first);
        assert!(
            rejected.is_none(),
            "a single job always fits an empty round"
        );
        // Bounded: each iteration consumes one job, and the batches fill.
        while let Ok(job) = self.jobs.try_recv() {
            if let Some(job) = round.add(job) {
                self.carried = Some(job);
                break;
            }
        }
        Some(round)
    }

    fn submit_round(&mut self, round: Round, waker: &Waker) {
        let deadline = Instant::now() + Duration::from_millis(self.config.request_timeout_ms);
        let mut healthy = self.wait_for_stuck(waker, deadline);
        let Round {
            mut transfers,
            transfer_replies,
            mut accounts,
            account_replies,
            mut account_lookups,
            account_lookup_replies,
            mut transfer_lookups,
            transfer_lookup_replies,
        } = round;
        if !transfers.is_empty() {
            healthy =
                self.create_transfers(&mut transfers, transfer_replies, healthy, waker, deadline);
        }
        if !accounts.is_empty() {
            healthy =
                self.create_accounts(&mut accounts, account_replies, healthy, waker, deadline);
        }
        if !account_lookups.is_empty() {
            let client = self.client.clone();
            healthy = self.lookup(
                &mut account_lookups,
                account_lookup_replies,
                move |ids| Box::pin(async move { client.lookup_accounts(ids).await }),
                |account: &Account| account.id(),
                (healthy, waker, deadline),
            );
        }
        if !transfer_lookups.is_empty() {
            let client = self.client.clone();
            self.lookup(
                &mut transfer_lookups,
                transfer_lookup_replies,
                move |ids| Box::pin(async move { client.lookup_transfers(ids).await }),
                |transfer: &Transfer| transfer.id(),
                (healthy, waker, deadline),
            );
        }
    }

    /// True when no earlier request is still outstanding (waiting for it
    /// until `deadline`).
    fn wait_for_stuck(&mut self, waker: &Waker, deadline: Instant) -> bool {
        let Some(mut stuck) = self.stuck.take() else {
            return true;
        };
        match poll_until(stuck.as_mut(), waker, deadline) {
            Poll::Ready(()) => true,
            Poll::Pending => {
                self.stuck = Some(stuck);
                false
            }
        }
    }

    fn create_transfers(
        &mut self,
        batch: &mut Batch<Transfer>,
        replies: Vec<Reply<Vec<TransferOutcome>>>,
        healthy: bool,
        waker: &Waker,
        deadline: Instant,
    ) -> bool {
        let (events, ends) = batch.take();
        if !healthy {
            return self.fail_all(&replies, events.len());
        }
        let client = self.client.clone();
        let future: BoxedFuture<_> = Box::pin(async move { client.create_transfers(events).await });
        let events_count = *ends.last().expect("non-empty") as usize;
        let Some(result) = self.request(future, events_count, waker, deadline) else {
            return self.fail_all(&replies, 0);
        };
        let failures: Vec<(u32, u32)> = match result {
            Ok(()) => Vec::new(),
            Err(CreateTransfersError::Api(errors)) => errors
                .as_slice()
                .iter()
                .map(|e| (e.index(), e.inner().code().get()))
                .collect(),
            Err(CreateTransfersError::Send(source)) => {
                return self.send_error(&replies, source);
            }
            Err(other) => panic!("unknown create_transfers error: {other}"),
        };
        for (reply, outcomes) in replies.iter().zip(split_transfer_results(&ends, failures)) {
            let _ = reply.send(Ok(outcomes));
        }
        true
    }

    fn create_accounts(
        &mut self,
        batch: &mut Batch<Account>,
        replies: Vec<Reply<Vec<AccountOutcome>>>,
        healthy: bool,
        waker: &Waker,
        deadline: Instant,
    ) -> bool {
        let (events, ends) = batch.take();
        if !healthy {
            return self.fail_all(&replies, events.len());
        }
        let client = self.client.clone();
        let future: BoxedFuture<_> = Box::pin(async move { client.create_accounts(events).await });
        let events_count = *ends.last().expect("non-empty") as usize;
        let Some(result) = self.request(future, events_count, waker, deadline) else {
            return self.fail_all(&replies, 0);
        };
        let mut outcomes = vec![AccountOutcome::Created; events_count];
        match result {
            Ok(()) => {}
            Err(CreateAccountsError::Api(errors)) => {
                for e in errors.as_slice() {
                    outcomes[e.index() as usize] =
                        AccountOutcome::from_code(e.inner().code().get());
                }
            }
            Err(CreateAccountsError::Send(source)) => return self.send_error(&replies, source),
            Err(other) => panic!("unknown create_accounts error: {other}"),
        }
        let mut start = 0;
        for (reply, &end) in replies.iter().zip(&ends) {
            let _ = reply.send(Ok(outcomes[start..end as usize].to_vec()));
            start = end as usize;
        }
        true
    }

    /// A lookup round trip: TigerBeetle answers only the ids it found, so
    /// results are matched back to ids through a map.
    fn lookup<T: Copy + Send + 'static>(
        &mut self,
        batch: &mut Batch<u128>,
        replies: Vec<Reply<Vec<Option<T>>>>,
        submit: impl FnOnce(
            Vec<u128>,
        )
            -> BoxedFuture<Result<Vec<T>, tigerbeetle_unofficial::error::SendError>>,
        id_of: impl Fn(&T) -> u128,
        (healthy, waker, deadline): (bool, &Waker, Instant),
    ) -> bool {
        let (ids, ends) = batch.take();
        if !healthy {
            return self.fail_all(&replies, ids.len());
        }
        let future = submit(ids.clone());
        let Some(result) = self.request(future, ids.len(), waker, deadline) else {
            return self.fail_all(&replies, 0);
        };
        let found = match result {
            Ok(found) => found,
            Err(source) => return self.send_error(&replies, source),
        };
        let by_id: HashMap<u128, T> = found.into_iter().map(|t| (id_of(&t), t)).collect();
        let mut start = 0;
        for (reply, &end) in replies.iter().zip(&ends) {
            let answer = ids[start..end as usize]
                .iter()
                .map(|id| by_id.get(id).copied())
                .collect();
            let _ = reply.send(Ok(answer));
            start = end as usize;
        }
        true
    }

    /// Drives one TigerBeetle request until `deadline`, recording it in the
    /// counters. `None` when it missed the deadline; it is then kept as the
    /// stuck request.
    fn request<T: Send + 'static>(
        &mut self,
        mut future: BoxedFuture<T>,
        events_count: usize,
        waker: &Waker,
        deadline: Instant,
    ) -> Option<T> {
        let started = Instant::now();
        match poll_until(future.as_mut(), waker, deadline) {
            Poll::Ready(output) => {
                self.counters
                    .record_request(events_count, started.elapsed(), false);
                Some(output)
            }
            Poll::Pending => {
                self.counters
                    .record_request(events_count, started.elapsed(), true);
                self.stuck = Some(Box::pin(async move {
                    let _ = future.await;
                }));
                None
            }
        }
    }

    /// Answers every caller with a timeout; returns "unhealthy" for the rest
    /// of the round. `unsent_events` were never sent (counted as failed).
    fn fail_all<T>(&self, replies: &[Reply<T>], unsent_events: usize) -> bool {
        if unsent_events > 0 {
            self.counters
                .record_request(unsent_events, Duration::ZERO, true);
        }
        let error = LedgerError::Timeout {
            address: self.config.address.clone(),
            timeout_ms: self.config.request_timeout_ms,
        };
        for reply in replies {
            let _ = reply.send(Err(error.clone()));
        }
        false
    }

    fn send_error<T>(
        &self,
        replies: &[Reply<T>],
        source: tigerbeetle_unofficial::error::SendError,
    ) -> bool {
        let error = LedgerError::Send {
            address: self.config.address.clone(),
            source,
        };
        for reply in replies {
            let _ = reply.send(Err(error.clone()));
        }
        true
    }
}

/// Wakes the batcher thread when TigerBeetle's completion callback fires.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls, until it is ready
/// or `deadline` passes.
fn poll_until<F: Future + ?Sized>(
    mut future: Pin<&mut F>,
    waker: &Waker,
    deadline: Instant,
) -> Poll<F::Output> {
    let mut context = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Poll::Ready(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return Poll::Pending;
        }
        thread::park_timeout(deadline - now);
    }
}
