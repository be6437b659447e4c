//! A writer thread: drains the shared order queue into group commits.
//!
//! One round: block for the first order, take whatever else is queued (up
//! to `batch_orders_max`), and in ONE transaction insert every order and
//! every payment event (`ON CONFLICT DO NOTHING`), read the stored row of
//! every order back, commit, then answer each caller with the stored row.
//! There is no timer: a batch is whatever arrived while the previous
//! commit was in flight, so batches grow with load and a lone order goes
//! out at once.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::Receiver;
use postgres::{Client, Statement};

use super::columns::{OrderColumns, PaymentEventColumns, INSERT_ORDERS, INSERT_PAYMENT_EVENTS};
use super::connection::{Connection, Prepared};
use super::counters::CommitCounters;
use super::record::OrderRecord;
use super::row::{order_from_row, ORDER_COLUMNS};
use super::store::Reply;

/// One caller's order, with where its stored row goes.
pub(crate) struct WriteJob {
    pub(crate) order: OrderRecord,
    pub(crate) reply: Reply<OrderRecord>,
}

pub(crate) struct WriteStatements {
    insert_orders: Statement,
    insert_payment_events: Statement,
    select_orders: Statement,
}

impl Prepared for WriteStatements {
    fn prepare(client: &mut Client) -> Result<WriteStatements, postgres::Error> {
        Ok(WriteStatements {
            insert_orders: client.prepare(INSERT_ORDERS)?,
            insert_payment_events: client.prepare(INSERT_PAYMENT_EVENTS)?,
            select_orders: client.prepare(&select_orders_sql())?,
        })
    }
}

/// The stored rows of a batch of order ids (text, cast to uuid).
pub(crate) fn select_orders_sql() -> String {
    format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = ANY($1::text[]::uuid[])")
}

pub(crate) struct Writer {
    pub(crate) connection: Connection<WriteStatements>,
    pub(crate) jobs: Receiver<WriteJob>,
    pub(crate) counters: Arc<CommitCounters>,
    pub(crate) batch_orders_max: usize,
}

impl Writer {
    /// Commits batches until the queue is closed and drained.
    pub(crate) fn run(mut self) {
        while let Some(batch) = self.collect_batch() {
            self.commit(batch);
        }
    }

    /// Blocks for the first job, then takes what is queued until the batch
    /// is full. `None` once the queue is closed and empty.
    fn collect_batch(&self) -> Option<Vec<WriteJob>> {
        let first = self.jobs.recv().ok()?;
        let mut batch = Vec::with_capacity(self.batch_orders_max.min(self.jobs.len() + 1));
        batch.push(first);
        // Bounded: the batch fills or the queue empties.
        while batch.len() < self.batch_orders_max {
            match self.jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Writes the batch and answers every caller: each with its order's
    /// stored row, or all with the same error.
    fn commit(&mut self, batch: Vec<WriteJob>) {
        assert!(!batch.is_empty() && batch.len() <= self.batch_orders_max);
        let orders: Vec<&OrderRecord> = batch.iter().map(|job| &job.order).collect();
        let result = self
            .connection
            .run(|client, statements| write(client, statements, &orders));
        match result {
            Ok(stored) => {
                self.counters.record_commit(batch.len());
                for job in batch {
                    let row = stored
                        .get(&job.order.order_id.as_u128())
                        .expect("every order of the batch is stored after its commit");
                    let _ = job.reply.send(Ok(row.clone()));
                }
            }
            Err(error) => {
                self.counters.record_failure();
                for job in batch {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// One group commit. Rows go in sorted by key, so that two writers whose
/// batches share orders take their row locks in the same order and do
/// not deadlock; within a key the first in queue order wins (stable sort,
/// then dedup keeps the first).
fn write(
    client: &mut Client,
    statements: &WriteStatements,
    orders: &[&OrderRecord],
) -> Result<HashMap<u128, OrderRecord>, postgres::Error> {
    let mut by_order = orders.to_vec();
    by_order.sort_by_key(|order| order.order_id);
    by_order.dedup_by_key(|order| order.order_id);
    let mut by_event = orders.to_vec();
    by_event.sort_by(|a, b| a.payment_event_id.cmp(&b.payment_event_id));
    by_event.dedup_by(|a, b| a.payment_event_id == b.payment_event_id);

    let order_columns = OrderColumns::new(&by_order);
    let event_columns = PaymentEventColumns::new(&by_event);
    let mut transaction = client.transaction()?;
    transaction.execute(&statements.insert_orders, &order_columns.params())?;
    transaction.execute(&statements.insert_payment_events, &event_columns.params())?;
    // READ COMMITTED: this statement's snapshot sees the rows a concurrent
    // writer committed while our insert waited on them.
    let rows = transaction.query(&statements.select_orders, &[&order_columns.order_ids])?;
    transaction.commit()?;
    assert_eq!(rows.len(), by_order.len(), "one stored row per order");
    Ok(rows
        .iter()
        .map(|row| {
            let order = order_from_row(row);
            (order.order_id.as_u128(), order)
        })
        .collect())
}
