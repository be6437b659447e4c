//! Operating errors of the ledger: what a caller can meet when TigerBeetle
//! is slow, down or overloaded. Business answers (sold out, expired) are
//! not errors: they are [`TransferOutcome`](super::TransferOutcome)s.

use tigerbeetle_unofficial::error::SendError;

#[derive(Clone, Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger queue is full ({queue_jobs_max} requests waiting); try again shortly")]
    Overloaded { queue_jobs_max: usize },

    #[error(
        "TigerBeetle at {address} did not answer within {timeout_ms} ms; \
         is it running? Start it with `tools/stack start`"
    )]
    Timeout { address: String, timeout_ms: u64 },

    #[error("TigerBeetle at {address} refused the request: {source}")]
    Send {
        address: String,
        #[source]
        source: SendError,
    },

    #[error("could not create a TigerBeetle client for {address}: {reason}")]
    Connect { address: String, reason: String },

    #[error("the ledger batcher has stopped")]
    Stopped,

    #[error("account {account_id:#x} is missing in TigerBeetle; was the event opened?")]
    AccountMissing { account_id: u128 },

    #[error(
        "TigerBeetle rejected creating account {account_id:#x} (result code {code}); \
         an account with this id but other fields exists"
    )]
    AccountConflict { account_id: u128, code: u32 },

    #[error(
        "{resource} of event {event} is funded with {funded} but configured with {configured}; \
         capacity can be raised but never lowered"
    )]
    CapacityLowered {
        event: u32,
        resource: String,
        funded: u128,
        configured: u64,
    },

    #[error("funding {resource} of event {event} failed: {outcome}")]
    FundingFailed {
        event: u32,
        resource: String,
        outcome: super::TransferOutcome,
    },
}
