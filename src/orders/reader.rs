//! A reader thread: answers order lookups, batched like the writes.
//!
//! Every `find` queued while the previous round ran goes into ONE
//! `WHERE order_id = ANY($1)` query; the rarer `counts_by_status` and
//! `recent` jobs run one query each in the same round.

use std::collections::HashMap;

use crossbeam_channel::Receiver;
use postgres::{Client, Statement};

use super::connection::{Connection, Prepared};
use super::record::{OrderRecord, OrderStatus};
use super::row::{order_from_row, ORDER_COLUMNS};
use super::store::Reply;
use super::writer::select_orders_sql;
use crate::ids::OrderId;

/// Orders, tickets (sum of quantity) per status.
pub type StatusCounts = Vec<(OrderStatus, u64, u64)>;

pub(crate) enum ReadJob {
    Find {
        order_id: OrderId,
        reply: Reply<Option<OrderRecord>>,
    },
    CountsByStatus {
        event_id: u32,
        reply: Reply<StatusCounts>,
    },
    Recent {
        limit: u32,
        reply: Reply<Vec<OrderRecord>>,
    },
}

pub(crate) struct ReadStatements {
    select_orders: Statement,
    counts_by_status: Statement,
    recent: Statement,
}

impl Prepared for ReadStatements {
    fn prepare(client: &mut Client) -> Result<ReadStatements, postgres::Error> {
        let recent = format!(
            "SELECT {ORDER_COLUMNS} FROM orders ORDER BY created_at DESC, order_id DESC LIMIT $1"
        );
        Ok(ReadStatements {
            select_orders: client.prepare(&select_orders_sql())?,
            counts_by_status: client.prepare(
                "SELECT status, count(*), coalesce(sum(quantity), 0)::bigint \
                 FROM orders WHERE event_id = $1 GROUP BY status",
            )?,
            recent: client.prepare(&recent)?,
        })
    }
}

pub(crate) struct Reader {
    pub(crate) connection: Connection<ReadStatements>,
    pub(crate) jobs: Receiver<ReadJob>,
    pub(crate) batch_jobs_max: usize,
}

/// A round's finds, answered by one query.
type Finds = Vec<(OrderId, Reply<Option<OrderRecord>>)>;

impl Reader {
    /// Answers rounds until the queue is closed and drained.
    pub(crate) fn run(mut self) {
        while let Some(batch) = self.collect_batch() {
            self.answer(batch);
        }
    }

    fn collect_batch(&self) -> Option<Vec<ReadJob>> {
        let first = self.jobs.recv().ok()?;
        let mut batch = vec![first];
        // Bounded: the batch fills or the queue empties.
        while batch.len() < self.batch_jobs_max {
            match self.jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    fn answer(&mut self, batch: Vec<ReadJob>) {
        let mut finds: Finds = Vec::new();
        for job in batch {
            match job {
                ReadJob::Find { order_id, reply } => finds.push((order_id, reply)),
                ReadJob::CountsByStatus { event_id, reply } => {
                    let counts = self
                        .connection
                        .run(|client, statements| counts_by_status(client, statements, event_id));
                    let _ = reply.send(counts);
                }
                ReadJob::Recent { limit, reply } => {
                    let recent = self.connection.run(|client, statements| {
                        let rows = client.query(&statements.recent, &[&i64::from(limit)])?;
                        Ok(rows.iter().map(order_from_row).collect())
                    });
                    let _ = reply.send(recent);
                }
            }
        }
        if !finds.is_empty() {
            self.find(finds);
        }
    }

    fn find(&mut self, finds: Finds) {
        let order_ids: Vec<String> = finds.iter().map(|(id, _)| id.to_string()).collect();
        let found = self.connection.run(|client, statements| {
            let rows = client.query(&statements.select_orders, &[&order_ids])?;
            Ok(rows
                .iter()
                .map(|row| {
                    let order = order_from_row(row);
                    (order.order_id, order)
                })
                .collect::<HashMap<OrderId, OrderRecord>>())
        });
        for (order_id, reply) in finds {
            let answer = match &found {
                Ok(found) => Ok(found.get(&order_id).cloned()),
                Err(error) => Err(error.clone()),
            };
            let _ = reply.send(answer);
        }
    }
}

/// Every status, in [`OrderStatus::ALL`] order, zero where none.
fn counts_by_status(
    client: &mut Client,
    statements: &ReadStatements,
    event_id: u32,
) -> Result<StatusCounts, postgres::Error> {
    let rows = client.query(&statements.counts_by_status, &[&i64::from(event_id)])?;
    let mut counts: StatusCounts = OrderStatus::ALL.iter().map(|&s| (s, 0, 0)).collect();
    for row in rows {
        let status = OrderStatus::parse(row.get(0)).expect("status CHECK");
        let orders: i64 = row.get(1);
        let tickets: i64 = row.get(2);
        let entry = counts
            .iter_mut()
            .find(|(s, _, _)| *s == status)
            .expect("ALL has every status");
        entry.1 = u64::try_from(orders).expect("a count is not negative");
        entry.2 = u64::try_from(tickets).expect("quantity CHECK");
    }
    Ok(counts)
}
