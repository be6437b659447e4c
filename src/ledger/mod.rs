//! The ticket ledger: inventory in TigerBeetle, reached only through the
//! batcher.
//!
//! Account model (per event, on the event's own TigerBeetle ledger): for
//! each ticket class and for the goodies pool, an operator, a budget
//! (`debits_must_not_exceed_credits`) and a spent account. Opening an event
//! funds each budget from its operator with the capacity; a hold moves
//! units budget → spent as a pending transfer. TigerBeetle's balance check
//! makes overselling impossible, whatever the concurrency.
//!
//! - [`batch`]: packing many callers' events into one request;
//! - [`batcher`]: the pinned thread that owns the client;
//! - [`transfers`]: hold, post, void and late-booking transfers;
//! - [`outcome`]: typed results; [`error`]: operating errors;
//! - [`counters`]: batch sizes and request latency.

pub mod batch;
pub mod batcher;
pub mod counters;
pub mod error;
pub mod outcome;
pub mod transfers;

use tigerbeetle_unofficial::account::Flags as AccountFlags;
use tigerbeetle_unofficial::{Account, Transfer};

pub use batch::BATCH_EVENTS_MAX;
pub use batcher::{Batcher, BatcherConfig, Job};
pub use counters::{BatchCounters, BatchSnapshot};
pub use error::LedgerError;
pub use outcome::{AccountOutcome, TransferOutcome};
pub use transfers::HoldMetadata;

use crate::ids::{account_id, funding_transfer_id, EventId, OrderId, Resource, Role, TransferKind};

/// Live inventory of one resource, read from its budget account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Inventory {
    /// Units ever funded into the budget.
    pub capacity: u64,
    /// Units sold (posted holds and late bookings).
    pub sold: u64,
    /// Units in pending holds that are neither posted, voided nor expired.
    pub held: u64,
    /// Units a new hold can still take.
    pub available: u64,
}

impl Inventory {
    fn from_budget(budget: &Account) -> Inventory {
        let capacity = as_units(budget.credits_posted());
        let sold = as_units(budget.debits_posted());
        let held = as_units(budget.debits_pending());
        // TigerBeetle guarantees debits (posted + pending) <= credits.
        let available = capacity
            .checked_sub(sold + held)
            .expect("budget debits exceed credits: the ledger is corrupt");
        Inventory {
            capacity,
            sold,
            held,
            available,
        }
    }
}

fn as_units(amount: u128) -> u64 {
    u64::try_from(amount).expect("unit counts fit in u64")
}

/// The ledger's one handle; share it behind an `Arc`.
pub struct Ledger {
    batcher: Batcher,
}

impl Ledger {
    /// Starts the batcher for the cluster at `config.address`.
    pub fn connect(config: BatcherConfig) -> Result<Ledger, LedgerError> {
        Ok(Ledger {
            batcher: Batcher::start(config)?,
        })
    }

    pub fn counters(&self) -> BatchSnapshot {
        self.batcher.counters().snapshot()
    }

    pub fn address(&self) -> &str {
        self.batcher.address()
    }

    /// Creates the accounts of an event's resources and funds each budget up
    /// to its capacity. Idempotent: accounts that exist are success, and a
    /// budget already funded to `capacity` is left alone, so a restart never
    /// funds twice. A capacity may be raised (the difference is funded) but
    /// not lowered.
    pub fn open_event(
        &self,
        event: EventId,
        capacities: &[(Resource, u64)],
    ) -> Result<(), LedgerError> {
        assert!(event.0 != 0, "ledger 0 is reserved by TigerBeetle");
        let accounts: Vec<Account> = capacities
            .iter()
            .flat_map(|&(resource, _)| resource_accounts(event, resource))
            .collect();
        let ids: Vec<u128> = accounts.iter().map(Account::id).collect();
        let outcomes = self
            .batcher
            .call(|reply| Job::CreateAccounts { accounts, reply })?;
        for (id, outcome) in ids.iter().zip(outcomes) {
            if !outcome.is_applied() {
                let code = match outcome {
                    AccountOutcome::ExistsWithDifferentFields(code)
                    | AccountOutcome::Rejected(code) => code,
                    AccountOutcome::Created | AccountOutcome::AlreadyExists => unreachable!(),
                };
                return Err(LedgerError::AccountConflict {
                    account_id: *id,
                    code,
                });
            }
        }
        for &(resource, capacity) in capacities {
            self.fund(event, resource, capacity)?;
        }
        Ok(())
    }

    /// Tops the budget up to `capacity_total`.
    fn fund(
        &self,
        event: EventId,
        resource: Resource,
        capacity_total: u64,
    ) -> Result<(), LedgerError> {
        let funded = self.budget(event, resource)?.credits_posted();
        let configured = u128::from(capacity_total);
        if funded > configured {
            return Err(LedgerError::CapacityLowered {
                event: event.0,
                resource: format!("{resource:?}"),
                funded,
                configured: capacity_total,
            });
        }
        if funded == configured {
            return Ok(());
        }
        let funding = Transfer::new(funding_transfer_id(event, resource, capacity_total))
            .with_debit_account_id(account_id(event, resource, Role::Operator))
            .with_credit_account_id(account_id(event, resource, Role::Budget))
            .with_amount(configured - funded)
            .with_ledger(event.0)
            .with_code(transfers::TransferCode::Funding as u16);
        let outcome = self.submit_one(funding)?;
        if outcome.is_applied() {
            Ok(())
        } else {
            Err(LedgerError::FundingFailed {
                event: event.0,
                resource: format!("{resource:?}"),
                outcome,
            })
        }
    }

    /// Applies `transfers` in one TigerBeetle request (batched with other
    /// callers'); one outcome per transfer, in order.
    pub fn submit(&self, transfers: Vec<Transfer>) -> Result<Vec<TransferOutcome>, LedgerError> {
        let count = transfers.len();
        let outcomes = self
            .batcher
            .call(|reply| Job::CreateTransfers { transfers, reply })?;
        assert_eq!(outcomes.len(), count);
        Ok(outcomes)
    }

    pub fn submit_one(&self, transfer: Transfer) -> Result<TransferOutcome, LedgerError> {
        Ok(self.submit(vec![transfer])?[0])
    }

    /// Holds `metadata.quantity` tickets of the metadata's class for
    /// `timeout_s` seconds.
    pub fn hold_tickets(
        &self,
        metadata: &HoldMetadata,
        timeout_s: u32,
    ) -> Result<TransferOutcome, LedgerError> {
        let transfer = transfers::hold(
            metadata,
            Resource::Class(metadata.class),
            TransferKind::TicketHold,
            u64::from(metadata.quantity),
            timeout_s,
        );
        self.submit_one(transfer)
    }

    /// Posts an order's ticket hold (the sale).
    pub fn post_tickets(
        &self,
        order: OrderId,
        event: EventId,
        class: u16,
    ) -> Result<TransferOutcome, LedgerError> {
        self.submit_one(transfers::post(
            order,
            event,
            Resource::Class(class),
            TransferKind::TicketHold,
        ))
    }

    /// Voids an order's ticket hold (payment failed or cancelled).
    pub fn void_tickets(
        &self,
        order: OrderId,
        event: EventId,
        class: u16,
    ) -> Result<TransferOutcome, LedgerError> {
        self.submit_one(transfers::void(
            order,
            event,
            Resource::Class(class),
            TransferKind::TicketHold,
        ))
    }

    /// Books an order's tickets at once, for a payment after its hold expired.
    pub fn book_tickets_late(
        &self,
        metadata: &HoldMetadata,
    ) -> Result<TransferOutcome, LedgerError> {
        let transfer = transfers::late_booking(
            metadata,
            Resource::Class(metadata.class),
            u64::from(metadata.quantity),
        );
        self.submit_one(transfer)
    }

    /// Live inventory of each `(event, resource)`, in one request.
    pub fn inventories(
        &self,
        resources: &[(EventId, Resource)],
    ) -> Result<Vec<Inventory>, LedgerError> {
        let ids: Vec<u128> = resources
            .iter()
            .map(|&(event, resource)| account_id(event, resource, Role::Budget))
            .collect();
        let budgets = self.lookup_accounts(ids.clone())?;
        ids.iter()
            .zip(budgets)
            .map(|(&account_id, budget)| {
                budget
                    .map(|b| Inventory::from_budget(&b))
                    .ok_or(LedgerError::AccountMissing { account_id })
            })
            .collect()
    }

    pub fn inventory(&self, event: EventId, resource: Resource) -> Result<Inventory, LedgerError> {
        Ok(self.inventories(&[(event, resource)])?[0])
    }

    fn budget(&self, event: EventId, resource: Resource) -> Result<Account, LedgerError> {
        let account_id = account_id(event, resource, Role::Budget);
        self.lookup_accounts(vec![account_id])?[0].ok_or(LedgerError::AccountMissing { account_id })
    }

    pub fn lookup_accounts(&self, ids: Vec<u128>) -> Result<Vec<Option<Account>>, LedgerError> {
        self.batcher
            .call(|reply| Job::LookupAccounts { ids, reply })
    }

    /// Transfers by id (`None` where absent); used to read an order's holds
    /// back when its payment session is gone.
    pub fn lookup_transfers(&self, ids: Vec<u128>) -> Result<Vec<Option<Transfer>>, LedgerError> {
        self.batcher
            .call(|reply| Job::LookupTransfers { ids, reply })
    }
}

/// Operator, budget and spent accounts of one resource.
fn resource_accounts(event: EventId, resource: Resource) -> [Account; 3] {
    let account = |role: Role| {
        Account::new(account_id(event, resource, role), event.0, role as u16)
            .with_user_data_32(u32::from(resource.code()))
    };
    [
        account(Role::Operator),
        account(Role::Budget).with_flags(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        account(Role::Spent),
    ]
}
